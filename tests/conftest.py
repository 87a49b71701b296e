"""Shared fixtures: a toy corpus, its fairseq data-bin, and a tiny trained AR teacher.

Session-scoped so the (real) fairseq-preprocess / fairseq-train runs happen once per test run;
``reduced_experiment`` is one real nat-experiment run that the experiment tests share (its
corpus and teacher are reused, not retrained, by the variants run).
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
    splits = {s: os.path.join(corpus_dir, s) for s in ("train", "valid", "test")}
    fairseq_cli.preprocess(dest, splits, src, tgt, joined=True,
                           log_path=os.path.join(dest, "preprocess.log"))
    return dest


@pytest.fixture(scope="session")
def toy_data_bin(toy_corpus, tmp_path_factory):
    return preprocess(toy_corpus, str(tmp_path_factory.mktemp("toy_bin")))


@pytest.fixture(scope="session")
def tiny_teacher(toy_data_bin, tmp_path_factory):
    """Checkpoint of ``transformer_teacher_tiny`` trained for a few dozen updates (real CLI)."""
    save_dir = str(tmp_path_factory.mktemp("teacher"))
    fairseq_cli.train(toy_data_bin, save_dir, fairseq_cli.Recipe(
        "transformer_teacher_tiny", TEACHER_UPDATES, warmup=10, max_tokens=2000,
        extra=fairseq_cli.AR_TRAIN))
    return os.path.join(save_dir, "checkpoint_last.pt")


#: the quick preset shrunk to about a minute: corpus, a weak teacher, its Seq-KD corpus, a vanilla
#: NAT on raw and on distilled data; the numbers of models this small move with the CPU's float
#: rounding, so tests assert schema and invariants on it, never a BLEU margin
REDUCED = {
    "corpus": {"train": 1500, "valid": 100, "test": 100},
    "teacher": {"updates": 60, "warmup": 10, "max_tokens": 2048},
    "nat": [{"name": "vanilla", "arch": "nat_vanilla_tiny", "updates": 40, "lr": 2e-3,
             "warmup": 10, "max_tokens": 2048, "extra": [], "decode": []}],
    "decode": {"max_len_a": 0, "max_len_b": 30},
    "speed": {"throughput_batch": 64},
}


@pytest.fixture(scope="session")
def reduced_experiment(tmp_path_factory):
    """``(config, out, results)`` of ``nat-experiment`` with ``REDUCED`` over the quick preset."""
    from nat.experiment import config as presets
    from nat.experiment.pipeline import Experiment

    out = str(tmp_path_factory.mktemp("experiment"))
    config = presets.deep_merge(presets.resolve("quick"), REDUCED)
    return config, out, Experiment(config, out, quiet=True).run()


@pytest.fixture(scope="session", autouse=True)
def one_omp_thread():
    """One OMP thread per fairseq subprocess (``run_command`` defaults to one per core): on the
    shared 2-core machine, two threads spin against other jobs; measured 10-16x slower."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", os.environ.get("NAT_TEST_THREADS", "1"))
        yield
