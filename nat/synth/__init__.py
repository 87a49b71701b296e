"""Synthetic one-source, three-target-language corpus with exact ground truth (``nat-synth``).

``generate_corpus(out_dir, mode=..., mix=..., seed=..., sizes=..., preset=..., **settings)``
writes the corpus and returns the ``truth.json`` object.  Modules, one concept each:
``settings`` (presets), ``words`` (disjoint pseudo-vocabularies), ``grammar`` (source PCFG,
sampler and parser), ``languages`` (target transductions and synonyms), ``lexicon`` (the fixed
world and ``lexicon.json``), ``pairing`` (random / deterministic / all), ``truth`` (exact
entropies), ``writer`` (streaming atomic files), ``corpus`` (the driver), ``reload`` (the world
of a written corpus), ``recognise`` (is an output line a valid translation of its source).
"""
from nat.synth.corpus import DEFAULT_MIX, SPLITS, check_mix, check_sizes, generate_corpus
from nat.synth.lexicon import World, lexicon_dict
from nat.synth.settings import LANGUAGES, MODES, PRESETS, SynthSettings, make_settings

__all__ = ["generate_corpus", "check_mix", "check_sizes", "World", "lexicon_dict", "LANGUAGES",
           "MODES", "PRESETS", "SynthSettings", "make_settings", "DEFAULT_MIX", "SPLITS"]
