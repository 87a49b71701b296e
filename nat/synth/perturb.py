"""One-word swaps of source sentences: the input of the stability measure.

A content word (noun, adjective, verb, adverb) is replaced by another word of the same class
and, for a noun, the same number, drawn with the grammar's own Zipf frequencies (so the new
word is as common as training words are).  Every target language realises source words one by
one, in an order fixed by the parse shape, and agreement depends only on number; so every
correct translation of the swapped sentence differs from one of the original only in the tokens
of the swapped word (``tokens_changed``).  A translator that changes more than that changed its
output beyond the edit.
"""
import bisect
import random

CONTENT = ("noun", "adj", "verb", "adv")


def _choices(grammar, wid):
    """(candidate word ids, their cumulative frequencies) for replacing ``wid``."""
    kind = grammar.kind[wid]
    if kind == "noun":
        words = grammar.noun_pl if grammar.is_plural[wid] else grammar.noun_sg
        return words, grammar.noun_cum
    if kind == "adj":
        return grammar.adjs, grammar.adj_cum
    if kind == "verb":
        return grammar.verbs, grammar.verb_cum
    return grammar.advs, grammar.adv_cum


def swap_one_word(grammar, line, rng):
    """``(swapped line, position)``: ``line`` with one content word replaced; ``ValueError``
    if the grammar cannot parse it or has no other word of that class."""
    sentence = grammar.parse(line)
    src = list(sentence.src)
    positions = [p for p, wid in enumerate(src) if grammar.kind[wid] in CONTENT]
    position = positions[rng.randrange(len(positions))]
    words, cum = _choices(grammar, src[position])
    if len(words) < 2:
        raise ValueError(f"no other {grammar.kind[src[position]]} to swap in")
    while True:
        new = words[bisect.bisect_right(cum, rng.random())]
        if new != src[position]:
            break
    src[position] = new
    return " ".join(grammar.words[w] for w in src), position


def swap_lines(grammar, lines, seed):
    """Every line of ``lines`` with one word swapped, and the swapped positions."""
    rng = random.Random(seed)
    swapped, positions = [], []
    for line in lines:
        new, position = swap_one_word(grammar, line, rng)
        swapped.append(new)
        positions.append(position)
    return swapped, positions


def tokens_changed(grammar, languages, line, position):
    """The most target tokens a correct translation changes when the word at ``position`` of
    ``line`` is swapped: that word's realisation length, the longest over ``languages``."""
    wid = grammar.ids[line.split()[position]]
    return max(language.length[wid] for language in languages)
