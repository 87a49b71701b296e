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


LEXICON = {"token_language": {"Haus": "de", "das": "de", "casa": "es", "la": "es",
                              "maison": "fr", "la_fr": "fr"}}


def brute_force_consistent(hyps, token_language):
    """The best rank whose identifying words share one language, else the best majority share
    (ties: best rank), by enumerating every candidate and language."""
    def share(text):
        words = [token_language[w] for w in text.split() if w in token_language]
        if not words:
            return 1.0
        return max(words.count(lang) for lang in set(words)) / len(words)
    shares = [share(text) for text, _ in hyps]
    pure = [r for r, s in enumerate(shares) if s == 1.0]
    if pure:
        return pure[0], True
    best = max(shares)
    return shares.index(best), False


def test_consistent_picks_the_best_ranked_one_language_candidate():
    from itertools import product

    from nat.distill.select import LanguageChecker, consistent_rank

    checker = LanguageChecker(LEXICON)
    words = ["Haus", "casa", "maison", "OK", "das", "la"]
    # every candidate of 1-2 of these words, in lists of 3 (and of 2, reversed)
    candidates = [" ".join(c) for n in (1, 2) for c in product(words, repeat=n)]
    for i in range(0, len(candidates) - 2, 3):
        for hyps_text in (candidates[i:i + 3], candidates[i:i + 2][::-1]):
            hyps = [[text, -float(r)] for r, text in enumerate(hyps_text)]
            assert consistent_rank(hyps, checker) == brute_force_consistent(
                hyps, LEXICON["token_language"]), hyps_text


def test_consistent_selection_counts_what_it_did():
    from nat.distill.select import LanguageChecker

    records = [rec(0, ["das casa", "das Haus", "la casa"]),     # rank 1 is the first pure one
               rec(1, ["la casa", "das Haus"]),                 # top-1 already pure
               rec(2, ["das casa maison", "Haus casa"]),        # none pure: tie 1/3 vs 1/2
               rec(3, [], status="long_source")]
    pairs, fallbacks = select(records, ["a", "b", "c", "d"], ["A", "B", "C", "D"],
                              "consistent", checker=LanguageChecker(LEXICON))
    assert [p[2] for p in pairs] == ["das Haus", "la casa", "Haus casa", "D"]
    assert fallbacks == {"consistent_below_top1": 2, "no_consistent_candidate": 1,
                         "long_source": 1}


def test_consistent_scores_words_of_sentencepiece_candidates():
    from nat.distill.select import LanguageChecker

    checker = LanguageChecker({"token_language": {"Haus": "de", "casa": "es"}},
                              remove_bpe="sentencepiece")
    # pieces are joined into words before the lexicon is asked: "Ha" + "us" = "Haus"
    assert checker.majority_share("\u2581Ha us") == 1.0
    assert checker.majority_share("\u2581Ha us \u2581casa") == 0.5
    assert checker.majority_share("\u2581Ha") == 1.0   # no identifying word: nothing mixes
