"""``results.json`` (every number) and ``report.md`` with plots for one experiment run.

``collect`` gathers the stages' records into the results; ``write(results, out)`` renders the
report and its figures from those results alone, so ``nat-experiment report DIR`` rebuilds them
from ``DIR/results.json`` without re-running or re-reading anything else.
"""
import json
import os

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analysis import plots  # noqa: E402
from nat.experiment import checks, curves, lost, seed, training, variants  # noqa: E402
from nat.experiment import teacher_check  # noqa: E402
from nat.textio import count_lines, write_json_atomic, write_lines_atomic  # noqa: E402


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
    # the synthetic generator's ground truth (None for a user corpus: unknown), user data info
    source = experiment.source.results(records)
    batch = experiment.config["speed"]["throughput_batch"]
    batch_key = f"sentences_per_second_batch{batch}"
    decoded = records["decode"]["result"]
    analysis = records["analysis"]["result"]
    trained = records["train"]["result"]
    models = []
    for name, system in decoded.items():
        metrics = analysis["outputs"][name]
        mixing = metrics["measures"].get("mixing", {})
        train_name = system.get("job") or ("teacher" if system["family"] == "teacher" else name)
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
            "at_length_cap": teacher_check.corpus_at_cap(_tokens_file(system["hyp"]),
                                                         experiment.config["decode"]),
            "test_lines": count_lines(system["hyp"]),
            "train_seconds": trained.get(train_name, {}).get("train_seconds"),
            "final_train_loss": trained.get(train_name, {}).get("final_train_loss"),
        })
        for extra in ("born_again_round", "retrain_of", "compression_of", "size"):
            if extra in system:
                models[-1][extra] = system[extra]
        models[-1]["lost"] = lost.system_measures(metrics)
        if f"{name}.int8" in analysis["outputs"]:
            models[-1]["lost_int8"] = lost.system_measures(analysis["outputs"][f"{name}.int8"])
        models[-1]["parameters"] = _parameters(experiment.checkpoint(train_name))
    _speedups(models, batch_key=batch_key)
    corpora = []
    for name, metrics in analysis["corpora"].items():
        mixing = metrics["measures"].get("mixing", {})
        spec = experiment.corpora.get(name, variants.Corpus(name))
        corpora.append({
            "name": name, "method": spec.settings.get("method"),
            "made_by": spec.teacher or None, "born_again_round": spec.round,
            "lines": count_lines(experiment.corpus_target(name)),
            "distillation": _manifest(experiment.corpus_dir(name)) if spec.distilled else None,
            "complexity_bits": metrics.get("complexity_bits"),
            "mode_cross_entropy_bits": metrics.get("mode_cross_entropy_bits"),
            "mixed_sentence_rate": metrics.get("mixed_sentence_rate"),
            "language_entropy_bits": metrics.get("language_entropy_bits"),
            "faithfulness_bits": metrics.get("faithfulness_bits"),
            "language_choice": mixing.get("language_choice_histogram"),
            "signature": metrics.get("signature"),
            "lost": lost.corpus_measures(metrics),
        })
    bleu_signature = next((m["signature"] for m in analysis["outputs"].values()
                           if "signature" in m), None)
    results = {
        "preset": experiment.config["preset"], "config": experiment.config,
        "models": models, "corpora": corpora, "bleu_signature": bleu_signature,
        "truth": source["truth"],
        "distillation": (_manifest(experiment.distilled_dir)
                         if variants.DEFAULT in experiment.corpora else None),
        "stages": {name: {"seconds": rec["seconds"], "commands": rec["commands"]}
                   for name, rec in records.items()},
    }
    if "deploy" in records:
        results["deploy"] = records["deploy"]["result"]
    if "data" in source:  # where the corpus came from, how it was prepared, at which level
        results["data"] = source["data"]
    # what the figures draw: the lexicon's languages (none when a user corpus has no labels)
    # and each output's language shares
    mixing = {name: m["measures"]["mixing"] for name, m in analysis["outputs"].items()
              if m["measures"].get("mixing")}
    results["languages"] = next(iter(mixing.values()))["languages"] if mixing else []
    results["simplex"] = {name: m["simplex_sample"] for name, m in mixing.items()}
    found = {job.name: training.curve(job.log_path) for job in experiment.jobs()
             if job.tool != "nat-distill"}
    results["curves"] = {name: points for name, points in found.items() if points}
    limits = experiment.config["decode"]
    results["teacher_check"] = teacher_check.summary(results, {
        c["name"]: (teacher_check.corpus_at_cap(experiment.corpus_target(c["name"]), limits),
                    c["lines"]) for c in corpora if c["distillation"]})
    results["predictions"] = checks.predictions(results)
    return results


