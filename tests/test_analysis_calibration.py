"""Calibration (``analysis.calibration``), the token labels it is measured against
(``analysis.token_labels``) and ``nat-analyze outputs --confidences``."""
import functools
import itertools
import json
import os
import random

import numpy as np
import pytest

from analysis import calibration, token_labels, validity
from analysis.cli import main
from nat.errors import UserError
from nat.synth import generate_corpus
from nat.synth.recognise import Realisations


def test_constant_confidence_gives_the_gap_to_accuracy():
    correct = [True] * 55 + [False] * 45
    for c in (0.0, 0.3, 0.7, 1.0):
        value, table = calibration.ece([c] * 100, correct)
        assert value == pytest.approx(abs(c - 0.55), abs=1e-12)
        assert calibration.mce(table) == pytest.approx(abs(c - 0.55), abs=1e-12)
        assert sum(row["count"] for row in table) == 100


def test_perfectly_calibrated_set_is_near_zero():
    rng = np.random.default_rng(0)
    conf = rng.random(50_000)
    correct = rng.random(conf.size) < conf
    value, table = calibration.ece(conf, correct)
    # per bin, acc - conf has standard deviation sqrt(sum p(1-p)) / n_b; ECE weighs it by n_b/N
    which = np.searchsorted(np.arange(1, 10) / 10, conf, side="right")
    sd = sum(np.sqrt(np.sum(conf[which == b] * (1 - conf[which == b]))) for b in range(10))
    tolerance = 3 * sd / conf.size
    assert 0 <= value < tolerance < 0.02
    overconfident = rng.random(conf.size) < conf ** 2
    assert calibration.ece(conf, overconfident)[0] > 10 * tolerance


def test_tiny_example_by_hand():
    block = calibration.calibration([0.05, 0.15, 0.95, 1.0], [False, True, True, True],
                                    entropies=[1.0, 2.0, 0.5, 0.5])
    assert block["ece"] == pytest.approx((0.05 + 0.85 + 2 * 0.025) / 4)
    assert block["mce"] == pytest.approx(0.85)
    assert block["mean_confidence"] == pytest.approx(0.5375)
    assert block["token_accuracy"] == 0.75 and block["mean_entropy_bits"] == 1.0
    rows = block["reliability"]
    assert [r["count"] for r in rows] == [1, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert rows[2]["accuracy"] is None and rows[9]["mean_confidence"] == pytest.approx(0.975)


@pytest.mark.parametrize("bins", [7, 10, 100])
def test_a_confidence_on_an_edge_opens_the_bin_above(bins):
    conf = [k / bins for k in range(bins + 1)]
    table = calibration.reliability(conf, [True] * len(conf), bins)
    assert [r["count"] for r in table] == [1] * (bins - 1) + [2]      # 1.0 in the last bin
    assert table[-1]["mean_confidence"] == pytest.approx((bins - 0.5) / bins)


@pytest.mark.parametrize("conf, correct, message", [
    ([], [], "no confidences given"),
    ([0.5, 1.2], [True, False], "must lie in [0, 1], got 1.2"),
    ([-0.1], [True], "must lie in [0, 1]"),
    ([float("nan")], [True], "must lie in [0, 1]"),
    ([0.5, 0.5], [True], "2 confidences for 1 correctness labels")])
def test_bad_inputs_are_one_line(conf, correct, message):
    with pytest.raises(UserError) as err:
        calibration.ece(conf, correct)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_reference_labels_clip_counts():
    labels = token_labels.by_reference("a a b c a", ["a b b", "a a"])
    assert labels == [True, True, True, False, False]
    assert token_labels.by_reference("", ["a"]) == []


def lattice(*slots):
    """``Realisations`` of one language 'x' from slots given as lists of token strings."""
    built = [(len(alts[0].split()), {tuple(a.split()): k for k, a in enumerate(alts)})
             for alts in slots]
    return Realisations({"x": built}, {"x": [None] * len(built)})


@pytest.mark.parametrize("hyp, labels", [
    ("the feline sat down", [True] * 4),                      # valid, other synonym
    ("the dog sat down", [True, False, True, True]),          # wrong word
    ("the cat cat sat down", [True, True, False, True, True]),  # repeat: the second copy
    ("the sat down", [True, True, True]),                     # dropped word
    ("sat down the cat", [True, True, False, False]),         # swapped: the left one
    ("cat feline", [True, False]),                            # two synonyms, one slot
    ("", [])])
def test_synthetic_labels_by_hand(hyp, labels):
    real = lattice(["the"], ["cat", "feline"], ["sat down"])
    assert token_labels.synthetic(hyp, real) == labels


def _alignments(h, r):
    """Every (cost, matched hypothesis positions) of an alignment of h with r."""
    @functools.lru_cache(None)
    def go(i, j):
        if i == len(h) and j == len(r):
            return {(0, frozenset())}
        out = set()
        if i < len(h):
            out |= {(c + 1, m) for c, m in go(i + 1, j)}
        if j < len(r):
            out |= {(c + 1, m) for c, m in go(i, j + 1)}
        if i < len(h) and j < len(r):
            same = h[i] == r[j]
            out |= {(c + (not same), m | {i} if same else m) for c, m in go(i + 1, j + 1)}
        return out
    return go(0, 0)


def test_synthetic_labels_against_brute_force():
    """Every realisation, every alignment: the labels are the left-first matches among the
    least-distance alignments."""
    rng = random.Random(0)
    for _ in range(300):
        slots = {}
        for code in ("x", "y"):
            slots[code] = []
            for _ in range(rng.randint(0, 3)):
                w = rng.randint(1, 2)
                alts = {tuple(rng.choice("abcd") for _ in range(w))
                        for _ in range(rng.randint(1, 2))}
                slots[code].append((w, {a: k for k, a in enumerate(alts)}))
        hyp = tuple(rng.choice("abcd") for _ in range(rng.randint(0, 6)))
        best, sets = None, set()
        for sl in slots.values():
            for combo in itertools.product(*[list(a) for _, a in sl]):
                for cost, m in _alignments(hyp, tuple(t for part in combo for t in part)):
                    if best is None or cost < best:
                        best, sets = cost, set()
                    if cost == best:
                        sets.add(m)
        want = max([i in m for i in range(len(hyp))] for m in sets)
        real = Realisations(slots, {c: [None] * len(s) for c, s in slots.items()})
        assert token_labels.synthetic(" ".join(hyp), real) == want, (hyp, slots)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("calibration_synth"))
    generate_corpus(d, mode="all", seed=3, sizes=(50, 10, 30), preset="small")
    return d


