"""metrics.json + report.md + PNG plots for one analysis (corpus or outputs) or a comparison."""
import json
import math
import os

from analysis import plots, reliability_plot
from nat.textio import write_lines_atomic

HEADLINE = ("complexity_bits", "faithfulness_bits", "mode_cross_entropy_bits",
            "total_correlation_estimate_bits", "mixed_sentence_rate",
            "language_entropy_bits", "repetition_rate", "repetition_excess", "sacrebleu",
            "tokenized_bleu", "valid_rate", "synonym_entropy_bits", "synonym_entropy_truth_bits",
            "synonym_entropy_expected_bits", "synonym_variation_kept", "target_types_per_word",
            "distinct_1", "distinct_2", "distinct_3", "distinct_4", "rare_word_recall",
            "rare_word_recall_lexicon", "ece", "mce", "mean_confidence", "token_accuracy",
            "mean_entropy_bits")


def _clean(value):
    """NaN/inf -> None so metrics.json is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def write_json(path, data):
    text = json.dumps(_clean(data), indent=1, default=float, allow_nan=False)
    write_lines_atomic(path, [text])


def _fmt(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _plots_for(metrics, out, prefix=""):
    """Figures of one analysis; returns [(caption, file name)]."""
    made, m, name = [], metrics["measures"], metrics.get("name", "")
    aligned = m.get("alignments", {})
    if aligned:
        variants = ["unweighted", "frequency_weighted", "miller_madow"]
        series = {al: [a["complexity"][v]["value"] for v in variants] for al, a in aligned.items()}
        made.append(("Complexity C(d) by estimator and aligner", plots.grouped_bars(
            os.path.join(out, prefix + "complexity.png"), variants, series,
            f"C(d) of {name}: mean entropy of p(y|x)", "C(d) [bits per source type]")))
        first = next(iter(aligned.values()))
        made.append(("Entropy H(y|x) of each source type", plots.histogram(
            os.path.join(out, prefix + "source_entropy.png"),
            first["complexity"]["per_source_entropy_histogram"],
            f"{name}: per-source-type H(y|x) ({first['settings']['aligner']} links)",
            "H(y|x) [bits]")))
    mix = m.get("mixing")
    if mix:
        made.append(("Language shares per sentence (one point each)", plots.simplex(
            os.path.join(out, prefix + "simplex.png"), {name: mix["simplex_sample"]},
            mix["languages"], "Language shares per sentence (jittered)")))
        hist = mix["language_choice_histogram"]
        total = max(sum(hist.values()), 1)
        series = {"argmax language": [hist[b] / total for b in hist]}
        if "gold_language_histogram" in mix:
            gold = mix["gold_language_histogram"]
            series["gold language"] = [gold.get(b, 0) / max(sum(gold.values()), 1) for b in hist]
        made.append(("Language choice per sentence", plots.grouped_bars(
            os.path.join(out, prefix + "language_choice.png"), list(hist), series,
            f"{name}: language choice (argmax share)", "fraction of sentences")))
    if "repetition" in m:
        rep = m["repetition"]
        names, vals = ["outputs"], [rep["repetition_rate"]]
        if "reference_repetition_rate" in rep:
            names.append("references")
            vals.append(rep["reference_repetition_rate"])
        made.append(("Repetition rate", plots.bars(
            os.path.join(out, prefix + "repetition.png"), names, vals,
            f"{name}: adjacent repeated tokens", "repeats / tokens")))
    if "bleu" in m:
        nrefs = m["bleu"]["sacrebleu"]["n_references"]
        names = [f"sacreBLEU 13a\n{nrefs} ref(s)", f"tokenized\n{nrefs} ref(s)"]
        vals = [m["bleu"]["sacrebleu"]["score"], m["bleu"]["tokenized"]["score"]]
        for lang, s in m.get("per_language_bleu", {}).items():
            names.append(f"vs {lang}" if lang != "chosen_language" else "vs chosen lang")
            vals.append(s["score"])
        made.append(("BLEU", plots.bars(os.path.join(out, prefix + "bleu.png"), names, vals,
                                        f"{name}: BLEU", "BLEU [0-100]", "{:.1f}")))
    if "calibration" in m:
        c = m["calibration"]
        made.append(("Reliability diagram", reliability_plot.draw(
            os.path.join(out, prefix + "reliability.png"), c["reliability"],
            f"{name}: ECE {c['ece']:.3f}, {c['n_tokens']} tokens ({c['settings']['labels']})")))
    return made


def _settings_lines(metrics):
    lines, m = [], metrics["measures"]
    for al, a in m.get("alignments", {}).items():
        lines.append(f"- alignment `{al}`: {json.dumps(a['settings'])}; {a['links']} links; "
                     f"reordering FRS {_fmt(a['reordering']['fuzzy_reordering_score'])}, "
                     f"Kendall tau {_fmt(a['reordering']['kendall_tau'])}")
        for v, c in a["complexity"].items():
            if "value" in c:
                lines.append(f"  - C(d) {v}: {_fmt(c['value'])} {c['settings']['unit']} over "
                             f"{c['n_source_types']} source types ({json.dumps(c['settings'])})")
    for key in ("faithfulness", "mixing", "repetition"):
        if key in m:
            lines.append(f"- {key} settings: {json.dumps(m[key]['settings'])}")
    if "nll_gap" in m.get("sentence_level", {}):
        lines += _gap_lines(m["sentence_level"]["nll_gap"])
    if "mode_classifier" in m.get("sentence_level", {}):
        s = m["sentence_level"]["mode_classifier"]
        lines.append(f"- mode classifier: held-out cross-entropy {_fmt(s['cross_entropy_bits'])} "
                     f"bits (prior only: {_fmt(s['prior_cross_entropy_bits'])}), accuracy "
                     f"{_fmt(s['accuracy'])}, {s['n_train']} train / {s['n_heldout']} held out; "
                     f"{json.dumps(s['settings'])}")
    if "bleu" in m:
        lines.append(f"- sacreBLEU signature: `{m['bleu']['sacrebleu']['signature']}`; tokenized: "
                     f"`{m['bleu']['tokenized']['signature']}`")
    if "validity" in m:
        v = m["validity"]
        shares = ", ".join(f"{c} {_fmt(x)}" for c, x in v["valid_by_language"].items())
        lines.append(f"- valid rate (exact, against the generator; sources "
                     f"{v['settings']['sources']}): {_fmt(v['valid_rate'])}, {v['n_valid']} of "
                     f"{v['n_sentences']}; by language {shares}")
    if "distinct" in m:
        counts = m["distinct"]["ngrams"]
        lines.append("- distinct-n (distinct / all n-grams, within lines): " + ", ".join(
            f"{n}: {counts[n]['distinct']} / {counts[n]['total']}" for n in counts))
    if "synonym_diversity" in m:
        lines += _synonym_lines(m["synonym_diversity"])
    if "rare_words" in m:
        lines += _rare_word_lines(m["rare_words"])
    if "calibration" in m:
        lines += _calibration_lines(m["calibration"])
    if "validation" in metrics:
        v = metrics["validation"]
        lines += ["", f"## Validation against {v['truth_file']} (split {v['split']}, mode "
                      f"{v['mode']})", "", "| quantity | bits |", "|---|---|"]
        lines += [f"| exact {k} | {_fmt(x)} |" for k, x in v["exact"].items()]
        if "complexity_exact_bits" in v:
            lines.append(f"| exact C* (see analysis.validation) | "
                         f"{_fmt(v['complexity_exact_bits']['value'])} |")
        lines += [f"| {k} | {_fmt(x)} |" for k, x in v.items()
                  if k.endswith("_bits") and isinstance(x, float)]
        lines += ["", f"Tolerances used by the tests: {json.dumps(v['tolerances'])}"]
    return lines


def _synonym_lines(d):
    """Synonym entropy against the generator, overall and per language, and types per word."""
    def entropy(b):
        t = b["truth"]
        return (f"{_fmt(b['value'])} bits (generator H(p) {_fmt(t['value'])}; expected for "
                f"these counts {_fmt(t['expected_plugin'])} ± {_fmt(t['sampling_sd'])}; kept "
                f"{_fmt(b['kept'])}; {b['occurrences']} occurrences of {b['words']} words)")

    types = d["target_types_per_word"]
    lines = [f"- synonym entropy (plug-in, occurrence-weighted; {d['n_invalid']} of "
             f"{d['n_lines']} lines invalid, left out): {entropy(d)}"]
    lines += [f"  - {code}: {entropy(b)}" for code, b in d["by_language"].items()
              if b["occurrences"]]
    lines.append(f"  - synonyms seen per word: {_fmt(types['value'])} (expected "
                 f"{_fmt(types['truth_expected'])}, available "
                 f"{_fmt(types['synonyms_available'])})")
    return lines


def _rare_word_lines(r):
    """Recall by the source word's training frequency."""
    st = r["settings"]
    lines = ["", f"## Rare-word recall (training frequency buckets; pooled = {st['pooled']})",
             "", "| frequency | source types | reference recall | tokens | lexicon recall | "
             "occurrences |", "|---|---|---|---|---|---|"]
    empty = {"recall": None, "total": 0}
    for name in r["buckets"]:
        ref, lex = r.get("reference", {}).get(name, empty), r.get("lexicon", {}).get(name, empty)
        lines.append(f"| {name} | {r['source_types'][name]} | {_fmt(ref['recall'])} | "
                     f"{ref['total']} | {_fmt(lex['recall'])} | {lex['total']} |")
    lines.append(f"| pooled | | {_fmt(r.get('reference_pooled'))} | | "
                 f"{_fmt(r.get('lexicon_pooled'))} | |")
    return lines


