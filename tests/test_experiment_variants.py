"""nat-experiment with the full preset's variants, shrunk to seconds: a Seq-Inter corpus, one
born-again round made from it and a Word-KD AR student (no NAT), through the real stages.  It
starts from a copy of the shared reduced run (its corpus, data-bin and finished teacher job), so
only what the variants add is trained: the job runner skips the teacher by its settings key.

The job graph of the full preset is tested without training in test_experiment_plan.py; this
run checks what only a real run shows: the files each job reads and writes, and results.json.
The run itself is tests/background_runs.py's ``variants``, started in the background when the
session starts (conftest.py).
"""
import json
import os

import pytest

from nat.textio import count_lines, read_lines

from background_runs import REDUCED

N_TRAIN = REDUCED["corpus"]["train"]


@pytest.fixture(scope="module")
def finished_run(variants_experiment):
    """``(out, results)`` of the run (``VARIANTS`` in background_runs.py over the reduced run)."""
    _, out, results = variants_experiment
    return out, results


def test_the_teacher_was_reused_not_retrained(reduced_experiment, finished_run):
    _, base, _ = reduced_experiment
    out, _ = finished_run
    for name in ("fairseq-train.log", "checkpoint_last.pt"):  # a rerun would append to the log
        with open(os.path.join(base, "checkpoints", "teacher", name), "rb") as a, \
                open(os.path.join(out, "checkpoints", "teacher", name), "rb") as b:
            assert a.read() == b.read(), name


def test_results_name_every_model_and_corpus(finished_run):
    out, _ = finished_run
    with open(os.path.join(out, "results.json"), encoding="utf-8") as handle:
        results = json.load(handle)
    models = {m["name"]: m for m in results["models"]}
    assert {n: (m["family"], m["train_data"]) for n, m in models.items()} == {
        "teacher_beam5": ("teacher", "raw"), "teacher_greedy": ("teacher", "raw"),
        "teacher_born_again_1_beam5": ("teacher", "seqinter"),
        "student_wordkd": ("ar_student", "raw")}
    assert models["teacher_born_again_1_beam5"]["born_again_round"] == 1
    for model in models.values():
        for key in ("bleu", "mixed_sentence_rate", "sentences_per_second_batch1",
                    "train_seconds"):
            assert model[key] is not None, (model["name"], key)
    corpora = {c["name"]: c for c in results["corpora"]}
    assert list(corpora) == ["raw", "seqinter", "born_again_1"]
    assert (corpora["seqinter"]["method"], corpora["seqinter"]["made_by"]) == (
        "seqinter", "teacher")
    assert (corpora["born_again_1"]["method"], corpora["born_again_1"]["made_by"]) == (
        "seqinter", "teacher_born_again_1")
    for corpus in corpora.values():  # one target per training source, analysed
        assert corpus["lines"] == N_TRAIN and corpus["complexity_bits"] > 0, corpus["name"]
    assert corpora["born_again_1"]["distillation"]["counts"]["outputs"] == N_TRAIN
    assert results["distillation"] is None  # no corpus named "distilled" in this config
    report = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    for section in ("## Distillation variants", "## Born-again rounds",
                    "## Autoregressive students", "--criterion word_kd"):
        assert section in report


def test_born_again_teacher_reads_the_previous_corpus(finished_run):
    out, _ = finished_run
    seqinter = os.path.join(out, "corpora", "seqinter")
    job = json.load(open(os.path.join(out, "checkpoints", "teacher_born_again_1", "job.json")))
    assert job["command"][1] == os.path.join(seqinter, "bin")
    log = open(os.path.join(out, "checkpoints", "teacher_born_again_1", "fairseq-train.log"),
               encoding="utf-8").read()
    assert f"{seqinter}/bin train src-tgt {N_TRAIN} examples" in log
    # the corpus it was trained on is the teacher's Seq-Inter output, not the gold data
    assert read_lines(os.path.join(seqinter, "train.src")) == read_lines(
        os.path.join(out, "data", "train.src"))
    assert read_lines(os.path.join(seqinter, "train.tgt")) != read_lines(
        os.path.join(out, "data", "train.tgt"))
    manifest = json.load(open(os.path.join(out, "corpora", "born_again_1", "manifest.json")))
    assert [os.path.basename(os.path.dirname(t["path"])) for t in manifest["teachers"]] == [
        "teacher_born_again_1"]
    assert count_lines(os.path.join(out, "corpora", "born_again_1", "train.tgt")) == N_TRAIN
