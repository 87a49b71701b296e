"""``nat-bench gpu`` (the GPU check of issue 19): one line without CUDA; its code path on the CPU.

On a machine with a GPU it trains every model in fp32/fp16/bf16; here only the refusal and the
fp32 CPU path can run.
"""
import pytest

from nat.bench.cli import main


def test_without_cuda_it_refuses_in_one_line(capsys, monkeypatch):
    monkeypatch.setenv("NAT_FORCE_CPU", "1")
    with pytest.raises(SystemExit) as exit_info:
        main(["gpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and err == [
        "nat-bench: error: no CUDA device visible: nothing to check (--device cpu runs the same "
        "code in fp32 on the CPU)"]


def test_cpu_path_trains_decodes_and_checks_batch_invariance(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NAT_FORCE_CPU", raising=False)
    assert main(["gpu", "--device", "cpu", "--models", "nat_vanilla_tiny", "--updates", "3",
                 "--work", str(tmp_path)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith("| nat_vanilla_tiny")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[1] == "fp32" and cells[3] == "True" and float(cells[4]) > 0
