"""Matplotlib (Agg) figures drawn from metrics dicts only, so ``compare`` can redraw anything."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _save(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def bars(path, names, values, title, ylabel, annotate="{:.3f}"):
    """One bar per named value (NaN/None drawn as missing)."""
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(names) + 2), 3.6))
    vals = [np.nan if v is None else v for v in values]
    ax.bar(range(len(names)), vals, color=[COLORS[k % len(COLORS)] for k in range(len(names))])
    for k, v in enumerate(vals):
        if not math.isnan(v):
            ax.annotate(annotate.format(v), (k, v), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def grouped_bars(path, groups, series, title, ylabel):
    """Bars grouped by ``groups`` (x axis), one colour per series {name: [value per group]}."""
    wide = 0.45 * len(groups) * max(len(series), 1) + 2.5
    fig, ax = plt.subplots(figsize=(min(10.0, max(5.5, wide)), 3.8))
    width = 0.8 / max(len(series), 1)
    for k, (name, vals) in enumerate(series.items()):
        xs = np.arange(len(groups)) + (k - (len(series) - 1) / 2) * width
        ax.bar(xs, [np.nan if v is None else v for v in vals], width, label=name,
               color=COLORS[k % len(COLORS)])
    ax.set_xticks(range(len(groups)), groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


def histogram(path, hist, title, xlabel, ylabel="source types"):
    edges = np.asarray(hist["edges"])
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.bar(edges[:-1], hist["counts"], width=np.diff(edges), align="edge", edgecolor="white")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def simplex(path, panels, languages, title):
    """Ternary plot(s): one point per sentence at its language shares; panels {name: shares}."""
    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, math.sqrt(3) / 2]])
    fig, axes = plt.subplots(1, len(panels), figsize=(3.9 * len(panels), 3.9), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, (name, shares) in zip(axes[0], panels.items()):
        shares = np.asarray(shares, dtype=float).reshape(-1, len(languages))[:, :3]
        ax.plot(*np.vstack([corners, corners[:1]]).T, color="black", lw=1)
        at_vertex = (shares >= 1).sum(axis=0) / max(len(shares), 1)
        for k, (corner, lang, pos) in enumerate(zip(corners, languages, (
                ("right", "top"), ("left", "top"), ("center", "bottom")))):
            ax.annotate(f"100% {lang}\n({100 * at_vertex[k]:.0f}% of sentences)", corner,
                        ha=pos[0], va=pos[1], fontsize=8,
                        xytext=(0, 4 if pos[1] == "bottom" else -4), textcoords="offset points")
        if len(shares):
            xy = shares @ corners + rng.normal(0, 0.006, (len(shares), 2))
            pure = (shares.max(axis=1) >= 1).mean()
            ax.scatter(xy[:, 0], xy[:, 1], s=6, alpha=0.35, color=COLORS[0], lw=0)
            ax.set_title(f"{name}\n{len(shares)} sentences, {100 * (1 - pure):.1f}% mixed",
                         fontsize=9)
        else:
            ax.set_title(f"{name}\n(no sentence with known tokens)", fontsize=9)
        ax.set_xlim(-0.3, 1.3)
        ax.set_ylim(-0.2, 1.08)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)
