"""Total correlation estimate TC(Y|X) ~ NLL_NAT(y|x, gold length) - NLL_AT(y|x) (Huang et al. 2022).

A factorised (NAT) model cannot represent the dependence between target tokens; its held-out NLL
exceeds the AR model's by about TC when both fit well. Scores come from any scorer as one
per-sentence NLL per line (e.g. fairseq-generate --score-reference, converted); this module only
checks and averages them, with a standard error.
"""
import math

import numpy as np

from analysis import entropy as ent
from nat.errors import UserError


def parse_scores(lines, name):
    """Floats, one per line; one-line error naming the first bad line."""
    out = []
    for k, line in enumerate(lines, start=1):
        try:
            value = float(line)
        except ValueError:
            raise UserError(f"{name}:{k}: expected one number (a sentence NLL), "
                            f"got {line[:30]!r}") from None
        if not math.isfinite(value) or value < 0:
            raise UserError(f"{name}:{k}: an NLL must be finite and >= 0, got {line[:30]!r}")
        out.append(value)
    return out


def nll_gap(nat_nll, at_nll, unit="bits"):
    """Mean per-sentence NLL_NAT - NLL_AT in bits, with its standard error."""
    if len(nat_nll) != len(at_nll):
        raise UserError(f"NLL files differ in length: NAT {len(nat_nll)}, AT {len(at_nll)}")
    if not nat_nll:
        raise UserError("NLL files are empty")
    scale = ent.check_unit(unit) / ent.UNITS["bits"]
    diff = (np.asarray(nat_nll, dtype=float) - np.asarray(at_nll, dtype=float)) * scale
    se = float(diff.std(ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else math.nan
    return {"value": float(diff.mean()), "standard_error": se, "n_sentences": len(diff),
            "settings": {"unit": "bits per sentence", "input_unit": unit,
                         "estimate": "mean NLL_NAT(gold length) - NLL_AT on the same pairs"}}
