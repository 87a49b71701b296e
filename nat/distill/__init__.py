"""Sequence-level distillation data pipeline (``nat-distill``).

Stages talk through files: teacher decoding writes an n-best store (atomic chunk files grouped into
shards), a merge checks ids, counts and source hashes, a selection method turns the store into a
corpus aligned 1:1 (or K:1) with the source by id, which is binarized with the teacher's
dictionaries; ``manifest.json`` records how.  Importing this package does not import fairseq.

Python API::

    from nat.distill import DistillConfig, run
    manifest = run(DistillConfig(paths=["t.pt"], data_bin="bin", source="train.src",
                                 target="train.tgt", out="distilled"))
"""
from nat.distill.config import METHODS, DistillConfig


def run(config=None, **kwargs):
    """Run the pipeline for ``config`` (or ``DistillConfig(**kwargs)``); returns the manifest."""
    from nat.distill.pipeline import run as _run

    return _run(config if config is not None else DistillConfig(**kwargs))


__all__ = ["DistillConfig", "METHODS", "run"]
