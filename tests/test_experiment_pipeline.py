"""nat-experiment end to end on a reduced config: the literature's predictions, resume, and the
full preset's variants (a Seq-Inter corpus, one born-again round made from it, a Word-KD AR
student) in the same run.

Real stages (nat-synth, fairseq-train/generate, nat-distill, nat-analyze), shrunk to about three
minutes; the full preset's job graph is tested without training in test_experiment_plan.py.  The assertions are the fixed predictions of ``nat.experiment.checks`` (issue 8), not
tuned numbers.  At this size the teacher is weak and its beam collapses most sources onto one
language, which is Seq-KD's mode reduction in its plainest form; the quick preset shows the same
predictions with a strong teacher (see its report).
"""
import json
import os

import pytest

from nat.experiment import config as presets
from nat.experiment.pipeline import Experiment
from nat.textio import count_lines, read_lines

TRAIN = 1500
REDUCED = {
    "corpus": {"train": TRAIN, "valid": 100, "test": 100},
    "teacher": {"updates": 60, "warmup": 10},
    # one CTranslate2 thread each: distillation runs beside training jobs
    "distill": [{"name": "distilled", "method": "seqkd", "beam": 5, "threads": 1},
                {"name": "seqinter", "method": "seqinter", "beam": 4, "threads": 1}],
    "born_again": {"rounds": 1, "from": "seqinter"},
    "ar_students": [{"name": "student_wordkd", "arch": "transformer_student_tiny",
                     "train_data": "raw", "word_kd": {"alpha": 0.5, "temperature": 1.0},
                     "updates": 20, "lr": 2e-3, "warmup": 5, "max_tokens": 4096}],
    "nat": [{"name": "vanilla", "arch": "nat_vanilla_tiny", "updates": 40, "lr": 2e-3,
             "warmup": 10, "max_tokens": 4096, "extra": [], "decode": []}],
    "decode": {"max_len_a": 0, "max_len_b": 30},
    "speed": {"throughput_batch": 64},
}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("experiment"))
    config = presets.deep_merge(presets.resolve("quick"), REDUCED)
    results = Experiment(config, out, quiet=True).run()
    return config, out, results


def test_results_schema(finished_run):
    _, out, results = finished_run
    with open(os.path.join(out, "results.json"), encoding="utf-8") as handle:
        on_disk = json.load(handle)
    models = {m["name"]: m for m in on_disk["models"]}
    assert {n: (m["family"], m["train_data"]) for n, m in models.items()} == {
        "teacher_beam5": ("teacher", "raw"), "teacher_greedy": ("teacher", "raw"),
        "vanilla_raw": ("vanilla", "raw"), "vanilla_distilled": ("vanilla", "distilled"),
        "teacher_born_again_1_beam5": ("teacher", "seqinter"),
        "student_wordkd": ("ar_student", "raw")}
    assert models["teacher_born_again_1_beam5"]["born_again_round"] == 1
    for model in on_disk["models"]:
        for key in ("name", "train_data", "bleu", "mixed_sentence_rate",
                    "sentences_per_second_batch1", "train_seconds"):
            assert model[key] is not None, (model["name"], key)
        assert model["batch_invariant_share"] == 1.0, model["name"]
    corpora = {c["name"]: c for c in on_disk["corpora"]}
    assert list(corpora) == ["raw", "distilled", "seqinter", "born_again_1"]
    assert (corpora["seqinter"]["method"], corpora["seqinter"]["made_by"]) == (
        "seqinter", "teacher")
    assert (corpora["born_again_1"]["method"], corpora["born_again_1"]["made_by"]) == (
        "seqinter", "teacher_born_again_1")
    for corpus in corpora.values():  # one target per training source, analysed
        assert corpus["lines"] == TRAIN and corpus["complexity_bits"] > 0, corpus["name"]
    assert corpora["born_again_1"]["distillation"]["counts"]["outputs"] == TRAIN
    assert "nrefs:3" in on_disk["bleu_signature"]
    report = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert "fairseq-train" in report and "nat-distill" in report and "nat-synth" in report
    for section in ("## Distillation variants", "## Born-again rounds",
                    "## Autoregressive students", "--criterion word_kd"):
        assert section in report
    for figure in ("bleu", "simplex", "complexity", "speed_vs_bleu"):
        assert os.path.getsize(os.path.join(out, "figures", f"{figure}.png")) > 5000


def test_literature_predictions_hold(finished_run):
    _, _, results = finished_run
    assert len(results["predictions"]) == 4
    failed = [p for p in results["predictions"] if not p["holds"]]
    assert not failed, failed


def test_rerun_skips_every_stage(finished_run):
    config, out, results = finished_run
    stage_dir = os.path.join(out, "stages")
    before = {name: os.path.getmtime(os.path.join(stage_dir, name))
              for name in os.listdir(stage_dir)}
    again = Experiment(config, out, quiet=True).run()
    after = {name: os.path.getmtime(os.path.join(stage_dir, name))
             for name in os.listdir(stage_dir)}
    assert before == after
    assert [m["bleu"] for m in again["models"]] == [m["bleu"] for m in results["models"]]


def test_born_again_teacher_reads_the_previous_corpus(finished_run):
    _, out, _ = finished_run
    seqinter = os.path.join(out, "corpora", "seqinter")
    job_dir = os.path.join(out, "checkpoints", "teacher_born_again_1")
    with open(os.path.join(job_dir, "job.json"), encoding="utf-8") as handle:
        assert json.load(handle)["command"][1] == os.path.join(seqinter, "bin")
    with open(os.path.join(job_dir, "fairseq-train.log"), encoding="utf-8") as handle:
        assert f"{seqinter}/bin train src-tgt {TRAIN} examples" in handle.read()
    # the corpus it was trained on is the teacher's Seq-Inter output, not the gold data
    assert read_lines(os.path.join(seqinter, "train.src")) == read_lines(
        os.path.join(out, "data", "train.src"))
    assert read_lines(os.path.join(seqinter, "train.tgt")) != read_lines(
        os.path.join(out, "data", "train.tgt"))
    with open(os.path.join(out, "corpora", "born_again_1", "manifest.json"),
              encoding="utf-8") as handle:
        manifest = json.load(handle)
    assert [os.path.basename(os.path.dirname(t["path"])) for t in manifest["teachers"]] == [
        "teacher_born_again_1"]
    assert count_lines(os.path.join(out, "corpora", "born_again_1", "train.tgt")) == TRAIN
