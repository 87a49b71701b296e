"""nat-experiment end to end on a reduced config: schema, report, predictions listed, resume.

Real stages (nat-synth, fairseq-train/generate, nat-distill, nat-analyze), shrunk to about a
minute (``REDUCED`` in background_runs.py; the run is started in the background when the
session starts, see conftest.py).  Models this small score numbers that move with the CPU's
float rounding (a BLEU margin asserted here once failed on another machine: 2.7 vs 0.8), so
the tests assert what is deterministic: every model, corpus and prediction is there with the
right types.  Whether the literature's predictions hold is the report's job (``nat-experiment
--preset quick``); the logic that turns numbers into verdicts is tested on hand-made numbers in
test_experiment_checks.py.
"""
import json
import os
import shutil

import pytest

from nat.experiment.pipeline import Experiment

@pytest.fixture(scope="module")
def finished_run(reduced_experiment):
    return reduced_experiment


def test_results_schema(finished_run):
    _, out, results = finished_run
    with open(os.path.join(out, "results.json"), encoding="utf-8") as handle:
        on_disk = json.load(handle)
    assert {m["name"] for m in on_disk["models"]} == {
        "teacher_beam5", "teacher_greedy", "vanilla_raw", "vanilla_distilled",
        "vanilla_raw_seed2", "vanilla_distilled_seed2"}
    for model in on_disk["models"]:
        for key in ("name", "train_data", "bleu", "mixed_sentence_rate",
                    "sentences_per_second_batch1"):
            assert model[key] is not None, (model["name"], key)
        assert model["batch_invariant_share"] == 1.0, model["name"]
    assert {c["name"] for c in on_disk["corpora"]} == {"raw", "distilled"}
    assert all(c["complexity_bits"] > 0 for c in on_disk["corpora"])
    assert "nrefs:3" in on_disk["bleu_signature"]
    report = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert "fairseq-train" in report and "nat-distill" in report and "nat-synth" in report
    for figure in ("bleu", "simplex", "complexity", "speed_vs_bleu"):
        assert os.path.getsize(os.path.join(out, "figures", f"{figure}.png")) > 5000


def test_what_distillation_lost(finished_run):
    """The section's measures are there for every system and equal what their files give:
    per-token confidences line up with the hypotheses, the seed and swap stability recomputed
    from the decoded files match results.json."""
    from analysis import stability, validity
    from nat.textio import read_lines

    _, out, results = finished_run
    hyps = lambda name: read_lines(os.path.join(out, "hyps", name))  # noqa: E731
    truth = validity.load(os.path.join(out, "data"))
    swapped_sources = read_lines(os.path.join(out, "data", "test.swap.src"))
    for model in results["models"]:
        name, lost = model["name"], model["lost"]
        assert 0 <= lost["valid_rate"] <= 1 and lost["ece"] is not None, name
        own = hyps(f"{name}.txt")
        confidences = hyps(f"{name}.conf")
        assert [len(c.split()) for c in confidences] == [len(h.split()) for h in own], name
        swap = stability.swap_stability(truth, own, swapped_sources, hyps(f"{name}.swap.txt"),
                                        name)
        assert lost["swap_changed_beyond_edit"] == swap["changed_beyond_edit"], name
        if model["family"] == "vanilla" and "retrain_of" not in model:
            other = hyps(f"{name}_seed2.txt")
            assert lost["seed_changed_share"] == stability.seed_stability(own, other)[
                "changed_share"]
        assert model["parameters"] > 0
    assert results["models"][0]["lost"]["seed_changed_share"] is None  # teachers: not retrained
    report = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert "## What distillation lost" in report
    assert os.path.getsize(os.path.join(out, "figures", "lost.png")) > 5000


def test_every_prediction_is_listed_with_a_verdict(finished_run):
    _, out, results = finished_run
    claims = [p["claim"] for p in results["predictions"]]
    assert len(claims) == 4 and len(set(claims)) == 4
    assert claims[0].startswith("vanilla NAT: distilled data beats raw data")
    assert claims[-1] == "the teacher (beam 5) outscores every NAT"
    for prediction in results["predictions"]:
        assert prediction["holds"] in (True, False, None) and prediction["detail"]
    report = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    for prediction in results["predictions"]:
        assert f"{prediction['claim']}: {prediction['detail']}" in report


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


def test_report_is_rebuilt_from_results_json_alone(finished_run, tmp_path, capsys):
    """``nat-experiment report DIR`` on a directory holding only results.json gives the same
    report.md and the same figures."""
    from data_scripts.experiment_cli import main

    _, out, _ = finished_run
    shutil.copy(os.path.join(out, "results.json"), tmp_path / "results.json")
    main(["report", str(tmp_path)])
    assert capsys.readouterr().out.strip() == f"nat-experiment: report: {tmp_path}/report.md"
    with open(os.path.join(out, "report.md"), encoding="utf-8") as original:
        assert (tmp_path / "report.md").read_text(encoding="utf-8") == original.read()
    assert sorted(os.listdir(tmp_path / "figures")) == sorted(
        os.listdir(os.path.join(out, "figures")))


@pytest.mark.parametrize("content, message", [
    (None, "no results.json in"), (b"\xff", "not a results file"),
    (b'{"models": []}', "not written by this version")])
def test_report_of_a_directory_without_results_is_one_line(tmp_path, capsys, content, message):
    from data_scripts.experiment_cli import main

    if content is not None:
        (tmp_path / "results.json").write_bytes(content)
    with pytest.raises(SystemExit) as exit_info:
        main(["report", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "report.md").exists()


def test_deploy_stage(finished_run):
    """Every one-pass NAT exported (fp32, int8) and timed against the teacher in CTranslate2;
    the fp32 export translates the test set exactly as fairseq-generate did."""
    _, out, results = finished_run
    deploy = results["deploy"]
    systems = {(r["system"], r["precision"]) for r in deploy["rows"]}
    for nat in ("vanilla_raw", "vanilla_distilled"):
        assert {(f"{nat} ONNX Runtime", "fp32"), (f"{nat} ONNX Runtime", "int8"),
                (f"{nat} torch", "fp32")} <= systems
        assert deploy["quality"][f"{nat} ONNX Runtime fp32"]["identical_share"] == 1.0
        assert deploy["quality"][f"{nat} torch fp32"]["identical_share"] == 1.0
        for precision in ("fp32", "int8"):
            assert os.path.isfile(os.path.join(out, "export", f"{nat}-{precision}",
                                               "manifest.json"))
    assert ("teacher CTranslate2 greedy", "int8") in systems
    report = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert "## Deployed speed" in report and "vs CT2 greedy / beam 5" in report
