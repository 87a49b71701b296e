"""Learning curves: validation loss (and BLEU where measured) over updates, one line per model."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analysis.plots import COLORS, _save  # noqa: E402


def learning_curves(path, curves, title="Validation over training"):
    """``curves``: {model: [{updates, loss, bleu}]}; a second panel for BLEU when any model has
    it (the teacher's ``--eval-bleu``)."""
    with_bleu = {name: c for name, c in curves.items()
                 if any(p.get("bleu") is not None for p in c)}
    fig, axes = plt.subplots(1, 2 if with_bleu else 1, figsize=(11 if with_bleu else 6, 4))
    axes = list(axes) if with_bleu else [axes]
    for k, (name, curve) in enumerate(curves.items()):
        axes[0].plot([p["updates"] for p in curve], [p["loss"] for p in curve], marker=".",
                     color=COLORS[k % len(COLORS)], label=name)
    axes[0].set_xlabel("updates")
    axes[0].set_ylabel("validation loss (the training criterion)")
    axes[0].set_title(title)
    axes[0].grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    if with_bleu:
        for k, (name, curve) in enumerate(with_bleu.items()):
            points = [p for p in curve if p.get("bleu") is not None]
            axes[1].plot([p["updates"] for p in points], [p["bleu"] for p in points], marker=".",
                         color=COLORS[list(curves).index(name) % len(COLORS)], label=name)
        axes[1].set_xlabel("updates")
        axes[1].set_ylabel("validation BLEU (greedy, one reference)")
        axes[1].set_title("Teacher validation BLEU")
        axes[1].grid(alpha=0.3)
        axes[1].legend(fontsize=8)
    return _save(fig, path)
