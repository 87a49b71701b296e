"""distinct-n: distinct n-grams / all n-grams of a file, a sampling-free measure of its variety.

n-grams are runs of n whitespace tokens inside one line (none cross a line end); a file whose
lines are all copies of one line scores 1/lines.  The ratio falls as a file grows, so it compares
files of one size, e.g. the raw and distilled targets of the same sources.
"""
import numpy as np

from analysis.tokens import encode

ORDERS = (1, 2, 3, 4)


def ngram_counts(encoded, n):
    """``(distinct, total)`` n-grams of an ``Encoded`` corpus (exact: rows compared whole)."""
    lengths = encoded.lengths
    ends = np.repeat(encoded.offsets + lengths, lengths)   # end of each token's line
    starts = np.flatnonzero(np.arange(len(encoded.ids)) + n <= ends)
    if not len(starts):
        return 0, 0
    grams = np.stack([encoded.ids[starts + k] for k in range(n)], axis=1)
    return len(np.unique(grams, axis=0)), len(starts)


def distinct_n(lines, orders=ORDERS):
    """The ``distinct`` block of metrics.json: ``distinct_<n>`` per order (None without
    n-grams) with the counts behind it."""
    encoded = encode(lines)
    out, counts = {}, {}
    for n in orders:
        distinct, total = ngram_counts(encoded, n)
        out[f"distinct_{n}"] = distinct / total if total else None
        counts[str(n)] = {"distinct": distinct, "total": total}
    out["ngrams"] = counts
    out["settings"] = {"tokens": "whitespace", "ngrams": "within a line",
                       "ratio": "distinct n-grams / n-gram tokens over the file"}
    return out
