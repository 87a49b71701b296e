"""``nat-experiment --preset seed``: the checks on hand-made numbers (holds / fails / not
measurable), and every section's steps run for real on a copy of the reduced experiment with a
few updates each (the numbers of such tiny models mean nothing: schema, counts and resume)."""
import json
import os

import pytest

import background_runs
from nat.experiment import config as presets
from nat.experiment import report, seed, seed_plan

TINY = background_runs.SEED_TABLES


def holds(checks):
    return [c["holds"] for c in checks]


def test_kimrush_checks_on_hand_made_numbers():
    rows = [{"model": "student_raw", "bleu_greedy": 20.0, "bleu_beam5": 25.0},
            {"model": "student_wordkd", "bleu_greedy": 22.0, "bleu_beam5": 26.0},
            {"model": "student_seqkd", "bleu_greedy": 29.5, "bleu_beam5": 30.0},
            {"model": "student_seqinter", "bleu_greedy": 29.0, "bleu_beam5": 29.9}]
    rows[0]["beam5_output_probability"], rows[2]["beam5_output_probability"] = 0.013, 0.169
    assert holds(seed.kimrush(rows)) == [True, True, True, False, True, True]
    rows[2]["bleu_beam5"], rows[0]["beam5_output_probability"] = None, 0.2
    assert holds(seed.kimrush(rows)) == [None, None, True, None, None, False]
    assert "not measurable" in seed.kimrush(rows)[0]["detail"]


def test_margin_and_gap_checks():
    assert seed.greater("c", 2.0, 1.0, "a", "b")["holds"] is True
    assert seed.greater("c", 1.0, 1.0, "a", "b")["holds"] is False      # strictly greater
    assert seed.within("c", 30.0, 31.5, "a", "b", 2.0)["holds"] is True
    assert seed.within("c", 28.0, 31.5, "a", "b", 2.0)["holds"] is False
    assert seed.decreasing("c", [1.2, 1.0, 0.9], ["x", "y", "z"])["holds"] is True
    assert seed.decreasing("c", [1.2, 1.3], ["x", "y"])["holds"] is False
    assert seed.decreasing("c", [1.2, None], ["x", "y"])["holds"] is None
    assert seed.share("c", [(2, 1), (3, 4)], "gains") == {
        "claim": "c", "holds": False, "detail": "1 of 2 gains"}
    assert seed.share("c", [(None, 1)], "gains")["holds"] is None


def test_section_checks_on_hand_made_numbers():
    assert holds(seed.multilingual([
        {"selective KD": 30, "KD always on": 29, "no KD": 28},
        {"selective KD": 31, "KD always on": 31.5, "no KD": 30}])) == [True, True]
    assert holds(seed.multilingual([{"selective KD": 30, "KD always on": 31, "no KD": 31}])) \
        == [False, False]
    rows = [{"size": "1+1", "method": "shrink", "bleu": 20, "cost_cpu_minutes": 1.0},
            {"size": "1+1", "method": "kd", "bleu": 22, "cost_cpu_minutes": 2.0},
            {"size": "1+1", "method": "seqkd", "bleu": 25, "cost_cpu_minutes": 3.0}]
    assert holds(seed.shleifer(rows)) == [True, True]
    rows[0]["cost_cpu_minutes"] = 2.5
    assert holds(seed.shleifer(rows)) == [True, False]
    assert holds(seed.natdecode([{"system": "CMLM, 1 pass", "bleu_raw": 5, "bleu_distilled": 9},
                                 {"system": "CMLM, 10 passes", "bleu_raw": 8,
                                  "bleu_distilled": 7}])) == [False, True]
    assert holds(seed.stealing([
        {"row": "official", "test": "in-distribution", "bleu": 32.0},
        {"row": "imitation", "test": "in-distribution", "bleu": 31.5},
        {"row": "official", "test": "shifted", "bleu": 30.0},
        {"row": "imitation", "test": "shifted", "bleu": 20.0}])) == [True, False]
    assert holds(seed.rnn([{"data": "raw", "bleu": 5}, {"data": "Seq-KD", "bleu": 9,
                                                        "speed_vs_teacher": 0.8}])) == \
        [True, False]
    corpora = [{"name": "raw", "complexity_bits": 1.3}, {"name": "distilled",
                                                         "complexity_bits": 0.4}]
    assert holds(seed.unimodality([{"bleu_raw": 5, "bleu_distilled": 20, "mixed_raw": 0.4,
                                    "mixed_distilled": 0.1}], corpora)) == [True, True, True]
    assert holds(seed.born_again([{"corpus": "raw", "complexity_bits": 1.3, "teacher_bleu": 90},
                                  {"corpus": "distilled", "complexity_bits": 0.4,
                                   "teacher_bleu": 87}])) == [True, False]
    # the last corpus has no teacher: its complexity counts, its missing BLEU does not
    assert holds(seed.born_again([{"corpus": "raw", "complexity_bits": 1.3, "teacher_bleu": 90},
                                  {"corpus": "distilled", "complexity_bits": 0.4,
                                   "teacher_bleu": 89},
                                  {"corpus": "born_again_1", "complexity_bits": 0.6,
                                   "teacher_bleu": None}])) == [False, True]


