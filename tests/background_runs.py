"""The expensive shared runs of the suite, and the worker process that runs them while the other
tests run.

Each is real work through the real tools: ``teacher`` (the tiny AR teacher, fairseq-train),
``reduced`` (nat-experiment on the quick preset shrunk, read by test_experiment_pipeline.py),
``variants`` (the full preset's variants over a copy of the reduced run,
test_experiment_variants.py), ``seed`` (the seed tables' stage over another copy,
test_seed.py) and ``user_data`` (``nat-experiment --data DIR`` on a user corpus,
test_experiment_data.py).  They only read files and spawn single-threaded commands, so
tests/conftest.py starts the ones the selected tests read when the session starts, one after
another in one background process (``python tests/background_runs.py SPEC.json``), and orders
the test modules so that each comes after the runs it reads: on a 2-core machine those minutes
of training overlap the rest of the suite instead of adding to it.  Each run leaves
``OUT.result.pickle`` (what the run returned) or ``OUT.error`` (the traceback).
``run_nat_models`` (the tiny NATs, fairseq-train's ``cli_main`` for each in one process) is
conftest.py's, run from the test process: with it the background would be the longer lane.
"""
import json
import os
import pickle
import shutil
import sys
import traceback

#: the quick preset shrunk to about a minute: corpus, a weak teacher, its Seq-KD corpus, a vanilla
#: NAT on raw and on distilled data; the numbers of models this small move with the CPU's float
#: rounding, so tests assert schema and invariants on it, never a BLEU margin (and no assertion
#: depends on the corpus size: 600 training pairs decode and analyse in a third of the time of
#: 1500)
REDUCED = {
    "corpus": {"train": 600, "valid": 50, "test": 50},
    "teacher": {"updates": 60, "warmup": 10, "max_tokens": 2048},
    "nat": [{"name": "vanilla", "arch": "nat_vanilla_tiny", "updates": 40, "lr": 2e-3,
             "warmup": 10, "max_tokens": 2048, "extra": [], "decode": []}],
    "decode": {"max_len_a": 0, "max_len_b": 30},
    "speed": {"throughput_batch": 64},
    # stability: the NATs retrained with seed 2 (the one-word swap is on in every preset)
    "lost": {"retrain_seed": 2},
}

#: the full preset's variants, shrunk to seconds, over the reduced run (test_experiment_variants)
VARIANTS = {
    # one CTranslate2 thread: the distillation runs beside the Word-KD student's training
    "distill": [{"name": "seqinter", "method": "seqinter", "beam": 4, "threads": 1,
                 "backend": "ctranslate2"}],
    "born_again": {"rounds": 1, "from": "seqinter"},
    "nat": [],
    "train_data": ["raw"],
    "ar_students": [{"name": "student_wordkd", "arch": "transformer_student_tiny",
                     "train_data": "raw", "word_kd": {"alpha": 0.5, "temperature": 1.0},
                     "updates": 20, "lr": 2e-3, "warmup": 5, "max_tokens": 4096}],
    "decode": {"max_len_a": 0, "max_len_b": 30},
    "speed": {"throughput_batch": 64},
}

#: ``--data DIR`` as small as the pipeline allows (test_experiment_data.py explains it)
USER_DATA = {
    "prepare": {"vocab_size": 400, "model_type": "bpe"},
    "teacher": {"updates": 30, "warmup": 5, "lr": 0.005, "max_tokens": 400,
                "validate_every": 15},
    "distill": [{"name": "distilled", "method": "selective", "selective_ter": 0.5,
                 "backend": "ctranslate2"}],
    "nat": [{"name": "vanilla", "arch": "nat_vanilla_tiny", "updates": 20, "lr": 0.005,
             "warmup": 5, "max_tokens": 400, "extra": [], "decode": []}],
    "train_data": ["raw"],
    "decode": {"max_len_a": 0, "max_len_b": 30},
    "speed": {"throughput_batch": 32},
}


#: the tiny AR teacher that most tests decode with or distil from (``tiny_teacher``)
TEACHER_UPDATES = 60

