"""Mean and variance of the plug-in entropy of n draws from a known distribution p, in bits.

The plug-in estimate H(c / n) of a multinomial sample c is biased low (about (k-1)/(2n ln 2)
bits, far more for n of a few), so a measured value is judged against its own expectation
under p, not against H(p).  Exact by enumerating every count vector when there are at most
``MAX_OUTCOMES`` of them; otherwise the first-order (delta-method) values, whose error is
O(1/n^2) at the n where enumeration stops.
"""
import functools
import math

import numpy as np

MAX_OUTCOMES = 5000


@functools.lru_cache(maxsize=256)
def compositions(n, k):
    """Every vector of ``k`` non-negative ints summing to ``n``, as rows of an array."""
    if k == 1:
        return np.array([[n]], dtype=np.int64)
    rows = [np.column_stack([np.full(len(rest), first), rest])
            for first in range(n + 1) for rest in [compositions(n - first, k - 1)]]
    return np.concatenate(rows)


def entropy_bits(counts):
    """Plug-in entropy (bits) of each row of counts."""
    counts = np.atleast_2d(np.asarray(counts, dtype=float))
    p = counts / counts.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(p), 0.0)
    return terms.sum(axis=1)


def plugin_moments(probs, n):
    """``(E H^, Var H^)`` of the plug-in entropy of ``n`` >= 1 draws from ``probs``."""
    p = np.asarray([q for q in probs if q > 0], dtype=float)
    k = len(p)
    if k == 1:
        return 0.0, 0.0
    if math.comb(n + k - 1, k - 1) <= MAX_OUTCOMES:
        c = compositions(n, k)
        log_factorial = np.array([math.lgamma(i + 1) for i in range(n + 1)])
        log_pmf = log_factorial[n] - log_factorial[c].sum(axis=1) + c @ np.log(p)
        pmf, h = np.exp(log_pmf), entropy_bits(c)
        mean = float(pmf @ h)
        return mean, max(float(pmf @ (h * h)) - mean * mean, 0.0)
    logs = np.log2(p)
    h = float(-(p @ logs))
    return h - (k - 1) / (2 * n * math.log(2)), max(float(p @ (logs * logs)) - h * h, 0.0) / n