def _calibration_lines(c):
    """ECE and MCE with the reliability table."""
    st = c["settings"]
    entropy = (f", mean entropy {_fmt(c['mean_entropy_bits'])} bits"
               if "mean_entropy_bits" in c else "")
    lines = ["", f"## Calibration ({c['n_tokens']} tokens, labels {st['labels']}; {st['bins']} "
                 f"bins, {st['binning']})", "",
             f"ECE {_fmt(c['ece'])}, MCE {_fmt(c['mce'])}, mean confidence "
             f"{_fmt(c['mean_confidence'])}, token accuracy {_fmt(c['token_accuracy'])}{entropy}",
             "", "| confidence | tokens | mean confidence | accuracy |", "|---|---|---|---|"]
    lines += [f"| {r['lower']:.2f}-{r['upper']:.2f} | {r['count']} | "
              f"{_fmt(r['mean_confidence'])} | {_fmt(r['accuracy'])} |" for r in c["reliability"]]
    return lines


def _gap_lines(gap):
    """The total-correlation estimate (NAT minus AT NLL) with its units and models."""
    st = gap["settings"]
    unit = st.get("unit", "bits per sentence")
    lines = [f"- total correlation estimate (NLL_NAT - NLL_AT): {_fmt(gap['value'])} "
             f"± {_fmt(gap['standard_error'])} {unit} (standard error) over "
             f"{gap['n_sentences']} pairs; {st['estimate']}"]
    means = gap.get("mean_nll_bits")
    if means:
        parts = [f"AT {_fmt(means['at'])}", f"NAT {_fmt(means['nat'])}"]
        if means.get("nat_length") is not None:
            parts += [f"of which tokens given the length {_fmt(means['nat_tokens'])}",
                      f"length {_fmt(means['nat_length'])}"]
        lines.append(f"  - mean NLL in bits per sentence: {', '.join(parts)}")
    if "without_length_nll" in gap:
        w = gap["without_length_nll"]
        lines.append(f"  - without the NAT's length NLL: {_fmt(w['value'])} ± "
                     f"{_fmt(w['standard_error'])} {unit}")
    if gap.get("n_unscorable"):
        lines.append(f"  - {gap['n_unscorable']} pairs left out (infinite NLL under a model)")
    for role in ("at", "nat"):
        if role in st:
            info = st[role]
            lines.append(f"  - {role.upper()} model: `{info['path']}` ({info['model']}, arch "
                         f"{info['arch']}, sha256 {info['sha256'][:12]}): {info['scoring']}")
    rest = {k: v for k, v in st.items() if k not in ("at", "nat", "estimate")}
    lines.append(f"  - settings: {json.dumps(rest)}")
    return lines


