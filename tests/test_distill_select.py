"""Selection methods over hand-made n-best records (sacrebleu as the reference)."""
import sacrebleu

from nat.distill.select import SentenceScorer, best_bleu_rank, select, strip_bpe


def rec(idx, hyps, status="decoded"):
    return {"id": idx, "src": "", "status": status, "hyps": [[h, -float(r)] for r, h in
                                                             enumerate(hyps)], "hit_max_len": 0}


SOURCES = ["a b c", "d e f g", "", "x y"]
TARGETS = ["A B C", "D E F G", "", "X Y"]
RECORDS = [rec(0, ["A B D", "C B A", "A B C"]),
           rec(1, ["D E F G", "D E", "Q"]),
           rec(2, ["Z", "", "Y"]),
           rec(3, [], status="long_source")]


def test_seqinter_is_argmax_of_sentence_bleu():
    scorer = SentenceScorer()
    pairs, fallbacks = select(RECORDS, SOURCES, TARGETS, "seqinter", scorer=scorer)
    for record, (idx, _, chosen) in zip(RECORDS[:3], pairs[:3]):
        direct = [sacrebleu.sentence_bleu(h, [TARGETS[idx]], tokenize="none").score
                  for h, _ in record["hyps"]]
        assert chosen == record["hyps"][direct.index(max(direct))][0]
    assert pairs[0][2] == "A B C"  # rank 2 wins: the method is not top-1
    assert pairs[3] == (3, "x y", "X Y") and fallbacks == {"long_source": 1}


def test_best_bleu_ties_go_to_the_better_rank():
    assert best_bleu_rank([["Q", 0.0], ["R", -1.0]], "A B C", SentenceScorer()) == 0


def test_seqkd_top1_with_counted_fallbacks():
    records = RECORDS[:2] + [rec(2, ["Z"])] + [rec(3, [""])]
    pairs, fallbacks = select(records, SOURCES, TARGETS, "seqkd")
    assert [p[2] for p in pairs] == ["A B D", "D E F G", "Z", "X Y"]
    assert fallbacks == {"empty_hypothesis": 1}  # empty output for a non-empty source


def test_nbest_emits_k_pairs_per_source():
    pairs, fallbacks = select(RECORDS, SOURCES, TARGETS, "nbest", output_nbest=2)
    assert [p[0] for p in pairs] == [0, 0, 1, 1, 2, 2, 3, 3]
    assert [p[2] for p in pairs[:4]] == ["A B D", "C B A", "D E F G", "D E"]
    assert fallbacks == {"long_source": 1}


def test_selective_keeps_raw_target_when_far():
    scorer = SentenceScorer()
    pairs, fallbacks = select(RECORDS[:2], SOURCES, TARGETS, "selective", scorer=scorer,
                              selective_ter=0.5)
    assert scorer.sentence_ter("A B D", "A B C") < 0.5
    assert [p[2] for p in pairs] == ["A B D", "D E F G"] and fallbacks == {}
    pairs, fallbacks = select(RECORDS[:2], SOURCES, TARGETS, "selective", scorer=scorer,
                              selective_ter=0.2)
    assert [p[2] for p in pairs] == ["A B C", "D E F G"]
    assert fallbacks == {"selective_raw": 1}


def test_strip_bpe():
    assert strip_bpe("ab@@ c d", "@@ ") == "abc d"
    assert strip_bpe("\u2581a b \u2581c", "sentencepiece") == "ab c"
    assert strip_bpe("a b", None) == "a b"
