"""``nat-analyze outputs --truth DIR``: the exact valid rate of hypotheses for a nat-synth
corpus's test split, beside BLEU, and its one-line errors."""
import json
import os

import pytest

from analysis.cli import main
from nat.synth import generate_corpus


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("validity_synth"))
    generate_corpus(d, mode="all", seed=3, sizes=(50, 10, 30), preset="small")
    return d


def lines(d, name):
    with open(os.path.join(d, name), encoding="utf-8") as handle:
        return handle.read().splitlines()


def analyse(synth, tmp_path, name, hyps, *extra):
    hyp = tmp_path / f"{name}.txt"
    hyp.write_text("\n".join(hyps) + "\n", encoding="utf-8")
    out = tmp_path / name
    assert main(["outputs", "--hyp", str(hyp), "--truth", synth, *extra, "--out", str(out)]) == 0
    return out, json.loads((out / "metrics.json").read_text())


def test_valid_rate_of_references_and_mutations(synth, tmp_path):
    refs = ["--ref-dir", synth, "--lexicon", os.path.join(synth, "lexicon.json")]
    tgt, langs = lines(synth, "test.tgt"), lines(synth, "test.lang")
    out, m = analyse(synth, tmp_path, "gold", tgt, *refs)
    v = m["measures"]["validity"]
    assert m["valid_rate"] == v["valid_rate"] == 1.0 and v["n_sentences"] == len(tgt) == 90
    assert v["valid_by_language"] == {c: langs.count(c) / 90 for c in ("xa", "xb", "xc")}
    assert "sacrebleu" in m and "valid:exact-generator/test" in m["signature"]
    report = (out / "report.md").read_text()
    assert "| valid_rate | 1.0000 |" in report and "by language xa 0.3333" in report

    _, m = analyse(synth, tmp_path, "xb", lines(synth, "test.ref.xb"))   # --truth alone
    assert m["valid_rate"] == 1.0
    assert m["measures"]["validity"]["valid_by_language"] == {"xa": 0.0, "xb": 1.0, "xc": 0.0}

    broken = [" ".join(y.split()[:-1]) if i % 2 == 0 else y for i, y in enumerate(tgt)]
    out, m = analyse(synth, tmp_path, "broken", broken, *refs)
    assert m["valid_rate"] == 0.5 and m["measures"]["validity"]["n_valid"] == 45
    assert sum(m["measures"]["validity"]["valid_by_language"].values()) == pytest.approx(0.5)
    assert "| valid_rate | 0.5000 |" in (out / "report.md").read_text()

    table = tmp_path / "compare"
    assert main(["compare", str(tmp_path / "gold"), str(out), "--out", str(table)]) == 0
    assert json.loads((table / "metrics.json").read_text())["table"]["valid_rate"] == [1.0, 0.5]


def test_truth_errors_are_one_line(synth, tmp_path, capsys):
    hyp = tmp_path / "hyp.txt"
    hyp.write_text("\n".join(lines(synth, "test.tgt")[:5]) + "\n", encoding="utf-8")
    cases = [(synth, "line counts differ"),
             (str(tmp_path), "no truth.json (not a nat-synth output directory)"),
             (os.path.join(synth, "truth.json"), "is a file, expected a directory"),
             (str(tmp_path / "nope"), "no such directory")]
    for truth, message in cases:
        with pytest.raises(SystemExit) as exit_info:
            main(["outputs", "--hyp", str(hyp), "--truth", truth, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and err.count("\n") == 1, err
