"""Shared fixtures: a toy corpus, its fairseq data-bin, a tiny trained AR teacher, the four tiny
NATs, and the real nat-experiment runs that the experiment tests share.

Session-scoped so each (real) fairseq-preprocess / fairseq-train / nat-experiment run happens
once per test run.  The expensive ones that read nothing the tests make (``tiny_teacher``,
``user_data_experiment``, ``reduced_experiment``, ``variants_experiment``:
tests/background_runs.py) start when the session starts, one after another in one background
process, and the test modules are ordered so that each runs after the runs it reads (modules
that read none first): on 2 cores, where most tests keep one busy, the runs overlap the other
tests instead of adding to them.
"""
import json
import os
import pickle
import subprocess
import sys
import time

import pytest

import background_runs
from nat import fairseq_cli
from nat.toy import write_toy_corpus

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TEACHER_UPDATES = background_runs.TEACHER_UPDATES
NAT_ARCHS = background_runs.NAT_ARCHS
NAT_UPDATES = background_runs.NAT_UPDATES

#: the fixtures that read background runs, and the runs each needs (in RUN_ORDER, the order the
#: worker runs them and the order of the test modules that read them)
BACKGROUND = {"tiny_teacher": ("teacher",), "user_data_experiment": ("user_data",),
              "reduced_experiment": ("reduced",), "variants_experiment": ("reduced", "variants"),
              "seed_experiment": ("reduced", "seed")}
#: niceness of the background worker (and of everything it starts)
BACKGROUND_NICE = 3
RUN_ORDER = ("teacher", "user_data", "reduced", "variants", "seed")


@pytest.fixture(scope="session", autouse=True)
def one_omp_thread():
    """One OMP thread per fairseq subprocess (``run_command`` defaults to one per core): on the
    shared 2-core machine, two threads spin against other jobs; measured 10-16x slower.  The
    same in this process for torch and for the BLAS / OpenMP pools that numpy and onnxruntime's
    quantizer use (loaded at collection, before the variable is set: an int8 export once took
    97 s instead of 1 s beside the background runs); results do not depend on it."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn (fairseq's)
        limits = None
    else:
        limits = threadpool_limits(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", os.environ.get("NAT_TEST_THREADS", "1"))
        yield
    if limits is not None:
        limits.restore_original_limits()
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def fairseq_worker(one_omp_thread):
    """A ``nat.console_pool.Pool`` of one worker for the fairseq runs that make a test's inputs
    (decodings compared across batch sizes, a teacher to read): fairseq is imported once for
    all of them instead of once a process (~4 s each).  Tests of the commands themselves run
    them as processes."""
    from nat import console_pool

    with console_pool.Pool(1) as pool:
        yield pool


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
def user_corpus(tmp_path_factory):
    """The multilingual sample of real_text_sample.py, as a user's raw corpus directory."""
    import real_text_sample

    path = str(tmp_path_factory.mktemp("user_corpus"))
    real_text_sample.write(path)
    return path


class BackgroundRuns:
    """The runs of background_runs.py that the selected tests read, started in one background
    process when the session starts; ``result(run)`` waits for one."""

    def __init__(self, runs, base, inputs):
        from nat.cli import die_with_parent

        self.outs = {run: os.path.join(base, run) for run in runs}
        args = {"teacher": [inputs.get("toy_data_bin")], "reduced": [],
                "variants": [self.outs.get("reduced")], "user_data": [inputs.get("user_corpus")],
                "seed": [self.outs.get("reduced")]}
        spec = os.path.join(base, "spec.json")
        with open(spec, "w", encoding="utf-8") as handle:
            json.dump([{"run": run, "args": args[run], "out": self.outs[run]} for run in runs],
                      handle)
        self.log_path = os.path.join(base, "worker.log")
        owned = die_with_parent(os.getpid())

        def preexec():
            owned()
            # a little below the tests in priority: the runs take most of the core a test leaves
            # idle and slow less a test that keeps both busy (more would starve them on a
            # machine shared with other work: measured)
            os.nice(BACKGROUND_NICE)

        with open(self.log_path, "w", encoding="utf-8") as log:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "background_runs.py"), spec], cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT, preexec_fn=preexec)

    def result(self, run):
        """``(out dir, what the run returned)`` of ``run``, once it has finished."""
        out = self.outs[run]
        while True:
            exited = self.proc.poll() is not None  # before looking: a run writes, then exits
            if os.path.exists(background_runs.result_path(out)):
                with open(background_runs.result_path(out), "rb") as handle:
                    return out, pickle.load(handle)
            if os.path.exists(background_runs.error_path(out)):
                with open(background_runs.error_path(out), encoding="utf-8") as handle:
                    raise RuntimeError(f"background run {run!r} failed:\n{handle.read()}")
            if exited:
                with open(self.log_path, encoding="utf-8") as handle:
                    tail = handle.read()[-3000:]
                raise RuntimeError(f"the background worker exited ({self.proc.returncode}) "
                                   f"before {run!r} finished:\n{tail}")
            time.sleep(0.1)

    def stop(self):
        from nat.cli import stop_child

        stop_child(self.proc)


