"""Lexical diversity and lengths of a parallel corpus (whitespace tokens)."""
import numpy as np


def side_stats(enc):
    tokens = int(enc.lengths.sum())
    types = len(set(enc.ids.tolist())) if tokens else 0
    return {"sentences": len(enc), "tokens": tokens, "types": types,
            "type_token_ratio": types / tokens if tokens else 0.0,
            "mean_length": float(enc.lengths.mean()) if len(enc) else 0.0,
            "empty_lines": int((enc.lengths == 0).sum())}


def length_ratio(src, tgt):
    """Target tokens / source tokens over the corpus, and the mean of per-sentence ratios."""
    both = (src.lengths > 0) & (tgt.lengths > 0)
    ratios = tgt.lengths[both] / src.lengths[both]
    return {"corpus": float(tgt.lengths.sum() / max(src.lengths.sum(), 1)),
            "sentence_mean": float(ratios.mean()) if len(ratios) else float("nan")}


def corpus_stats(src, tgt):
    return {"source": side_stats(src), "target": side_stats(tgt),
            "length_ratio": length_ratio(src, tgt),
            "settings": {"tokens": "whitespace", "length_ratio": "target/source"}}


def histogram(values, bins=20, upper=None):
    """Counts on equal bins over [0, upper] (for plots stored in metrics.json)."""
    values = np.asarray(values, dtype=float)
    upper = upper if upper is not None else (float(values.max()) if len(values) else 1.0)
    counts, edges = np.histogram(values, bins=bins, range=(0.0, max(upper, 1e-9)))
    return {"counts": counts.tolist(), "edges": [round(e, 6) for e in edges.tolist()]}
