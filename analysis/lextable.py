"""Lexical translation counts c(x, y): alignment links tallied per (source type, target type).

p(y|x) = c(x, y) / c(x) is the distribution whose entropy defines complexity C(d)
(Zhou et al. 2020).
Counted on the original tokens (eflomal lowercases only inside its own model).
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class LexTable:
    src_vocab: list
    tgt_vocab: list
    x: np.ndarray       # source id of each observed pair, sorted by x then y
    y: np.ndarray       # target id
    count: np.ndarray   # number of links (float: IBM1 tables hold expected counts)

    def groups(self):
        """(source ids, start offsets, group sizes) of the pairs, one group per source type."""
        xs, starts, sizes = np.unique(self.x, return_index=True, return_counts=True)
        return xs, starts, sizes

    def as_dict(self):
        """{source token: {target token: count}} (for small tables, tests and faithfulness)."""
        out = {}
        for x, y, c in zip(self.x.tolist(), self.y.tolist(), self.count.tolist()):
            out.setdefault(self.src_vocab[x], {})[self.tgt_vocab[y]] = c
        return out


def from_pairs(src_vocab, tgt_vocab, x, y, weight=None):
    """Sum weights (default 1 per pair) over equal (x, y) pairs."""
    n_y = max(len(tgt_vocab), 1)
    keys = np.asarray(x, dtype=np.int64) * n_y + np.asarray(y, dtype=np.int64)
    uniq, inverse = np.unique(keys, return_inverse=True)
    w = np.ones(len(keys)) if weight is None else np.asarray(weight, dtype=float)
    count = np.bincount(inverse.ravel(), weights=w, minlength=len(uniq))
    return LexTable(src_vocab, tgt_vocab, uniq // n_y, uniq % n_y, count)


def count_links(src, tgt, links):
    """Table of link counts from encoded corpora (tokens.Encoded) and their links.Links."""
    x = src.ids[src.offsets[links.sent] + links.src]
    y = tgt.ids[tgt.offsets[links.sent] + links.tgt]
    return from_pairs(src.vocab, tgt.vocab, x, y)