#: the four one-pass NATs of test_nat_models_cli.py (also what test_fairseq_e2e.py decodes)
NAT_ARCHS = ["nat_vanilla_tiny", "nat_glat_tiny", "nat_ctc_tiny", "nat_ctc_glat_tiny"]
NAT_UPDATES = 150                 # CTC leaves its all-blank plateau after ~100
NAT_SMALL = ["--encoder-embed-dim", "64", "--decoder-embed-dim", "64",
             "--encoder-ffn-embed-dim", "128", "--decoder-ffn-embed-dim", "128",
             "--encoder-layers", "1", "--decoder-layers", "1"]
HERE = os.path.dirname(os.path.abspath(__file__))


def run_teacher(data_bin, out):
    """Checkpoint of ``transformer_teacher_tiny`` trained for a few dozen updates (real CLI)."""
    from nat import fairseq_cli

    fairseq_cli.train(data_bin, out, fairseq_cli.Recipe(
        "transformer_teacher_tiny", TEACHER_UPDATES, warmup=10, max_tokens=2000,
        extra=fairseq_cli.AR_TRAIN))
    return os.path.join(out, "checkpoint_last.pt")


#: nat_dag_tiny of test_dag_cli.py: a few updates with glancing, a loss logged every update
DAG_UPDATES = 16
EXTRA_UPDATES = 20                # lstm_student_tiny and cmlm_tiny (test_cmlm_lstm.py)


def nat_recipes():
    """``{arch: Recipe}`` of every NAT that ``run_nat_models`` trains."""
    from nat import fairseq_cli

    recipes = {arch: fairseq_cli.Recipe(
        arch, NAT_UPDATES, max_tokens=500, nat=True,
        extra=NAT_SMALL + ["--lr-scheduler", "fixed", "--log-interval", "10",
                           "--required-batch-size-multiple", "1"]) for arch in NAT_ARCHS}
    recipes["nat_dag_tiny"] = fairseq_cli.Recipe(
        "nat_dag_tiny", DAG_UPDATES, warmup=4, max_tokens=1000, nat=True,
        extra=["--required-batch-size-multiple", "1", "--log-interval", "1"])
    # test_cmlm_lstm.py: the recurrent AR student and mask-predict, a loss logged every 5
    common = ["--log-interval", "5", "--required-batch-size-multiple", "1"]
    recipes["lstm_student_tiny"] = fairseq_cli.Recipe(
        "lstm_student_tiny", EXTRA_UPDATES, warmup=5, max_tokens=500,
        extra=fairseq_cli.AR_TRAIN + common)
    recipes["cmlm_tiny"] = fairseq_cli.Recipe(
        "cmlm_tiny", EXTRA_UPDATES, warmup=5, max_tokens=500,
        extra=fairseq_cli.CMLM_TRAIN + common)
    return recipes


def run_nat_models(data_bin, out):
    """``{arch: (checkpoint, train log text)}``: each of ``NAT_ARCHS`` trained ``NAT_UPDATES``
    updates, nat_dag_tiny ``DAG_UPDATES``, lstm_student_tiny and cmlm_tiny ``EXTRA_UPDATES``, with the fairseq-train arguments of
    ``fairseq_cli.train`` (their ``Recipe``), all in one process (ddp_runner.py: fairseq-train's
    ``cli_main`` per run, fairseq imported once)."""
    from nat import fairseq_cli

    runs, logs = [], {}
    for arch, recipe in nat_recipes().items():
        save_dir = os.path.join(out, arch)
        logs[arch] = os.path.join(save_dir, "train.log")
        os.makedirs(save_dir)
        tool, args = recipe.launch(data_bin, save_dir)
        assert tool == "fairseq-train", tool
        runs.append({"args": [str(a) for a in args], "log": logs[arch]})
    spec = os.path.join(out, "runs.json")
    with open(spec, "w", encoding="utf-8") as handle:
        json.dump(runs, handle)
    fairseq_cli.run_command("python", [os.path.join(HERE, "ddp_runner.py"), spec],
                            log_path=os.path.join(out, "runner.log"))
    models = {}
    for arch in logs:
        with open(logs[arch], encoding="utf-8") as handle:
            models[arch] = (os.path.join(out, arch, "checkpoint_last.pt"), handle.read())
    return models


