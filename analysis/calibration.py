"""Calibration of per-token confidences: expected and maximum calibration error (ECE, MCE).

Tokens fall in ``bins`` equal-width confidence bins: bin b holds b/B <= c < (b+1)/B, the last
bin also c = 1.  The edges are the floats k/B, so a confidence written as ``0.3`` (the same
float as 3/10) opens the bin [0.3, 0.4) rather than closing the one below.  Per bin, accuracy
is the share of its tokens labelled correct (``analysis.token_labels``) and confidence their
mean confidence:

    ECE = sum_b n_b / N |acc_b - conf_b|        MCE = max over non-empty bins |acc_b - conf_b|

A perfectly calibrated model's ECE is 0 up to sampling noise; a constant confidence c gives
exactly |c - accuracy|.
"""
import numpy as np

from nat.errors import UserError

BINS = 10


def _checked(confidences, correct, bins):
    conf = np.asarray(confidences, dtype=float).ravel()
    hit = np.asarray(correct, dtype=bool).ravel()
    if not conf.size:
        raise UserError("calibration needs tokens: no confidences given")
    if conf.size != hit.size:
        raise UserError(f"{conf.size} confidences for {hit.size} correctness labels")
    if not np.all((conf >= 0) & (conf <= 1)):      # NaN fails too
        bad = conf[~((conf >= 0) & (conf <= 1))][0]
        raise UserError(f"confidences must lie in [0, 1], got {bad}")
    if not isinstance(bins, (int, np.integer)) or bins < 1:
        raise UserError(f"bins must be a positive integer, got {bins}")
    return conf, hit


def reliability(confidences, correct, bins=BINS):
    """The reliability table: per bin ``lower``, ``upper``, ``count``, ``mean_confidence``,
    ``accuracy`` (None for an empty bin)."""
    conf, hit = _checked(confidences, correct, bins)
    which = np.searchsorted(np.arange(1, bins) / bins, conf, side="right")
    count = np.bincount(which, minlength=bins)
    conf_sum = np.bincount(which, conf, minlength=bins)
    hit_sum = np.bincount(which, hit.astype(float), minlength=bins)
    return [{"lower": b / bins, "upper": (b + 1) / bins, "count": int(n),
             "mean_confidence": float(conf_sum[b] / n) if n else None,
             "accuracy": float(hit_sum[b] / n) if n else None}
            for b, n in enumerate(count)]


def _gaps(table):
    return [(row["count"], abs(row["accuracy"] - row["mean_confidence"]))
            for row in table if row["count"]]


def ece(confidences, correct, bins=BINS):
    """``(ECE, reliability table)`` of per-token confidences and correctness labels."""
    table = reliability(confidences, correct, bins)
    gaps = _gaps(table)
    total = sum(n for n, _ in gaps)
    return sum(n * gap for n, gap in gaps) / total, table


def mce(table):
    """Maximum calibration error of a reliability table: the worst non-empty bin's gap."""
    return max(gap for _, gap in _gaps(table))


def calibration(confidences, correct, bins=BINS, entropies=None):
    """The ``calibration`` block of metrics.json (flat per-token arrays; ``entropies`` in bits,
    optional, as many as confidences)."""
    value, table = ece(confidences, correct, bins)
    conf = np.asarray(confidences, dtype=float).ravel()
    out = {"ece": value, "mce": mce(table), "mean_confidence": float(conf.mean()),
           "token_accuracy": float(np.asarray(correct, dtype=bool).mean()),
           "n_tokens": int(conf.size), "reliability": table,
           "settings": {"bins": bins, "binning": "equal-width, [k/B, (k+1)/B), last closed",
                        "weighting": "tokens"}}
    if entropies is not None:
        ent = np.asarray(entropies, dtype=float).ravel()
        if ent.size != conf.size:
            raise UserError(f"{ent.size} entropies for {conf.size} confidences")
        if not np.all(ent >= 0):
            raise UserError("entropies must be >= 0 (bits)")
        out["mean_entropy_bits"] = float(ent.mean())
    return out


def check_counts(values, hypotheses, name, what="confidence"):
    """One list of per-token numbers per hypothesis, as many as its tokens; one-line errors
    naming ``name``:line."""
    if len(values) != len(hypotheses):
        raise UserError(f"{name} has {len(values)} lines for {len(hypotheses)} hypotheses")
    for number, (row, hyp) in enumerate(zip(values, hypotheses), start=1):
        if len(row) != len(hyp.split()):
            raise UserError(f"{name}:{number}: {len(row)} {what} values for "
                            f"{len(hyp.split())} hypothesis tokens")


def parse_per_token(lines, hypotheses, name, what="confidence", upper=1.0):
    """Per-token numbers of each hypothesis from ``lines`` (space-separated, one line per
    hypothesis, each in [0, ``upper``]); one-line errors naming ``name``:line."""
    out = []
    for number, line in enumerate(lines, start=1):
        try:
            values = [float(v) for v in line.split()]
        except ValueError as err:
            raise UserError(f"{name}:{number}: not a number ({err})") from None
        if not all(0 <= v <= upper for v in values):
            raise UserError(f"{name}:{number}: {what} values must lie in [0, {upper:g}]")
        out.append(values)
    check_counts(out, hypotheses, name, what)
    return out