@pytest.fixture(scope="session", autouse=True)
def background(request, one_omp_thread, tmp_path_factory):
    """Starts the background runs that the selected tests read (None if they read none)."""
    needed = set()
    for item in request.session.items:
        for fixture, runs in BACKGROUND.items():
            if fixture in item.fixturenames:
                needed.update(runs)
    if not needed:
        yield None
        return
    runs = [run for run in RUN_ORDER if run in needed]
    inputs = {}
    if "teacher" in needed:
        inputs["toy_data_bin"] = request.getfixturevalue("toy_data_bin")
    if "user_data" in needed:
        inputs["user_corpus"] = request.getfixturevalue("user_corpus")
    worker = BackgroundRuns(runs, str(tmp_path_factory.mktemp("background")), inputs)
    yield worker
    worker.stop()


@pytest.fixture(scope="session")
def tiny_teacher(background, toy_data_bin):
    """Checkpoint of ``transformer_teacher_tiny`` trained ``TEACHER_UPDATES`` updates on
    ``toy_data_bin`` (real CLI)."""
    return background.result("teacher")[1]


@pytest.fixture(scope="module")
def tiny_kd_setup(tiny_teacher, toy_data_bin):
    """(task, the tiny teacher in eval mode, a seeded transformer_student_tiny, a collated batch
    of 12 valid sentences): the Word-KD and ImitKD criterion tests' inputs (per module)."""
    import argparse

    import torch

    import fairseq_plugins  # noqa: F401
    from fairseq import checkpoint_utils, models

    teachers, _, task = checkpoint_utils.load_model_ensemble_and_task(
        [tiny_teacher], arg_overrides={"data": toy_data_bin})
    task.load_dataset("valid")
    dataset = task.dataset("valid")
    sample = dataset.collater([dataset[i] for i in range(12)])
    torch.manual_seed(0)
    student = models.build_model(argparse.Namespace(arch="transformer_student_tiny"), task)
    return task, teachers[0].eval(), student, sample


@pytest.fixture(scope="session")
def all_nat_models(toy_data_bin, tmp_path_factory):
    """The tiny NATs of ``background_runs.run_nat_models``, trained in one process (here, not in
    the background: the background runs already take as long as the other tests)."""
    return background_runs.run_nat_models(toy_data_bin, str(tmp_path_factory.mktemp("nats")))


@pytest.fixture(scope="session")
def nat_models(all_nat_models):
    """``{arch: (checkpoint, train log text)}`` of ``NAT_ARCHS``, each trained ``NAT_UPDATES``
    updates on ``toy_data_bin``."""
    return {arch: all_nat_models[arch] for arch in NAT_ARCHS}


@pytest.fixture(scope="session")
def dag_model(all_nat_models):
    """``(checkpoint, train log text)`` of nat_dag_tiny trained ``DAG_UPDATES`` updates with
    glancing on ``toy_data_bin``, a loss logged every update (trained with ``nat_models``)."""
    return all_nat_models["nat_dag_tiny"]


@pytest.fixture(scope="session")
def reduced_experiment(background):
    """``(config, out, results)`` of ``nat-experiment`` with ``REDUCED`` over the quick preset."""
    out, results = background.result("reduced")
    return background_runs.reduced_config(), out, results


@pytest.fixture(scope="session")
def seed_experiment(background):
    """``(config, out dir, results)`` of the seed stage over a copy of the reduced run."""
    out, results = background.result("seed")
    return background_runs.seed_config(), out, results


@pytest.fixture(scope="session")
def variants_experiment(background):
    """``(config, out, results)`` of the variants run over a copy of the reduced run."""
    out, results = background.result("variants")
    return background_runs.variants_config(), out, results


@pytest.fixture(scope="session")
def user_data_experiment(background, user_corpus):
    """``(config, out, results)`` of ``nat-experiment --data`` on ``user_corpus``."""
    out, results = background.result("user_data")
    return background_runs.user_data_config(), out, results


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Each test module runs after the background runs it reads (modules that read none first,
    then in RUN_ORDER), so the runs overlap the tests before; each module stays in one piece and
    keeps its own order, and modules of one rank keep theirs."""
    rank = {}
    for item in items:
        need = [max(RUN_ORDER.index(run) for run in BACKGROUND[f])
                for f in BACKGROUND if f in item.fixturenames]
        module = item.nodeid.split("::")[0]
        rank[module] = max([rank.get(module, -1), *need])
    items.sort(key=lambda item: rank[item.nodeid.split("::")[0]])
