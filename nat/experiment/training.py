"""Train several models side by side with the real ``fairseq-train``, resumably.

Each job runs in its own process with one thread (tiny models scale poorly across threads, so
two single-threaded jobs on two cores beat one two-threaded job).  A finished job leaves
``done.json`` with its settings key; an unfinished one resumes from fairseq's
``checkpoint_last.pt``.  One progress bar counts updates over all jobs.
"""
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

from tqdm import tqdm

from nat.cli import bin_path
from nat.errors import UserError

_UPDATES = re.compile(r"num_updates[ =](\d+)")


@dataclass
class TrainJob:
    name: str
    args: list          # fairseq-train arguments (data dir first)
    save_dir: str
    updates: int
    key: str

    @property
    def checkpoint(self):
        return os.path.join(self.save_dir, "checkpoint_last.pt")

    @property
    def log_path(self):
        return os.path.join(self.save_dir, "train.log")

    @property
    def command(self):
        return ["fairseq-train"] + [str(a) for a in self.args]

    def prepare(self):
        """Start clean unless the save dir holds a partial run of these exact settings."""
        marker = os.path.join(self.save_dir, "job.json")
        if os.path.exists(marker):
            with open(marker, encoding="utf-8") as handle:
                if json.load(handle).get("key") != self.key:
                    shutil.rmtree(self.save_dir)
        elif os.path.isdir(self.save_dir):
            shutil.rmtree(self.save_dir)
        os.makedirs(self.save_dir, exist_ok=True)
        with open(marker, "w", encoding="utf-8") as handle:
            json.dump({"key": self.key, "command": self.command}, handle)

    def is_done(self):
        marker = os.path.join(self.save_dir, "done.json")
        if not (os.path.exists(marker) and os.path.exists(self.checkpoint)):
            return False
        with open(marker, encoding="utf-8") as handle:
            return json.load(handle).get("key") == self.key


def _last_update(log_path):
    try:
        with open(log_path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(log_path) - 4096))
            found = _UPDATES.findall(handle.read().decode("utf-8", "replace"))
        return int(found[-1]) if found else 0
    except OSError:
        return 0


def _final_loss(log_path):
    """Last ``train`` summary loss in a fairseq log (None if absent)."""
    loss = None
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            match = re.search(r"\| train \|.*? loss ([\d.]+)", line)
            if match:
                loss = float(match.group(1))
    return loss


def train_all(jobs, parallel=2, quiet=False):
    """Run the unfinished jobs, ``parallel`` at a time; returns {name: summary}."""
    todo = [job for job in jobs if not job.is_done()]
    bar = tqdm(total=sum(j.updates for j in todo), unit="upd", desc="training", disable=quiet,
               leave=False)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    running, started = {}, {}
    pending = list(todo)
    done_updates = 0
    while pending or running:
        while pending and len(running) < max(1, parallel):
            job = pending.pop(0)
            job.prepare()  # a partial run of the same settings resumes from checkpoint_last
            log = open(job.log_path, "a", encoding="utf-8")
            log.write(" ".join(job.command) + "\n")
            log.flush()
            proc = subprocess.Popen([bin_path("fairseq-train")] + [str(a) for a in job.args],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
            running[job.name] = (job, proc, log)
            started[job.name] = time.time()
        time.sleep(0.5)
        progress = done_updates
        for name, (job, proc, log) in list(running.items()):
            progress += min(job.updates, _last_update(job.log_path))
            if proc.poll() is None:
                continue
            log.close()
            del running[name]
            if proc.returncode != 0:
                for other, other_proc, other_log in running.values():
                    other_proc.terminate()
                raise UserError(f"fairseq-train for {name} failed with exit status "
                                f"{proc.returncode} (log: {job.log_path})")
            with open(os.path.join(job.save_dir, "done.json"), "w", encoding="utf-8") as handle:
                json.dump({"key": job.key, "seconds": round(time.time() - started[name], 1)},
                          handle)
            done_updates += job.updates
        bar.n = min(bar.total, progress)
        bar.refresh()
    bar.close()
    summary = {}
    for job in jobs:
        with open(os.path.join(job.save_dir, "done.json"), encoding="utf-8") as handle:
            seconds = json.load(handle)["seconds"]
        summary[job.name] = {"checkpoint": job.checkpoint, "train_seconds": seconds,
                             "final_train_loss": _final_loss(job.log_path),
                             "command": " ".join(job.command)}
    return summary
