"""Decode the test set with the real fairseq-generate and read its own timer.

fairseq-generate reports ``Translated N sentences (T tokens) in Xs (S sentences/s, ...)``
measured around generation only (model loading excluded); we read S.  Every run also checks
that all test ids came back.  All runs of a stage share one process (``generate_many``): the
imports are paid once, and no run is timed cold.
"""
from nat import fairseq_cli


def timed_generate(requests, work_dir, pool=None):
    """``[(GenerateResult, sentences per second)]`` of ``fairseq_cli.generate_many(requests)``:
    every run in one process (a ``pool`` worker if given), each timed by fairseq's own timer
    (generation only: model loading and the process's start are not in it)."""
    results = fairseq_cli.generate_many(requests, work_dir, pool=pool)
    return [(result, fairseq_cli.parse_speed(
        result.stdout, f"fairseq-generate output (log: {request['log_path']})")
        ["sentences_per_second"]) for request, result in zip(requests, results)]
