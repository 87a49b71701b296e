"""IBM Model 1 (with a NULL source word) trained by EM in numpy over co-occurring pairs only.

Gives an explicit translation table t(y|x), so complexity can also be read off the model itself,
and Viterbi links (argmax_i t(y_j|x_i) per target word; NULL wins -> no link).
"""
import numpy as np

from analysis import lextable
from analysis.links import Links
from analysis.tokens import Encoded


def _cooccurrences(src, tgt):
    """Flat arrays over every (target token, source position incl. NULL) pair of every sentence."""
    m = tgt.lengths
    n1 = src.lengths + 1                                   # + NULL
    per_sentence = m * n1
    sent = np.repeat(np.arange(len(m)), per_sentence)
    start = np.repeat(np.cumsum(per_sentence) - per_sentence, per_sentence)
    k = np.arange(per_sentence.sum()) - start
    j = k // n1[sent]
    i = k % n1[sent] - 1                                    # -1 = NULL
    y = tgt.ids[tgt.offsets[sent] + j]
    x = np.where(i >= 0, src.ids[src.offsets[sent] + np.maximum(i, 0)] + 1, 0)   # 0 = NULL
    target_slot = tgt.offsets[sent] + j                     # one slot per target token
    return sent, i, j, x, y, target_slot


def train(src: Encoded, tgt: Encoded, iterations=5, on_iteration=None):
    """EM from uniform t; returns (LexTable of t(y|x) without NULL, Viterbi Links).
    ``on_iteration()`` is called after each EM iteration (progress bars)."""
    sent, i, j, x, y, slot = _cooccurrences(src, tgt)
    n_y = max(len(tgt.vocab), 1)
    keys, pair = np.unique(x * n_y + y, return_inverse=True)
    pair = pair.ravel()
    px = keys // n_y
    t = np.ones(len(keys))
    n_slots = len(tgt.ids)
    for _ in range(iterations):
        tv = t[pair]
        z = np.bincount(slot, weights=tv, minlength=n_slots)
        expected = np.bincount(pair, weights=tv / z[slot], minlength=len(keys))
        totals = np.bincount(px, weights=expected)
        t = expected / totals[px]
        if on_iteration is not None:
            on_iteration()
    links = _viterbi(t[pair], sent, i, j, slot, n_slots)
    real = px > 0
    table = lextable.LexTable(src.vocab, tgt.vocab, px[real] - 1, keys[real] % n_y, t[real])
    return table, links


def _viterbi(score, sent, i, j, slot, n_slots):
    """Best source position per target slot (ties: first position, NULL first)."""
    order = np.lexsort((i, -score, slot))
    first = np.ones(len(order), dtype=bool)
    first[1:] = slot[order][1:] != slot[order][:-1]
    best = order[first]
    best = best[i[best] >= 0]
    return Links(sent[best], i[best], j[best])
