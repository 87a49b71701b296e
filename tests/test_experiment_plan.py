"""nat-experiment planning without training: the job graph of the presets (names, deps,
commands), the config schema of distillation variants / born-again rounds / AR students, and
``--dry-run``.  Runs nothing; the one real run with these variants is
tests/test_experiment_variants.py."""
import json
import os

import pytest

from data_scripts import experiment_cli
from nat.errors import UserError
from nat.experiment import config as presets
from nat.experiment import variants
from nat.experiment.pipeline import Experiment


def plan_of(config, tmp_path):
    return Experiment(config, str(tmp_path / "out"), quiet=True).plan()


def arg(command, flag):
    """The value after ``flag`` in a command (a list)."""
    return command[command.index(flag) + 1]


def by_name(plan):
    return {job["name"]: job for job in plan["jobs"]}


def test_quick_plan_is_the_two_corpus_experiment(tmp_path):
    plan = plan_of(presets.resolve("quick"), tmp_path)
    # the critical path (teacher -> distill -> distilled NATs) first, raw-data NATs beside it
    assert [(j["name"], j["deps"]) for j in plan["jobs"]] == [
        ("teacher", []), ("distill", ["teacher"]), ("vanilla_raw", []),
        ("vanilla_distilled", ["distill"]), ("ctc_glat_raw", []),
        ("ctc_glat_distilled", ["distill"])]
    assert [s["name"] for s in plan["systems"]] == [
        "teacher_beam5", "teacher_greedy", "vanilla_raw", "ctc_glat_raw", "vanilla_distilled",
        "ctc_glat_distilled"]
    assert [c["name"] for c in plan["corpora"]] == ["raw", "distilled"]
    distill = by_name(plan)["distill"]["command"]
    assert arg(distill, "--method") == "seqkd"
    assert arg(distill, "--out") == str(tmp_path / "out" / "distilled")
    assert not (tmp_path / "out").exists()  # planning writes nothing


