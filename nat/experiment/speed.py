"""Decode the test set with the real fairseq-generate and read its own timer.

fairseq-generate reports ``Translated N sentences (T tokens) in Xs (S sentences/s, ...)``
measured around generation only (model loading excluded); we read S.  Every run also checks
that all test ids came back (``nat.fairseq_cli.generate``).
"""
import re

from nat import fairseq_cli
from nat.errors import UserError

_SPEED = re.compile(r"Translated ([\d,]+) sentences \(([\d,]+) tokens\) in ([\d.]+)s "
                    r"\(([\d.]+) sentences/s")


def timed_generate(data_bin, checkpoint, expected, task, beam, batch_size, extra, log_path):
    """Returns (GenerateResult, sentences per second)."""
    result = fairseq_cli.generate(data_bin, checkpoint, expected=expected, task=task, beam=beam,
                                  batch_size=batch_size, extra=extra, log_path=log_path)
    match = _SPEED.search(result.stdout)
    if not match:
        raise UserError(f"no speed line in fairseq-generate output (log: {log_path})")
    return result, float(match.group(4))
