"""Several fairseq-generate runs in one process: ``python -m nat.fairseq_batch SPEC.json``.

The experiment decodes every system twice (batch 1 and a large batch); as separate processes each
run pays fairseq's and torch's import (seconds for a tiny model, most of the decode stage).  Here
the real ``fairseq_cli.generate.main`` runs once per entry of SPEC (``{"runs": [{"args": [...],
"log": PATH, "command": [...]}, ...]}``), each with its own arguments, task, model and dataset
(nothing is shared between runs but the imports), and writes to LOG the command line and what
fairseq-generate would print.
``nat.fairseq_cli.generate_many`` is the caller.
"""
import contextlib
import io
import json
import logging
import os
import sys

_FORMAT = "%(asctime)s | %(levelname)s | %(name)s | %(message)s"


def _run(args):
    """One fairseq-generate run; returns its stdout and log lines (as the CLI prints them)."""
    from fairseq import options
    from fairseq_cli import generate

    parser = options.get_generation_parser()
    parsed = options.parse_args_and_arch(parser, [str(a) for a in args])
    buffer = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers)
    for handler in saved:             # fairseq's log lines ("Translated N sentences ...") go
        root.removeHandler(handler)   # to this run's output, as in the CLI
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(buffer):
            generate.main(parsed)
    finally:
        root.removeHandler(handler)
        for old in saved:
            root.addHandler(old)
    return buffer.getvalue()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m nat.fairseq_batch SPEC.json", file=sys.stderr)
        return 2
    from nat import compat

    with compat.fairseq_logging_kept():
        import fairseq  # noqa: F401  (loaded before the compat layer patches it, as --user-dir)
    compat.install()
    with open(argv[0], encoding="utf-8") as handle:
        spec = json.load(handle)
    for run in spec["runs"]:  # each log as fairseq_cli.run_command writes one
        text = _run(run["args"])
        os.makedirs(os.path.dirname(run["log"]), exist_ok=True)
        with open(run["log"], "w", encoding="utf-8") as handle:
            handle.write(" ".join(run["command"]) + "\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
