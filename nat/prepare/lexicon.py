"""A ``lexicon.json`` for real text: word -> language from mode-labelled training targets.

Each target line carries a label (e.g. its language, from ``train.lang``).  A word seen under
one label only is *identifying* (it votes for that label in the language-mixing measures); a
word seen under several labels (numbers, names, punctuation, shared loans) is *neutral* and is
left out of ``token_language``, so ``analysis.mixing`` counts it in its "unknown" bucket and the
shares are computed over identifying tokens only, as on the synthetic corpus (whose vocabularies
are disjoint by construction).  Words are whitespace tokens of detokenized text ("level": "word").
"""
from collections import Counter, defaultdict

from nat.errors import UserError

RULE = "identifying = seen under exactly one label (and >= min_count times); else neutral"


def derive(targets, labels, min_count=1, level="word"):
    """The lexicon dict (``languages``, ``token_language``, ``stats``) from parallel lists."""
    if len(targets) != len(labels):
        raise UserError(f"line counts differ: {len(targets)} targets, {len(labels)} labels")
    if min_count < 1:
        raise UserError("--min-count must be >= 1")
    counts = Counter()
    langs_of = defaultdict(set)
    sentences = Counter()
    for line, label in zip(targets, labels):
        label = label.strip()
        if not label or len(label.split()) != 1:
            raise UserError(f"label {label!r}: one label without spaces per line")
        sentences[label] += 1
        for word in line.split():
            counts[word] += 1
            langs_of[word].add(label)
    languages = sorted(sentences)
    if not counts:
        raise UserError("no words in the labelled targets")
    token_language = {}
    stats = {"types": len(counts), "tokens": sum(counts.values()), "identifying_types": 0,
             "identifying_tokens": 0, "neutral_types": 0, "neutral_tokens": 0,
             "rare_types": 0, "rare_tokens": 0}
    per_lang = {lang: {"sentences": sentences[lang], "identifying_types": 0,
                       "identifying_tokens": 0} for lang in languages}
    for word, n in counts.items():
        if len(langs_of[word]) > 1:
            kind = "neutral"
        elif n < min_count:
            kind = "rare"
        else:
            kind = "identifying"
            lang = next(iter(langs_of[word]))
            token_language[word] = lang
            per_lang[lang]["identifying_types"] += 1
            per_lang[lang]["identifying_tokens"] += n
        stats[f"{kind}_types"] += 1
        stats[f"{kind}_tokens"] += n
    stats["identifying_token_rate"] = stats["identifying_tokens"] / stats["tokens"]
    stats["per_language"] = per_lang
    neutral = sorted((w for w in counts if len(langs_of[w]) > 1), key=lambda w: (-counts[w], w))
    return {"languages": languages, "token_language": token_language, "level": level,
            "source": "labels", "settings": {"rule": RULE, "min_count": min_count,
                                             "tokens": "whitespace"},
            "stats": stats, "most_frequent_neutral": neutral[:25]}


def summary(lexicon):
    s = lexicon["stats"]
    return (f"{len(lexicon['languages'])} labels, {s['identifying_types']} identifying word "
            f"types ({s['identifying_tokens']} of {s['tokens']} tokens, "
            f"{100 * s['identifying_token_rate']:.1f}%), {s['neutral_types']} neutral types")
