"""Bring your own corpus (``nat-prepare``): raw parallel text -> sentencepiece -> fairseq data-bin.

Python API::

    from nat.prepare import prepare, load_prepared
    manifest = prepare(raw="corpus", out="prepared", vocab_size=8000)   # idempotent
    corpus = load_prepared("prepared")
    corpus.data_bin, corpus.spm_models["tgt"], corpus.text("train", "tgt"),
    corpus.pieces("train", "src"), corpus.labels("train"), corpus.references("test"),
    corpus.lexicon

One concept per module: ``config`` (settings and defaults), ``raw`` (which files, read and
checked), ``clean`` (per-line cleaning and normalization), ``filters`` (empty, duplicate and
over-long pairs), ``subwords`` (sentencepiece training, encoding, decoding, coverage),
``lexicon`` (lexicon.json from mode-labelled targets), ``stages`` (the steps of a
preparation), ``binarize`` (fairseq-preprocess, every sentence
checked), ``layout`` (the prepared directory, ``load_prepared``), ``pipeline`` (``prepare``:
reuse, build in a temporary directory, install).  Layout and policies: docs/prepare.md.
Importing this package does not import fairseq or sentencepiece.
"""
from nat.prepare.config import PrepareConfig
from nat.prepare.layout import PreparedCorpus, is_prepared, load_prepared


def prepare(config=None, **kwargs):
    """Prepare a raw corpus (``PrepareConfig`` or its fields as keywords); returns the manifest."""
    from nat.prepare.pipeline import prepare as _prepare

    return _prepare(config, **kwargs)


__all__ = ["PrepareConfig", "PreparedCorpus", "is_prepared", "load_prepared", "prepare"]
