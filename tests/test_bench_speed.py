"""``nat-bench speed`` end to end on tiny models: every system is timed, ratios are printed
against CTranslate2 of the same precision, the rows go to JSON; bad inputs give one line.
(The figures themselves are benchmark output, never asserted.)"""
import json
import os

import pytest

from nat.bench import cli
from nat.bench.checkpoints import random_checkpoint
from nat.errors import UserError


@pytest.fixture(scope="module")
def experiment_dir(tmp_path_factory, tiny_teacher, toy_data_bin, toy_corpus):
    """The layout ``--experiment`` reads (a nat-experiment output), made of the shared fixtures:
    the tiny teacher, one random-weight CTC NAT, the toy data-bin and test set."""
    root = tmp_path_factory.mktemp("speed_experiment")
    (root / "checkpoints" / "teacher").mkdir(parents=True)
    os.symlink(tiny_teacher, root / "checkpoints" / "teacher" / "checkpoint_last.pt")
    (root / "checkpoints" / "ctc_distilled").mkdir()
    random_checkpoint(toy_data_bin, "nat_ctc_tiny",
                      str(root / "checkpoints" / "ctc_distilled" / "checkpoint_last.pt"))
    (root / "bin").mkdir()
    os.symlink(toy_data_bin, root / "bin" / "raw")
    (root / "data").mkdir()
    for side in ("src", "tgt"):
        os.symlink(os.path.join(toy_corpus, f"test.{side}"), root / "data" / f"test.{side}")
    return str(root)


def test_tiny_speed_table(experiment_dir, tmp_path, capsys):
    rows_path = tmp_path / "rows.json"
    assert cli.main(["speed", "--sizes", "tiny", "--experiment", experiment_dir, "--threads",
                     "1", "--latency-sentences", "3", "--throughput-sentences", "8",
                     "--batch", "4", "--no-fairseq", "--work", str(tmp_path / "work"),
                     "--json", str(rows_path)]) == 0
    out = capsys.readouterr().out
    rows = json.loads(rows_path.read_text())
    systems = {(r["system"], r["precision"]) for r in rows}
    assert systems == {
        ("teacher CTranslate2 greedy", "fp32"), ("teacher CTranslate2 beam 5", "fp32"),
        ("teacher CTranslate2 greedy", "int8"), ("teacher CTranslate2 beam 5", "int8"),
        ("ctc_distilled torch", "fp32"), ("ctc_distilled ONNX Runtime", "fp32"),
        ("ctc_distilled ONNX Runtime", "int8")}
    assert all(r["p50_ms"] > 0 and r["p90_ms"] >= r["p50_ms"] and r["tokens_per_s"] > 0
               for r in rows)
    # every NAT row has its ratios to CTranslate2 greedy / beam 5 of its own precision
    line = next(li for li in out.splitlines() if li.startswith("| ctc_distilled ONNX Runtime "
                                                                 "| int8"))
    assert line.count("x / ") == 2
    assert os.path.isfile(tmp_path / "work" / "tiny" / "ctc_distilled-int8" / "manifest.json")


def bench(argv):
    """The command without its exit-status wrapper, so a UserError can be caught."""
    args = cli.build_parser().parse_args(argv)
    return args.func(args)


def test_bad_inputs(tmp_path):
    with pytest.raises(UserError, match="needs --experiment DIR"):
        bench(["speed", "--sizes", "tiny"])
    with pytest.raises(UserError, match="is missing"):
        bench(["speed", "--sizes", "tiny", "--experiment", str(tmp_path)])
    with pytest.raises(UserError, match="must be a positive integer"):
        bench(["speed", "--threads", "0"])
    with pytest.raises(UserError, match="no CUDA device"):
        bench(["speed", "--sizes", "base", "--device", "cuda"])