def reduced_config():
    from nat.experiment import config as presets

    return presets.deep_merge(presets.resolve("quick"), REDUCED)


def variants_config():
    from nat.experiment import config as presets

    return presets.deep_merge(reduced_config(), VARIANTS)


def user_data_config():
    from nat.experiment import config as presets

    return presets.deep_merge(presets.resolve("quick"), USER_DATA)


def run_reduced(out):
    from nat.experiment.pipeline import Experiment

    return Experiment(reduced_config(), out, quiet=True).run()


def run_variants(base, out):
    """The variants from a copy of the finished reduced run in ``base`` (its corpus, data-bin
    and teacher job), so only what the variants add is trained: the job runner skips the
    teacher by its settings key."""
    from nat.experiment.pipeline import Experiment

    for part in ("data", "bin", os.path.join("checkpoints", "teacher")):
        shutil.copytree(os.path.join(base, part), os.path.join(out, part))
    os.makedirs(os.path.join(out, "stages"))
    for stage in ("corpus", "binarize"):
        shutil.copy(os.path.join(base, "stages", f"{stage}.json"), os.path.join(out, "stages"))
    return Experiment(variants_config(), out, quiet=True).run()


def run_user_data(raw_dir, out):
    from nat.experiment.pipeline import Experiment

    return Experiment(user_data_config(), out, quiet=True, data=raw_dir).run()


#: the seed stage of ``--preset seed``, every section a few updates (tests/test_seed.py)
SEED_TABLES = {"sections": ["kimrush", "ensemble", "stealing", "multilingual", "shleifer",
                            "natdecode", "unimodality", "born_again", "rnn"],
               "updates": 3, "teacher_updates": 3, "subset": 40, "query_zipf": 0.7,
               "lstm_lr": 5e-3, "multilingual_train": 30, "multilingual_updates": 4,
               "check_interval": 2}


def seed_config():
    return dict(reduced_config(), seed_tables=dict(SEED_TABLES))


def run_seed(base, out):
    """The seed stage over a copy of the finished reduced run in ``base``; its teacher stands in
    for the five AR students of the seed preset (the code path is the same; the tests read no
    number of theirs)."""
    from nat.experiment import seed_plan

    shutil.copytree(base, out, symlinks=True)
    teacher = os.path.join(out, "checkpoints", "teacher", "checkpoint_last.pt")
    for name, _ in seed_plan.STUDENTS:
        os.makedirs(os.path.join(out, "checkpoints", name))
        shutil.copy(teacher, os.path.join(out, "checkpoints", name))
    with open(os.path.join(out, "results.json"), encoding="utf-8") as handle:
        results = json.load(handle)
    return seed_plan.run(seed_config(), out, results, quiet=True)


RUNS = {"teacher": run_teacher, "reduced": run_reduced, "variants": run_variants,
        "user_data": run_user_data, "seed": run_seed}


def result_path(out):
    return out + ".result.pickle"


def error_path(out):
    return out + ".error"


def main(spec_path):
    """Run ``[{"run", "args", "out"}, ...]`` in order; each leaves its result or its error."""
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    for job in spec:
        out = job["out"]
        try:
            results = RUNS[job["run"]](*job["args"], out)
        except Exception:  # the fixture that reads this run raises it
            with open(error_path(out) + ".tmp", "w", encoding="utf-8") as handle:
                handle.write(traceback.format_exc())
            os.replace(error_path(out) + ".tmp", error_path(out))
            continue
        with open(result_path(out) + ".tmp", "wb") as handle:
            pickle.dump(results, handle)
        os.replace(result_path(out) + ".tmp", result_path(out))
        print(f"background_runs: {job['run']} done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
