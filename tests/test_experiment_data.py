"""``nat-experiment --data DIR``: the whole pipeline on a user's plain-text corpus.

One real run, as small as the pipeline allows (the multilingual sample of real_text_sample.py
with labels and three test references; a BPE vocabulary of at most 400 pieces, teacher 30
updates, one vanilla NAT 20 updates): nat-prepare -> fairseq-train -> nat-distill --spm ->
fairseq-generate -> hypotheses decoded to words -> nat-analyze --spm -> report.  The teacher
is far too weak to translate, so the distillation is ``selective`` (the gold target where the
teacher is far from it) to keep the distilled corpus analysable; the assertions are invariants
(schema, line counts, levels, keys), not quality.  The plan / dry-run / bad-input tests train
nothing.
"""
import json
import os
import shutil

import pytest

import background_runs
from data_scripts import experiment_cli
from nat.errors import UserError
from nat.experiment import checks, report
from nat.experiment import config as presets
from nat.experiment.pipeline import Experiment
from nat.experiment.user_data import UserData
from nat.prepare import subwords

TINY = background_runs.USER_DATA   # the one real run's settings
SYSTEMS = {"teacher_beam5", "teacher_greedy", "vanilla_raw"}


def lines_of(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().split("\n")[:-1]


@pytest.fixture(scope="module")
def raw_dir(user_corpus):
    return user_corpus   # the sample of real_text_sample.py (read only here)


@pytest.fixture(scope="module")
def finished_run(user_data_experiment):
    """``(config, out, results)``: ``TINY`` over the quick preset on ``raw_dir`` (run in the
    background from the start of the session, see conftest.py)."""
    config, out, results = user_data_experiment
    assert config == presets.deep_merge(presets.resolve("quick"), TINY)
    return config, out, results


def arg(command, flag):
    return command[command.index(flag) + 1]


# ---- no training --------------------------------------------------------------------------
def test_plan_prepares_and_passes_subwords(raw_dir, tmp_path, capsys):
    out = tmp_path / "run"
    prepared = str(out / "prepared")
    plan = Experiment(presets.resolve("quick"), str(out), quiet=True, data=raw_dir).plan()
    command = plan["data"]["command"]
    assert command[:5] == ["nat-prepare", "--raw", raw_dir, "--out", prepared]
    assert arg(command, "--vocab-size") == str(presets.QUICK["prepare"]["vocab_size"])
    jobs = {j["name"]: j["command"] for j in plan["jobs"]}
    assert jobs["teacher"][1] == os.path.join(prepared, "bin")
    assert jobs["vanilla_raw"][1] == os.path.join(prepared, "bin")
    distill = jobs["distill"]
    assert arg(distill, "--spm") == prepared
    assert arg(distill, "--source") == os.path.join(prepared, "pieces", "train.src")
    assert arg(distill, "--valid-target") == os.path.join(prepared, "pieces", "valid.tgt")
    # the synthetic plan is the same graph over other files
    synthetic = Experiment(presets.resolve("quick"), str(out), quiet=True).plan()
    assert [(j["name"], j["deps"]) for j in synthetic["jobs"]] == \
        [(j["name"], j["deps"]) for j in plan["jobs"]]
    assert "data" not in synthetic
    experiment_cli.main(["--data", raw_dir, "--out", str(out), "--dry-run"])
    text = capsys.readouterr().out
    assert f"nat-prepare --raw {raw_dir}" in text and f"--spm {prepared}" in text
    assert not out.exists()  # planning writes nothing


def test_key_follows_the_input_files(raw_dir, tmp_path):
    settings = presets.QUICK["prepare"]
    copy = tmp_path / "copy"
    shutil.copytree(raw_dir, copy)
    key = UserData(raw_dir, str(tmp_path / "a"), settings).key()
    assert UserData(str(copy), str(tmp_path / "b"), settings).key() == key  # content, not path
    assert UserData(raw_dir, str(tmp_path / "a"), dict(settings, vocab_size=500)).key() != key
    with open(copy / "train.tgt", "a", encoding="utf-8") as handle:
        handle.write("")  # unchanged bytes: same key
    assert UserData(str(copy), str(tmp_path / "b"), settings).key() == key
    lines = (copy / "test.tgt").read_text(encoding="utf-8").split("\n")
    lines[0] += " !"
    (copy / "test.tgt").write_text("\n".join(lines), encoding="utf-8")
    assert UserData(str(copy), str(tmp_path / "b"), settings).key() != key


@pytest.mark.parametrize("case, message", [
    ("missing", "no such directory"),
    ("empty", "missing corpus file: {d}/train.src"),
    ("no test split", "no test split"),
])
def test_bad_data_is_a_one_line_error(raw_dir, tmp_path, capsys, case, message):
    data = str(tmp_path / "corpus")
    if case == "empty":
        os.makedirs(data)
    elif case == "no test split":
        shutil.copytree(raw_dir, data)
        for name in ("test.src", "test.tgt"):
            os.remove(os.path.join(data, name))
    with pytest.raises(SystemExit) as err:
        experiment_cli.main(["--data", data, "--out", str(tmp_path / "out"), "--dry-run"])
    stderr = capsys.readouterr().err
    assert err.value.code == 2 and stderr.count("\n") == 1
    assert stderr.startswith("nat-experiment: error: --data ")
    assert message.format(d=data) in stderr


def test_prepare_settings_are_checked(raw_dir, tmp_path):
    for bad, message in (({"vocab_size": "many"}, "--vocab-size"),
                         ({"extra": ["--separate"]}, "--separate"),
                         ({"vocab": 5}, "unknown config key: prepare.vocab")):
        with pytest.raises(UserError, match=message):
            UserData(raw_dir, str(tmp_path), bad)


# ---- one real run ---------------------------------------------------------------------------
def test_results_schema(finished_run, raw_dir):
    _, out, results = finished_run
    with open(os.path.join(out, "results.json"), encoding="utf-8") as handle:
        on_disk = json.load(handle)
    assert {m["name"] for m in on_disk["models"]} == SYSTEMS
    for model in on_disk["models"]:
        for key in ("name", "train_data", "bleu", "sentences_per_second_batch1"):
            assert model[key] is not None, (model["name"], key)
        assert "mixed_sentence_rate" in model
        assert model["batch_invariant_share"] == 1.0, model["name"]
    assert [c["name"] for c in on_disk["corpora"]] == ["raw", "distilled"]
    assert all(c["complexity_bits"] > 0 for c in on_disk["corpora"])
    signature = on_disk["bleu_signature"]
    assert "nrefs:3" in signature and "tok:13a" in signature and "level:word" in signature
    data = on_disk["data"]
    assert data["source"] == "user" and data["path"] == raw_dir and data["given"] == "raw"
    assert data["prepare_command"][:3] == ["nat-prepare", "--raw", raw_dir]
    assert data["labels"] == ["de", "fr", "ja"] and data["references"] == [
        "test.ref.de", "test.ref.fr", "test.ref.ja"]
    assert data["counts"]["train"]["dropped_long"] == 1  # the 300-word pair (> 64 pieces)
    assert on_disk["truth"] is None
    # nat-prepare replaces nat-synth and fairseq-preprocess
    assert set(on_disk["stages"]) == {"prepare", "train", "decode", "deploy", "analysis"}
    text = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    for needle in (f"your data `{raw_dir}`", "## Corpus (your data)", "nat-prepare --raw",
                   "nat-distill", "--spm", "word level", "BLEU (3 refs)"):
        assert needle in text, needle
    assert "nat-synth" not in text and "Generator ground truth" not in text


def test_hypotheses_are_detokenized_words(finished_run):
    _, out, results = finished_run
    prepared = os.path.join(out, "prepared")
    n_test = len(lines_of(os.path.join(prepared, "text", "test.src")))
    sp = subwords.load(os.path.join(prepared, "spm", "spm.model"))
    hyp_dir = os.path.join(out, "hyps")
    names = sorted(f[:-4] for f in os.listdir(hyp_dir) if f.endswith(".txt"))
    assert set(names) == SYSTEMS
    seen_pieces = False
    for name in names:
        words = lines_of(os.path.join(hyp_dir, f"{name}.txt"))
        pieces = lines_of(os.path.join(hyp_dir, "pieces", f"{name}.txt"))
        assert len(words) == len(pieces) == n_test, name
        assert not any("\u2581" in line for line in words), name
        assert words == [sp.decode(p.split()) for p in pieces]
        seen_pieces |= any("\u2581" in line for line in pieces)
    assert seen_pieces  # fairseq printed pieces; what was scored is their decoding
    metrics = json.load(open(os.path.join(out, "analysis", "outputs_teacher_beam5",
                                          "metrics.json"), encoding="utf-8"))
    assert metrics["level"] == "word" and "detokenized" in metrics["bleu_level"]
    # the distilled corpus: pieces binarized, decoded by nat-analyze --spm
    corpus = json.load(open(os.path.join(out, "analysis", "corpus_distilled", "metrics.json"),
                            encoding="utf-8"))
    assert list(corpus["level_inputs"].values()) == ["decoded (sentencepiece)"]


def test_rerun_skips_every_stage(finished_run, raw_dir):
    config, out, results = finished_run
    stage_dir = os.path.join(out, "stages")
    before = {name: os.path.getmtime(os.path.join(stage_dir, name))
              for name in os.listdir(stage_dir)}
    again = Experiment(config, out, quiet=True, data=raw_dir).run()
    after = {name: os.path.getmtime(os.path.join(stage_dir, name))
             for name in os.listdir(stage_dir)}
    assert before == after
    assert [m["bleu"] for m in again["models"]] == [m["bleu"] for m in results["models"]]


def test_prepared_directory_is_used_as_it_is(finished_run, tmp_path):
    config, out, _ = finished_run
    prepared = os.path.join(out, "prepared")
    experiment = Experiment(config, str(tmp_path / "again"), quiet=True, data=prepared)
    plan = experiment.plan()
    assert plan["data"]["command"] is None and plan["data"]["given"] == "prepared"
    assert {j["name"]: j["command"] for j in plan["jobs"]}["teacher"][1] == \
        os.path.join(prepared, "bin")
    # same data key as the run that prepared it: its manifest key
    assert experiment.source.key() == UserData(experiment.source.path, out,
                                             config["prepare"]).key()


def test_an_undertrained_teacher_is_named_and_nothing_is_judged(finished_run):
    """30 updates on 240 pairs: the teacher check finds it degenerate, says so above every
    claim, and every claim is 'not measurable'; its validation curve is in the results."""
    _, out, results = finished_run
    found = results["teacher_check"]
    assert found["degenerate"] and found["degenerate"].startswith("test BLEU ")
    assert found["validated_at"] == 30 and found["valid_loss"] > 0
    assert [p["updates"] for p in results["curves"]["teacher"]] == [15, 30]
    assert found["test_lines"] == 24 and 0 <= found["test_at_length_cap"] <= 24
    assert results["predictions"]
    assert all(p["holds"] is None for p in results["predictions"]), results["predictions"]
    text = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert text.index("**The teacher is degenerate") < text.index("What the literature")
    assert "## Learning curves" in text and os.path.isfile(
        os.path.join(out, "figures", "curves.png"))


def test_without_labels_mixing_is_not_measured(finished_run, raw_dir, tmp_path):
    """The same run's records with the mixing measures gone (what nat-analyze returns without
    a lexicon): the checks and the report say so instead of failing."""
    config, out, _ = finished_run
    experiment = Experiment(config, out, quiet=True, data=raw_dir)
    experiment.run()  # every stage skipped: loads the records
    records = experiment.runner.records
    for group in records["analysis"]["result"].values():
        for metrics in group.values():
            metrics["measures"].pop("mixing", None)
            for key in ("mixed_sentence_rate", "language_entropy_bits",
                        "mode_cross_entropy_bits"):
                metrics.pop(key, None)
    records["prepare"]["result"]["labels"] = None
    experiment.source.has_labels = False
    results = report.collect(experiment)
    assert all(m["mixed_sentence_rate"] is None for m in results["models"])
    mixing = [p for p in results["predictions"] if "mixed-sentence" in p["claim"]
              or "sentence-level complexity" in p["claim"]]
    assert mixing  # the NAT trains on raw data only: the corpus claim
    assert all(p["holds"] is None and p["detail"] == checks.NOT_MEASURED for p in mixing)
    report.write(results, str(tmp_path))
    text = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "not measured (no language labels)" in text
    assert not (tmp_path / "figures" / "simplex.png").exists()
