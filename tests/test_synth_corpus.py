"""nat-synth corpora: language mixture, vocabularies, alignments, modes, determinism."""
import filecmp
import json
import math
import os
from collections import Counter

import pytest

from nat.synth import generate_corpus

MIX = (0.5, 0.3, 0.2)
N_TRAIN = 6000


def lines(out, name):
    with open(os.path.join(out, name), encoding="utf-8") as handle:
        return handle.read().splitlines()


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """The small preset in each mode, same mix and seed."""
    out = {}
    for mode in ("random", "deterministic", "all"):
        path = str(tmp_path_factory.mktemp(f"synth_{mode}"))
        sizes = (N_TRAIN, 200, 200) if mode != "all" else (300, 50, 50)
        generate_corpus(path, mode=mode, mix=MIX, seed=11, sizes=sizes, preset="small")
        out[mode] = path
    return out


def load_json(out, name):
    with open(os.path.join(out, name), encoding="utf-8") as handle:
        return json.load(handle)


def test_language_frequencies_match_the_mix(corpora):
    counts = Counter(lines(corpora["random"], "train.lang"))
    truth = load_json(corpora["random"], "truth.json")
    for code, p in zip(("xa", "xb", "xc"), MIX):
        sd = math.sqrt(p * (1 - p) / N_TRAIN)
        assert abs(counts[code] / N_TRAIN - p) < 4 * sd, (code, counts)
        assert truth["train"]["lang_counts"][code] == counts[code]
    assert truth["train"]["h_lang_given_src"] == pytest.approx(
        -sum(p * math.log2(p) for p in MIX), abs=1e-12)


def test_deterministic_mode_has_zero_language_entropy_and_nearly_the_same_mix(corpora):
    out = corpora["deterministic"]
    truth, lexicon = load_json(out, "truth.json"), load_json(out, "lexicon.json")
    for split in ("train", "valid", "test"):
        assert truth[split]["h_lang_given_src"] == 0.0
    counts = Counter(lines(out, "train.lang"))
    random_counts = Counter(lines(corpora["random"], "train.lang"))
    for code, p in zip(("xa", "xb", "xc"), MIX):
        assert abs(truth["expected_mix"][code] - p) < 0.03
        assert abs(counts[code] - random_counts[code]) / N_TRAIN < 0.05
    # the language is a function of a visible feature: the subject (first) noun
    classes, by_noun = lexicon["source_class"], lexicon["deterministic"]["language_of_noun"]
    for src, code in zip(lines(out, "train.src"), lines(out, "train.lang")):
        subject = next(w for w in src.split() if classes[w] == "noun")
        assert by_noun[subject] == code


def test_all_mode_emits_each_source_once_per_language(corpora):
    out = corpora["all"]
    src, lang = lines(out, "train.src"), lines(out, "train.lang")
    assert len(src) == 3 * 300
    for i in range(0, len(src), 3):
        assert src[i] == src[i + 1] == src[i + 2]
        assert lang[i:i + 3] == ["xa", "xb", "xc"]
    truth = load_json(out, "truth.json")
    assert truth["train"]["h_lang_given_src"] == pytest.approx(math.log2(3), abs=1e-12)


@pytest.mark.parametrize("mode", ["random", "deterministic", "all"])
def test_tokens_belong_to_their_line_language_and_links_are_valid(corpora, mode):
    out = corpora[mode]
    lexicon = load_json(out, "lexicon.json")
    tok_lang, real = lexicon["token_language"], lexicon["realisations"]
    settings = lexicon["settings"]
    for split in ("train", "valid", "test"):
        src, tgt, lang, align = (lines(out, f"{split}.{ext}")
                                 for ext in ("src", "tgt", "lang", "align"))
        assert len(src) == len(tgt) == len(lang) == len(align) > 0
        for s, t, code, a in zip(src, tgt, lang, align):
            s, t = s.split(), t.split()
            assert settings["min_len"] <= len(s) <= settings["max_len"]
            assert t and all(tok_lang[tok] == code for tok in t)
            links = [tuple(map(int, link.split("-"))) for link in a.split()]
            assert links == sorted(set(links))
            assert len({j for _, j in links}) == len(links)   # one source word per token
            for i, j in links:
                assert 0 <= i < len(s) and 0 <= j < len(t)
                # a gold link joins a source word to a token of one of its realisations
                assert any(t[j] in option.split() for option in real[s[i]][code])
    test_src = lines(out, "test.src")
    for code in lexicon["languages"]:
        ref = lines(out, f"test.ref.{code}")
        assert len(ref) == len(test_src)
        assert all(tok_lang[tok] == code for line in ref for tok in line.split())


def test_vocabularies_are_disjoint_and_realisations_are_distributions(corpora):
    lexicon = load_json(corpora["random"], "lexicon.json")
    seen = {}
    for word, per_lang in lexicon["realisations"].items():
        assert word not in lexicon["token_language"]       # source vocabulary is apart too
        for code, options in per_lang.items():
            assert sum(options.values()) == pytest.approx(1.0, abs=1e-12)
            assert len({len(o.split()) for o in options}) == 1   # synonyms: equal length
            for tok in (t for o in options for t in o.split()):
                assert seen.setdefault(tok, code) == code
                assert lexicon["token_language"][tok] == code
    assert set(lexicon["token_language"].values()) == set(lexicon["languages"])


def test_same_arguments_give_identical_files_and_splits_are_independent(tmp_path):
    a, b, c = (str(tmp_path / x) for x in "abc")
    generate_corpus(a, seed=4, sizes=(300, 30, 40), preset="small")
    generate_corpus(b, seed=4, sizes=(300, 30, 40), preset="small")
    generate_corpus(c, seed=4, sizes=(500, 30, 40), preset="small")
    names = sorted(os.listdir(a))
    assert names == sorted(os.listdir(b))
    assert not any(n.startswith(".tmp") for n in names)
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert match == names and not mismatch and not errors
    # a different train size leaves valid and test untouched
    assert lines(a, "test.tgt") == lines(c, "test.tgt")
    assert lines(a, "train.src") == lines(c, "train.src")[:300]
    other = str(tmp_path / "d")
    generate_corpus(other, seed=5, sizes=(300, 30, 40), preset="small")
    assert lines(a, "train.src") != lines(other, "train.src")


def test_word_frequencies_are_zipf_like(corpora):
    lexicon = load_json(corpora["random"], "lexicon.json")
    classes = lexicon["source_class"]
    counts = Counter(w for line in lines(corpora["random"], "train.src") for w in line.split()
                     if classes[w] == "verb")
    ranked = [n for _, n in counts.most_common()]
    # Zipf exponent 1: the top verb about twice the second and far above the tail
    assert 1.5 < ranked[0] / ranked[1] < 2.6
    assert ranked[0] > 5 * ranked[-1]


@pytest.mark.parametrize("mode, mix, absent", [("random", (1.0, 0.0, 0.0), {"xb", "xc"}),
                                               ("random", (0.0, 0.6, 0.4), {"xa"}),
                                               ("deterministic", (0.5, 0.5, 0.0), {"xc"})])
def test_languages_with_zero_weight_never_appear(tmp_path, mode, mix, absent):
    truth = generate_corpus(str(tmp_path), mode=mode, mix=mix, seed=1, sizes=(400, 0, 20),
                            preset="small")
    used = set(lines(str(tmp_path), "train.lang"))
    assert used and not used & absent
    assert truth["valid"]["pairs"] == 0 and truth["valid"]["h_tgt_given_src"] is None
    assert lines(str(tmp_path), "valid.src") == []
