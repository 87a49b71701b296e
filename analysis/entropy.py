"""Entropies of count vectors (plug-in, Miller-Madow) and KL divergence, in bits or nats.

One place for the unit and the small-sample correction so every measure states both the same way.
"""
import math

import numpy as np

from nat.errors import UserError

UNITS = {"bits": math.log(2.0), "nats": 1.0}
CORRECTIONS = ("none", "miller-madow")


def check_unit(unit):
    if unit not in UNITS:
        raise UserError(f"unknown unit {unit!r} (choose from {', '.join(UNITS)})")
    return UNITS[unit]


def plugin_entropy(counts, unit="bits"):
    """Maximum-likelihood entropy of the distribution ``counts / sum(counts)``; 0 for no counts."""
    c = np.asarray(counts, dtype=float)
    c = c[c > 0]
    n = c.sum()
    if n == 0:
        return 0.0
    p = c / n
    return float(-(p * np.log(p)).sum() / check_unit(unit))


def miller_madow(counts, unit="bits"):
    """Plug-in entropy + (K-1)/(2N) nats, K = observed categories: removes the O(1/N) bias."""
    c = np.asarray(counts, dtype=float)
    k, n = int((c > 0).sum()), c.sum()
    if n == 0:
        return 0.0
    return plugin_entropy(c, unit) + (k - 1) / (2.0 * n) / check_unit(unit)


def entropy(counts, unit="bits", correction="none"):
    if correction not in CORRECTIONS:
        raise UserError(f"unknown correction {correction!r} (choose from {', '.join(CORRECTIONS)})")
    return (miller_madow if correction == "miller-madow" else plugin_entropy)(counts, unit)


def row_entropies(matrix, unit="bits"):
    """Entropy of each row of a non-negative matrix normalised to sum 1 (all-zero rows give 0)."""
    m = np.asarray(matrix, dtype=float)
    totals = m.sum(axis=1, keepdims=True)
    p = np.divide(m, totals, out=np.zeros_like(m), where=totals > 0)
    logs = np.log(p, out=np.zeros_like(p), where=p > 0)
    return -(p * logs).sum(axis=1) / check_unit(unit)


def kl_divergence(p, q, unit="bits"):
    """KL(p || q) for aligned probability vectors; infinite where q = 0 < p."""
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    support = p > 0
    if np.any(q[support] <= 0):
        return math.inf
    return float((p[support] * np.log(p[support] / q[support])).sum() / check_unit(unit))
