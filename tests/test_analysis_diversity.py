"""Synonym diversity (``analysis.diversity``) and distinct-n against known answers: a raw
nat-synth corpus measures the generator's value within its sampling error, an always-first-
synonym corpus 0, a hand-built 50/50 corpus 1 bit; and their place in ``nat-analyze``."""
import itertools
import json
import math
import os
import random

import pytest

from analysis.cli import main
from analysis.distinct import distinct_n
from analysis.diversity import synonym_diversity
from analysis.plugin_entropy import entropy_bits, plugin_moments
from nat.errors import UserError
from nat.synth import World, generate_corpus, make_settings
from nat.synth.recognise import Recogniser
from nat.synth.reload import load_world

SYNONYMS = dict(synonym_rate=0.5, max_synonyms=3)     # many words with two or three synonyms


def read(directory, name):
    with open(os.path.join(directory, name), encoding="utf-8") as handle:
        return handle.read().splitlines()


@pytest.fixture(scope="module")
def raw(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("diversity_raw"))
    generate_corpus(d, mode="all", seed=2, sizes=(1500, 0, 0), preset="small", **SYNONYMS)
    return d


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("diversity_small"))
    generate_corpus(d, mode="random", seed=4, sizes=(300, 0, 40), preset="small", **SYNONYMS)
    return d


def first_synonym(world, sources, languages):
    """Each source realised in its line's language with the first (most likely) synonym."""
    by_code = dict(zip(world.codes, world.languages))
    return [" ".join(by_code[code].realise(world.grammar.parse(x), by_code[code].best)[0])
            for x, code in zip(sources, languages)]


@pytest.mark.parametrize("probs, n", [((0.7, 0.3), 4), ((0.5, 0.3, 0.2), 3), ((0.6, 0.4), 1)])
def test_plugin_moments_match_every_draw_sequence(probs, n):
    values, weights = [], []
    for seq in itertools.product(range(len(probs)), repeat=n):
        values.append(entropy_bits([seq.count(i) for i in range(len(probs))])[0])
        weights.append(math.prod(probs[i] for i in seq))
    mean = sum(w * v for w, v in zip(weights, values))
    var = sum(w * v * v for w, v in zip(weights, values)) - mean * mean
    assert plugin_moments(probs, n) == pytest.approx((mean, var), abs=1e-12)


def test_plugin_moments_above_the_enumeration_are_first_order():
    probs, n = (0.5, 0.5), 6000
    mean, var = plugin_moments(probs, n)
    assert mean == pytest.approx(1 - 1 / (2 * n * math.log(2)))
    assert var == 0.0


def test_distinct_n_by_hand():
    d = distinct_n(["a b a b", "a b", "c"])
    assert d["distinct_1"] == 3 / 7 and d["distinct_2"] == 2 / 4 and d["distinct_3"] == 2 / 2
    assert d["distinct_4"] == 1.0 and d["ngrams"]["4"] == {"distinct": 1, "total": 1}
    assert distinct_n(["a", ""])["distinct_2"] is None


def test_raw_corpus_measures_the_generator_within_sampling_error(raw):
    """The plug-in is compared with its own expectation under the generator for the same
    counts (H(p) lies above it by the plug-in's bias); the tolerance is 4 standard deviations
    of the estimate under the generator (exact moments per word, words independent)."""
    rec = Recogniser(load_world(raw))
    d = synonym_diversity(read(raw, "train.src"), read(raw, "train.tgt"), rec)
    assert d["n_invalid"] == 0 and d["occurrences"] > 5000 and d["words"] > 100
    for block in (d, *d["by_language"].values()):
        truth = block["truth"]
        assert 0 < truth["sampling_sd"] < 0.03
        assert abs(block["value"] - truth["expected_plugin"]) <= 4 * truth["sampling_sd"]
        assert truth["expected_plugin"] < truth["value"]
        assert block["kept"] == pytest.approx(1, abs=4 * truth["sampling_sd"])
    types = d["target_types_per_word"]
    assert types["value"] == pytest.approx(types["truth_expected"], abs=0.05)
    assert types["value"] <= types["synonyms_available"]


def test_always_first_synonym_has_no_synonym_entropy(raw):
    world = load_world(raw)
    sources = read(raw, "train.src")
    targets = first_synonym(world, sources, read(raw, "train.lang"))
    d = synonym_diversity(sources, targets, Recogniser(world))
    assert d["value"] == 0.0 and d["kept"] == 0.0 and d["n_invalid"] == 0
    assert d["target_types_per_word"]["value"] == 1.0 and d["truth"]["value"] > 0.5


