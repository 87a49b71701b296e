"""Run the experiment's long jobs (fairseq-train, nat-distill) side by side, resumably.

Jobs form a small dependency graph (the teacher before distillation, distillation before the
NATs trained on its output; NATs on raw data depend on nothing), and up to ``parallel`` run at
once, each with one thread: tiny models scale poorly across threads, so two single-threaded jobs
on two cores beat one two-threaded job.  fairseq-train runs in ``nat.console_pool`` workers
(fairseq's import paid once per worker; the weights are the same as in a process of its own).
A finished job leaves ``done.json`` with its settings key; an unfinished one with the same key
resumes (fairseq from ``checkpoint_last.pt``, nat-distill from its shard store).  One progress
bar counts updates.
"""
import json
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tqdm import tqdm

from nat import console_pool, fairseq_cli
from nat.cli import bin_path, die_with_parent
from nat.errors import UserError
from nat.textio import write_json_atomic

_UPDATES = re.compile(r"num_updates[ =](\d+)")


@dataclass
class Job:
    name: str
    tool: str           # console script: fairseq-train or nat-distill
    args: list
    workdir: str        # holds job.json, done.json and the log
    updates: int        # progress units (0 for jobs that do not report updates)
    key: str            # settings key: a different key restarts the job from scratch
    deps: tuple = ()    # names of jobs that must finish first

    @property
    def log_path(self):
        return os.path.join(self.workdir, f"{self.tool}.log")

    @property
    def command(self):
        return [self.tool] + [str(a) for a in self.args]

    def _read(self, name):
        path = os.path.join(self.workdir, name)
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def prepare(self):
        """Start clean unless the workdir holds a partial run of these exact settings."""
        started = self._read("job.json")
        if os.path.isdir(self.workdir) and (started is None or started.get("key") != self.key):
            shutil.rmtree(self.workdir)
        os.makedirs(self.workdir, exist_ok=True)
        write_json_atomic(os.path.join(self.workdir, "job.json"),
                          {"key": self.key, "command": self.command}, indent=None)

    def is_done(self):
        done = self._read("done.json")
        return done is not None and done.get("key") == self.key

    def mark_done(self, seconds):
        write_json_atomic(os.path.join(self.workdir, "done.json"),
                          {"key": self.key, "seconds": round(seconds, 1)}, indent=None)

    def summary(self):
        return {"train_seconds": self._read("done.json")["seconds"],
                "final_train_loss": _final_loss(self.log_path),
                "command": " ".join(self.command)}


def _last_update(log_path):
    try:
        with open(log_path, "rb") as handle:
            handle.seek(max(0, os.path.getsize(log_path) - 4096))
            found = _UPDATES.findall(handle.read().decode("utf-8", "replace"))
        return int(found[-1]) if found else 0
    except OSError:
        return 0


def _report_validation(job, bar):
    """One line as a validated model finishes (before anything trains on its outputs): its last
    validation loss (and BLEU), flagged when the BLEU is near 0."""
    points = curve(job.log_path) if job.tool != "nat-distill" else []
    if not points:
        return
    last = points[-1]
    line = f"{job.name}: validation loss {last['loss']:.3f}"
    if last["bleu"] is not None:
        line += f", BLEU {last['bleu']:.1f} (greedy, one reference)"
        if last["bleu"] < 1.0:
            line += ": near 0, a degenerate model (its distilled data would be noise)"
    bar.write(f"{line} after {last['updates']} updates")


def curve(log_path):
    """The validation learning curve in a fairseq-train log (empty without validation)."""
    if not os.path.exists(log_path):
        return []
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        return fairseq_cli.parse_validation(handle.read())


def _final_loss(log_path):
    """Last ``train`` summary loss in a fairseq log (None if absent)."""
    loss = None
    if os.path.exists(log_path):
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                match = re.search(r"\| train \|.*? loss ([\d.]+)", line)
                if match:
                    loss = float(match.group(1))
    return loss


class _Process:
    """A running job in its own process."""

    def __init__(self, job, env):
        self.log = open(job.log_path, "a", encoding="utf-8")
        self.log.write(" ".join(job.command) + "\n")
        self.log.flush()
        self.proc = subprocess.Popen([bin_path(job.tool)] + [str(a) for a in job.args],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=die_with_parent(os.getpid()))  # no orphans

    def poll(self):
        code = self.proc.poll()
        if code is not None:
            self.log.close()
        return code

    def stop(self):
        self.proc.terminate()


class _InWorker:
    """A running fairseq-train job in a ``console_pool`` worker (fairseq imported once per
    worker, not once per job); its log is appended to as a process's would be."""

    def __init__(self, job, worker, threads):
        self.worker = worker
        self.future = threads.submit(worker.run, job.tool, [str(a) for a in job.args],
                                     job.log_path, True, " ".join(job.command))

    def poll(self):
        return self.future.result()[0] if self.future.done() else None

    def stop(self):
        self.worker.kill()


def run_jobs(jobs, parallel=2, quiet=False, pool=None):
    """Run unfinished jobs respecting ``deps``, ``parallel`` at a time; returns {name: summary}.
    Jobs of ``console_pool.IN_PROCESS`` scripts (fairseq-train, nat-distill) run in console_pool
    workers (``pool``'s, kept for the caller's later stages, else ``parallel`` of their own),
    other jobs (torchrun) in their own processes."""
    finished = {job.name for job in jobs if job.is_done()}
    pending = [job for job in jobs if job.name not in finished]
    bar = tqdm(total=sum(j.updates for j in pending), unit="upd", desc="training",
               disable=quiet, leave=False)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    workers = pool.all if pool is not None else \
        [console_pool.Worker() for _ in range(max(1, parallel))]
    threads = ThreadPoolExecutor(max(1, parallel))
    running, done_updates = {}, 0
    try:
        while pending or running:
            ready = [j for j in pending if set(j.deps) <= finished]
            while ready and len(running) < max(1, parallel):
                job = ready.pop(0)
                pending.remove(job)
                job.prepare()
                busy = {id(r.worker) for _, r, _ in running.values() if isinstance(r, _InWorker)}
                free = [w for w in workers if id(w) not in busy]
                if job.tool in console_pool.IN_PROCESS and free:
                    run = _InWorker(job, free[0], threads)
                else:
                    run = _Process(job, env)
                running[job.name] = (job, run, time.time())
            if not running:
                missing = sorted({d for j in pending for d in j.deps} - finished)
                raise UserError(f"jobs wait for unknown or failed jobs: {missing}")
            time.sleep(0.5)
            progress = done_updates
            for name, (job, run, start) in list(running.items()):
                code = run.poll()
                if code is None:
                    progress += min(job.updates, _last_update(job.log_path))
                    continue
                del running[name]
                if code != 0:
                    for _, other, _ in running.values():
                        other.stop()
                    raise UserError(f"{job.tool} for {name} failed with exit status "
                                    f"{code} (log: {job.log_path})")
                job.mark_done(time.time() - start)
                finished.add(name)
                if not quiet:
                    _report_validation(job, bar)
                done_updates += job.updates
                progress += job.updates
            bar.n = min(bar.total, progress)
            bar.refresh()
    finally:
        for worker in workers:
            if running:
                worker.kill()     # mid-run: the pool starts a fresh one on its next use
            elif pool is None:
                worker.close()
        threads.shutdown(wait=True)
    bar.close()
    return {job.name: job.summary() for job in jobs}