def test_full_plan_graph(tmp_path):
    plan = plan_of(presets.resolve("full"), tmp_path)
    jobs, out = by_name(plan), tmp_path / "out"
    ckpt = lambda name: str(out / "checkpoints" / name / "checkpoint_last.pt")  # noqa: E731
    # every dependency is a job of the plan, listed (started) before the job waiting for it
    position = {j["name"]: k for k, j in enumerate(plan["jobs"])}
    for job in plan["jobs"]:
        assert all(position[dep] < position[job["name"]] for dep in job["deps"]), job["name"]
    assert plan["jobs"][0]["name"] == "teacher"  # the longest chain starts first
    # distillation variants: one nat-distill per corpus, each from the teacher's checkpoint
    for name, method in (("distilled", "seqkd"), ("seqinter", "seqinter"),
                         ("sample", "sample")):
        job = jobs["distill" if name == "distilled" else f"distill_{name}"]
        assert job["deps"] == ["teacher"] and arg(job["command"], "--method") == method
        assert arg(job["command"], "--path") == ckpt("teacher")
    assert arg(jobs["distill_seqinter"]["command"], "--beam") == "8"
    assert arg(jobs["distill_sample"]["command"], "--sampling-topk") == "-1"
    # born-again: teacher k trains on the corpus teacher k-1 made, then distils with its settings
    ba1, ba2 = jobs["teacher_born_again_1"], jobs["teacher_born_again_2"]
    assert ba1["deps"] == ["distill"]
    assert ba1["command"][1] == str(out / "distilled" / "bin")
    # same architecture and settings as the original teacher, another data set
    assert [a.replace("teacher_born_again_1", "teacher") for a in ba1["command"][1:]] == \
        [str(out / "distilled" / "bin")] + jobs["teacher"]["command"][2:]
    assert ba2["deps"] == ["distill_born_again_1"]
    assert ba2["command"][1] == str(out / "corpora" / "born_again_1" / "bin")
    for k in (1, 2):
        job = jobs[f"distill_born_again_{k}"]
        assert job["deps"] == [f"teacher_born_again_{k}"]
        assert arg(job["command"], "--path") == ckpt(f"teacher_born_again_{k}")
        assert arg(job["command"], "--method") == "seqkd"
        assert arg(job["command"], "--out") == str(out / "corpora" / f"born_again_{k}")
    # NATs: every family on raw and distilled, vanilla also on the other corpora
    for data in ("seqinter", "sample", "born_again_2"):
        job = jobs[f"vanilla_{data}"]
        assert job["deps"] == [f"distill_{data}"] and "glat_" + data not in jobs
    assert jobs["ctc_raw"]["deps"] == [] and jobs["ctc_distilled"]["deps"] == ["distill"]
    # AR students: Seq-KD (plain CE on the distilled corpus), Word-KD (teacher, raw data)
    seqkd, wordkd = jobs["student_seqkd"]["command"], jobs["student_wordkd"]["command"]
    assert jobs["student_seqkd"]["deps"] == ["distill"]
    assert seqkd[1] == str(out / "distilled" / "bin")
    assert arg(seqkd, "--criterion") == "label_smoothed_cross_entropy"
    assert "--teacher-path" not in seqkd
    assert jobs["student_wordkd"]["deps"] == ["teacher"]
    assert wordkd[1] == str(out / "bin" / "raw")
    assert arg(wordkd, "--criterion") == "word_kd"
    assert arg(wordkd, "--teacher-path") == ckpt("teacher")
    assert (arg(wordkd, "--kd-alpha"), arg(wordkd, "--kd-temperature")) == ("0.5", "1.0")
    assert arg(wordkd, "--arch") == "transformer_student_tiny"
    assert arg(wordkd, "--encoder-layers") == "6"  # base size in the full preset
    # decoded: born-again teachers and AR students with beam 5 like the teacher
    systems = {s["name"]: s for s in plan["systems"]}
    assert systems["teacher_born_again_2_beam5"]["train_data"] == "born_again_1"
    assert systems["teacher_born_again_1_beam5"]["family"] == "teacher"
    for name in ("student_seqkd", "student_wordkd"):
        assert systems[name]["family"] == "ar_student" and systems[name]["beam"] == 5
    assert len(systems) == len(plan["systems"])  # names are unique
    assert [c["name"] for c in plan["corpora"]] == [
        "raw", "distilled", "seqinter", "sample", "born_again_1", "born_again_2"]


def test_quick_config_can_turn_variants_on(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "distill:\n"
        "  - {name: distilled}\n"
        "  - {name: nbest, method: nbest, beam: 4, nbest: 2}\n"
        "born_again: {rounds: 1}\n"
        "train_data: [raw, distilled, born_again_1]\n"
        "ar_students:\n"
        "  - {name: both, arch: transformer_student_tiny, train_data: distilled,\n"
        "     word_kd: {alpha: 0.3}, updates: 5, lr: 0.001, warmup: 1, max_tokens: 512}\n")
    config = presets.resolve("quick", str(path))
    jobs = by_name(plan_of(config, tmp_path))
    # a distill entry leaving settings out gets the defaults
    assert arg(jobs["distill"]["command"], "--backend") == "ctranslate2"
    assert arg(jobs["distill_nbest"]["command"], "--nbest") == "2"
    assert jobs["vanilla_born_again_1"]["deps"] == ["distill_born_again_1"]
    # Seq-KD + Word-KD: distilled corpus and the teacher
    assert jobs["both"]["deps"] == ["distill", "teacher"]
    assert arg(jobs["both"]["command"], "--kd-alpha") == "0.3"
    corpora = {c.name: c for c in variants.corpora(config)}
    assert not corpora["nbest"].one_per_source and corpora["born_again_1"].one_per_source


def test_variant_settings_change_only_their_own_keys(tmp_path):
    full = presets.resolve("full")
    changed = json.loads(json.dumps(full))
    changed["distill"][1]["beam"] = 4  # seqinter
    keys = lambda config: {j.name: j.key for j in Experiment(  # noqa: E731
        config, str(tmp_path), quiet=True).jobs()}
    before, after = keys(full), keys(changed)
    assert {n for n in before if before[n] != after[n]} == {
        "distill_seqinter", "vanilla_seqinter", "vanilla_seqinter_seed2"}  # lost.retrain_seed
    changed["born_again"]["rounds"] = 1  # fewer rounds: round 1 keeps its key
    changed["nat"][0]["train_data"].remove("born_again_2")
    assert keys(changed)["teacher_born_again_1"] == before["teacher_born_again_1"]