def test_two_synonyms_half_each_is_one_bit_and_invalid_lines_count_apart():
    world = World(make_settings("small", nouns=2, adjectives=2, verbs=2, adverbs=1,
                                prepositions=1, max_len=8, synonym_rate=1.0, max_synonyms=2))
    lang = world.languages[1]
    r = random.Random(0).random
    sources, targets = [], []
    for _ in range(40):
        s = world.grammar.sample(r)
        for k in (0, 1):          # once with every first synonym, once with every second
            sources.append(world.grammar.text(s))
            targets.append(" ".join(lang.realise(s, lambda p, w: lang.options[w][
                k if len(lang.options[w]) > 1 else 0])[0]))
    sources.append(sources[0])
    targets.append("not a translation")
    d = synonym_diversity(sources, targets, Recogniser(world))
    assert d["value"] == 1.0 and d["target_types_per_word"]["value"] == 2.0
    assert d["n_invalid"] == 1 and d["n_lines"] == 81
    assert d["by_language"]["xb"]["value"] == 1.0 and d["by_language"]["xa"]["words"] == 0
    with pytest.raises(UserError, match="sources:2: not a sentence of the generator's grammar"):
        synonym_diversity([sources[0], "the"], targets[:2], Recogniser(world))


def test_corpus_and_outputs_modes_report_diversity(small, tmp_path):
    world = load_world(small)
    first = tmp_path / "first.tgt"
    first.write_text("\n".join(first_synonym(world, read(small, "train.src"),
                                             read(small, "train.lang"))) + "\n")
    common = ["corpus", "--source", os.path.join(small, "train.src"), "--align",
              os.path.join(small, "train.align"), "--lexicon",
              os.path.join(small, "lexicon.json"), "--quiet"]
    runs = {}
    for name, target in (("raw", os.path.join(small, "train.tgt")), ("first", str(first))):
        out = tmp_path / name
        assert main([*common, "--target", target, "--out", str(out)]) == 0
        runs[name] = json.loads((out / "metrics.json").read_text())
    raw, first_m = runs["raw"], runs["first"]
    block = raw["measures"]["synonym_diversity"]
    assert raw["synonym_entropy_bits"] == block["value"] > 0.5
    assert raw["synonym_entropy_truth_bits"] == block["truth"]["value"]
    assert first_m["synonym_entropy_bits"] == 0.0 and first_m["synonym_variation_kept"] == 0.0
    assert first_m["synonym_entropy_truth_bits"] == raw["synonym_entropy_truth_bits"]
    assert first_m["distinct_1"] < raw["distinct_1"]
    assert "synonyms:plug-in" in raw["signature"]
    report = (tmp_path / "raw" / "report.md").read_text()
    assert "| synonym_entropy_bits |" in report and "- synonym entropy (plug-in" in report
    assert "| distinct_2 |" in report

    table = tmp_path / "table"
    assert main(["compare", str(tmp_path / "raw"), str(tmp_path / "first"), "--out",
                 str(table)]) == 0
    kept = json.loads((table / "metrics.json").read_text())["table"]["synonym_variation_kept"]
    assert kept == [raw["synonym_variation_kept"], 0.0]

    out = tmp_path / "outputs"
    assert main(["outputs", "--hyp", os.path.join(small, "test.ref.xb"), "--truth", small,
                 "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["synonym_entropy_bits"] == 0.0 and m["valid_rate"] == 1.0      # mode references
    assert m["measures"]["synonym_diversity"]["by_language"]["xb"]["occurrences"] > 0


def test_corpus_mode_errors_are_one_line(small, tmp_path, capsys):
    foreign = tmp_path / "foreign.src"
    foreign.write_text("\n".join(["zzz qqq"] * 300) + "\n")
    lexicon = json.loads(open(os.path.join(small, "lexicon.json")).read())
    del lexicon["settings"]["nouns"]
    broken = tmp_path / "lexicon.json"
    broken.write_text(json.dumps(lexicon))
    tgt, align = os.path.join(small, "train.tgt"), os.path.join(small, "train.align")
    cases = [(str(foreign), os.path.join(small, "lexicon.json"),
              "source:1: not a sentence of the generator's grammar"),
             (os.path.join(small, "train.src"), str(broken), "no complete 'settings'")]
    for source, lex, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(["corpus", "--source", source, "--target", tgt, "--align", align,
                  "--lexicon", lex, "--quiet", "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and err.count("\n") == 1, err
