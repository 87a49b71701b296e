"""The report's "What distillation lost" section: what the exact measures of ``nat-analyze``
say about each corpus and system (validity, synonym variation, rare words, calibration,
stability) and, along ``lost.compression``, as the student shrinks.

``system_measures`` / ``corpus_measures`` pick the numbers from ``metrics.json`` (collect
time); ``section`` renders the tables and plots from ``results.json`` alone.
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analysis import plots  # noqa: E402

#: (results key, metrics.json key, column title, format) of each system measure
SYSTEM = [("valid_rate", "valid_rate", "valid", "{:.3f}"),
          ("synonym_variation_kept", "synonym_variation_kept", "synonym variation kept",
           "{:.2f}"),
          ("synonym_entropy_bits", "synonym_entropy_bits", "synonym H bits", "{:.3f}"),
          ("distinct_2", "distinct_2", "distinct-2", "{:.3f}"),
          ("rare_word_recall", "rare_word_recall_lexicon", "rare-word recall", "{:.3f}"),
          ("ece", "ece", "ECE", "{:.3f}"),
          ("mean_confidence", "mean_confidence", "mean confidence", "{:.3f}"),
          ("token_accuracy", "token_accuracy", "token accuracy", "{:.3f}"),
          ("seed_changed_share", "seed_changed_share", "changed with another seed", "{:.3f}"),
          ("swap_changed_beyond_edit", "swap_changed_beyond_edit",
           "changed beyond a 1-word swap", "{:.3f}"),
          ("swap_language_switched", "swap_language_switched", "of which: language switched",
           "{:.3f}"),
          ("valid_rate_swapped", "valid_rate_swapped", "valid after the swap", "{:.3f}")]
CORPUS = [("synonym_entropy_bits", "synonym H bits", "{:.3f}"),
          ("synonym_entropy_expected_bits", "expected under the generator", "{:.3f}"),
          ("synonym_variation_kept", "variation kept", "{:.2f}"),
          ("target_types_per_word", "target types per source word", "{:.2f}")]
#: the deploy stage's name of a model's int8 ONNX export
INT8 = "ONNX Runtime int8"
#: the panels of lost.png: (results key, title)
PANELS = [("valid_rate", "valid rate (exact)"),
          ("synonym_variation_kept", "synonym variation kept"),
          ("ece", "ECE (lower = better calibrated)"),
          ("swap_changed_beyond_edit", "changed beyond a 1-word swap")]


#: synonym variation from fewer occurrences than this is marked in the table (the estimate's
#: spread is large there)
FEW_OCCURRENCES = 50


def system_measures(metrics):
    measures = {key: metrics.get(source) for key, source, _, _ in SYSTEM}
    measures["synonym_occurrences"] = (metrics.get("measures", {}).get("synonym_diversity")
                                       or {}).get("occurrences")
    return measures


def _cell(measures, key, spec):
    """A table cell; synonym variation says how many occurrences it rests on when few."""
    text = _fmt(measures.get(key), spec)
    occurrences = measures.get("synonym_occurrences")
    if key == "synonym_variation_kept" and measures.get(key) is not None and \
            occurrences is not None and occurrences < FEW_OCCURRENCES:
        text += f" ({occurrences} occ.)"
    return text


def corpus_measures(metrics):
    return {key: metrics.get(key) for key, _, _ in CORPUS}


def _fmt(value, spec):
    return "–" if value is None else spec.format(value)


def _bars(path, models):
    """One panel per question: the systems' values, raw vs distilled side by side."""
    shown = [m for m in models if "retrain_of" not in m]
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4 * len(PANELS), 4))
    for ax, (key, title) in zip(axes, PANELS):
        values = [m["lost"].get(key) for m in shown]
        ax.bar(range(len(shown)), [v if v is not None else 0 for v in values],
               color=[plots.COLORS[0] if m["train_data"] == "raw" else plots.COLORS[1]
                      for m in shown])
        ax.set_xticks(range(len(shown)), [m["name"] for m in shown], rotation=60,
                      ha="right", fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("What distillation lost (blue: trained on raw data, orange: distilled)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def compression_rows(results):
    """(model, corpus, parameters, measures) along the compression axis: the compression
    model at its own size and at each ``lost.compression`` size."""
    lost = results["config"].get("lost") or {}
    base = lost.get("compression_model")
    if not base or not lost.get("compression"):
        return []
    rows = []
    for m in results["models"]:
        if "retrain_of" in m:
            continue
        if m["family"] == base or m.get("compression_of") == base:
            rows.append(m)
    return sorted(rows, key=lambda m: (m["train_data"], -(m.get("parameters") or 0)))


def _compression_plot(path, rows, deploy):
    keys = [("bleu", "BLEU"), ("valid_rate", "valid rate"),
            ("synonym_variation_kept", "synonym variation kept"), ("ece", "ECE")]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.8))
    for ax, (key, title) in zip(axes, keys):
        for k, data in enumerate(dict.fromkeys(r["train_data"] for r in rows)):
            line = [r for r in rows if r["train_data"] == data]
            xs = [r.get("parameters") for r in line]
            ys = [r["bleu"] if key == "bleu" else r["lost"].get(key) for r in line]
            color = plots.COLORS[0] if data == "raw" else plots.COLORS[1 + k % 5]
            ax.plot(xs, ys, marker="o", color=color, label=data)
            if key == "bleu":  # the int8 exports of the same models (deploy stage)
                int8 = [((deploy or {}).get("quality") or {}).get(f"{r['name']} {INT8}", {})
                        .get("bleu") for r in line]
                if any(v is not None for v in int8):
                    ax.scatter(xs, int8, marker="P", color=color, label=f"{data} int8")
        ax.set_xscale("log")
        ax.set_xlabel("parameters (log scale)")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("As the student shrinks")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def section(results, fig_dir):
    """The report lines of the section (and its figures in ``fig_dir``)."""
    models = [m for m in results["models"] if m.get("lost")]
    if not models or all(m["lost"].get("valid_rate") is None for m in models):
        return ["## What distillation lost", "",
                "Not measured: the exact measures need the synthetic corpus's generator "
                "(`nat-analyze outputs --truth DIR`).", ""]
    lines = ["## What distillation lost", "",
             "Measured exactly against the generator (`nat-analyze outputs --truth`): *valid* = "
             "a correct translation in some language with any synonyms; *synonym variation "
             "kept* = the synonym entropy of the outputs over the value expected from the "
             "generator for the same counts (1 = all legitimate variation kept, 0 = one synonym "
             "per word; measured on valid outputs only, so it is marked when it rests on few "
             "occurrences); *rare-word recall* = the share of source words seen at most 100 "
             "times in training whose translation (any correct realisation, any language) is in "
             "the output; *ECE* = expected calibration error of the "
             "per-token probabilities (tokens labelled exactly); *changed with another seed* "
             "= outputs that differ when the same recipe is retrained with `lost.retrain_seed`"
             "; *changed beyond a 1-word swap* = outputs that change in more tokens than the "
             "swapped word's when one source word is swapped for another of its class (*language "
             "switched*: of those, the pairs where both outputs are correct but in different "
             "languages, a change of mode rather than an error).", ""]
    corpora = [c for c in results["corpora"] if c.get("lost")]
    if corpora:
        lines += ["| corpus | " + " | ".join(t for _, t, _ in CORPUS) + " |",
                  "|---" * (len(CORPUS) + 1) + "|"]
        lines += [f"| {c['name']} | " + " | ".join(_fmt(c["lost"].get(k), f)
                                                   for k, _, f in CORPUS) + " |"
                  for c in corpora]
        lines.append("")
    lines += ["| system | trained on | BLEU | " + " | ".join(t for _, _, t, _ in SYSTEM) + " |",
              "|---" * (len(SYSTEM) + 3) + "|"]
    for m in models:
        lines.append(f"| {m['name']} | {m['train_data']} | {_fmt(m['bleu'], '{:.1f}')} | "
                     + " | ".join(_cell(m["lost"], k, f) for k, _, _, f in SYSTEM) + " |")
    _bars(os.path.join(fig_dir, "lost.png"), models)
    lines += ["", "![what distillation lost](figures/lost.png)", ""]
    rows = compression_rows(results)
    if rows:
        _compression_plot(os.path.join(fig_dir, "compression.png"), rows, results.get("deploy"))
        lines += ["### As the student shrinks", "",
                  "| model | trained on | parameters | BLEU | int8 BLEU | int8 valid | valid | "
                  "synonym variation kept | ECE | changed beyond a 1-word swap |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        quality = (results.get("deploy") or {}).get("quality") or {}
        for r in rows:
            lost, int8 = r["lost"], quality.get(f"{r['name']} {INT8}", {})
            lines.append(
                f"| {r['name']} | {r['train_data']} | {_fmt(r.get('parameters'), '{:,}')} | "
                f"{_fmt(r['bleu'], '{:.1f}')} | "
                f"{_fmt(int8.get('bleu'), '{:.1f}')} | "
                f"{_fmt((r.get('lost_int8') or {}).get('valid_rate'), '{:.3f}')} | "
                f"{_fmt(lost.get('valid_rate'), '{:.3f}')} | "
                f"{_fmt(lost.get('synonym_variation_kept'), '{:.2f}')} | "
                f"{_fmt(lost.get('ece'), '{:.3f}')} | "
                f"{_fmt(lost.get('swap_changed_beyond_edit'), '{:.3f}')} |")
        lines += ["", "![as the student shrinks](figures/compression.png)", ""]
    return lines
