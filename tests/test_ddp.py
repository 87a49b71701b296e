"""Multi-process training on CPU: ``torchrun --nproc_per_node 2`` (gloo) gives the parameters of
one process with ``--update-freq 2`` (same global batch, same seed), for every registered model.

One torchrun launch trains all the models one after another (``tests/ddp_runner.py`` calls the
fairseq-train console script's ``cli_main`` per command line, so fairseq's import is paid once,
not once per model), and one plain process does the ``--update-freq 2`` runs.

Measured (3 updates, gloo, 2 CPU cores): without glancing the parameters are bit-identical (max
abs diff 0.0: gloo's sum of two gradients is the same addition as accumulating two micro-batches).
With glancing they cannot be: fairseq seeds every update once, so rank 1's micro-batch draws its
glancing positions from the seed while the second micro-batch of one process continues the
stream; measured max abs diff about 6e-3 (about two Adam steps of lr 1e-3) for GLAT, CTC-GLAT and
DAG.  Those models are therefore also run with ``--glat-ratio 0``, which must match exactly.
"""
import json
import os
import subprocess
import sys

import pytest

from nat.cli import bin_path
from nat.compat import load_checkpoint_safely

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
UPDATES = 3
MAX_TOKENS = 300
EXACT = 1e-6        # without glancing: same additions in the same order
GLANCING = 2e-2     # with glancing: different glancing draws (see the module docstring)

TINY = ["--encoder-layers", "1", "--decoder-layers", "1", "--encoder-embed-dim", "32",
        "--decoder-embed-dim", "32", "--encoder-ffn-embed-dim", "64",
        "--decoder-ffn-embed-dim", "64", "--encoder-attention-heads", "2",
        "--decoder-attention-heads", "2", "--dropout", "0"]
NAT = ["--task", "translation_lev", "--criterion", "nat_loss", "--noise", "full_mask"]
COMMON = ["--user-dir", os.path.join(ROOT, "fairseq_plugins"), "--cpu", "--optimizer", "adam",
          "--lr", "1e-3", "--max-update", UPDATES, "--max-tokens", MAX_TOKENS, "--seed", 1,
          "--disable-validation", "--no-epoch-checkpoints", "--no-save-optimizer-state",
          "--num-workers", "0", "--log-format", "simple"]
#: run name -> (arch, extra flags, tolerance)
RUNS = {
    "nat_vanilla_tiny": ("nat_vanilla_tiny", NAT, EXACT),
    "nat_glat_tiny": ("nat_glat_tiny", NAT, GLANCING),
    "nat_glat_tiny-no-glancing": ("nat_glat_tiny", NAT + ["--glat-ratio", "0"], EXACT),
    "nat_ctc_tiny": ("nat_ctc_tiny", NAT, EXACT),
    "nat_ctc_glat_tiny": ("nat_ctc_glat_tiny", NAT, GLANCING),
    "nat_ctc_glat_tiny-no-glancing": ("nat_ctc_glat_tiny", NAT + ["--glat-ratio", "0"], EXACT),
    "nat_dag_tiny": ("nat_dag_tiny", NAT, GLANCING),
    "nat_dag_tiny-no-glancing": ("nat_dag_tiny", NAT + ["--glat-ratio", "0"], EXACT),
    "transformer_student_tiny": ("transformer_student_tiny", ["--criterion", "word_kd"], EXACT),
}


def command_lines(data_bin, out, teacher, extra):
    runs = []
    for name, (arch, flags, _) in RUNS.items():
        if "word_kd" in flags:
            flags = flags + ["--teacher-path", teacher]
        runs.append([data_bin, "--arch", arch, *TINY, *flags, *COMMON,
                     "--save-dir", os.path.join(out, name), *extra])
    path = out + ".json"
    with open(path, "w", encoding="utf-8") as handle:
        json.dump([[str(a) for a in run] for run in runs], handle)
    return path


def launch(cmd):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT)
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Expected to have finished reduction" not in proc.stdout  # DDP: an unused parameter
    return proc.stdout


@pytest.fixture(scope="module")
def trained(toy_data_bin, tiny_teacher, tmp_path_factory):
    """``(ddp_dir, single_dir)``: every run under 2-process torchrun and in one process."""
    tmp = tmp_path_factory.mktemp("ddp")
    ddp, single = str(tmp / "ddp"), str(tmp / "single")
    runner = os.path.join(HERE, "ddp_runner.py")
    launch([bin_path("torchrun"), "--standalone", "--nproc_per_node", "2", runner,
            command_lines(toy_data_bin, ddp, tiny_teacher,
                          ["--distributed-backend", "gloo", "--distributed-world-size", "2"])])
    launch([sys.executable, runner,
            command_lines(toy_data_bin, single, tiny_teacher, ["--update-freq", "2"])])
    return ddp, single


@pytest.mark.parametrize("name", list(RUNS))
def test_ddp_matches_one_process_with_update_freq(trained, name):
    ddp, single = (load_checkpoint_safely(os.path.join(d, name, "checkpoint_last.pt"))
                   for d in trained)
    for ckpt in ddp, single:
        assert ckpt["optimizer_history"][-1]["num_updates"] == UPDATES
    a, b = ddp["model"], single["model"]
    assert a.keys() == b.keys()
    diff = max((a[k].double() - b[k].double()).abs().max().item() for k in a)
    print(f"{name}: max abs parameter diff {diff:.3g}")
    assert diff <= RUNS[name][2], (name, diff)
    if RUNS[name][2] == GLANCING:
        assert diff > 0  # the glancing draws differ, so identical weights would mean no glancing


def test_ctc_checkpoint_with_the_unused_blank_embedding_still_loads(trained, tmp_path):
    """CTC without glancing has no ``decoder.blank_embed`` any more (no loss read it, and DDP
    refuses unused parameters); a checkpoint written before still loads."""
    import torch

    from nat import compat

    single = trained[1]
    path = os.path.join(single, "nat_ctc_tiny", "checkpoint_last.pt")
    ckpt = load_checkpoint_safely(path)
    assert "decoder.blank_embed" not in ckpt["model"]
    glancing = load_checkpoint_safely(os.path.join(single, "nat_ctc_glat_tiny",
                                                   "checkpoint_last.pt"))
    assert "decoder.blank_embed" in glancing["model"]
    ckpt["model"]["decoder.blank_embed"] = torch.zeros(32)
    old = str(tmp_path / "old.pt")
    torch.save(ckpt, old)
    with compat.fairseq_logging_kept():
        import fairseq_plugins  # noqa: F401
        from fairseq import checkpoint_utils
    models, _ = checkpoint_utils.load_model_ensemble([old])
    loaded = dict(models[0].named_parameters())
    assert "decoder.blank_embed" not in loaded
    assert torch.equal(loaded["decoder.blank_out"], ckpt["model"]["decoder.blank_out"])
