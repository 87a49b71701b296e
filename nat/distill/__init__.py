"""Sequence-level distillation data pipeline (``nat-distill``).

Stages talk through files: teacher decoding writes an n-best store (atomic chunk files grouped into
shards), a merge checks ids, counts and source hashes, a selection method turns the store into a
corpus aligned 1:1 (or K:1) with the source by id, which is binarized with the teacher's
dictionaries; ``manifest.json`` records how.  Importing this package does not import fairseq.

Python API::

    from nat.distill import DistillConfig, run
    manifest = run(DistillConfig(paths=["t.pt"], data_bin="bin", source="train.src",
                                 target="train.tgt", out="distilled"))
    # an ensemble: paths=["a.pt", "b.pt"]; a black-box teacher: a command, or a function
    manifest = run(DistillConfig(backend="command", teacher_cmd="./translate.sh",
                                 source="mono.src", out="imitated", binarize=False))
    manifest = run(DistillConfig(backend="command", source="mono.src", out="imitated",
                                 binarize=False), teacher_fn=lambda lines: my_api(lines))
"""
from nat.distill.config import METHODS, DistillConfig


def run(config=None, teacher_fn=None, **kwargs):
    """Run the pipeline for ``config`` (or ``DistillConfig(**kwargs)``); returns the manifest.
    ``teacher_fn``: a black-box teacher ``list[str] -> list[str]`` (same count, same order)
    for ``backend="command"``."""
    from nat.distill.pipeline import run as _run

    return _run(config if config is not None else DistillConfig(**kwargs), teacher_fn)


__all__ = ["DistillConfig", "METHODS", "run"]
