"""The reliability diagram of a ``calibration`` block, drawn like ``analysis.plots`` (whose
import selects matplotlib's Agg backend first)."""
import numpy as np

from analysis.plots import COLORS, _save, plt


def draw(path, table, title):
    """Reliability diagram: accuracy per confidence bin against the diagonal, bar width the
    bin, with the share of tokens per bin underneath."""
    fig, (ax, share) = plt.subplots(2, 1, figsize=(4.8, 5.0), sharex=True,
                                    gridspec_kw={"height_ratios": (3, 1)})
    lower = np.array([row["lower"] for row in table])
    width = np.array([row["upper"] - row["lower"] for row in table])
    acc = [np.nan if row["accuracy"] is None else row["accuracy"] for row in table]
    conf = [np.nan if row["mean_confidence"] is None else row["mean_confidence"] for row in table]
    ax.bar(lower, acc, width, align="edge", edgecolor="white", color=COLORS[0], label="accuracy")
    ax.plot(conf, acc, "o", color=COLORS[1], ms=4, label="(mean confidence, accuracy)")
    ax.plot([0, 1], [0, 1], "--", color="gray", lw=1, label="perfect calibration")
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    counts = np.array([row["count"] for row in table], dtype=float)
    share.bar(lower, counts / max(counts.sum(), 1), width, align="edge", edgecolor="white",
              color=COLORS[2])
    share.set_xlim(0, 1)
    share.set_xlabel("confidence")
    share.set_ylabel("tokens")
    return _save(fig, path)