def _write(path, rows):
    path.write_text("".join(" ".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_cli_with_truth_and_with_references(synth, tmp_path):
    tgt = open(os.path.join(synth, "test.tgt"), encoding="utf-8").read().splitlines()
    hyps = [" ".join(y.split()[:-1] + y.split()[:1]) if k % 3 == 0 else y    # last word wrong
            for k, y in enumerate(tgt)]
    hyp = _write(tmp_path / "hyp.txt", [[h] for h in hyps])
    conf = _write(tmp_path / "conf.txt", [[0.8] * len(h.split()) for h in hyps])
    ent = _write(tmp_path / "ent.txt", [[0.25] * len(h.split()) for h in hyps])
    out = tmp_path / "truth"
    assert main(["outputs", "--hyp", hyp, "--truth", synth, "--confidences", conf,
                 "--entropies", ent, "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    labels = token_labels.synthetic_labels(hyps, validity.load(synth))
    accuracy = np.mean([x for line in labels for x in line])
    assert 0.8 < accuracy < 1 and m["token_accuracy"] == pytest.approx(accuracy)
    assert m["ece"] == pytest.approx(abs(0.8 - accuracy)) and m["mce"] == m["ece"]
    assert m["mean_confidence"] == pytest.approx(0.8) and m["mean_entropy_bits"] == 0.25
    block = m["measures"]["calibration"]
    assert block["settings"]["labels"] == "exact-generator" and len(block["reliability"]) == 10
    assert "calibration:equal-width/bins:10/labels:exact-generator" in m["signature"]
    report = (out / "report.md").read_text()
    assert "| ece |" in report and "## Calibration" in report and "reliability.png" in report
    assert (out / "reliability.png").stat().st_size > 0

    out = tmp_path / "refs"
    assert main(["outputs", "--hyp", hyp, "--ref", os.path.join(synth, "test.tgt"),
                 "--confidences", conf, "--calibration-bins", "5", "--out", str(out)]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["measures"]["calibration"]["settings"]["labels"] == "reference-clipped"
    assert len(m["measures"]["calibration"]["reliability"]) == 5 and m["token_accuracy"] < 1


def test_cli_errors_are_one_line(synth, tmp_path, capsys):
    hyp = _write(tmp_path / "hyp.txt", [["a b c"], ["d e"]])
    ref = _write(tmp_path / "ref.txt", [["a b c"], ["d e"]])
    cases = [([["0.5 0.5 0.5"], ["0.5"]], [], "conf.txt:2: 1 confidence values for 2 hypothesis "
                                            "tokens"),
             ([["0.5 0.5 0.5"]], [], "conf.txt has 1 lines for 2 hypotheses"),
             ([["0.5 x 0.5"], ["1 1"]], [], "conf.txt:1: not a number"),
             ([["0.5 2 0.5"], ["1 1"]], [], "conf.txt:1: confidence values must lie in [0, 1]"),
             ([["1 1 1"], ["1 1"]], ["--entropies", str(tmp_path / "nope")], "no such file")]
    for rows, extra, message in cases:
        conf = _write(tmp_path / "conf.txt", rows)
        with pytest.raises(SystemExit) as exit_info:
            main(["outputs", "--hyp", hyp, "--ref", ref, "--confidences", conf, *extra,
                  "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and err.count("\n") == 1, err
    lexicon = _write(tmp_path / "lex.json", [["{}"]])
    for argv, message in [(["--lexicon", lexicon, "--confidences", conf], "needs --truth, --ref"),
                          (["--ref", ref, "--entropies", conf], "--entropies needs --confidences")]:
        with pytest.raises(SystemExit):
            main(["outputs", "--hyp", hyp, *argv, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
