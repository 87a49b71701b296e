"""The generator's fixed part (source grammar + three languages) and its ``lexicon.json``.

Everything here depends only on the grammar settings (``grammar_seed`` included), never on the
corpus seed or mode, so corpora drawn with different seeds or modes share one lexicon.
"""
import random

from nat.synth.grammar import SourceGrammar
from nat.synth.languages import TargetLanguage
from nat.synth.settings import LANGUAGES
from nat.synth.words import WordMaker


class World:
    """``grammar`` (the source side) and ``languages`` (``TargetLanguage`` per code, in order)."""

    def __init__(self, settings):
        self.settings = settings
        rng = random.Random(f"nat-synth-grammar:{settings.grammar_seed}")
        maker = WordMaker(rng)
        self.grammar = SourceGrammar(settings, maker)
        self.languages = [TargetLanguage(code, self.grammar, settings, rng, maker)
                          for code in LANGUAGES]
        self.codes = list(LANGUAGES)


def lexicon_dict(world, pairing=None):
    """The ``lexicon.json`` object.

    ``realisations[source word][code]`` maps each realisation (target tokens joined by spaces;
    ``""`` for a word the language leaves unrealised) to its probability.  Case and agreement
    tokens are not realisations of a word: they are listed under ``function_tokens``.
    """
    grammar = world.grammar
    token_language, realisations = {}, {}
    for wid, word in enumerate(grammar.words):
        per_lang = realisations[word] = {}
        for lang in world.languages:
            per_lang[lang.code] = {" ".join(opt): p
                                   for opt, p in zip(lang.options[wid], lang.probs[wid])}
            for opt in lang.options[wid]:
                for tok in opt:
                    token_language[tok] = lang.code
    for lang in world.languages:
        for tok in lang.function_tokens:
            token_language[tok] = lang.code
    out = {"languages": world.codes,
           "token_language": token_language,
           "realisations": realisations,
           "function_tokens": {lang.code: {"case": {r: t for r, (_, t) in lang.case.items()},
                                           "agreement": {n: t for n, (_, t) in lang.agree.items()},
                                           "plural_particle": lang.plural_particle}
                               for lang in world.languages},
           "source_class": dict(zip(grammar.words, grammar.kind)),
           "word_order": {lang.code: dict(lang.spec) for lang in world.languages},
           "settings": world.settings.as_dict()}
    if pairing is not None and pairing.mode == "deterministic":
        out["deterministic"] = {
            "feature": "lemma of the subject noun (the first noun of the sentence)",
            "language_of_noun": {grammar.words[w]: world.codes[pairing.lang_of_lemma[lemma]]
                                 for lemma in range(len(grammar.noun_sg))
                                 for w in (grammar.noun_sg[lemma], grammar.noun_pl[lemma])},
            "expected_mix": dict(zip(world.codes, pairing.marginal))}
    return out
