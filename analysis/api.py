"""Python API: each function takes lines (lists of str) and returns a metrics dict for metrics.json.

Top-level numbers (``complexity_bits``, ``mixed_sentence_rate``, ``language_entropy_bits``,
``sacrebleu``, ``synonym_entropy_bits``, ``distinct_1``, ``rare_word_recall`` ...) sit beside
``measures``, which holds every estimate with its settings, and a ``signature`` string naming
the settings of the headline numbers (as sacrebleu does).
"""
import contextlib

import numpy as np

from analysis import alignment, bleu, calibration, complexity, corpus_stats, distinct, diversity
from analysis import lextable, mixing, token_labels
from analysis import progress as progress_bars
from analysis import (rare_words as rare, reordering, repetition, sentence_level, stability,
                      validity)
from analysis.tokens import encode
from nat.errors import UserError

SIMPLEX_SAMPLE = 2000
SYNONYM_SIGNATURE = "synonyms:plug-in/exact-slots/occurrence-weighted"


def _check_parallel(named):
    sizes = {name: len(lines) for name, lines in named.items() if lines is not None}
    if len(set(sizes.values())) > 1:
        listing = ", ".join(f"{n} has {k}" for n, k in sizes.items())
        raise UserError(f"line counts differ: {listing}")
    if not any(sizes.values()):
        raise UserError("empty input: " + ", ".join(sizes) + " have no lines")


def complexity_variants(table, unit="bits", min_count=5):
    per_x = complexity.per_source_entropy(table, unit)[2]
    return {"unweighted": complexity.complexity(table, unit),
            "frequency_weighted": complexity.complexity(table, unit, weighting="frequency"),
            "miller_madow": complexity.complexity(table, unit, correction="miller-madow"),
            f"min_count_{min_count}": complexity.complexity(table, unit, min_count=min_count),
            "per_source_entropy_histogram": corpus_stats.histogram(per_x, upper=max(
                [4.0] + per_x.tolist()))}


def _aligned_measures(name, src, tgt, src_lines, tgt_lines, gold, unit, min_count, iterations,
                      steps=None):
    model = None
    if name == "ibm1":
        with _iteration_bar(steps, iterations) as tick:
            links, settings, model = alignment.align_ibm1(src, tgt, iterations, tick)
    else:
        links, settings = alignment.align(name, src, tgt, src_lines, tgt_lines, gold, iterations)
    table = lextable.count_links(src, tgt, links)
    out = {"settings": settings, "links": len(links),
           "complexity": complexity_variants(table, unit, min_count),
           "reordering": reordering.reordering(links, len(src))}
    if model is not None:      # entropy of the model's own t(y|x), not of counted links
        out["model_table_complexity"] = complexity.complexity(model, unit)
    return out, table


def _simplex_sample(shares, seed=0):
    if len(shares) > SIMPLEX_SAMPLE:
        pick = np.random.default_rng(seed).choice(len(shares), SIMPLEX_SAMPLE, replace=False)
        shares = shares[np.sort(pick)]
    return np.round(shares, 4).tolist()


def language_mixing(lines, lexicon, gold_languages=None, seed=0):
    """Mixing measures with a sample of share vectors for the simplex plot (``lines``: list of
    str or an encoded corpus)."""
    result, shares = mixing.mixing(lines, lexicon["token_language"], lexicon["languages"],
                                   gold_languages)
    result["languages"] = list(lexicon["languages"])
    result["simplex_sample"] = _simplex_sample(shares, seed)
    return result


def _distinct(lines, metrics):
    """distinct-n of ``lines`` into ``metrics`` (block and ``distinct_<n>`` top-level keys)."""
    block = metrics["measures"]["distinct"] = distinct.distinct_n(lines)
    metrics.update({f"distinct_{n}": block[f"distinct_{n}"] for n in distinct.ORDERS})


def _synonyms(block, metrics):
    """A ``synonym_diversity`` block into ``metrics``, with its headline keys."""
    metrics["measures"]["synonym_diversity"] = block
    metrics.update(synonym_entropy_bits=block["value"],
                   synonym_entropy_truth_bits=block["truth"]["value"],
                   synonym_entropy_expected_bits=block["truth"]["expected_plugin"],
                   synonym_variation_kept=block["kept"],
                   target_types_per_word=block["target_types_per_word"]["value"])


@contextlib.contextmanager
def _iteration_bar(steps, iterations):
    """``tick()`` for IBM1's EM iterations: a bar under the steps bar, or nothing."""
    if steps is None:
        yield None
        return
    with steps.sub_bar(iterations, "IBM1 EM", "iter") as sub:
        yield lambda: sub.update(1)