@pytest.mark.parametrize("override, message", [
    ({"train_data": ["raw", "seqinter2"]}, "train_data entries must name a corpus"),
    ({"distill": [{"method": "seqkd"}]}, "each variant needs a name"),
    ({"distill": [{"name": "raw"}]}, "reserved"),
    ({"distill": [{"name": "a"}, {"name": "a"}], "train_data": ["raw"],
      "born_again": {"rounds": 0}}, "used twice"),
    ({"distill": [{"name": "distilled", "beem": 4}]}, "unknown config key: distill[0].beem"),
    ({"distill": [{"name": "distilled", "method": "greedy"}]}, "distill[0].method"),
    ({"born_again": {"rounds": 1, "from": "raw"}}, "born_again.from"),
    ({"born_again": {"rounds": -1}}, "born_again.rounds"),
    ({"ar_students": [{"name": "s"}]}, "ar_students[0].arch: missing"),
    ({"ar_students": [{"name": "vanilla_raw", "arch": "transformer_student_tiny",
                       "train_data": "raw", "updates": 1, "lr": 1, "warmup": 1,
                       "max_tokens": 1}]}, "both named 'vanilla_raw'"),
    ({"ar_students": [{"name": "s", "arch": "transformer_student_tiny",
                       "train_data": "born_again_1", "updates": 1, "lr": 1, "warmup": 1,
                       "max_tokens": 1}]}, "must name a corpus"),
])
def test_bad_variant_config_is_refused(tmp_path, override, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(override))
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        presets.resolve("quick", str(path))


def test_cli_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "run"
    experiment_cli.main(["--preset", "full", "--out", str(out), "--dry-run"])
    text = capsys.readouterr().out
    assert "teacher_born_again_2 (fairseq-train, 20000 updates; after: distill_born_again_1)" \
        in text
    assert "student_wordkd (fairseq-train, 20000 updates; after: teacher)" in text
    assert "nat-distill --path" in text and "--criterion word_kd" in text
    assert "born_again_2 (seqkd by teacher_born_again_2, job distill_born_again_2)" in text
    assert not os.path.exists(out)


def test_several_processes_per_job_train_under_torchrun(tmp_path, monkeypatch):
    """``train_processes: 2``: every fairseq-train job is torchrun over fairseq-train (gloo on
    a CPU), keyed apart from the one-process run; 0 (the presets) is one process without a GPU.
    tests/test_ddp.py runs this command shape for every model."""
    monkeypatch.setenv("NAT_FORCE_CPU", "1")
    one = by_name(plan_of(presets.resolve("quick"), tmp_path))
    config = presets.resolve("quick")
    config["train_processes"] = 2
    experiment = Experiment(config, str(tmp_path / "out"), quiet=True)
    two = by_name(experiment.plan())
    for name in ("teacher", "vanilla_raw", "ctc_glat_distilled"):
        command = two[name]["command"]
        assert command[:4] == ["torchrun", "--standalone", "--nproc_per_node", "2"]
        assert command[4].endswith("fairseq-train")
        assert command[5:-4] == one[name]["command"][1:]   # the same training arguments
        assert command[-4:] == ["--distributed-world-size", "2", "--distributed-backend", "gloo"]
        assert two[name]["tool"] == "torchrun" and one[name]["tool"] == "fairseq-train"
    assert two["distill"]["command"][0] == "nat-distill"
    keys = {j.name: j.key for j in experiment.jobs()}
    ones = {j.name: j.key for j in Experiment(presets.resolve("quick"), str(tmp_path / "out"),
                                               quiet=True).jobs()}
    assert all(keys[n] != ones[n] for n in ("teacher", "vanilla_raw", "distill"))