def write_analysis(metrics, out):
    """Write out/metrics.json, out/report.md and the plots of one analysis."""
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "metrics.json"), metrics)
    figures = _plots_for(metrics, out)
    md = [f"# nat-analyze {metrics['kind']}: {metrics.get('name', '')}", "",
          f"Signature: `{metrics.get('signature', '')}`", "", "| measure | value |", "|---|---|"]
    md += [f"| {k} | {_fmt(metrics[k])} |" for k in HEADLINE if k in metrics]
    md += ["", "## Settings and details", ""] + _settings_lines(metrics) + ["", "## Plots", ""]
    md += [f"### {cap}\n\n![{cap}]({os.path.basename(path)})\n" for cap, path in figures]
    write_lines_atomic(os.path.join(out, "report.md"), md)
    return os.path.join(out, "report.md")


def write_comparison(table, analyses, out):
    """Side-by-side report of several analyses (metrics dicts) with shared plots."""
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, "metrics.json"), table)
    names = table["names"]
    md = ["# nat-analyze compare", "", "| measure | " + " | ".join(names) + " |",
          "|---|" + "---|" * len(names)]
    md += [f"| {k} | " + " | ".join(_fmt(v) for v in vals) + " |"
           for k, vals in table["table"].items()]
    md += ["", "Signatures:", ""] + [f"- {n}: `{s}`" for n, s in zip(names, table["signatures"])]
    md += ["", "## Plots", ""]
    units = {"complexity_bits": "C(d) [bits per source type]", "sacrebleu": "BLEU [0-100]",
             "tokenized_bleu": "BLEU [0-100]", "mixed_sentence_rate": "fraction of sentences",
             "language_entropy_bits": "mean H(shares) [bits]",
             "mode_cross_entropy_bits": "cross-entropy [bits per sentence]",
             "repetition_rate": "repeats / tokens", "faithfulness_bits": "F(d) [bits]",
             "total_correlation_estimate_bits": "NLL_NAT - NLL_AT [bits per sentence]",
             "valid_rate": "valid translations / hypotheses",
             "synonym_entropy_bits": "synonym entropy [bits]",
             "synonym_variation_kept": "synonym entropy / expected under the generator",
             "rare_word_recall": "recall of rare words' reference tokens",
             "ece": "expected calibration error", "token_accuracy": "correct tokens / tokens"}
    for key, ylabel in units.items():
        vals = table["table"].get(key)
        if vals and any(v is not None for v in vals):
            path = plots.bars(os.path.join(out, f"{key}.png"), names, vals,
                              f"{key} side by side", ylabel)
            md.append(f"### {key}\n\n![{key}]({os.path.basename(path)})\n")
    panels = {a["name"]: a["measures"]["mixing"]["simplex_sample"] for a in analyses
              if "mixing" in a.get("measures", {})}
    if panels:
        langs = next(a["measures"]["mixing"]["languages"] for a in analyses
                     if "mixing" in a.get("measures", {}))
        path = plots.simplex(os.path.join(out, "simplex.png"), panels, langs,
                             "Language shares per sentence (jittered)")
        md.append(f"### Language simplex\n\n![simplex]({os.path.basename(path)})\n")
        groups = langs + ["tie", "unknown", "empty"]
        series = {}
        for a in analyses:
            if "mixing" in a.get("measures", {}):
                h = a["measures"]["mixing"]["language_choice_histogram"]
                series[a["name"]] = [h.get(g, 0) / max(sum(h.values()), 1) for g in groups]
        path = plots.grouped_bars(os.path.join(out, "language_choice.png"), groups, series,
                                  "Language choice per sentence (argmax share)",
                                  "fraction of sentences")
        md.append(f"### Language choice\n\n![language choice]({os.path.basename(path)})\n")
    write_lines_atomic(os.path.join(out, "report.md"), md)
    return os.path.join(out, "report.md")