def _corpus_steps(aligners, reference_target, faithfulness_aligner, lexicon, modes, recogniser):
    names = ["synonym diversity"] if recogniser is not None else []
    names += [f"align {a}" for a in aligners]
    if reference_target is not None:
        names.append(f"faithfulness ({faithfulness_aligner})")
    if lexicon is not None:
        names.append("language mixing")
    if lexicon is not None or modes is not None:
        names.append("mode classifier")
    return names


def analyze_corpus(source, target, lexicon=None, align=None, aligner=None, extra_aligners=(),
                   reference_target=None, faithfulness_aligner="eflomal", modes=None,
                   unit="bits", min_count=5, ibm1_iterations=5, seed=0, name="corpus",
                   progress=False, recogniser=None):
    """Measures of one parallel corpus (lists of lines). ``align``: gold Pharaoh lines;
    ``aligner`` defaults to 'gold' when they are given, else 'eflomal'; ``modes``: a label per
    pair (e.g. its language) for the sentence-level classifier, else the lexicon's language
    choice; ``recogniser``: the generator of a synthetic corpus (``nat.synth.recognise``), for
    the synonym diversity of the targets. ``progress``: a bar over the steps on stderr (off
    anyway when it is not a TTY). distinct-n of the targets is always measured."""
    if min_count < 1 or ibm1_iterations < 1:   # 0 made C(d) of the IBM1 aligner null
        raise UserError(f"min_count ({min_count}) and ibm1_iterations ({ibm1_iterations}) must "
                        f"be >= 1")
    aligners = list(dict.fromkeys([aligner or ("gold" if align is not None else "eflomal"),
                                   *extra_aligners]))
    names = _corpus_steps(aligners, reference_target, faithfulness_aligner, lexicon, modes,
                          recogniser)
    with progress_bars.Steps(names, quiet=not progress) as steps:
        return _analyze_corpus(source, target, lexicon, align, aligner, extra_aligners,
                               reference_target, faithfulness_aligner, modes, unit, min_count,
                               ibm1_iterations, seed, name, steps, recogniser)


def _analyze_corpus(source, target, lexicon, align, aligner, extra_aligners, reference_target,
                    faithfulness_aligner, modes, unit, min_count, ibm1_iterations, seed, name,
                    steps, recogniser):
    _check_parallel({"source": source, "target": target, "alignment": align,
                     "reference target": reference_target, "modes": modes})
    src, tgt = encode(source), encode(target)
    if not src.lengths.sum() or not tgt.lengths.sum():
        raise UserError("empty input: the source or target side has no tokens")
    aligner = aligner or ("gold" if align is not None else "eflomal")
    given_modes = modes is not None
    measures = {"corpus": corpus_stats.corpus_stats(src, tgt), "alignments": {}}
    synonyms = None
    if recogniser is not None:      # before the slow aligners: a foreign source fails fast
        with steps.step("synonym diversity"):
            synonyms = diversity.synonym_diversity(source, target, recogniser, "source")
    for which in dict.fromkeys([aligner, *extra_aligners]):
        with steps.step(f"align {which}"):
            measures["alignments"][which], table = _aligned_measures(
                which, src, tgt, source, target, align, unit, min_count, ibm1_iterations, steps)
        if which == aligner:
            main_table = table
    head = measures["alignments"][aligner]["complexity"]["unweighted"]
    metrics = {"kind": "corpus", "name": name, "complexity_" + unit: head["value"],
               "measures": measures}
    signature = [f"aligner:{aligner}", f"unit:{unit}", "weighting:types", "correction:none",
                 "min_count:1", "distinct:whitespace/in-line"]
    _distinct(target, metrics)
    if synonyms is not None:
        _synonyms(synonyms, metrics)
        signature.append(SYNONYM_SIGNATURE)
    if reference_target is not None:
        reuse = main_table if faithfulness_aligner == aligner else None
        with steps.step(f"faithfulness ({faithfulness_aligner})"):
            metrics["faithfulness_" + unit] = _faithfulness(
                source, target, reference_target, faithfulness_aligner, reuse, unit, measures)
        signature.append("faithfulness:lidstone0.5/" + faithfulness_aligner)
    if lexicon is not None:
        with steps.step("language mixing"):
            mix = language_mixing(tgt, lexicon, seed=seed)
        measures["mixing"] = mix
        metrics["mixed_sentence_rate"] = mix["mixed_sentence_rate"]
        metrics["language_entropy_bits"] = mix["language_entropy_bits"]
        if modes is None:
            modes = [c if c in lexicon["languages"] else None
                     for c in mixing.choices(mixing.language_counts(
                         tgt, lexicon["token_language"], lexicon["languages"]),
                         lexicon["languages"])]
    labelled = 0 if modes is None else sum(m is not None for m in modes)
    if modes is not None and not given_modes and labelled < sentence_level.MIN_LABELLED:
        # modes read off the lexicon: a degenerate corpus (e.g. a barely trained teacher's
        # near-empty outputs) leaves too few to classify; say so instead of failing
        measures["sentence_level"] = {"note": f"mode classifier skipped: only {labelled} "
                                      "sentences have an identifiable language"}
        modes = None
    if modes is not None:
        with steps.step("mode classifier"):
            sent = sentence_level.mode_cross_entropy(source, modes, seed=seed)
        measures["sentence_level"] = {"mode_classifier": sent}
        metrics["mode_cross_entropy_bits"] = sent["cross_entropy_bits"]
        signature.append("modes:" + ("given" if given_modes else "lexicon-argmax")
                         + "/logreg-heldout-half")
    metrics["signature"] = "|".join(signature)
    return metrics


