"""The report's learning curves: every model's validation loss over its updates (the config's
``validate_every``), so a reader sees whether a model was still improving when it stopped.

A model counts as *still improving* when its last validation loss is its lowest and at least
``IMPROVING`` (relative) below the point before: more updates would likely have helped.
"""
import os

IMPROVING = 0.01


def trend(curve):
    """``(best loss, its updates, still improving)`` of a curve (None without points)."""
    if not curve:
        return None
    best = min(curve, key=lambda p: p["loss"])
    last = curve[-1]
    improving = (len(curve) > 1 and best is last
                 and last["loss"] < (1 - IMPROVING) * curve[-2]["loss"])
    return best["loss"], best["updates"], improving


def section(results, fig_dir):
    """Markdown lines and ``figures/curves.png`` (nothing when no model was validated)."""
    curves = {name: c for name, c in (results.get("curves") or {}).items() if c}
    if not curves:
        return []
    from analysis.curves_plot import learning_curves

    learning_curves(os.path.join(fig_dir, "curves.png"), curves)
    lines = ["## Learning curves", "",
             "Validation loss every few hundred updates (the teacher's also BLEU: greedy, one "
             "reference); *still improving*: the last loss is the lowest and "
             f"{100 * IMPROVING:g}% below the one before.", "",
             "| model | validations | first loss | last loss (updates) | best loss (updates) | "
             "still improving |", "|---|---|---|---|---|---|"]
    for name, curve in curves.items():
        best, at, improving = trend(curve)
        lines.append(f"| {name} | {len(curve)} | {curve[0]['loss']:.3f} | "
                     f"{curve[-1]['loss']:.3f} ({curve[-1]['updates']}) | {best:.3f} ({at}) | "
                     f"{'yes' if improving else 'no'} |")
    return lines + ["", "![learning curves](figures/curves.png)", ""]
