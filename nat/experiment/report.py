"""``results.json`` (every number) and ``report.md`` with plots for one experiment run."""
import json
import os

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analysis import plots  # noqa: E402
from nat.experiment import checks  # noqa: E402


def _speedups(models, teacher_name="teacher_beam5", batch_key=None):
    base = {m["name"]: m for m in models}.get(teacher_name)
    for model in models:
        for key in ("sentences_per_second_batch1", batch_key):
            if base and model.get(key) and base.get(key):
                suffix = key.replace("sentences_per_second_", "")
                model[f"speedup_{suffix}_vs_teacher_beam5"] = round(model[key] / base[key], 2)


def collect(experiment):
    """Gather every stage's numbers into one results dict."""
    records = experiment.runner.records
    batch = experiment.config["speed"]["throughput_batch"]
    batch_key = f"sentences_per_second_batch{batch}"
    decoded = records["decode"]["result"]
    analysis = records["analysis"]["result"]
    trained = records["train"]["result"]
    models = []
    for name, system in decoded.items():
        metrics = analysis["outputs"][name]
        mixing = metrics["measures"].get("mixing", {})
        train_name = "teacher" if system["family"] == "teacher" else name
        models.append({
            "name": name, "family": system["family"], "train_data": system["train_data"],
            "bleu": metrics.get("sacrebleu"), "tokenized_bleu": metrics.get("tokenized_bleu"),
            "mixed_sentence_rate": metrics.get("mixed_sentence_rate"),
            "language_entropy_bits": metrics.get("language_entropy_bits"),
            "language_choice": mixing.get("language_choice_histogram"),
            "repetition_rate": metrics.get("repetition_rate"),
            "sentences_per_second_batch1": round(system["sentences_per_second_batch1"], 2),
            "latency_ms_batch1": round(system["latency_ms_batch1"], 2),
            batch_key: round(system[batch_key], 2),
            "batch_invariant_share": system["batch_invariant_share"],
            "train_seconds": trained.get(train_name, {}).get("train_seconds"),
            "final_train_loss": trained.get(train_name, {}).get("final_train_loss"),
        })
    _speedups(models, batch_key=batch_key)
    corpora = []
    for name, metrics in analysis["corpora"].items():
        mixing = metrics["measures"].get("mixing", {})
        corpora.append({
            "name": name, "complexity_bits": metrics.get("complexity_bits"),
            "mode_cross_entropy_bits": metrics.get("mode_cross_entropy_bits"),
            "mixed_sentence_rate": metrics.get("mixed_sentence_rate"),
            "language_entropy_bits": metrics.get("language_entropy_bits"),
            "faithfulness_bits": metrics.get("faithfulness_bits"),
            "language_choice": mixing.get("language_choice_histogram"),
            "signature": metrics.get("signature"),
        })
    bleu_signature = next((m["signature"] for m in analysis["outputs"].values()
                           if "signature" in m), None)
    results = {
        "preset": experiment.config["preset"], "config": experiment.config,
        "models": models, "corpora": corpora, "bleu_signature": bleu_signature,
        "truth": records["corpus"]["result"]["truth"],
        "distillation": _manifest(experiment.distilled_dir),
        "stages": {name: {"seconds": rec["seconds"], "commands": rec["commands"]}
                   for name, rec in records.items()},
    }
    results["predictions"] = checks.predictions(results)
    return results