def _faithfulness(source, target, reference_target, which, table, unit, measures):
    """F(d) of (source, target) against (source, reference_target), both aligned by ``which``."""
    if which == "gold":
        raise UserError("faithfulness needs the same learned aligner on both corpora "
                        "(--faithfulness-aligner eflomal or ibm1)")
    tables = []
    for tgt_lines in (reference_target, target):
        if tgt_lines is target and table is not None:
            tables.append(table)
            continue
        src, tgt = encode(source), encode(tgt_lines)
        links, _ = alignment.align(which, src, tgt, source, tgt_lines)
        tables.append(lextable.count_links(src, tgt, links))
    result = complexity.faithfulness(tables[0], tables[1], unit)
    result["settings"]["aligner"] = which
    measures["faithfulness"] = result
    return result["value"]


def analyze_outputs(hypotheses, references=None, lexicon=None, gold_languages=None,
                    references_by_language=None, name="system", seed=0, truth=None,
                    rare_words=None, confidences=None, entropies=None, bins=calibration.BINS,
                    other_seed=None, swapped=None):
    """Measures of a system's outputs: mixing, repetition, distinct-n, BLEU (multi-reference,
    per language), with ``truth`` the exact valid rate and synonym diversity, with
    ``rare_words`` the rare-word recall, with ``confidences`` the calibration.

    ``references``: list of reference sets (each a list of lines); ``references_by_language``:
    {language: lines} (e.g. the synthetic test.ref.<lang> files); ``truth``: a synthetic
    corpus's ``validity.load(directory)``, whose test sources the hypotheses translate;
    ``rare_words``: a ``rare_words.Inputs`` whose sources the hypotheses translate;
    ``confidences`` (and ``entropies``, bits): per hypothesis a list of per-token numbers,
    judged against ``truth`` when given, else against the references
    (``analysis.token_labels``); ``other_seed``: the hypotheses of the system retrained with
    another seed; ``swapped``: ``(swapped sources, their hypotheses, name)`` (needs ``truth``)
    (``analysis.stability``)."""
    references = list(references or [])
    by_lang = dict(references_by_language or {})
    sources = {} if truth is None else {truth.sources_path: truth.sources}
    if rare_words is not None:
        sources.update({"rare-word sources": rare_words.sources,
                        "rare-word references": rare_words.references,
                        "rare-word alignments": rare_words.alignments})
    _check_parallel({"hypotheses": hypotheses, "gold languages": gold_languages, **sources,
                     **{f"reference {k + 1}": r for k, r in enumerate(references)},
                     **{f"reference {lang}": r for lang, r in by_lang.items()}})
    measures = {"corpus": corpus_stats.side_stats(encode(hypotheses))}
    metrics = {"kind": "outputs", "name": name, "measures": measures}
    first_ref = references[0] if references else next(iter(by_lang.values()), None)
    rep = repetition.repetition(hypotheses, first_ref)
    measures["repetition"] = rep
    metrics["repetition_rate"] = rep["repetition_rate"]
    if "repetition_excess" in rep:
        metrics["repetition_excess"] = rep["repetition_excess"]
    all_refs = references or list(by_lang.values())
    if all_refs:
        scores = bleu.bleu(hypotheses, all_refs)
        measures["bleu"] = scores
        metrics["sacrebleu"] = scores["sacrebleu"]["score"]
        metrics["tokenized_bleu"] = scores["tokenized"]["score"]
    _distinct(hypotheses, metrics)
    if truth is not None:
        measures["validity"] = validity.validity(hypotheses, truth)
        metrics["valid_rate"] = measures["validity"]["valid_rate"]
        _synonyms(diversity.synonym_diversity(truth.sources, hypotheses, truth.recogniser,
                                              truth.sources_path), metrics)
    if confidences is not None:
        _calibration(hypotheses, confidences, entropies, bins, truth, all_refs, metrics)
    if other_seed is not None:
        block = measures["seed_stability"] = stability.seed_stability(hypotheses, other_seed)
        metrics["seed_changed_share"] = block["changed_share"]
    if swapped is not None:
        block = measures["swap_stability"] = stability.swap_stability(truth, hypotheses, *swapped)
        metrics["swap_changed_beyond_edit"] = block["changed_beyond_edit"]
        metrics["swap_changed_beyond_edit_same_language"] = \
            block["changed_beyond_edit_same_language"]
        metrics["swap_language_switched"] = block["language_switched"]
        metrics["valid_rate_swapped"] = block["valid_rate_swapped"]
    if rare_words is not None:
        block = measures["rare_words"] = rare.rare_word_recall(hypotheses, rare_words)
        metrics["rare_word_recall"] = block.get("reference_pooled")
        metrics["rare_word_recall_lexicon"] = block.get("lexicon_pooled")
    choices = None
    if lexicon is not None:
        mix = language_mixing(hypotheses, lexicon, gold_languages, seed)
        measures["mixing"] = mix
        metrics["mixed_sentence_rate"] = mix["mixed_sentence_rate"]
        metrics["language_entropy_bits"] = mix["language_entropy_bits"]
        choices = mixing.choices(mixing.language_counts(
            hypotheses, lexicon["token_language"], lexicon["languages"]), lexicon["languages"])
    if by_lang:
        measures["per_language_bleu"] = bleu.per_language_bleu(hypotheses, by_lang, choices)
    signature = ["repetition:adjacent-identical/tokens", "mixing:lexicon-shares",
                 "distinct:whitespace/in-line"]
    if truth is not None:
        signature += ["valid:exact-generator/" + validity.SPLIT, SYNONYM_SIGNATURE]
    if rare_words is not None:
        bounds = ",".join(map(str, rare.check_bounds(rare_words.bounds)))
        signature.append(f"rare:clipped/buckets:{bounds}")
    if confidences is not None:
        st = measures["calibration"]["settings"]
        signature.append(f"calibration:equal-width/bins:{st['bins']}/labels:{st['labels']}")
    if "bleu" in measures:
        signature.insert(0, "bleu:(" + measures["bleu"]["sacrebleu"]["signature"] + ")")
    metrics["signature"] = "|".join(signature)
    return metrics


