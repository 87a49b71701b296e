"""Run several fairseq-train command lines, one after another, in this one process.

``torchrun --nproc_per_node 2 tests/ddp_runner.py RUNS.json`` is ``torchrun ... fairseq-train
ARGS`` for each ``ARGS`` of the JSON list, without paying fairseq's import (about 8 s a process
on 2 cores) once per model: each run goes through ``fairseq_cli.train.cli_main``, the
fairseq-train console script itself, with ``sys.argv`` set to its arguments; the process group
that the first run initializes is reused by the next ones (fairseq warns and carries on).
"""
import json
import sys


def main(path):
    with open(path, encoding="utf-8") as handle:
        runs = json.load(handle)
    from fairseq_cli import train

    for argv in runs:
        sys.argv = ["fairseq-train"] + [str(a) for a in argv]
        train.cli_main()


if __name__ == "__main__":
    main(sys.argv[1])
