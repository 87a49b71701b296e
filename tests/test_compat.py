"""Compatibility layer: safe checkpoint loading with an allowlist, numpy alias patch."""
import os
import subprocess

import pytest
import torch

from nat import compat, fairseq_cli


class _Exploit:
    """Pickles to ``os.system(cmd)``: what a malicious checkpoint would carry."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture()
def malicious_checkpoint(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"model": {}, "args": None, "payload": _Exploit(str(marker))}, str(path))
    return str(path), marker


def test_malicious_checkpoint_is_refused(malicious_checkpoint):
    path, marker = malicious_checkpoint
    with pytest.raises(compat.UnsafeCheckpointError, match=r"refusing to load checkpoint .*system"):
        compat.load_checkpoint_safely(path)
    assert not marker.exists()


def test_fairseq_loader_refuses_with_clear_message(malicious_checkpoint):
    path, marker = malicious_checkpoint
    import fairseq_plugins  # noqa: F401  (installs the layer into fairseq)
    from fairseq import checkpoint_utils

    with pytest.raises(compat.UnsafeCheckpointError, match="not on the fairseq allowlist"):
        checkpoint_utils.load_checkpoint_to_cpu(path)
    assert not marker.exists()


def test_fairseq_generate_cli_refuses_malicious_checkpoint(malicious_checkpoint, toy_data_bin):
    path, marker = malicious_checkpoint
    proc = subprocess.run(
        [fairseq_cli.bin_path("fairseq-generate"), toy_data_bin, "--path", path,
         "--user-dir", fairseq_cli.PLUGIN_DIR, "--cpu", "--gen-subset", "test"],
        capture_output=True, text=True)
    assert proc.returncode != 0
    assert "refusing to load checkpoint" in proc.stderr
    assert not marker.exists()


def test_real_fairseq_checkpoint_loads_with_weights_only(tiny_teacher):
    state = compat.load_checkpoint_safely(tiny_teacher)
    assert {"model", "cfg", "extra_state"} <= set(state)
    assert state["cfg"]["model"].arch == "transformer_teacher_tiny" \
        if hasattr(state["cfg"]["model"], "arch") else state["cfg"]["model"]["arch"] \
        == "transformer_teacher_tiny"
    assert any(torch.is_tensor(v) for v in state["model"].values())


def test_checkpoint_with_numpy_and_namespace_loads(tmp_path):
    import argparse

    import numpy as np

    path = str(tmp_path / "legacy.pt")
    torch.save({"args": argparse.Namespace(arch="x", lr=[0.1]),
                "extra_state": {"best": np.float64(1.5), "arr": np.arange(3)}}, path)
    state = compat.load_checkpoint_safely(path)
    assert state["args"].arch == "x"
    assert float(state["extra_state"]["best"]) == 1.5
    assert state["extra_state"]["arr"].tolist() == [0, 1, 2]


def test_weights_only_not_disabled_globally():
    assert os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD") in (None, "", "0")


def test_nat_crf_layer_runs_on_numpy2():
    import fairseq_plugins  # noqa: F401
    from fairseq.modules.dynamic_crf_layer import DynamicCRF

    torch.manual_seed(0)
    crf = DynamicCRF(num_embedding=7, low_rank=4, beam_size=3)
    emissions = torch.randn(2, 5, 7)
    targets = torch.randint(0, 7, (2, 5))
    masks = torch.ones(2, 5, dtype=torch.bool)
    loss = crf(emissions, targets, masks)
    assert torch.isfinite(loss).all()
    assert not hasattr(__import__("numpy"), "float")  # the real numpy stays untouched


def test_commands_install_the_layer_once_torch_is_imported():
    """``nat.cli.command`` defers the allowlist until torch loads (cheap start-up)."""
    import sys

    code = ("import sys\n"
            "from nat.cli import command\n"
            "@command('probe')\n"
            "def main(argv=None):\n"
            "    assert 'torch' not in sys.modules\n"
            "    import argparse, torch\n"
            "    print(argparse.Namespace in torch.serialization.get_safe_globals())\n"
            "main([])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"
