"""nat-experiment configuration: presets, overrides, one-line errors."""
import json

import pytest

from data_scripts import experiment_cli
from nat.errors import UserError
from nat.experiment import config as presets
from nat.hashing import settings_key


def test_override_is_deep_merged(tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"corpus": {"train": 123}, "teacher": {"updates": 7}}))
    config = presets.resolve("quick", str(path))
    assert config["corpus"]["train"] == 123
    assert config["corpus"]["mode"] == presets.QUICK["corpus"]["mode"]  # untouched sibling
    assert config["teacher"]["updates"] == 7
    assert presets.QUICK["corpus"]["train"] != 123  # the preset itself is not mutated


def test_yaml_override(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("corpus:\n  mode: deterministic\n")
    assert presets.resolve("quick", str(path))["corpus"]["mode"] == "deterministic"


@pytest.mark.parametrize("content, message", [
    ({"corpus": {"trian": 5}}, "unknown config key: corpus.trian"),
    ({"train_data": ["raw", "noisy"]}, "train_data entries"),
])
def test_bad_override_is_refused(tmp_path, content, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(content))
    with pytest.raises(UserError, match=message):
        presets.resolve("quick", str(path))


def test_cli_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SystemExit) as exit_info:
        experiment_cli.main(["--config", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1 and "cannot parse" in err[0]


def test_show_config_prints_resolved_settings(tmp_path, capsys):
    experiment_cli.main(["--preset", "full", "--out", str(tmp_path), "--show-config"])
    shown = json.loads(capsys.readouterr().out)
    assert shown["preset"] == "full" and shown["corpus"]["preset"] == "default"


def test_settings_key_depends_on_every_setting():
    base = presets.resolve("quick")
    changed = presets.resolve("quick")
    changed["nat"][0]["lr"] *= 2
    assert settings_key(base) != settings_key(changed)
    assert settings_key(base) == settings_key(presets.resolve("quick"))


def _results(bleu, arch="nat_ctc_glat_tiny"):
    """A results dict with vanilla and one other NAT on raw and distilled data."""
    models = [{"name": f"{family}_{data}", "family": family, "train_data": data,
               "bleu": bleu[family][data], "mixed_sentence_rate": None}
              for family in bleu for data in ("raw", "distilled")]
    config = {"nat": [{"name": family, "arch": "nat_vanilla_tiny" if family == "vanilla"
                       else arch} for family in bleu]}
    return {"models": models, "corpora": [], "config": config}


@pytest.mark.parametrize("other, holds", [((70.0, 90.0), True), ((20.0, 90.0), False)])
def test_marginalising_nat_gains_less_from_distillation(other, holds):
    from nat.experiment import checks

    results = _results({"vanilla": {"raw": 20.0, "distilled": 80.0},
                        "ctc_glat": {"raw": other[0], "distilled": other[1]}})
    found = [p for p in checks.predictions(results) if "gains less" in p["claim"]]
    assert [(p["holds"], p["detail"]) for p in found] == [
        (holds, f"{other[1] - other[0]:+.1f} vs +60.0 BLEU")]
    # a NAT that does not marginalise alignments (GLAT with length prediction) is not claimed
    plain = _results({"vanilla": {"raw": 20.0, "distilled": 80.0},
                      "glat": {"raw": 70.0, "distilled": 90.0}}, arch="nat_glat_tiny")
    assert not [p for p in checks.predictions(plain) if "gains less" in p["claim"]]