def _calibration(hypotheses, confidences, entropies, bins, truth, references, metrics):
    """The ``calibration`` block (token labels from ``truth``, else the references) and its
    headline keys into ``metrics``."""
    calibration.check_counts(confidences, hypotheses, "confidences")
    if entropies is not None:
        calibration.check_counts(entropies, hypotheses, "entropies", "entropy")
    if truth is not None:
        labels, kind = token_labels.synthetic_labels(hypotheses, truth), "exact-generator"
    elif references:
        labels = [token_labels.by_reference(h, refs)
                  for h, refs in zip(hypotheses, zip(*references))]
        kind = "reference-clipped"
    else:
        raise UserError("calibration needs token labels: give the references or the truth")
    flat = [c for line in confidences for c in line]
    block = calibration.calibration(
        flat, [x for line in labels for x in line], bins,
        None if entropies is None else [e for line in entropies for e in line])
    block["settings"]["labels"] = kind
    metrics["measures"]["calibration"] = block
    metrics.update({k: block[k] for k in ("ece", "mce", "mean_confidence", "token_accuracy",
                                          "mean_entropy_bits") if k in block})


def compare(analyses):
    """Side-by-side table of the top-level numbers of several metrics dicts."""
    keys = []
    for a in analyses:
        keys += [k for k, v in a.items() if isinstance(v, (int, float)) and k not in keys]
    return {"kind": "compare", "names": [a.get("name", f"#{k}") for k, a in enumerate(analyses)],
            "table": {k: [a.get(k) for a in analyses] for k in keys},
            "signatures": [a.get("signature", "") for a in analyses]}
