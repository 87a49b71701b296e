"""Console scripts run in long-lived worker processes, so fairseq's import is paid once a worker.

A fairseq-train or fairseq-generate process spends about 6 s importing fairseq and torch before it
does anything (2 cores); a tiny model's training takes about as long.  A run of many small
models (``nat-experiment --preset seed``, its tests) would spend most of its time importing.
A worker (``python -m nat.console_pool``) imports once and then runs one console script per
request, in order: the script's own entry point (``fairseq-train`` is
``fairseq_cli.train:cli_main``) with ``sys.argv`` set to its arguments, stdout and stderr
(file descriptors 1 and 2) sent to the run's log, so the log holds what the command prints.
A worker that saw a run fail is replaced (a failure may leave state behind); only the scripts
in ``IN_PROCESS`` (they set their own seeds and read nothing global; ``sys.argv`` and torch's
thread count are restored after each run) go to a worker, any other tool runs as its own
process.  ``tests/test_console_pool.py`` checks that a model trained in a
worker after another one has the weights of the same command run alone.

Protocol: one JSON request per line on the worker's stdin (``{"tool", "args", "log"}``), one
JSON answer per line on the descriptor that was its stdout (``{"returncode", "cpu_seconds"}``:
the run's CPU time, the cost that ``nat-experiment --preset seed`` reports).
"""
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback

from nat.cli import bin_path

#: console scripts a worker runs in its own process, and modules run as ``python -m``
#: (``nat.fairseq_batch``: several fairseq-generate runs, ``fairseq_cli.generate_many``)
IN_PROCESS = ("fairseq-train", "fairseq-generate", "nat-analyze", "nat-shrink", "nat-distill",
              "nat-prepare", "nat-multilingual")
MODULES = ("nat.fairseq_batch",)


class Worker:
    """One worker process (started on first use); ``run`` is one request at a time."""

    def __init__(self, env=None):
        self.env, self.proc = env, None
        self.cpu_seconds = None     # CPU time of the last run (all of the worker's threads)

    def start(self):
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", **(self.env or {}))
        # not nat.cli.die_with_parent: its signal follows the *thread* that started the
        # worker (Linux's PR_SET_PDEATHSIG), and a pool outlives the threads that use it;
        # the worker watches for its parent process instead (``serve``)
        self.proc = subprocess.Popen([sys.executable, "-m", "nat.console_pool"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=env)

    def run(self, tool, args, log_path, append=False, command=None):
        """``(returncode, output)``; a worker that died mid-run counts as a failed run.
        ``append``: add to the log instead of starting it afresh; ``command``: the command line
        the log starts with (default: the script's full path and the arguments)."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        request = {"tool": tool, "args": [str(a) for a in args],
                   "log": os.path.abspath(log_path), "append": append, "command": command}
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            answer = self.proc.stdout.readline()
        except (BrokenPipeError, OSError):
            answer = ""
        answer = json.loads(answer) if answer else {"returncode": -9, "cpu_seconds": None}
        if answer["returncode"] != 0:
            self.close()
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
        self.cpu_seconds = answer["cpu_seconds"]
        return answer["returncode"], text.split("\n", 1)[1] if "\n" in text else ""

    def kill(self):
        """Stop now, mid-run too (a run waiting for this worker gets a failure)."""
        if self.proc is not None:
            self.proc.kill()
        self.close()

    def close(self):
        if self.proc is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class Pool:
    """``size`` workers shared by threads: ``run`` takes a free one (blocking)."""

    def __init__(self, size):
        self.free = [Worker() for _ in range(max(1, size))]
        self.all = list(self.free)
        self.ready = threading.Condition()
        self.cpu_seconds = {}       # log path -> CPU seconds of that run

    def run(self, tool, args, log_path):
        with self.ready:
            while not self.free:
                self.ready.wait()
            worker = self.free.pop()
        try:
            result = worker.run(tool, args, log_path)
            self.cpu_seconds[os.path.abspath(log_path)] = worker.cpu_seconds
            return result
        finally:
            with self.ready:
                self.free.append(worker)
                self.ready.notify()

    def close(self):
        for worker in self.all:
            worker.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _entry_point(tool):
    if tool in MODULES:
        import importlib

        module = importlib.import_module(tool)
        return lambda: module.main(sys.argv[1:])
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="console_scripts") if ep.name == tool]
    if not found:
        raise LookupError(f"{tool}: no such console script")
    return found[0].load()


def _torch_threads():
    """torch's intra-op thread count if torch is imported (a run may change it; the next one
    must not inherit that), else None."""
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def _run_one(tool, args, log, append=False, command=None):
    """Run ``tool`` with ``args``, its fds 1 and 2 on ``log``; its exit status."""
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, "a" if append else "w", encoding="utf-8") as handle:
        if command is None:
            command = " ".join(([sys.executable, "-m", tool] if tool in MODULES else
                                [bin_path(tool)]) + args)
        handle.write(command + "\n")
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    target = os.open(log, os.O_WRONLY | os.O_APPEND)
    os.dup2(target, 1)
    os.dup2(target, 2)
    os.close(target)
    argv, threads = sys.argv, _torch_threads()
    sys.argv = [tool] + args
    try:
        result = _entry_point(tool)()
        code = result if isinstance(result, int) else 0
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except Exception:  # the log shows the traceback, as the script's own process would
        traceback.print_exc()
        code = 1
    finally:
        sys.argv = argv
        if threads is not None and _torch_threads() != threads:  # nat-distill --threads N
            sys.modules["torch"].set_num_threads(threads)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    return code


#: how often a worker checks that the process that started it is alive (seconds)
PARENT_CHECK_S = 0.2


def _exit_with_parent(parent):
    """Kill this worker, mid-run too, once ``parent`` has died (this process was re-parented):
    no orphaned fairseq-train goes on writing into a directory that a re-run rebuilds."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os.kill(os.getpid(), signal.SIGKILL)


def serve():
    """The worker: requests on stdin, answers on the original stdout (fd 1 is the run's log
    while it runs, /dev/null otherwise)."""
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)
    os.close(quiet)
    for line in sys.stdin:
        request = json.loads(line)
        began = time.process_time()
        code = _run_one(request["tool"], request["args"], request["log"],
                        request.get("append", False), request.get("command"))
        answers.write(json.dumps({"returncode": code, "cpu_seconds":
                                  round(time.process_time() - began, 2)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(serve())
