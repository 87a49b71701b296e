"""Language mixing, repetition and BLEU on tiny hand-made inputs (answers worked out by hand)."""
import math

import pytest

from analysis import api, bleu, mixing, repetition

LEX = {"languages": ["a", "b", "c"],
       "token_language": {"a1": "a", "a2": "a", "b1": "b", "b2": "b", "c1": "c"}}


def h2(*counts):
    n = sum(counts)
    return -sum(c / n * math.log2(c / n) for c in counts if c)


def test_mixing_by_hand():
    lines = ["a1 a2 a1",        # pure a
             "a1 b1",           # mixed 1:1
             "b1 b2 c1 zz",     # mixed 2:1 (+ one unknown token)
             "zz",              # only unknown tokens: not scored, choice 'unknown'
             "",                # empty
             "c1 a1"]           # tie
    got, shares = mixing.mixing(lines, LEX["token_language"], LEX["languages"],
                                gold_languages=["a", "a", "b", "c", "c", "c"])
    assert got["n_sentences_scored"] == 4
    assert got["mixed_sentence_rate"] == pytest.approx(3 / 4)
    assert got["language_entropy_bits"] == pytest.approx((0 + h2(1, 1) + h2(2, 1) + h2(1, 1)) / 4)
    assert got["language_choice_histogram"] == {"a": 1, "b": 1, "c": 0, "tie": 2, "unknown": 1,
                                                "empty": 1}
    assert got["unknown_token_rate"] == pytest.approx(2 / 12)
    assert got["choice_matches_gold"] == pytest.approx(2 / 6)
    assert shares.ravel().tolist() == pytest.approx([1, 0, 0, 0.5, 0.5, 0, 0, 2 / 3, 1 / 3,
                                                     0.5, 0, 0.5])


def test_repetition_by_hand():
    assert repetition.repeat_counts(["a a a b", "b b", ""]) == (3, 6)
    got = repetition.repetition(["x x y", "z"], ["x y z", "z z"])
    assert got["repetition_rate"] == pytest.approx(1 / 4)
    assert got["repetition_excess"] == pytest.approx(1 / 4 - 1 / 5)


def test_bleu_multi_reference_and_per_language():
    hyps = ["a1 a2 a1 a2 a1", "b1 b2 b1 b2 b1"]
    by_lang = {"a": ["a1 a2 a1 a2 a1", "a2 a2 a2 a2 a1"], "b": ["b2 b2 b2 b2 b2", "b1 b2 b1 b2 b1"]}
    single = bleu.bleu(hyps, [by_lang["a"]])
    multi = bleu.bleu(hyps, [by_lang["a"], by_lang["b"]])
    assert multi["tokenized"]["score"] == pytest.approx(100.0)
    assert single["tokenized"]["score"] < 100.0
    signature = multi["tokenized"]["signature"]
    assert "tok:none" in signature and "nrefs:2" in signature
    per = bleu.per_language_bleu(hyps, by_lang, choices=["a", "b"])
    assert per["chosen_language"]["score"] == pytest.approx(100.0)
    assert per["a"]["score"] < 100.0 and per["b"]["score"] < 100.0


def test_analyze_outputs_api():
    hyps = ["a1 a1 a2 a1 b1", "b1 b2 b1 b2 b1"]
    got = api.analyze_outputs(hyps, references=[["a1 a2 a1 a2 a1", "b1 b2 b1 b2 b1"]], lexicon=LEX)
    assert got["mixed_sentence_rate"] == pytest.approx(0.5)
    assert got["repetition_rate"] == pytest.approx(1 / 10)
    assert 0 < got["sacrebleu"] < 100
    assert len(got["measures"]["mixing"]["simplex_sample"]) == 2


def test_too_few_identifiable_targets_skip_the_mode_classifier():
    """A degenerate corpus (a barely trained teacher's outputs): 3 of 6 targets carry a
    language, fewer than a held-out split needs, so the measure is absent and says why."""
    source = ["s1 s2", "s2 s3", "s1 s3", "s3 s1", "s2 s1", "s3 s2"]
    target = ["a1 a2", "b1", "zz", "zz zz", "c1", "zz"]
    m = api.analyze_corpus(source, target, lexicon=LEX, aligner="ibm1")
    assert m.get("mode_cross_entropy_bits") is None
    assert m["measures"]["sentence_level"] == {
        "note": "mode classifier skipped: only 3 sentences have an identifiable language"}
    assert m["mixed_sentence_rate"] == 0.0
    # modes given explicitly are the user's claim: too few is still an error
    with pytest.raises(Exception, match="at least 4 labelled"):
        api.analyze_corpus(source, target, lexicon=LEX, aligner="ibm1",
                           modes=["a", "b", None, None, None, None])
