"""nat.experiment.training.run_jobs: fairseq-train jobs in console_pool workers, the others in
their own processes; a failure is one line naming the log, finished jobs are not run again."""
import os

import pytest

from nat.errors import UserError
from nat.experiment.training import Job, run_jobs


def test_a_failed_worker_job_is_one_line_naming_its_log(tmp_path):
    bad = Job("bad", "fairseq-train", [str(tmp_path / "no-such-bin"), "--arch",
                                       "nat_vanilla_tiny", "--max-update", 3],
              str(tmp_path / "bad"), 3, "key")
    with pytest.raises(UserError, match=r"^fairseq-train for bad failed with exit status [12] "
                                        r"\(log: .*fairseq-train\.log\)$"):
        run_jobs([bad], parallel=1, quiet=True)
    log = open(bad.log_path, encoding="utf-8").read()
    assert log.startswith("fairseq-train ")          # the command line, then what it printed
    assert "fairseq-train: error: argument --arch" in log.split("\n", 1)[1]   # its stderr
    assert not bad.is_done()


def test_finished_jobs_are_skipped_and_others_wait_for_them(tmp_path):
    first = Job("first", "fairseq-train", ["--never-run"], str(tmp_path / "first"), 3, "k1")
    first.prepare()
    first.mark_done(1.0)
    second = Job("second", "nat-synth", ["--out", str(tmp_path / "syn"), "--train", 5,
                                         "--valid", 2, "--test", 2, "--quiet"],
                 str(tmp_path / "second"), 0, "k2", deps=("first",))
    summaries = run_jobs([first, second], parallel=2, quiet=True)
    assert second.is_done() and os.path.isfile(tmp_path / "syn" / "train.src")
    assert summaries["first"]["train_seconds"] == 1.0
