"""Rare-word recall (``analysis.rare_words``) on hand-made inputs worked out by hand, and in
``nat-analyze outputs --truth DIR`` with its one-line errors."""
import json
import os
import shutil

import pytest

from analysis import rare_words
from analysis.cli import main
from nat.errors import UserError
from nat.synth import generate_corpus

#: training frequencies: a 1, b 2, c 4, d 0 -> buckets "1", "2-3", ">3", "0" with bounds (1, 3)
HAND = rare_words.Inputs(
    train_sources=["a b b c", "c c c"],
    sources=["a b c d", "c a", "a c"],
    references=["x y z z q f", "z x", "p p"],
    # f unlinked; in line 2 x is linked to c and a (counts for a, the rarer); in line 3 the
    # two p tokens belong to a and c
    alignments=["0-0 1-1 2-2 2-3 3-4", "0-0 0-1 1-1", "0-0 1-1"],
    realisations={"a": [("x",)], "b": [("y",), ("yy",)], "c": [("z", "k")], "d": [("q",)]},
    bounds=(1, 3))
HYPOTHESES = ["x z f f y y", "x z k x", "p"]


def test_buckets():
    assert rare_words.bucket_names(rare_words.BOUNDS) == ["0", "1-2", "3-10", "11-100", ">100"]
    assert rare_words.bucket_names((1, 3)) == ["0", "1", "2-3", ">3"]
    assert [rare_words.bucket_of(f, (2, 10)) for f in (0, 1, 2, 3, 10, 11)] == [0, 1, 1, 2, 2, 3]
    assert rare_words.check_bounds("2,10") == (2, 10)
    for bad in ("10,2", "0,5", "2,2", "two"):
        with pytest.raises(UserError, match="--rare-buckets"):
            rare_words.check_bounds(bad)


def test_recall_by_hand():
    r = rare_words.rare_word_recall(HYPOTHESES, HAND)
    assert r["source_types"] == {"0": 1, "1": 1, "2-3": 1, ">3": 1}
    # reference tokens: 0: q (missed); 1: x, x, one p; 2-3: y; >3: z z, z, the other p.
    # line 1 recalls x, y and one z (the hypothesis has one); line 2 x and z; line 3 one p
    # for two reference p's, half to each bucket
    ref = {b: (v["recalled"], v["total"]) for b, v in r["reference"].items()}
    assert ref == {"0": (0, 1), "1": (2.5, 3), "2-3": (1, 1), ">3": (2.5, 4)}
    assert r["reference"]["1"]["recall"] == 2.5 / 3 and r["reference"]["0"]["recall"] == 0
    assert r["reference_pooled"] == (2.5 + 1) / (3 + 1)
    # lexicon: a in lines 1 and 2 (not 3); b once though y twice; c only where "z k" runs
    lex = {b: (v["recalled"], v["total"]) for b, v in r["lexicon"].items()}
    assert lex == {"0": (0, 1), "1": (2, 3), "2-3": (1, 1), ">3": (1, 3)}
    assert r["lexicon_pooled"] == 3 / 4


def test_only_what_is_given_is_measured():
    r = rare_words.rare_word_recall(HYPOTHESES, HAND._replace(realisations=None))
    assert "lexicon" not in r and r["reference_pooled"] == 0.875
    r = rare_words.rare_word_recall(HYPOTHESES, HAND._replace(references=None))
    assert "reference" not in r and r["lexicon"]["0"]["recall"] == 0
    empty = rare_words.rare_word_recall(["", "", ""], HAND._replace(train_sources=[]))
    assert empty["reference_pooled"] is None and empty["reference"]["0"]["total"] == 9


def test_bad_links_are_one_line():
    bad = HAND._replace(alignments=["0-0", "9-0", "0-0"], alignments_name="test.align")
    with pytest.raises(UserError, match="test.align:2: bad link '9-0'"):
        rare_words.rare_word_recall(HYPOTHESES, bad)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("rare_synth"))
    generate_corpus(d, mode="random", seed=6, sizes=(300, 0, 40), preset="small")
    return d


def outputs(synth, tmp_path, hyp, *extra):
    out = tmp_path / os.path.basename(hyp)
    assert main(["outputs", "--hyp", hyp, "--truth", synth, *extra, "--out", str(out)]) == 0
    return json.loads((out / "metrics.json").read_text()), (out / "report.md").read_text()


def test_outputs_mode(synth, tmp_path):
    m, report = outputs(synth, tmp_path, os.path.join(synth, "test.tgt"))
    r = m["measures"]["rare_words"]
    assert m["rare_word_recall"] == r["reference_pooled"] == 1.0
    assert m["rare_word_recall_lexicon"] == 1.0
    assert all(v["recall"] in (None, 1.0) for v in r["reference"].values())
    assert r["buckets"] == ["0", "1-2", "3-10", "11-100", ">100"]
    assert "rare:clipped/buckets:2,10,100" in m["signature"]
    assert "## Rare-word recall" in report and "| pooled |" in report
    assert m["inputs"]["train_source"] == os.path.join(synth, "train.src")

    m, _ = outputs(synth, tmp_path, os.path.join(synth, "test.ref.xc"), "--train-source",
                   os.path.join(synth, "test.src"), "--rare-buckets", "5")
    r = m["measures"]["rare_words"]
    assert r["buckets"] == ["0", "1-5", ">5"] and r["source_types"]["0"] == 0
    assert m["rare_word_recall_lexicon"] == 1.0          # any language counts
    assert m["rare_word_recall"] < 1.0                   # the references are in all three


def test_outputs_mode_errors_are_one_line(synth, tmp_path, capsys):
    hyp = os.path.join(synth, "test.tgt")
    copy = shutil.copytree(synth, str(tmp_path / "copy"))
    os.remove(os.path.join(copy, "test.align"))
    cases = [(["--truth", synth, "--rare-buckets", "10,2"], "--rare-buckets must be increasing"),
             (["--ref", hyp, "--train-source", hyp], "--train-source needs --truth"),
             (["--truth", synth, "--train-source", str(tmp_path / "nope")], "no such file"),
             (["--truth", copy], "no test.align (not a nat-synth output directory)")]
    for extra, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(["outputs", "--hyp", hyp, *extra, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and err.count("\n") == 1, err
