"""Estimates against the synthetic generator's exact values (``truth.json`` + ``lexicon.json``).

Exact complexity C*: the generator fixes p(r|x, L) for every realisation r (a tuple of target
tokens, each linked to x in the gold alignments). Given how often each source word x occurs in
lines of each language L (n_xL), the expected link counts are E c(x,y) = sum_L n_xL sum_r
p(r|x,L) n_y(r), and C* = mean over x with E c(x) > 0 of H(E c(x,.)/E c(x)). An estimate from
gold links differs from C* only by synonym sampling (plug-in bias); from learned links also by
aligner error. Tolerances used by the tests are stated in TOLERANCES.
"""
import json
import math
import os
from collections import Counter, defaultdict

import numpy as np

from analysis import entropy as ent
from analysis import mixing
from nat.errors import UserError

TOLERANCES = {"complexity_gold_bits": 0.05, "mode_cross_entropy_random_bits": 0.05}


def exact_complexity(lexicon, source, languages, unit="bits"):
    """C* given the realisation tables and the language of each line (see module doc)."""
    real = lexicon.get("realisations")
    if real is None:
        raise UserError("lexicon has no 'realisations': exact complexity needs the synthetic "
                        "corpus's lexicon.json")
    occurrences = Counter()
    for line, lang in zip(source, languages):
        if lang is not None:
            occurrences.update((w, lang) for w in line.split())
    expected = defaultdict(lambda: defaultdict(float))
    missing = set()
    for (w, lang), n in occurrences.items():
        options = real.get(w, {}).get(lang)
        if options is None:
            missing.add(w)
            continue
        for r, p in options.items():
            for tok in r.split():
                expected[w][tok] += n * p
    h = [ent.plugin_entropy(list(row.values()), unit) for row in expected.values()
         if sum(row.values()) > 0]
    return {"value": float(np.mean(h)) if h else math.nan, "n_source_types": len(h),
            "source_types_missing_from_lexicon": len(missing),
            "settings": {"unit": unit,
                         "weights": "observed counts of each source word per language",
                         "average": "unweighted over source types with expected links"}}


def load_truth(path, split):
    if not os.path.isfile(path):
        raise UserError(f"no such truth file: {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            truth = json.load(handle)
    except ValueError as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    if split not in truth or not isinstance(truth[split], dict):
        raise UserError(f"{path}: no split {split!r}")
    return truth


def line_languages(target, lexicon):
    """Language of each target line by majority share (exact for the generator's pure targets)."""
    counts = mixing.language_counts(target, lexicon["token_language"], lexicon["languages"])
    return [c if c in lexicon["languages"] else None
            for c in mixing.choices(counts, lexicon["languages"])]


def against_truth(metrics, truth_path, split, lexicon, source, target, align=None,
                  nll_split=None):
    """Validation block for metrics.json: exact values, estimates and their differences.
    ``nll_split``: the split whose pairs the NLL gap was measured on (default ``split``)."""
    truth = load_truth(truth_path, split)
    exact = truth[split]
    out = {"truth_file": truth_path, "split": split, "mode": truth.get("mode"),
           "exact": {k: exact.get(k) for k in ("h_lang_given_src", "h_tgt_given_src",
                                               "sum_token_entropy", "total_correlation",
                                               "h_len_given_src",
                                               "total_correlation_given_len")},
           "tolerances": TOLERANCES}
    if lexicon is not None:
        c_star = exact_complexity(lexicon, source, line_languages(target, lexicon))
        out["complexity_exact_bits"] = c_star
        for name, a in metrics["measures"].get("alignments", {}).items():
            for variant in ("unweighted", "miller_madow"):
                value = a["complexity"][variant]["value"]
                out[f"complexity_bias_{name}_{variant}_bits"] = value - c_star["value"]
    gap = metrics["measures"].get("sentence_level", {}).get("nll_gap")
    if gap:
        out.update(_gap_against_truth(gap, truth, nll_split or split))
    sent = metrics["measures"].get("sentence_level", {}).get("mode_classifier")
    if sent and exact.get("h_lang_given_src") is not None:
        out["mode_cross_entropy_minus_h_lang_bits"] = \
            sent["cross_entropy_bits"] - exact["h_lang_given_src"]
    return out


def _gap_against_truth(gap, truth, split):
    """The NLL gap beside the exact total correlations of the split its pairs come from.

    A NAT scored with its length NLL estimates TC(Y|X,M) = ``total_correlation_given_len``;
    without it, TC(Y|X,M) - H(M|X).  Both differences are given; ``nll_gap_matched_truth``
    names the one that fits how the NAT NLL was measured.  With per-model means (checkpoints),
    each model's excess over its exact lower bound splits the error: E NLL_AT >= H(Y|X) and
    E NLL_NAT >= H(M|X) + sum_t H(Y_t|X,M), and gap - TC = NAT excess - AT excess."""
    if split not in truth or not isinstance(truth[split], dict):
        raise UserError(f"truth file: no split {split!r}")
    exact = truth[split]
    out = {"nll_gap_truth_split": split}
    tc, tc_len = exact.get("total_correlation"), exact.get("total_correlation_given_len")
    if tc is not None:
        out["nll_gap_minus_total_correlation_bits"] = gap["value"] - tc
    if tc_len is not None:
        out["nll_gap_minus_total_correlation_given_len_bits"] = gap["value"] - tc_len
        h_len = exact.get("h_len_given_src")
        if "without_length_nll" in gap and h_len is not None:
            out["nll_gap_without_length_minus_tc_given_len_minus_h_len_bits"] = \
                gap["without_length_nll"]["value"] - (tc_len - h_len)
    if gap.get("settings", {}).get("source") == "checkpoints" and "without_length_nll" in gap:
        out["nll_gap_matched_truth"] = "total_correlation_given_len"
    means, h_tgt = gap.get("mean_nll_bits"), exact.get("h_tgt_given_src")
    if means and h_tgt is not None:          # each model's excess over its exact lower bound
        out["at_nll_minus_h_tgt_given_src_bits"] = means["at"] - h_tgt
        tok_len, h_len = exact.get("sum_token_entropy_given_len"), exact.get("h_len_given_src")
        if "without_length_nll" in gap and tok_len is not None and h_len is not None:
            out["nat_nll_minus_token_and_length_entropy_bits"] = means["nat"] - tok_len - h_len
    return out
