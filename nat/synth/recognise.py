"""Exact validity of an output line: is it *a* translation the generator could have written?

Given the source parse, a language's realisation is fixed except for the synonym of each word
(drawn independently per occurrence).  The transduction has no optional element of its own:
the object, adverb, adjectives and prepositional phrases are the source's, xc drops every
``the``/``a``, and case, agreement and plural tokens follow from the parse.  A word's synonyms
have equal token length, so the valid outputs of a source in one language are exactly the
token strings that, cut at the fixed widths of that language's order, hold one of the word's
realisations in every slot.  Matching slot by slot decides membership without enumerating the
exponentially many synonym combinations.  Each slot maps its realisations to their synonym
index, so a valid output also says which synonym it used for every word (``choices``).
"""


class Realisations:
    """The valid outputs of one source: per language code, its slots ``(width, allowed)``
    (``allowed``: realisation -> synonym index) and the source word id of each slot (None for
    a function token)."""

    __slots__ = ("slots", "words", "lengths")

    def __init__(self, slots, words):
        self.slots, self.words = slots, words
        self.lengths = {code: sum(w for w, _ in s) for code, s in slots.items()}

    def languages(self, output_line):
        """Codes of the languages in which ``output_line`` is a realisation (at most one: the
        vocabularies are disjoint)."""
        tokens = output_line.split()
        return frozenset(code for code, slots in self.slots.items()
                         if self.lengths[code] == len(tokens) and _fits(slots, tokens))

    def choices(self, output_line):
        """``(code, [(word id, synonym index), ...])`` for a valid ``output_line``, one pair
        per realised source word in target order; None when it is no realisation."""
        tokens = output_line.split()
        for code in self.languages(output_line):
            out, start = [], 0
            for (width, allowed), word in zip(self.slots[code], self.words[code]):
                if word is not None:
                    out.append((word, allowed[tuple(tokens[start:start + width])]))
                start += width
            return code, out
        return None


def _fits(slots, tokens):
    start = 0
    for width, allowed in slots:
        if tuple(tokens[start:start + width]) not in allowed:
            return False
        start += width
    return True


def _slot(options):
    """``(width, {realisation: synonym index})`` of a word, None when it has no tokens."""
    widths = {len(opt) for opt in options}
    if len(widths) != 1:
        raise ValueError("synonyms of unequal length: a slot-by-slot match would be wrong")
    return (widths.pop(), {opt: i for i, opt in enumerate(options)}) if options[0] else None


class Recogniser:
    """Built once per ``World``; ``recognise(source, output)`` -> ``(valid, languages)``."""

    def __init__(self, world):
        self.grammar = world.grammar
        self.languages = world.languages
        # per language: the slot of each source word id (None if unrealised) and of each
        # function token (what ``order`` writes as ``~i``)
        self._words = [[_slot(opts) for opts in lang.options] for lang in world.languages]
        self._markers = [[(1, {(tok,): 0}) for tok in lang.function_tokens]
                         for lang in world.languages]

    def realisations(self, source_line):
        """``Realisations`` of a source line; ``ValueError`` if the grammar cannot parse it."""
        s = self.grammar.parse(source_line)
        slots, slot_words = {}, {}
        for lang, words, markers in zip(self.languages, self._words, self._markers):
            out, ids = [], []
            for p in lang.order(s):
                slot = markers[~p] if p < 0 else words[s.src[p]]
                if slot is not None:
                    out.append(slot)
                    ids.append(None if p < 0 else s.src[p])
            slots[lang.code], slot_words[lang.code] = out, ids
        return Realisations(slots, slot_words)

    def recognise(self, source_line, output_line):
        """``(valid, languages)``: whether ``output_line`` is a realisation of ``source_line``
        and the languages it is one in."""
        codes = self.realisations(source_line).languages(output_line)
        return bool(codes), codes
