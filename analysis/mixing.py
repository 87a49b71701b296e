"""Language mixing of target sentences from a token -> language map (disjoint vocabularies).

Share vector s(y) = (n_1, ..., n_K)/n_known over the K languages, where n_known counts tokens the
lexicon knows; tokens it lacks go to an explicit "unknown" bucket and are reported, not guessed.
Mixed-sentence rate = P[max_k s_k < 1]; language entropy = E_y[H(s(y))]; the language choice of y
is argmax_k s_k (with "tie", "unknown" = no known token, and "empty" buckets).
"""
from collections import Counter

import numpy as np

from analysis import entropy as ent
from analysis.tokens import Encoded, encode

UNKNOWN, TIE, EMPTY = "unknown", "tie", "empty"


def language_counts(lines, token_language, languages):
    """(n_sentences x K+1) token counts per language; the last column is the unknown bucket.

    ``lines`` is a list of strings or an already encoded corpus (analysis.tokens.Encoded).
    """
    enc = lines if isinstance(lines, Encoded) else encode(lines)
    column = {lang: k for k, lang in enumerate(languages)}
    k1 = len(languages) + 1
    col = np.array([column.get(token_language.get(tok), k1 - 1) for tok in enc.vocab],
                   dtype=np.int64)
    sent = np.repeat(np.arange(len(enc), dtype=np.int64), enc.lengths)
    flat = np.bincount(sent * k1 + col[enc.ids], minlength=len(enc) * k1)
    return flat.reshape(len(enc), k1)


def choices(counts, languages):
    """Language choice per sentence: argmax of the known counts, or tie / unknown / empty."""
    known = counts[:, :-1]
    winners = (known == known.max(axis=1, keepdims=True)) & (known > 0)
    labels = np.array(list(languages) + [TIE, UNKNOWN, EMPTY], dtype=object)
    pick = np.argmax(winners, axis=1)
    pick = np.where(winners.sum(axis=1) > 1, len(languages), pick)
    pick = np.where(known.sum(axis=1) == 0, len(languages) + 1, pick)
    pick = np.where(counts.sum(axis=1) == 0, len(languages) + 2, pick)
    return labels[pick].tolist()


def mixing(lines, token_language, languages, gold_languages=None):
    """Mixing measures of a list of sentences, with shares for the simplex plot."""
    counts = language_counts(lines, token_language, languages)
    known = counts[:, :-1]
    n_known = known.sum(axis=1)
    has = n_known > 0
    shares = np.divide(known, n_known[:, None], out=np.zeros(known.shape, dtype=float),
                       where=n_known[:, None] > 0)
    mixed = (known > 0).sum(axis=1) > 1
    h = ent.row_entropies(known[has], "bits")
    picked = choices(counts, languages)
    buckets = list(languages) + [TIE, UNKNOWN, EMPTY]
    tally = Counter(picked)
    histogram = {b: tally.get(b, 0) for b in buckets}
    result = {
        "mixed_sentence_rate": float(mixed[has].mean()) if has.any() else float("nan"),
        "language_entropy_bits": float(h.mean()) if len(h) else float("nan"),
        "language_choice_histogram": histogram,
        "unknown_token_rate": float(counts[:, -1].sum() / max(counts.sum(), 1)),
        "n_tokens": int(counts.sum()), "identifying_tokens": int(known.sum()),
        "n_sentences": len(counts), "n_sentences_scored": int(has.sum()),
        "settings": {"unit": "bits", "shares": "over tokens the lexicon knows (identifying)",
                     "unknown": "tokens absent from the lexicon, counted apart",
                     "average": "over sentences with >=1 known token"},
    }
    if gold_languages is not None:
        result["gold_language_histogram"] = {b: list(gold_languages).count(b) for b in languages}
        agree = [p == g for p, g in zip(picked, gold_languages)]
        result["choice_matches_gold"] = float(np.mean(agree)) if agree else float("nan")
    return result, shares[has]