def _manifest(distilled_dir):
    """The distillation manifest's counts and settings (the full file sits beside the data)."""
    with open(os.path.join(distilled_dir, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    keep = ("counts", "wall_time_s", "sentences_per_second", "method", "decoding",
            "fallbacks", "truncations")
    return {k: v for k, v in manifest.items() if k in keep}


def _fmt(value, spec="{:.1f}"):
    if value is None:
        return "–"
    if isinstance(value, float):
        return spec.format(value)
    return str(value)


def _speed_vs_bleu(path, models, batch_key):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((axes[0], "sentences_per_second_batch1", "batch 1"),
                           (axes[1], batch_key, batch_key.split("batch")[-1].join(
                               ["batch ", ""]))):
        for k, model in enumerate(models):
            marker = "s" if model["family"] == "teacher" else (
                "o" if model["train_data"] == "raw" else "^")
            ax.scatter(model[key], model["bleu"], marker=marker, s=50,
                       color=plots.COLORS[k % len(plots.COLORS)], label=model["name"])
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(f"sentences / second ({label}, CPU, log scale)")
        ax.set_ylabel("multi-reference sacreBLEU")
        ax.set_title(f"Speed vs quality at {label}")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(experiment, results):
    out = experiment.out
    fig_dir = os.path.join(out, "figures")
    os.makedirs(fig_dir, exist_ok=True)
    with open(os.path.join(out, "results.json"), "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2)
    models, corpora = results["models"], results["corpora"]
    batch = experiment.config["speed"]["throughput_batch"]
    batch_key = f"sentences_per_second_batch{batch}"
    analysis = experiment.runner.records["analysis"]["result"]
    languages = next(iter(analysis["outputs"].values()))["measures"]["mixing"]["languages"]

    nat_families = [m["name"] for m in experiment.config["nat"]]
    by_name = {m["name"]: m for m in models}
    plots.grouped_bars(
        os.path.join(fig_dir, "bleu.png"), nat_families,
        {data: [by_name.get(f"{f}_{data}", {}).get("bleu") for f in nat_families]
         for data in experiment.config["train_data"]},
        "NAT trained on raw vs distilled data", "multi-reference sacreBLEU")
    panels = {}
    for name in [f"{nat_families[0]}_{d}" for d in experiment.config["train_data"]] + [
            "teacher_beam5"]:
        if name in analysis["outputs"]:
            panels[name] = analysis["outputs"][name]["measures"]["mixing"]["simplex_sample"]
    plots.simplex(os.path.join(fig_dir, "simplex.png"), panels, languages,
                  "Language shares of each test output (corners = one language)")
    plots.grouped_bars(
        os.path.join(fig_dir, "complexity.png"),
        ["C(d), word level", "mode classifier CE, sentence level"],
        {c["name"]: [c["complexity_bits"], c["mode_cross_entropy_bits"]] for c in corpora},
        "Training corpus complexity (lower = less multimodal)", "bits")
    _speed_vs_bleu(os.path.join(fig_dir, "speed_vs_bleu.png"), models, batch_key)

    lines = [f"# nat-experiment report (preset `{results['preset']}`)", ""]
    lines += _headline(results, batch_key)
    lines += ["", "What the literature predicts, checked on these numbers:", ""]
    lines += [f"- {'✓' if p['holds'] else '✗'} {p['claim']}: {p['detail']}"
              for p in results["predictions"]]
    lines += ["", "![BLEU raw vs distilled](figures/bleu.png)", "",
              "![language simplex](figures/simplex.png)", "",
              "## Training corpora", "",
              "| corpus | C(d) bits | mode classifier CE bits | mixed sentences | language "
              "entropy bits | F(d) bits vs raw | target language shares |",
              "|---|---|---|---|---|---|---|"]
    for c in corpora:
        lines.append(f"| {c['name']} | {_fmt(c['complexity_bits'], '{:.3f}')} | "
                     f"{_fmt(c['mode_cross_entropy_bits'], '{:.3f}')} | "
                     f"{_fmt(c['mixed_sentence_rate'], '{:.3f}')} | "
                     f"{_fmt(c['language_entropy_bits'], '{:.3f}')} | "
                     f"{_fmt(c['faithfulness_bits'], '{:.3f}')} | "
                     f"{_shares(c['language_choice'], languages)} |")
    truth = results["truth"].get("train", {})
    if truth:
        lines += ["", f"Generator ground truth (train): H(L|X) = "
                      f"{truth.get('h_lang_given_src', float('nan')):.3f} bits, H(Y|X) = "
                      f"{truth.get('h_tgt_given_src', float('nan')):.3f} bits, total "
                      f"correlation = {truth.get('total_correlation', float('nan')):.3f} bits."]
    lines += ["", "![complexity](figures/complexity.png)", "",
              "## Speed (side by side, same machine, same run)", "",
              f"| system | ms/sentence at batch 1 | sentences/s at batch {batch} | speed-up "
              f"batch 1 | speed-up batch {batch} |", "|---|---|---|---|---|"]
    for m in models:
        lines.append(f"| {m['name']} | {_fmt(m['latency_ms_batch1'])} | "
                     f"{_fmt(m[batch_key])} | "
                     f"{_fmt(m.get('speedup_batch1_vs_teacher_beam5'), '{:.2f}x')} | "
                     f"{_fmt(m.get(f'speedup_batch{batch}_vs_teacher_beam5'), '{:.2f}x')} |")
    lines += ["", "Speed-ups are relative to the teacher with beam 5 at the same batch size; "
                  "times are fairseq-generate's own timer (model loading excluded).", "",
              "![speed vs BLEU](figures/speed_vs_bleu.png)", "",
              f"BLEU signature: `{results['bleu_signature']}`", "",
              "## Commands (re-run any step by hand)", ""]
    for name, stage in results["stages"].items():
        if stage["commands"]:
            lines += [f"### {name} ({stage['seconds']} s)", "", "```bash"] + \
                     stage["commands"] + ["```", ""]
    with open(os.path.join(out, "report.md"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return {"report": os.path.join(out, "report.md")}


def _shares(histogram, languages):
    """``xa 42% / xb 37% / xc 20%`` from a language-choice histogram."""
    if not histogram:
        return "–"
    total = sum(histogram.values()) or 1
    return " / ".join(f"{lang} {100 * histogram.get(lang, 0) / total:.0f}%" for lang in languages)


def _headline(results, batch_key):
    lines = ["| model | trained on | multi-ref BLEU | mixed sentences | language entropy bits "
             f"| sentences/s batch 1 | sentences/s {batch_key.split('_')[-1]} |",
             "|---|---|---|---|---|---|---|"]
    for m in results["models"]:
        lines.append(f"| {m['name']} | {m['train_data']} | {_fmt(m['bleu'])} | "
                     f"{_fmt(m['mixed_sentence_rate'], '{:.3f}')} | "
                     f"{_fmt(m['language_entropy_bits'], '{:.3f}')} | "
                     f"{_fmt(m['sentences_per_second_batch1'])} | {_fmt(m[batch_key])} |")
    return lines
