"""nat-experiment configuration: presets, overrides, one-line errors."""
import json

import pytest

from data_scripts import experiment_cli
from nat.errors import UserError
from nat.experiment import config as presets
from nat.experiment.stages import settings_key


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
