"""Shared fixtures: a toy corpus, its fairseq data-bin, and a tiny trained AR teacher.

Session-scoped so the (real) fairseq-preprocess / fairseq-train runs happen once per test run.
"""
import os

import pytest

from nat import fairseq_cli
from nat.toy import write_toy_corpus

TEACHER_UPDATES = 60


@pytest.fixture(scope="session")
def toy_corpus(tmp_path_factory):
    """Directory with ``{train,valid,test}.{src,tgt}`` of the reverse-and-relabel toy task."""
    return write_toy_corpus(str(tmp_path_factory.mktemp("toy_corpus")))


def preprocess(corpus_dir, dest, src="src", tgt="tgt"):
    fairseq_cli.run_tool("fairseq-preprocess", [
        "--source-lang", src, "--target-lang", tgt,
        "--trainpref", os.path.join(corpus_dir, "train"),
        "--validpref", os.path.join(corpus_dir, "valid"),
        "--testpref", os.path.join(corpus_dir, "test"),
        "--destdir", dest, "--joined-dictionary", "--workers", "1"],
        log_path=os.path.join(dest, "preprocess.log"))
    return dest


@pytest.fixture(scope="session")
def toy_data_bin(toy_corpus, tmp_path_factory):
    return preprocess(toy_corpus, str(tmp_path_factory.mktemp("toy_bin")))


@pytest.fixture(scope="session")
def tiny_teacher(toy_data_bin, tmp_path_factory):
    """Checkpoint of ``transformer_teacher_tiny`` trained for a few dozen updates (real CLI)."""
    save_dir = str(tmp_path_factory.mktemp("teacher"))
    fairseq_cli.run_tool("fairseq-train", [
        toy_data_bin, "--user-dir", fairseq_cli.PLUGIN_DIR, "--arch", "transformer_teacher_tiny",
        "--optimizer", "adam", "--lr", "2e-3", "--lr-scheduler", "inverse_sqrt",
        "--warmup-updates", "10", "--max-tokens", "2000", "--max-update", TEACHER_UPDATES,
        "--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1",
        "--save-dir", save_dir, "--no-epoch-checkpoints", "--no-last-checkpoints",
        "--cpu", "--seed", "1", "--log-format", "simple", "--num-workers", "0"],
        log_path=os.path.join(save_dir, "train.log"))
    return os.path.join(save_dir, "checkpoint_best.pt")


@pytest.fixture(scope="session", autouse=True)
def one_omp_thread():
    """One OMP thread per fairseq subprocess (``run_tool`` defaults to one per core): on the
    shared 2-core machine, two threads spin against other jobs; measured 10-16x slower."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", os.environ.get("NAT_TEST_THREADS", "1"))
        yield
