"""nat-experiment end to end on a reduced config: the known effect of distillation, resume.

Real stages (nat-synth, fairseq-train/generate, nat-distill, nat-analyze), shrunk to run in a
couple of minutes.  The assertions are the ones the field predicts (issue 8), not tuned numbers:
the vanilla NAT gains BLEU and stops mixing languages when trained on distilled data, the
distilled corpus is less multimodal at the sentence level, and the teacher beats every NAT.
"""
import json
import os

import pytest

from nat.experiment import config as presets
from nat.experiment.pipeline import Experiment

REDUCED = {
    "corpus": {"train": 2000, "valid": 100, "test": 100},
    "teacher": {"updates": 300, "warmup": 50, "max_tokens": 2048},
    "nat": [{"name": "vanilla", "arch": "nat_vanilla_tiny", "updates": 200, "lr": 2e-3,
             "warmup": 50, "max_tokens": 2048, "extra": [], "decode": []}],
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
    assert {m["name"] for m in on_disk["models"]} == {
        "teacher_beam5", "teacher_greedy", "vanilla_raw", "vanilla_distilled"}
    for model in on_disk["models"]:
        for key in ("name", "train_data", "bleu", "mixed_sentence_rate",
                    "sentences_per_second_batch1"):
            assert model[key] is not None, (model["name"], key)
        assert model["batch_invariant_share"] == 1.0, model["name"]
    assert {c["name"] for c in on_disk["corpora"]} == {"raw", "distilled"}
    assert "nrefs:3" in on_disk["bleu_signature"]
    report = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert "fairseq-train" in report and "nat-distill" in report and "nat-synth" in report
    for figure in ("bleu", "simplex", "complexity", "speed_vs_bleu"):
        assert os.path.getsize(os.path.join(out, "figures", f"{figure}.png")) > 5000


def test_distillation_effect(finished_run):
    _, _, results = finished_run
    models = {m["name"]: m for m in results["models"]}
    corpora = {c["name"]: c for c in results["corpora"]}
    raw, distilled = models["vanilla_raw"], models["vanilla_distilled"]
    assert distilled["bleu"] > raw["bleu"] + 2.0
    assert distilled["mixed_sentence_rate"] < 0.5 * raw["mixed_sentence_rate"]
    assert corpora["distilled"]["mode_cross_entropy_bits"] < \
        corpora["raw"]["mode_cross_entropy_bits"] - 0.3
    assert corpora["raw"]["mixed_sentence_rate"] == 0.0  # gold targets never mix
    teacher = models["teacher_beam5"]["bleu"]
    assert all(teacher > m["bleu"] for m in models.values() if m["family"] != "teacher")


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
