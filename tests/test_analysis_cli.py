"""``nat-analyze`` end to end on a tiny synthetic corpus, and its one-line errors on bad input."""
import json
import os
import subprocess
import sys

import pytest

from analysis.cli import main
from nat.synth import generate_corpus


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("cli_synth"))
    generate_corpus(d, mode="random", seed=5, sizes=(600, 30, 60), preset="small")
    return d


def p(d, name):
    return os.path.join(d, name)


def run_main(argv, capsys):
    """Exit status and stderr of an in-process run."""
    try:
        code = main(argv)
    except SystemExit as err:
        code = err.code
    return code, capsys.readouterr().err


def test_corpus_and_compare_reports(synth, tmp_path, capsys):
    common = ["--source", p(synth, "train.src"), "--lexicon", p(synth, "lexicon.json")]
    raw, dist = tmp_path / "raw", tmp_path / "distilled"
    nat_nll, at_nll = tmp_path / "nat.nll", tmp_path / "at.nll"
    nat_nll.write_text("".join(f"{3 + k % 4}\n" for k in range(600)))
    at_nll.write_text("".join(f"{1 + k % 2}\n" for k in range(600)))
    assert main(["corpus", *common, "--target", p(synth, "train.tgt"), "--align",
                 p(synth, "train.align"), "--truth", p(synth, "truth.json"), "--nll-nat",
                 str(nat_nll), "--nll-at", str(at_nll), "--out", str(raw)]) == 0
    # the same corpus through IBM1 against itself: F(d) ~ 0 up to the smoothing
    assert main(["corpus", *common, "--target", p(synth, "train.tgt"), "--aligner", "ibm1",
                 "--reference-target", p(synth, "train.tgt"), "--faithfulness-aligner", "ibm1",
                 "--out", str(dist)]) == 0
    m = json.loads((raw / "metrics.json").read_text())
    for key in ("complexity_bits", "mixed_sentence_rate", "language_entropy_bits",
                "mode_cross_entropy_bits", "signature", "validation"):
        assert key in m
    assert m["measures"]["alignments"]["gold"]["settings"] == {"aligner": "gold"}
    assert m["total_correlation_estimate_bits"] == pytest.approx(4.5 - 1.5)
    truth_tc = json.loads(open(p(synth, "truth.json")).read())["train"]["total_correlation"]
    assert m["validation"]["nll_gap_minus_total_correlation_bits"] == pytest.approx(3.0 - truth_tc)
    md = (raw / "report.md").read_text()
    pngs = [l.rsplit("](", 1)[1].rstrip(")") for l in md.splitlines() if l.startswith("![")]
    assert {"complexity.png", "simplex.png", "language_choice.png"} <= set(pngs)
    assert all((raw / f).stat().st_size > 5000 for f in pngs)
    d = json.loads((dist / "metrics.json").read_text())
    assert d["faithfulness_bits"] == pytest.approx(0.0, abs=0.05)
    assert d["measures"]["faithfulness"]["settings"]["smoothing"] == "lidstone-union-support"
    cmp_dir = tmp_path / "cmp"
    assert main(["compare", str(raw), str(dist), "--out", str(cmp_dir)]) == 0
    table = json.loads((cmp_dir / "metrics.json").read_text())
    assert table["names"] == ["raw", "distilled"]
    assert table["table"]["complexity_bits"] == [m["complexity_bits"], d["complexity_bits"]]
    assert (cmp_dir / "complexity_bits.png").exists() and (cmp_dir / "simplex.png").exists()


def test_lexicon_missing_tokens_go_to_unknown_bucket(synth, tmp_path):
    hyp = tmp_path / "hyp.txt"
    rest = open(p(synth, "test.tgt")).read().splitlines()[1:]
    hyp.write_text("qqq zzz\n" + "\n".join(rest) + "\n")
    out = tmp_path / "o"
    assert main(["outputs", "--hyp", str(hyp), "--ref", p(synth, "test.ref.xa"), "--lexicon",
                 p(synth, "lexicon.json"), "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())["measures"]["mixing"]
    assert m["language_choice_histogram"]["unknown"] == 1
    assert m["n_sentences_scored"] == m["n_sentences"] - 1 and m["unknown_token_rate"] > 0


def test_bad_inputs_give_one_line_errors(synth, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    short = tmp_path / "short.txt"
    short.write_text("a b\n")
    bad_json = tmp_path / "lex.json"
    bad_json.write_text("{not json")
    no_lang = tmp_path / "lex2.json"
    no_lang.write_text('{"token_language": {}}')
    src, tgt = p(synth, "train.src"), p(synth, "train.tgt")
    cases = [
        (["corpus", "--source", src, "--target", str(short), "--out", str(tmp_path / "x")],
         "line counts differ"),
        (["corpus", "--source", str(empty), "--target", str(empty), "--out", str(tmp_path / "x")],
         "empty"),
        (["corpus", "--source", src, "--target", tgt, "--lexicon", str(bad_json), "--out",
          str(tmp_path / "x")], "not a JSON lexicon"),
        (["corpus", "--source", src, "--target", tgt, "--lexicon", str(no_lang), "--out",
          str(tmp_path / "x")], "lacks the key 'languages'"),
        (["corpus", "--source", src, "--target", tgt, "--align", str(short), "--out",
          str(tmp_path / "x")], "line counts differ"),
        (["outputs", "--hyp", str(short), "--ref", src, "--out", str(tmp_path / "x")],
         "line counts differ"),
        (["compare", str(tmp_path), "--out", str(tmp_path / "x")], "no metrics.json"),
        (["corpus", "--source", src, "--target", tgt, "--truth", p(synth, "truth.json"),
          "--split", "nosuch", "--out", str(tmp_path / "x")], "no split 'nosuch'"),
        (["corpus", "--source", src, "--target", tgt, "--nll-nat", str(short), "--out",
          str(tmp_path / "x")], "--nll-nat and --nll-at go together"),
        (["corpus", "--source", str(tmp_path / "nope"), "--target", tgt, "--out",
          str(tmp_path / "x")], "no such file"),
    ]
    for argv, message in cases:
        code, err = run_main(argv, capsys)
        assert code == 2, argv
        assert err.startswith("nat-analyze: error:") and message in err, err
        assert err.count("\n") == 1, err


def test_console_script_error_is_one_line(tmp_path):
    empty = tmp_path / "e.txt"
    empty.write_text("")
    script = os.path.join(os.path.dirname(sys.executable), "nat-analyze")
    proc = subprocess.run([script, "corpus", "--source", str(empty), "--target", str(empty),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "nat-analyze: error:" in proc.stderr


@pytest.mark.parametrize("aligner", ["eflomal", "ibm1"])
def test_empty_lines_inside_a_corpus_are_aligned_around(tmp_path, aligner):
    from analysis import api
    src = ["the cat sleeps", "", "a dog runs", "the dog sleeps", "a cat runs"] * 4
    tgt = ["le chat dort", "le chien", "", "le chien dort", "un chat court"] * 4
    m = api.analyze_corpus(src, tgt, aligner=aligner)
    assert m["measures"]["corpus"]["source"]["empty_lines"] == 4
    assert m["measures"]["alignments"][aligner]["links"] > 0
    assert m["complexity_bits"] >= 0
