"""Validation on the synthetic corpus: estimates against the generator's exact values.

Tolerances (analysis.validation.TOLERANCES): gold-link C(d) within 0.05 bits of the exact C*;
the mode classifier's held-out cross-entropy within 0.05 bits of H(L|X) for random pairing.
"""
import json
import math
import os
import random

import pytest

from analysis import api, lexicon as lexicon_io, validation
from analysis.cli import main
from nat.synth import generate_corpus
from nat.textio import read_lines

TRAIN = 4000


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    base = tmp_path_factory.mktemp("synth")
    out = {}
    for mode in ("random", "deterministic"):
        d = str(base / mode)
        generate_corpus(d, mode=mode, seed=3, sizes=(TRAIN, 50, 200), preset="small")
        out[mode] = d
    return out


def load(d, split="train"):
    return {ext: read_lines(os.path.join(d, f"{split}.{ext}"))
            for ext in ("src", "tgt", "align", "lang")}


@pytest.fixture(scope="module")
def analyses(corpora):
    """Corpus metrics with gold links plus eflomal and IBM1 (for the bias), validated."""
    out = {}
    for mode, d in corpora.items():
        f, lex = load(d), lexicon_io.load(os.path.join(d, "lexicon.json"))
        m = api.analyze_corpus(f["src"], f["tgt"], lexicon=lex, align=f["align"],
                               extra_aligners=("eflomal", "ibm1"), name=mode)
        m["validation"] = validation.against_truth(m, os.path.join(d, "truth.json"), "train", lex,
                                                   f["src"], f["tgt"], f["align"])
        out[mode] = m
    return out


@pytest.mark.parametrize("mode", ["random", "deterministic"])
def test_gold_complexity_matches_exact_value(analyses, mode):
    v = analyses[mode]["validation"]
    assert v["complexity_exact_bits"]["source_types_missing_from_lexicon"] == 0
    tolerance = validation.TOLERANCES["complexity_gold_bits"]
    assert abs(v["complexity_bias_gold_unweighted_bits"]) < tolerance
    assert analyses[mode]["complexity_bits"] > 0.5      # a real, not a degenerate, estimate


@pytest.mark.parametrize("mode", ["random", "deterministic"])
def test_learned_aligner_bias_is_measured(analyses, mode):
    v = analyses[mode]["validation"]
    for aligner in ("eflomal", "ibm1"):
        bias = v[f"complexity_bias_{aligner}_unweighted_bits"]
        assert math.isfinite(bias) and abs(bias) < 0.5   # sanity: same order as the value
        settings = analyses[mode]["measures"]["alignments"][aligner]["settings"]
        assert settings["aligner"] == aligner


def test_sentence_level_tells_random_from_deterministic(analyses):
    rnd, det = analyses["random"], analyses["deterministic"]
    c_gap = abs(rnd["complexity_bits"] - det["complexity_bits"])
    ce_gap = rnd["mode_cross_entropy_bits"] - det["mode_cross_entropy_bits"]
    assert c_gap < 0.1 * rnd["complexity_bits"]           # C(d) nearly equal ...
    assert ce_gap > 1.0 and ce_gap > 5 * c_gap           # ... the classifier is not
    h_rnd = rnd["validation"]["exact"]["h_lang_given_src"]
    assert abs(rnd["mode_cross_entropy_bits"] - h_rnd) < validation.TOLERANCES[
        "mode_cross_entropy_random_bits"]
    assert det["validation"]["exact"]["h_lang_given_src"] == 0
    assert det["mode_cross_entropy_bits"] < 0.2


def test_gold_targets_never_mix(analyses):
    for m in analyses.values():
        assert m["mixed_sentence_rate"] == 0.0
        assert m["language_entropy_bits"] == 0.0
        assert m["measures"]["mixing"]["unknown_token_rate"] == 0.0


def test_constructed_mixed_file_has_its_known_rate(corpora, tmp_path):
    d = corpora["random"]
    f = load(d, "test")
    rng = random.Random(0)
    lines, mixed, entropies = [], 0, []
    for k, (tgt, lang) in enumerate(zip(f["tgt"], f["lang"])):
        toks = tgt.split()
        if k % 3 == 0:          # splice the tail of a line in another language
            other = rng.choice([j for j, l in enumerate(f["lang"]) if l != lang])
            tail = f["tgt"][other].split()[:rng.randint(1, 3)]
            keep = rng.randint(1, len(toks))
            toks = toks[:keep] + tail
            mixed += 1
            p = keep / (keep + len(tail))
            entropies.append(-p * math.log2(p) - (1 - p) * math.log2(1 - p))
        else:
            entropies.append(0.0)
        lines.append(" ".join(toks))
    hyp = tmp_path / "mixed.txt"
    hyp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "report"
    assert main(["outputs", "--hyp", str(hyp), "--ref-dir", d, "--lexicon",
                 os.path.join(d, "lexicon.json"), "--lang", os.path.join(d, "test.lang"),
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mixed_sentence_rate"] == pytest.approx(mixed / len(lines))
    assert metrics["language_entropy_bits"] == pytest.approx(sum(entropies) / len(lines))
    per = metrics["measures"]["per_language_bleu"]
    assert set(per) == {"xa", "xb", "xc", "chosen_language"}
    assert per["chosen_language"]["score"] > max(per[l]["score"] for l in ("xa", "xb", "xc"))