def _tokens_file(hyp):
    """What the model wrote for ``hyp`` (a user corpus' pieces sit in ``pieces/``)."""
    pieces = os.path.join(os.path.dirname(hyp), "pieces", os.path.basename(hyp))
    return pieces if os.path.isfile(pieces) else hyp


def _parameters(checkpoint):
    """The number of model parameters in a fairseq checkpoint (None if it is missing)."""
    if not os.path.isfile(checkpoint):
        return None
    from fairseq import checkpoint_utils

    from nat import compat

    compat.install()
    state = checkpoint_utils.load_checkpoint_to_cpu(checkpoint)
    return sum(t.numel() for t in state["model"].values())


def _manifest(distilled_dir):
    """The distillation manifest's counts and settings (the full file sits beside the data)."""
    with open(os.path.join(distilled_dir, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    keep = ("counts", "wall_time_s", "sentences_per_second", "method", "decoding",
            "selection", "timing", "fallbacks", "truncations")
    return {k: v for k, v in manifest.items() if k in keep}


def _fmt(value, spec="{:.1f}"):
    if value is None:
        return "–"
    if isinstance(value, float):
        return spec.format(value)
    return str(value)


def _deployed_points(deploy):
    """(label, marker, sentences/s batch 1, sentences/s batch B, BLEU) of the CTranslate2 and
    ONNX Runtime rows of the deploy stage."""
    points = []
    for r in (deploy or {}).get("rows", []):
        q = deploy["quality"].get(f"{r['system']} {r['precision']}")
        if r["runtime"] in ("ctranslate2", "onnxruntime") and q:
            marker = "*" if r["runtime"] == "ctranslate2" else (
                "x" if r["precision"] == "fp32" else "P")
            points.append((f"{r['system']} {r['precision']}", marker, 1000.0 / r["p50_ms"],
                           r["tokens_per_s"] / deploy["ref_tokens_per_sentence"], q["bleu"]))
    return points


def _speed_vs_bleu(path, models, batch_key, bleu_label="multi-reference sacreBLEU",
                   deploy=None):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    points = [(m["name"] + " (fairseq)", {"teacher": "s", "ar_student": "D"}.get(
        m["family"], "o" if m["train_data"] == "raw" else "^"),
        m["sentences_per_second_batch1"], m[batch_key], m["bleu"]) for m in models]
    points += _deployed_points(deploy)
    for column, (ax, label) in enumerate(((axes[0], "batch 1"), (axes[1], batch_key.split(
            "batch")[-1].join(["batch ", ""])))):
        for k, (name, marker, one, big, score) in enumerate(points):
            ax.scatter(one if column == 0 else big, score, marker=marker, s=50,
                       color=plots.COLORS[k % len(plots.COLORS)], label=name)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(f"sentences / second ({label}, CPU, log scale)")
        ax.set_ylabel(bleu_label)
        ax.set_title(f"Speed vs quality at {label}")
        ax.grid(alpha=0.3)
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results, out):
    """``out/results.json``, then the report rendered from it (``render``)."""
    write_json_atomic(os.path.join(out, "results.json"), results, indent=2)
    return render(results, out)


def render(results, out):
    """``out/report.md`` and ``out/figures/*.png`` from the results alone."""
    fig_dir = os.path.join(out, "figures")
    os.makedirs(fig_dir, exist_ok=True)
    config = results["config"]
    models, corpora = results["models"], results["corpora"]
    batch = config["speed"]["throughput_batch"]
    batch_key = f"sentences_per_second_batch{batch}"
    languages = results["languages"]
    bleu_label = _bleu_label(results)

    nat_families = [m["name"] for m in config["nat"]]
    nat_data = list(dict.fromkeys(data for _, _, data in variants.nat_runs(config)))
    by_name = {m["name"]: m for m in models}
    if nat_families:
        plots.grouped_bars(
            os.path.join(fig_dir, "bleu.png"), nat_families,
            {data: [by_name.get(f"{f}_{data}", {}).get("bleu") for f in nat_families]
             for data in nat_data},
            "NAT trained on raw vs distilled data", bleu_label)
    panels = {}
    first = nat_families[:1]
    for name in [f"{f}_{d}" for f in first for d in nat_data] + ["teacher_beam5"]:
        if name in results["simplex"] and len(languages) == 3:  # a ternary plot
            panels[name] = results["simplex"][name]
    if panels:
        plots.simplex(os.path.join(fig_dir, "simplex.png"), panels, languages,
                      "Language shares of each test output (corners = one language)")
    plots.grouped_bars(
        os.path.join(fig_dir, "complexity.png"),
        ["C(d), word level", "mode classifier CE, sentence level"],
        {c["name"]: [c["complexity_bits"], c["mode_cross_entropy_bits"]] for c in corpora},
        "Training corpus complexity (lower = less multimodal)", "bits")
    _speed_vs_bleu(os.path.join(fig_dir, "speed_vs_bleu.png"), models, batch_key, bleu_label,
                   results.get("deploy"))

    lines = [f"# nat-experiment report (preset `{results['preset']}`)", ""]
    lines += [_corpus_line(results), ""]
    lines += teacher_check.section(results)
    lines += _headline(results, batch_key)
    if not languages:
        lines += ["", f"Mixed sentences, language entropy and language shares: {NOT_MEASURED}"
                      f" (the corpus has no `train.lang`; give one label per line, e.g. the "
                      f"target language, to measure them)."]
    lines += ["", "What the literature predicts, checked on these numbers:", ""]
    lines += [f"- {_MARK[p['holds']]} {p['claim']}: {p['detail']}"
              for p in results["predictions"]] or ["- none applies to this configuration"]
    lines.append("")
    if nat_families:
        lines += ["![BLEU raw vs distilled](figures/bleu.png)", ""]
    if panels:
        lines += ["![language simplex](figures/simplex.png)", ""]
    elif languages:
        lines += [f"(No language simplex: it needs exactly three labels; this corpus has "
                  f"{len(languages)}: {', '.join(languages)}.)", ""]
    if results.get("data"):
        lines += _user_corpus_section(results["data"])
    lines += ["## Training corpora", "",
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
    truth = (results.get("truth") or {}).get("train", {})
    if truth:
        lines += ["", f"Generator ground truth (train): H(L|X) = "
                      f"{truth.get('h_lang_given_src', float('nan')):.3f} bits, H(Y|X) = "
                      f"{truth.get('h_tgt_given_src', float('nan')):.3f} bits, total "
                      f"correlation = {truth.get('total_correlation', float('nan')):.3f} bits."]
    lines += ["", "C(d) and F(d) come from eflomal's word alignments, which cannot be seeded "
                  "(eflomal 2.0 seeds its samplers from /dev/urandom): identical runs differ in "
                  "the second decimal (1.252-1.266 bits for one corpus in issue 19); the mode "
                  "classifier's cross-entropy and every BLEU repeat exactly on one machine."]
    lines += ["", "![complexity](figures/complexity.png)", ""]
    lines += curves.section(results, fig_dir)
    lines += _variant_tables(results)
    lines += lost.section(results, fig_dir)
    lines += seed.section(results, fig_dir)
    lines += _deploy_table(results)
    lines += ["## Speed in fairseq-generate (the research path, not a deployment figure)", "",
              f"| system | ms/sentence at batch 1 | sentences/s at batch {batch} |",
              "|---|---|---|"]
    for m in models:
        lines.append(f"| {m['name']} | {_fmt(m['latency_ms_batch1'])} | "
                     f"{_fmt(m[batch_key])} |")
    lines += ["", "fairseq-generate's own timer (model loading excluded): its Python beam search "
                  "and NAT generator, which nobody deploys; the deployed comparison is above.", "",
              "![speed vs BLEU](figures/speed_vs_bleu.png)", "",
              f"BLEU signature: `{results['bleu_signature']}`", "",
              "## Commands (re-run any step by hand)", ""]
    for name, stage in results["stages"].items():
        if stage["commands"]:
            lines += [f"### {name} ({stage['seconds']} s)", "", "```bash"] + \
                     stage["commands"] + ["```", ""]
    write_lines_atomic(os.path.join(out, "report.md"), lines)
    return {"report": os.path.join(out, "report.md")}


def _bleu_mixed(model):
    if not model:
        return "–"
    return f"{_fmt(model['bleu'])} / {_fmt(model['mixed_sentence_rate'], '{:.3f}')}"


def _variant_tables(results):
    """Tables for what goes beyond raw vs Seq-KD (none for the quick preset): the distillation
    variants with the NATs trained on each, the born-again rounds, the AR students."""
    config = results["config"]
    models = {m["name"]: m for m in results["models"]}
    corpora = {c["name"]: c for c in results["corpora"]}
    families = [m["name"] for m in config["nat"]]
    students = variants.ar_students(config)
    lines = []
    if sum(c["method"] is not None for c in corpora.values()) > 1:
        lines += ["## Distillation variants", "",
                  "Every distilled corpus re-decodes the raw training sources with the teacher "
                  "named (its own BLEU on the test set in brackets); a NAT cell is test BLEU / "
                  "mixed-sentence rate of that NAT trained on the corpus.", "",
                  "| corpus | method | made by | lines | C(d) bits | mode classifier CE bits | "
                  "mixed sentences | " + "".join(f"{f} NAT | " for f in families),
                  "|---|---|---|---|---|---|---|" + "---|" * len(families)]
        for c in corpora.values():
            teacher = models.get(f"{c['made_by']}_beam5") if c["made_by"] else None
            made_by = (f"{c['made_by']} ({_fmt(teacher['bleu']) if teacher else '–'})"
                       if c["made_by"] else "– (gold)")
            lines.append(f"| {c['name']} | {c['method'] or '–'} | {made_by} | {c['lines']} | "
                         f"{_fmt(c['complexity_bits'], '{:.3f}')} | "
                         f"{_fmt(c['mode_cross_entropy_bits'], '{:.3f}')} | "
                         f"{_fmt(c['mixed_sentence_rate'], '{:.3f}')} | "
                         + "".join(f"{_bleu_mixed(models.get(f'{f}_' + c['name']))} | "
                                   for f in families))
        lines.append("")
    again = variants.born_again(config)
    if again["rounds"]:
        lines += ["## Born-again rounds", "",
                  "Teacher k+1 (the teacher's architecture and settings) trains on the corpus "
                  f"teacher k distilled with the `{again['from']}` settings, then distils the "
                  "raw sources again (Furlanello et al. 2018; Zhou et al. 2020).", "",
                  "| round | teacher | trained on | teacher BLEU (beam 5) | teacher mixed "
                  "sentences | corpus it makes | its mode classifier CE bits | its C(d) bits | "
                  + "".join(f"{f} NAT on it | " for f in families),
                  "|---|---|---|---|---|---|---|---|" + "---|" * len(families)]
        for teacher in variants.teachers(config):
            made = again["from"] if teacher.round == 0 else teacher.distils[0]
            model, corpus = models.get(teacher.system, {}), corpora.get(made, {})
            lines.append(f"| {teacher.round} | {teacher.job} | {teacher.train_data} | "
                         f"{_fmt(model.get('bleu'))} | "
                         f"{_fmt(model.get('mixed_sentence_rate'), '{:.3f}')} | {made} | "
                         f"{_fmt(corpus.get('mode_cross_entropy_bits'), '{:.3f}')} | "
                         f"{_fmt(corpus.get('complexity_bits'), '{:.3f}')} | "
                         + "".join(f"{_bleu_mixed(models.get(f'{f}_{made}'))} | "
                                   for f in families))
        lines.append("")
    if students:
        batch1 = "speedup_batch1_vs_teacher_beam5"
        lines += ["## Autoregressive students", "",
                  "Seq-KD: plain label-smoothed cross-entropy on a distilled corpus; Word-KD: "
                  "(1-a) NLL(gold) + a KL(teacher || student) per target position (Kim & Rush "
                  "2016). Decoded with beam search like the teacher.", "",
                  "| model | architecture | trained on | loss | beam | BLEU | mixed sentences | "
                  "sentences/s batch 1 | speed-up batch 1 |", "|---" * 9 + "|"]
        teacher = models.get("teacher_beam5", {})
        rows = [("teacher_beam5 (reference)", config["teacher"]["arch"], "raw",
                 "label-smoothed CE", 5, teacher)]
        for student in students:
            kd = student["word_kd"]
            loss = (f"Word-KD (a={kd['alpha']}, T={kd['temperature']})" if kd else
                    "label-smoothed CE" + (" (Seq-KD)" if student["train_data"] != "raw"
                                           else ""))
            rows.append((student["name"], student["arch"], student["train_data"], loss,
                         student["beam"], models.get(student["name"], {})))
        for name, arch, data, loss, beam, m in rows:
            lines.append(f"| {name} | {arch} | {data} | {loss} | {beam} | {_fmt(m.get('bleu'))} "
                         f"| {_fmt(m.get('mixed_sentence_rate'), '{:.3f}')} | "
                         f"{_fmt(m.get('sentences_per_second_batch1'))} | "
                         f"{_fmt(m.get(batch1), '{:.2f}x')} |")
        lines.append("")
    return lines


def _shares(histogram, languages):
    """``xa 42% / xb 37% / xc 20%`` from a language-choice histogram."""
    if not histogram:
        return "–"
    total = sum(histogram.values()) or 1
    return " / ".join(f"{lang} {100 * histogram.get(lang, 0) / total:.0f}%" for lang in languages)


NOT_MEASURED = checks.NOT_MEASURED
_MARK = {True: "✓", False: "✗", None: "–"}


def _bleu_label(results):
    """How BLEU was scored: the synthetic corpus has three references per source; a user
    corpus has its ``test.ref.*`` files or the test target."""
    data = results.get("data")
    if not data or len(data["references"]) > 1:
        return "multi-reference sacreBLEU"
    return "sacreBLEU (one reference)"


def _corpus_line(results):
    data = results.get("data")
    if not data:
        c = results["config"]["corpus"]
        return (f"Corpus: synthetic (`nat-synth --preset {c['preset']} --mode {c['mode']}`, "
                f"{c['train']}/{c['valid']}/{c['test']} train/valid/test pairs); numbers at word "
                f"level.")
    pairs = "/".join(str(data["counts"].get(s, {}).get("pairs", "–"))
                     for s in ("train", "valid", "test"))
    given = ("raw text, prepared by nat-prepare into `" + data["prepared"] + "`"
             if data["given"] == "raw" else "prepared by nat-prepare")
    refs = ", ".join(f"`{r}`" for r in data["references"])
    return (f"Corpus: your data `{data['path']}` ({given}; {pairs} train/valid/test pairs kept). "
            f"Numbers are at word level on detokenized text: hypotheses decoded with the "
            f"corpus' sentencepiece model, sacreBLEU 13a against {refs}.")


def _user_corpus_section(data):
    settings, counts = data["settings"], data["counts"]
    vocab = data["vocab_size"]
    lines = ["## Corpus (your data)", "",
             f"- source: `{data['path']}` ({data['given']}); prepared directory "
             f"`{data['prepared']}` (manifest key `{data['manifest_key']}`)",
             f"- nat-prepare settings: sentencepiece {settings.get('model_type')}, "
             f"{'joint' if settings.get('joint') else 'separate'}, vocab_size "
             f"{settings.get('vocab_size')} (made: {vocab.get('tgt')}), max_pieces "
             f"{settings.get('max_pieces')} ({settings.get('long_lines')} longer pairs), "
             f"drop_empty {settings.get('drop_empty')}, dedup {settings.get('dedup')}, "
             f"stray_cr {settings.get('stray_cr')}, normalization "
             f"{settings.get('normalization')}",
             f"- test `<unk>` rate: source {data['unk_rate_test']['src']:.2e}, target "
             f"{data['unk_rate_test']['tgt']:.2e}; references: "
             + ", ".join(f"`{r}`" for r in data["references"]),
             f"- level: {data['level']}"]
    if data["labels"]:
        lex = data["lexicon"] or {}
        rate = lex.get("identifying_token_rate")
        lines.append(f"- language labels: {', '.join(data['labels'])}; lexicon.json from the "
                     f"labelled training targets: {lex.get('identifying_types')} identifying "
                     f"word types ({_fmt(None if rate is None else 100 * rate)} % of target "
                     f"tokens), {lex.get('neutral_types')} neutral types (counted apart)")
    else:
        lines.append(f"- language labels: none (no `train.lang`): language mixing "
                     f"{NOT_MEASURED}")
    lines += ["- synthetic-only measures (generator ground truth, per-language BLEU) do not "
              "apply", "", "| split | lines | pairs kept | dropped empty | dropped long | "
              "duplicate pairs (dropped) |", "|---|---|---|---|---|---|"]
    for split, c in counts.items():
        lines.append(f"| {split} | {c['lines']} | {c['pairs']} | {c['dropped_empty']} | "
                     f"{c['dropped_long']} | {c['duplicate_pairs']} "
                     f"({c['dropped_duplicates']}) |")
    return lines + [""]


def deploy_ratios(rows):
    """Each row with ``vs_greedy``/``vs_beam5``: its batch-1 speed-up (their p50 / ours) and
    throughput ratio (ours / theirs) against CTranslate2 of the same precision."""
    ref = {(r["precision"], "greedy" if "greedy" in r["system"] else "beam5"): r
           for r in rows if r["runtime"] == "ctranslate2"}
    out = []
    for r in rows:
        r = dict(r)
        for label in ("greedy", "beam5"):
            base = ref.get((r["precision"], label))
            if base:
                r[f"latency_vs_{label}"] = base["p50_ms"] / r["p50_ms"]
                r[f"throughput_vs_{label}"] = r["tokens_per_s"] / base["tokens_per_s"]
        out.append(r)
    return out


def _deploy_table(results):
    deploy = results.get("deploy")
    if not deploy:
        return ["## Deployed speed", "", "Not measured (`speed.deploy: false`).", ""]
    quality = deploy["quality"]
    lines = ["## Deployed speed (side by side, same machine, same run)", "",
             "The teacher as a practitioner deploys it (CTranslate2) against every one-pass NAT "
             "as exported by `nat-export` and run by ONNX Runtime (and `nat-translate --backend "
             f"torch`), {deploy['threads']} thread, one system after another in one process. "
             f"Batch 1: p50/p90 ms per sentence over {deploy['latency_sentences']} test "
             f"sentences timed alone; throughput: reference target tokens/s over the test set "
             f"at batch {deploy['throughput_batch']}. Speed-ups are against CTranslate2 of the "
             f"same precision (fp32 vs fp32, int8 vs int8).", "",
             "| system | precision | BLEU | same output as fairseq-generate | b1 p50 ms | "
             "b1 p90 ms | tokens/s | b1 speed-up vs CT2 greedy / beam 5 | throughput vs CT2 "
             "greedy / beam 5 |", "|---|---|---|---|---|---|---|---|---|"]
    for r in deploy_ratios(deploy["rows"]):
        q = quality.get(f"{r['system']} {r['precision']}", {})
        same = q.get("identical_share")
        lines.append(
            f"| {r['system']} | {r['precision']} | {_fmt(q.get('bleu'))} | "
            f"{'–' if same is None else f'{same:.1%}'} | {r['p50_ms']:.2f} | "
            f"{r['p90_ms']:.2f} | {r['tokens_per_s']:.0f} | "
            f"{_fmt(r.get('latency_vs_greedy'), '{:.2f}x')} / "
            f"{_fmt(r.get('latency_vs_beam5'), '{:.2f}x')} | "
            f"{_fmt(r.get('throughput_vs_greedy'), '{:.2f}x')} / "
            f"{_fmt(r.get('throughput_vs_beam5'), '{:.2f}x')} |")
    lines += ["", "BLEU and output agreement are over the whole test set. int8 quantizes "
                  "activations per batch, so its outputs can depend on the batch."]
    if deploy.get("skipped"):
        lines += [f"Not exported (decoding beyond one pass stays with fairseq-generate): "
                  f"{', '.join(deploy['skipped'])}."]
    return lines + [""]


def _headline(results, batch_key):
    bleu = "multi-ref BLEU"
    if results.get("data"):
        n = len(results["data"]["references"])
        bleu = f"BLEU ({n} ref{'s' if n > 1 else ''})"
    lines = [f"| model | trained on | {bleu} | mixed sentences | language entropy bits "
             f"| sentences/s batch 1 | sentences/s {batch_key.split('_')[-1]} |",
             "|---|---|---|---|---|---|---|"]
    for m in results["models"]:
        lines.append(f"| {m['name']} | {m['train_data']} | {_fmt(m['bleu'])} | "
                     f"{_fmt(m['mixed_sentence_rate'], '{:.3f}')} | "
                     f"{_fmt(m['language_entropy_bits'], '{:.3f}')} | "
                     f"{_fmt(m['sentences_per_second_batch1'])} | {_fmt(m[batch_key])} |")
    return lines
