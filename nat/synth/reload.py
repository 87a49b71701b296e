"""``load_world``: the generator's fixed part rebuilt from a written ``nat-synth`` directory
(``lexicon_world``: from its ``lexicon.json`` alone, which records the same settings).

The grammar and the three languages depend only on the settings that ``truth.json`` records
(``grammar_seed`` included), so they are rebuilt from them; the rebuilt lexicon is compared
with the directory's ``lexicon.json``, so a corpus written by a generator that draws its words
differently is refused instead of judged against the wrong vocabulary.
"""
import dataclasses
import json
import os

from nat.errors import UserError
from nat.synth.lexicon import World, lexicon_dict
from nat.synth.settings import SynthSettings

#: parts of lexicon.json that fix which outputs are valid
CHECKED = ("languages", "realisations", "function_tokens", "word_order")


def _json(directory, name):
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        raise UserError(f"{directory}: no {name} (not a nat-synth output directory)")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except ValueError as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None


def load_world(directory):
    """The ``World`` that wrote ``directory``; one-line ``UserError`` if it cannot be rebuilt."""
    settings = _json(directory, "truth.json").get("settings")
    return _rebuilt(settings, os.path.join(directory, "truth.json"),
                    _json(directory, "lexicon.json"), os.path.join(directory, "lexicon.json"))


def lexicon_world(lexicon, path):
    """The ``World`` of a parsed nat-synth ``lexicon.json`` (read from ``path``), rebuilt from
    the settings it records and checked against it like ``load_world``."""
    return _rebuilt(lexicon.get("settings"), path, lexicon, path)


def _rebuilt(settings, settings_path, written, lexicon_path):
    fields = {f.name for f in dataclasses.fields(SynthSettings)}
    if not isinstance(settings, dict) or set(settings) != fields:
        raise UserError(f"{settings_path}: no complete 'settings' (not written by this "
                        f"nat-synth)")
    world = World(SynthSettings(**settings).check())
    rebuilt = lexicon_dict(world)
    if any(written.get(key) != rebuilt[key] for key in CHECKED):
        raise UserError(f"{lexicon_path}: differs from the lexicon its settings give "
                        f"(written by another nat-synth version?)")
    return world
