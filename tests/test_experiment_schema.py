"""``nat-experiment`` refuses a bad config before anything runs: one line naming the key, exit
status 2, nothing written (--dry-run included).  Each case is one a user hit: values fairseq
reads as "unlimited" (``updates: 0`` trained without end), values that failed only after the
teacher had trained (``beam: 0``, an unknown ``arch``), and values that crashed with a traceback.
"""
import json

import pytest

from data_scripts.experiment_cli import main
from nat.experiment import config as presets
from nat.experiment import schema


def run(tmp_path, capsys, config, *flags):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(path), "--out", str(out), *flags])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(err) == 1, err
    assert err[0].startswith("nat-experiment: error: ")
    assert not out.exists()
    return err[0]


@pytest.mark.parametrize("config, message", [
    ({"teacher": {"updates": 0}}, "teacher.updates: must be >= 1, got 0"),
    ({"teacher": {"updates": -5}}, "teacher.updates: must be >= 1, got -5"),
    ({"teacher": {"updates": 2.5}}, "teacher.updates: expected an integer, got 2.5"),
    ({"teacher": {"updates": True}}, "teacher.updates: expected an integer, got True"),
    ({"teacher": {"updates": "many"}}, "teacher.updates: expected an integer, got 'many'"),
    ({"teacher": "big"}, "teacher: expected a mapping, got 'big'"),
    ({"teacher": {"lr": 0}}, "teacher.lr: must be > 0"),
    ({"teacher": {"arch": "transformer_teacher_tiniest"}},
     "teacher.arch: unknown architecture 'transformer_teacher_tiniest' (e.g. "
     "transformer_teacher_tiny"),
    ({"nat": {"name": "x"}}, "nat: expected a list of mappings, got {'name': 'x'}"),
    ({"nat": [{"name": "x"}]}, "nat[0].arch: missing"),
    ({"nat": [{"name": "v", "arch": "nat_vanilla_tiny", "updates": 10, "lr": 1e-3,
               "warmup": 1, "max_tokens": 0}]}, "nat[0].max_tokens: must be >= 1, got 0"),
    ({"distill": {"beam": 0}}, "distill.beam: must be >= 1, got 0"),
    ({"distill": {"backend": "onnx"}}, "distill.backend: 'onnx' is not one of"),
    ({"decode": {"max_len_b": 0}}, "decode.max_len_b: must be >= 1, got 0"),
    ({"corpus": {"train": 0}}, "corpus.train: must be >= 1, got 0"),
    ({"jobs": 0}, "jobs: must be >= 1, got 0"),
    ({"train_processes": -1}, "train_processes: must be >= 0, got -1"),
    ({"speed": {"throughput_batch": "big"}}, "speed.throughput_batch: expected an integer"),
    ({"teacher": {"extra": ["--x", {"a": 1}]}}, "teacher.extra: expected a list of flags"),
    ({"teacher": {"upd4tes": 3}}, "unknown config key: teacher.upd4tes"),
])
@pytest.mark.parametrize("dry", [True, False])
def test_bad_value_is_one_line_before_anything_runs(tmp_path, capsys, config, message, dry):
    line = run(tmp_path, capsys, config, *(["--dry-run"] if dry else []))
    assert message in line, line
    assert "Traceback" not in line


def test_config_file_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_bytes(b'{"seed": "\xff\xfe"}')
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(path), "--out", str(tmp_path / "out"), "--dry-run"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and err == [
        f"nat-experiment: error: {path}: not UTF-8 text (byte 10)"]


@pytest.mark.parametrize("preset", sorted(presets.PRESETS))
def test_every_preset_fits_the_schema(preset):
    assert schema.check(presets.resolve(preset))["preset"] == preset


def test_optional_settings_may_be_left_out():
    config = presets.resolve("quick")
    config["nat"][0].pop("extra")
    config["nat"][0].pop("decode")
    config["distill"] = {"method": "seqinter"}
    schema.check(config)
