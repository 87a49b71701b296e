"""Console scripts in a worker process (nat.console_pool): the same results and logs as their
own process, a failure reported as the command's would be, and a fresh worker after it."""
import os

import pytest
import torch

from nat import console_pool, fairseq_cli
from nat.compat import load_checkpoint_safely
from nat.errors import UserError

RECIPE = fairseq_cli.Recipe("nat_vanilla_tiny", 6, warmup=2, max_tokens=400, nat=True,
                            extra=["--encoder-embed-dim", "32", "--decoder-embed-dim", "32",
                                   "--encoder-ffn-embed-dim", "64",
                                   "--decoder-ffn-embed-dim", "64", "--encoder-layers", "1",
                                   "--decoder-layers", "1", "--no-save-optimizer-state"])


def weights(save_dir):
    return load_checkpoint_safely(os.path.join(save_dir, "checkpoint_last.pt"))["model"]


def test_a_worker_trains_what_a_process_trains(toy_data_bin, tmp_path):
    alone = str(tmp_path / "alone")
    fairseq_cli.train(toy_data_bin, alone, RECIPE, seed=3)
    with console_pool.Pool(1) as pool:
        first, second = str(tmp_path / "first"), str(tmp_path / "second")
        for save_dir, seed in ((first, 1), (second, 3)):   # a run before it in the same worker
            tool, args = RECIPE.launch(toy_data_bin, save_dir, seed)
            out = fairseq_cli.run_command(tool, args, log_path=os.path.join(save_dir, "log"),
                                          pool=pool)
            assert "done training" in out
        worker = pool.all[0].proc.pid
        log = open(os.path.join(second, "log"), encoding="utf-8").read()
        assert log.startswith(fairseq_cli.bin_path("fairseq-train") + " ")   # the command
        assert "num_updates 6" in log or "num_updates=6" in log or "| 6" in log or \
            "done training" in log
        got, want = weights(second), weights(alone)
        assert got.keys() == want.keys()
        for name in want:
            assert torch.equal(got[name], want[name]), name
        assert not all(torch.equal(weights(first)[n], want[n]) for n in want)   # seed matters
        assert pool.all[0].proc.pid == worker                # one worker did both


def test_a_failed_run_is_one_line_and_the_worker_is_replaced(tmp_path):
    with console_pool.Pool(1) as pool:
        with pytest.raises(UserError, match=r"^fairseq-train failed with exit status [12]: .*"
                                            r"\(log: .*bad\.log\)$"):
            fairseq_cli.run_command("fairseq-train", [str(tmp_path / "no-such-bin"), "--arch",
                                                     "no_such_arch"],
                                    log_path=str(tmp_path / "bad.log"), pool=pool)
        assert pool.all[0].proc is None                      # closed after the failure
        out = fairseq_cli.run_command("nat-analyze", ["--help"],
                                      log_path=str(tmp_path / "help.log"), pool=pool)
        assert "usage: nat-analyze" in out
        assert pool.all[0].proc is not None                  # a new one ran it


def test_other_tools_run_as_their_own_process(tmp_path):
    with console_pool.Pool(1) as pool:
        out = fairseq_cli.run_command("nat-synth", ["--help"],
                                      log_path=str(tmp_path / "synth.log"), pool=pool)
        assert "nat-synth" in out and pool.all[0].proc is None


def test_a_run_leaves_argv_and_torch_threads_as_it_found_them(tmp_path, monkeypatch):
    """A script that changes torch's thread count (nat-distill --threads N) or sys.argv does not
    pass that on to the next run in the same worker."""
    import sys

    seen = {}

    def script():
        seen["argv"] = list(sys.argv)
        torch.set_num_threads(torch.get_num_threads() + 1)
        sys.argv.append("--left-behind")
        return 0

    monkeypatch.setattr(console_pool, "_entry_point", lambda tool: script)
    threads, argv = torch.get_num_threads(), list(sys.argv)
    assert console_pool._run_one("nat-distill", ["--beam", "4"], str(tmp_path / "log")) == 0
    assert seen["argv"] == ["nat-distill", "--beam", "4"]
    assert torch.get_num_threads() == threads and sys.argv == argv
    assert open(tmp_path / "log", encoding="utf-8").readline().endswith(" --beam 4\n")