def test_the_seed_preset_resolves_and_refuses_unknown_tables(tmp_path):
    config = presets.resolve("seed")
    assert config["seed_tables"]["sections"] == list(seed.SECTIONS)
    assert presets.resolve("quick")["seed_tables"] is None
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"seed_tables": dict(TINY, sections=["kimrush", "nope"])}))
    with pytest.raises(Exception, match=r"^seed_tables.sections: unknown table 'nope'"):
        presets.resolve("seed", str(bad))


def test_born_again_rows_from_the_variants_run(variants_experiment):
    _, out, _ = variants_experiment
    results = json.load(open(os.path.join(out, "results.json"), encoding="utf-8"))
    found = seed_plan.experiment_sections(results)
    rows = found["born_again"]["rows"]
    assert [r["corpus"] for r in rows] == ["raw", "seqinter", "born_again_1"]
    assert rows[0]["teacher"] == "teacher_beam5" and rows[1]["teacher"] == \
        "teacher_born_again_1_beam5" and rows[2]["teacher"] is None
    assert all(isinstance(r["complexity_bits"], float) for r in rows)
    assert len(found["born_again"]["checks"]) == 2


@pytest.fixture(scope="module")
def seed_run(seed_experiment):
    """The seed stage over a copy of the reduced run (tests/background_runs.py: run_seed)."""
    return seed_experiment


def test_every_section_is_built_from_real_steps(seed_run):
    _, out, results = seed_run
    tables = results["seed_tables"]
    assert tables["steps"] == {}                       # no step failed or was skipped
    # born_again needs born-again rounds (none in the reduced run: the variants test has them)
    assert set(tables["sections"]) == set(seed.SECTIONS) - {"born_again"}
    counts = {key: len(entry["rows"]) for key, entry in tables["sections"].items()}
    assert counts == {"kimrush": 6, "ensemble": 6, "stealing": 4, "multilingual": 3,
                      "shleifer": 6, "natdecode": 10, "unimodality": 1, "rnn": 3}
    for key, entry in tables["sections"].items():
        for row in entry["rows"]:
            bleus = [v for k, v in row.items() if k.startswith("bleu") or k in (
                "teacher", "selective KD", "KD always on", "no KD") and key == "multilingual"]
            assert bleus and all(isinstance(b, float) for b in bleus), (key, row)
        assert all(c["holds"] in (True, False, None) for c in entry["checks"])
    mass = [r["beam5_output_probability"] for r in tables["sections"]["kimrush"]["rows"]]
    assert all(isinstance(p, float) and 0 < p <= 1 for p in mass)
    costs = [r["cost_cpu_minutes"] for r in tables["sections"]["shleifer"]["rows"]]
    assert all(isinstance(c, float) and c > 0 for c in costs)
    speeds = [r["speed_vs_teacher"] for r in tables["sections"]["natdecode"]["rows"]]
    assert all(isinstance(s, float) and s > 0 for s in speeds)
    on_disk = json.load(open(os.path.join(out, "results.json"), encoding="utf-8"))
    assert on_disk["seed_tables"] == json.loads(json.dumps(tables))
    text = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    for key in tables["sections"]:
        assert f"### {seed.SECTIONS[key][0]} ({seed.SECTIONS[key][1]})" in text
    assert "nat-multilingual --raw" in text and "nat-shrink " in text   # the commands
    figure = os.path.join(out, "figures", "seed_natdecode.png")
    assert "](figures/seed_natdecode.png)" in text and os.path.getsize(figure) > 10000
    os.remove(os.path.join(out, "report.md"))         # the report from results.json alone
    report.render(on_disk, out)
    assert open(os.path.join(out, "report.md"), encoding="utf-8").read() == text


def test_a_second_run_resumes_every_step(seed_run):
    config, out, results = seed_run
    again = seed_plan.run(config, out, json.loads(json.dumps(results)), quiet=True)
    first, second = results["seed_tables"], again["seed_tables"]
    assert second["sections"] == first["sections"]     # costs come from the step records
    # every step skipped: the wall time recorded grows by this invocation's few seconds
    assert 0 <= second["seconds"] - first["seconds"] < 30
