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


def test_a_worker_outlives_the_thread_that_started_it(tmp_path):
    """A pool's workers serve every stage of an experiment, whichever thread started them."""
    import threading

    with console_pool.Pool(1) as pool:
        starter = threading.Thread(target=lambda: fairseq_cli.run_command(
            "nat-analyze", ["--help"], log_path=str(tmp_path / "a.log"), pool=pool))
        starter.start()
        starter.join()
        pid = pool.all[0].proc.pid
        assert "usage: nat-analyze" in fairseq_cli.run_command(
            "nat-analyze", ["--help"], log_path=str(tmp_path / "b.log"), pool=pool)
        assert pool.all[0].proc.pid == pid


def test_a_worker_dies_with_the_process_that_started_it(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    # the parent gives its worker a long run (a corpus of 10M pairs), then is killed mid-run
    log = tmp_path / "synth.log"
    parent = subprocess.Popen([sys.executable, "-c", f"""
import os, threading, time
from nat import console_pool
w = console_pool.Worker()
w.start()
threading.Thread(target=w.run, args=("nat-synth", ["--out", {str(tmp_path / "syn")!r},
    "--train", "10000000", "--valid", "1", "--test", "1", "--quiet"], {str(log)!r})).start()
while not os.path.exists({str(log)!r}):
    time.sleep(0.01)
print(w.proc.pid, flush=True)
time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    time.sleep(0.3)                               # the worker is writing the corpus
    parent.send_signal(signal.SIGKILL)            # no finally, no atexit in the parent
    parent.wait()
    for _ in range(100):
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            break
        with open(f"/proc/{worker}/stat", encoding="ascii") as handle:
            if handle.read().split(") ")[1].startswith("Z"):     # dead, not yet reaped
                break
        time.sleep(0.05)
    else:
        os.kill(worker, signal.SIGKILL)
        raise AssertionError("the worker outlived its parent by 5 s")
