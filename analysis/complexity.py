"""Corpus complexity C(d) and faithfulness F(d) (Zhou, Gu & Neubig 2020) from lexical tables.

C(d) = mean over source types x of H(y|x). Variants: unweighted (Zhou), frequency-weighted
(sum_x p(x) H(y|x), p(x) proportional to the links of x), a minimum link count per type, and the
Miller-Madow correction against the plug-in estimator's downward bias on rare types.
"""
import math

import numpy as np

from analysis import entropy as ent
from nat.errors import UserError

WEIGHTINGS = ("types", "frequency")


def per_source_entropy(table, unit="bits", correction="none"):
    """(source ids, link totals N_x, H(y|x)) for every source type with at least one link."""
    xs, starts, sizes = table.groups()
    totals = np.add.reduceat(table.count, starts) if len(starts) else np.zeros(0)
    p = table.count / np.repeat(totals, sizes)
    terms = np.where(p > 0, -p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    h = np.add.reduceat(terms, starts) if len(starts) else np.zeros(0)
    if correction == "miller-madow":
        observed = np.add.reduceat((table.count > 0).astype(float), starts) if len(starts) else h
        h = h + (observed - 1) / (2.0 * totals)
    elif correction != "none":
        choices = ", ".join(ent.CORRECTIONS)
        raise UserError(f"unknown correction {correction!r} (choose from {choices})")
    return xs, totals, h / ent.check_unit(unit)


def complexity(table, unit="bits", weighting="types", correction="none", min_count=1):
    """C(d) with its settings: {'value', 'n_source_types', 'n_links', 'settings'}."""
    if weighting not in WEIGHTINGS:
        raise UserError(f"unknown weighting {weighting!r} (choose from {', '.join(WEIGHTINGS)})")
    _, totals, h = per_source_entropy(table, unit, correction)
    keep = totals >= min_count
    totals, h = totals[keep], h[keep]
    if len(h) == 0:
        value = math.nan
    elif weighting == "types":
        value = float(h.mean())
    else:
        value = float((totals * h).sum() / totals.sum())
    return {"value": value, "n_source_types": int(keep.sum()), "n_links": float(totals.sum()),
            "settings": {"unit": unit, "weighting": weighting, "correction": correction,
                         "min_count": min_count}}


def faithfulness(real, distilled, unit="bits", alpha=0.5):
    """F(d) = mean over source types x of the real table of KL(p_real(.|x) || p_d(.|x)).

    Smoothing policy (KL is infinite wherever p_d = 0 < p_real): additive (Lidstone) alpha over
    Y_x, the union of targets seen with x in either table:
    p_d(y|x) = (c_d(x,y) + alpha) / (N_d(x) + alpha |Y_x|).
    A source type absent from d gets the uniform distribution over Y_x.
    """
    if alpha <= 0:
        raise UserError("faithfulness smoothing alpha must be > 0")
    r, d = real.as_dict(), distilled.as_dict()
    kls = []
    for x, row in r.items():
        drow = d.get(x, {})
        support = sorted(set(row) | set(drow))
        n_r, n_d = sum(row.values()), sum(drow.values())
        p = np.array([row.get(y, 0.0) / n_r for y in support])
        q = np.array([(drow.get(y, 0.0) + alpha) / (n_d + alpha * len(support)) for y in support])
        kls.append(ent.kl_divergence(p, q, unit))
    return {"value": float(np.mean(kls)) if kls else math.nan, "n_source_types": len(kls),
            "settings": {"unit": unit, "smoothing": "lidstone-union-support", "alpha": alpha,
                         "average": "unweighted over source types of the reference corpus"}}
