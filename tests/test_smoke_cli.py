"""``nat-smoke`` (the main command until the end-to-end experiment): bad input, one line."""
import os
import shutil

import pytest

from data_scripts import smoke


def run_main(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        smoke.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return exit_info.value.code, err


def test_missing_data_directory(tmp_path, capsys):
    code, err = run_main(["--out", str(tmp_path / "o"), "--data", str(tmp_path / "nope")], capsys)
    assert code == 2 and len(err) == 1
    assert "data directory not found" in err[0] and "nope" in err[0]


def test_mismatched_line_counts_names_files(tmp_path, toy_corpus, capsys):
    data = tmp_path / "data"
    shutil.copytree(toy_corpus, data)
    with open(data / "valid.tgt", "a", encoding="utf-8") as handle:
        handle.write("EXTRA LINE\n")
    code, err = run_main(["--out", str(tmp_path / "o"), "--data", str(data)], capsys)
    assert code == 2 and len(err) == 1
    assert "valid.src has 60" in err[0] and "valid.tgt has 61" in err[0]


def test_missing_file_is_named(tmp_path, toy_corpus, capsys):
    data = tmp_path / "data"
    shutil.copytree(toy_corpus, data)
    os.remove(data / "test.tgt")
    code, err = run_main(["--out", str(tmp_path / "o"), "--data", str(data)], capsys)
    assert code == 2 and "missing corpus file" in err[0] and "test.tgt" in err[0]


def test_smoke_pipeline_runs_end_to_end(tmp_path, toy_corpus):
    summary = smoke.run_smoke(str(tmp_path / "run"), data_dir=toy_corpus, updates=20)
    assert summary["sentences"] == 60
    assert "nrefs:1" in summary["signature"]
    with open(tmp_path / "run" / "test.hyp", encoding="utf-8") as handle:
        assert len(handle.read().splitlines()) == 60
