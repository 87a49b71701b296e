"""Run several fairseq-train command lines, one after another, in this one process.

``torchrun --nproc_per_node 2 tests/ddp_runner.py RUNS.json`` is ``torchrun ... fairseq-train
ARGS`` for each ``ARGS`` of the JSON list, without paying fairseq's import (about 8 s a process
on 2 cores) once per model: each run goes through ``fairseq_cli.train.cli_main``, the
fairseq-train console script itself, with ``sys.argv`` set to its arguments; the process group
that the first run initializes is reused by the next ones (fairseq warns and carries on).
Without torchrun it is the same in one process (background_runs.run_nat_models: the tiny NATs).

An entry of the list is the argument list, or ``{"args": [...], "log": PATH}``: then what that
run logs also goes to ``PATH`` (the command line, then fairseq's log lines, as
``nat.fairseq_cli.run_command`` writes a fairseq-train log).
"""
import json
import logging
import sys


def main(path):
    with open(path, encoding="utf-8") as handle:
        runs = json.load(handle)
    from fairseq_cli import train

    root = logging.getLogger()
    for run in runs:
        argv, log = (run["args"], run["log"]) if isinstance(run, dict) else (run, None)
        sys.argv = ["fairseq-train"] + [str(a) for a in argv]
        handler = None
        if log:
            with open(log, "w", encoding="utf-8") as handle:
                handle.write(" ".join(sys.argv) + "\n")
            handler = logging.FileHandler(log, encoding="utf-8")
            handler.setFormatter(root.handlers[0].formatter)  # fairseq's own format
            root.addHandler(handler)
        try:
            train.cli_main()
        finally:
            if handler:
                root.removeHandler(handler)
                handler.close()


if __name__ == "__main__":
    main(sys.argv[1])
