"""The seed talk's tables (``nat-experiment --preset seed``): one section per table, each with
the literature's claim stated before the numbers, then ✓ / ✗ / – (not measurable) per check.

``nat.experiment.seed_plan.collect`` builds the rows from the seed plan's scored systems, the
experiment's own results and each run's CPU time, with the checks defined here; the result is
what ``results.json["seed_tables"]`` holds, and ``section(results, fig_dir)`` renders the report
(and the NAT decoding figure) from it alone.  Every check is a plain function of numbers
(``tests/test_seed.py`` feeds them hand-made ones); a missing number makes a check "not
measurable", never ✓ or ✗.
"""
import os

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from analysis import plots  # noqa: E402

#: key -> (title, source, the claim as the literature states it)
SECTIONS = {
    "kimrush": ("Word-KD vs Seq-KD vs Seq-Inter for AR students", "Kim & Rush 2016",
                "Seq-KD beats Word-KD, which beats training on the data; a Seq-KD student "
                "decodes greedily almost as well as with beam search, so it is much faster"),
    "ensemble": ("Ensemble distillation", "Freitag et al. 2017",
                 "a student distilled from an ensemble beats one distilled from one teacher"),
    "stealing": ("Model stealing: official vs imitation", "Wallace et al. 2020",
                 "an imitation model trained only on a black box's answers to other queries "
                 "comes within about a BLEU of the official model (32.0 vs 31.5)"),
    "multilingual": ("Multilingual selective KD", "Tan et al. 2019",
                     "a multilingual student distilled from per-language teachers, with KD "
                     "switched off for a language once it beats that teacher, does better than "
                     "no KD and than KD always on"),
    "shleifer": ("Shrink / KD / Seq-KD with their cost", "Shleifer & Rush 2020",
                 "Seq-KD gives the best student for translation, at the highest cost; shrink "
                 "and fine-tune is the cheapest and competitive"),
    "natdecode": ("NAT decoding: distillation vs none", "Gu et al. 2018; Deng & Rush 2020",
                  "every NAT decoding scheme, from one pass to iterative refinement, gains "
                  "from distilled training data; slower schemes gain BLEU"),
    "unimodality": ("Why it works: unimodality", "Zhou et al. 2020",
                    "distillation lowers corpus complexity (fewer modes), and NATs trained on "
                    "it mix fewer modes in one output"),
    "born_again": ("Born-again / iterated distillation", "Furlanello et al. 2018; MSR Asia "
                   "WMT19", "iterating distillation keeps simplifying the data without "
                   "losing much accuracy"),
    "rnn": ("Distilling into a fast RNN", "Kim et al. 2019",
            "a Seq-KD RNN student beats one trained on the data and is faster than the "
            "transformer teacher"),
}


def check(claim, holds, detail):
    return {"claim": claim, "holds": holds, "detail": detail}


def _get(row, key):
    return None if row is None else row.get(key)


def _all(*values):
    return all(v is not None for v in values)


def _fmt(value, spec="{:.1f}"):
    return "n/a" if value is None else spec.format(value)


def greater(claim, a, b, a_name, b_name, margin=0.0, spec="{:.1f}"):
    """``a > b + margin`` (BLEU and such): holds / fails / not measurable."""
    if not _all(a, b):
        return check(claim, None, f"not measurable ({a_name} {_fmt(a, spec)}, {b_name} "
                                  f"{_fmt(b, spec)})")
    return check(claim, a > b + margin, f"{a_name} {_fmt(a, spec)} vs {b_name} {_fmt(b, spec)}"
                 + (f" (margin {margin:g})" if margin else ""))


def within(claim, a, b, a_name, b_name, gap):
    """``|a - b| <= gap``."""
    if not _all(a, b):
        return check(claim, None, f"not measurable ({a_name} {_fmt(a)}, {b_name} {_fmt(b)})")
    return check(claim, abs(a - b) <= gap,
                 f"{a_name} {_fmt(a)} vs {b_name} {_fmt(b)}: gap {abs(a - b):.1f} "
                 f"(at most {gap:g} holds)")


def decreasing(claim, values, names):
    """Each value below the one before it."""
    if len(values) < 2 or not _all(*values):
        return check(claim, None, "not measurable (" + ", ".join(
            f"{n} {_fmt(v, '{:.3f}')}" for n, v in zip(names, values)) + ")")
    detail = f"{names[0]} {values[0]:.3f}"
    for a, (n, b) in zip(values, zip(names[1:], values[1:])):
        detail += f" {'>' if b < a else '<='} {n} {b:.3f}"
    return check(claim, all(b < a for a, b in zip(values, values[1:])), detail)


def share(claim, pairs, what):
    """Every pair ``(a, b)`` has ``a > b``; the detail counts them."""
    pairs = [(a, b) for a, b in pairs if _all(a, b)]
    if not pairs:
        return check(claim, None, f"not measurable (no {what})")
    wins = sum(a > b for a, b in pairs)
    return check(claim, wins == len(pairs), f"{wins} of {len(pairs)} {what}")


# --- rows and checks per section -----------------------------------------------------------
def kimrush(rows):
    """rows: {model, data, bleu_greedy, bleu_beam5, beam5_output_probability, ...}."""
    by = {r["model"]: r for r in rows}
    raw, word, seq, inter = (by.get(k) for k in ("student_raw", "student_wordkd",
                                                 "student_seqkd", "student_seqinter"))
    return [
        greater("Seq-KD student beats the student trained on the data (beam 5)",
                _get(seq, "bleu_beam5"), _get(raw, "bleu_beam5"), "Seq-KD", "raw"),
        greater("Seq-KD beats Word-KD (beam 5)", _get(seq, "bleu_beam5"),
                _get(word, "bleu_beam5"), "Seq-KD", "Word-KD"),
        greater("Word-KD beats training on the data (beam 5)", _get(word, "bleu_beam5"),
                _get(raw, "bleu_beam5"), "Word-KD", "raw"),
        greater("Seq-Inter beats Seq-KD (beam 5)", _get(inter, "bleu_beam5"),
                _get(seq, "bleu_beam5"), "Seq-Inter", "Seq-KD"),
        greater("the Seq-KD student loses less than the raw one by decoding greedily "
                "(BLEU beam 5 - greedy, smaller is better)", _gap(raw), _gap(seq),
                "raw's loss", "Seq-KD's loss"),
        greater("the Seq-KD student puts more probability on its beam-5 output than the raw "
                "one (mean p(output | source))", _get(seq, "beam5_output_probability"),
                _get(raw, "beam5_output_probability"), "Seq-KD", "raw", spec="{:.1%}"),
    ]


def _gap(row):
    if not _all(_get(row, "bleu_greedy"), _get(row, "bleu_beam5")):
        return None
    return row["bleu_beam5"] - row["bleu_greedy"]


def ensemble(rows):
    by = {r["row"]: r for r in rows}
    single = next((r for r in rows if r["row"] == "nat_vanilla_tiny" and "teacher 1" in
                   r["data"]), None)
    ens = next((r for r in rows if r["row"] == "nat_vanilla_tiny" and "ensemble" in r["data"]),
               None)
    members = [r["bleu"] for r in rows if r["row"].startswith("teacher seed")]
    ens_teacher = next((r["bleu"] for k, r in by.items() if k.startswith("ensemble of 3")), None)
    return [
        greater("the NAT distilled from the ensemble beats the one distilled from teacher 1",
                _get(ens, "bleu"), _get(single, "bleu"), "ensemble's student", "teacher 1's"),
        greater("the ensemble beats its best member", ens_teacher,
                max(members) if members and _all(*members) else None, "ensemble",
                "best member"),
    ]


def stealing(rows):
    def find(who, test):
        return next((r["bleu"] for r in rows if r["row"].startswith(who) and r["test"] == test),
                    None)
    return [
        within("imitation within 2 BLEU of official, in-distribution test",
               find("imitation", "in-distribution"), find("official", "in-distribution"),
               "imitation", "official", 2.0),
        within("imitation within 2 BLEU of official, shifted test (the queries' distribution)",
               find("imitation", "shifted"), find("official", "shifted"), "imitation",
               "official", 2.0),
    ]


def multilingual(rows):
    mean = {}
    for name in ("selective KD", "KD always on", "no KD"):
        values = [r.get(name) for r in rows]
        mean[name] = sum(values) / len(values) if values and _all(*values) else None
    return [
        greater("selective KD beats no KD (mean over languages)", mean["selective KD"],
                mean["no KD"], "selective", "no KD"),
        greater("selective KD beats KD always on (mean over languages)", mean["selective KD"],
                mean["KD always on"], "selective", "always on"),
    ]


def shleifer(rows):
    found = []
    for size in dict.fromkeys(r["size"] for r in rows):
        by = {r["method"]: r for r in rows if r["size"] == size}
        others = [_get(by.get(m), "bleu") for m in ("shrink", "kd")]
        best_other = max(others) if _all(*others) else None
        found.append(greater(f"{size}: Seq-KD scores highest", _get(by.get("seqkd"), "bleu"),
                             best_other, "Seq-KD", "best of shrink / KD"))
        costs = [_get(by.get(m), "cost_cpu_minutes") for m in ("kd", "seqkd")]
        found.append(greater(f"{size}: shrink and fine-tune is the cheapest",
                             min(costs) if _all(*costs) else None,
                             _get(by.get("shrink"), "cost_cpu_minutes"),
                             "cheapest of KD / Seq-KD (CPU min)", "shrink"))
    return found


def natdecode(rows):
    pairs = [(r.get("bleu_distilled"), r.get("bleu_raw")) for r in rows]
    cmlm = [r.get("bleu_raw") for r in rows if r["system"].startswith("CMLM")]
    return [
        share("distillation lifts every decoding scheme", pairs, "schemes gain"),
        greater("CMLM: 10 passes beat 1 pass (raw data)", cmlm[-1] if cmlm else None,
                cmlm[0] if cmlm else None, "10 passes", "1 pass"),
    ]


def unimodality(rows, corpora):
    raw = next((c for c in corpora if c["name"] == "raw"), None)
    dist = next((c for c in corpora if c["name"] == "distilled"), None)
    return [
        greater("the distilled corpus is less complex than the raw one (C(d), bits)",
                _get(raw, "complexity_bits"), _get(dist, "complexity_bits"), "raw",
                "distilled"),
        share("every NAT mixes fewer languages in one output when trained on distilled data",
              [(r.get("mixed_raw"), r.get("mixed_distilled")) for r in rows], "NATs mix less"),
        share("every NAT scores higher on distilled data",
              [(r.get("bleu_distilled"), r.get("bleu_raw")) for r in rows], "NATs gain"),
    ]


def born_again(rows):
    """Complexity over every corpus of the chain (the last one has no teacher trained on it),
    BLEU over the teachers trained."""
    complexity = [r.get("complexity_bits") for r in rows]
    bleus = [r.get("teacher_bleu") for r in rows if r.get("teacher_bleu") is not None]
    return [
        decreasing("corpus complexity falls with every generation", complexity,
                   [r["corpus"] for r in rows]),
        within("the last generation's teacher stays within 2 BLEU of the first",
               bleus[-1] if bleus else None, bleus[0] if bleus else None,
               "last", "first", 2.0),
    ]


def rnn(rows):
    by = {r["data"]: r for r in rows}
    return [
        greater("the Seq-KD LSTM beats the LSTM trained on the data", _get(by.get("Seq-KD"),
                "bleu"), _get(by.get("raw"), "bleu"), "Seq-KD", "raw"),
        greater("the Seq-KD LSTM decodes faster than the teacher (batch 128, beam 5 both)",
                _get(by.get("Seq-KD"), "speed_vs_teacher"), 1.0, "speed ratio", "1"),
    ]


# --- rendering -------------------------------------------------------------------------------
_MARK = {True: "✓", False: "✗", None: "–"}


def table(rows, columns):
    """Markdown table of ``rows`` (dicts) with ``columns`` ((key, heading, format))."""
    lines = ["| " + " | ".join(h for _, h, _ in columns) + " |",
             "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for key, _, spec in columns:
            v = r.get(key)
            cells.append(_fmt(v, spec) if spec and not isinstance(v, str) else
                         "" if v is None else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


#: the columns of each section's table
COLUMNS = {
    "kimrush": [("model", "student", None), ("data", "trained on", None),
                ("bleu_greedy", "BLEU greedy", "{:.1f}"), ("bleu_beam5", "BLEU beam 5", "{:.1f}"),
                ("sentences_per_second_greedy", "sent/s greedy (b128)", "{:.0f}"),
                ("sentences_per_second_beam5", "sent/s beam 5 (b128)", "{:.0f}"),
                ("speedup_greedy_vs_teacher_beam5", "greedy speed / teacher beam 5", "{:.2f}"),
                ("beam5_output_probability", "p(beam-5 output)", "{:.1%}")],
    "ensemble": [("row", "system", None), ("data", "trained on", None),
                 ("bleu", "BLEU", "{:.1f}"), ("mixed", "mixed", "{:.3f}"),
                 ("valid", "valid", "{:.3f}")],
    "stealing": [("row", "system", None), ("test", "test set", None), ("bleu", "BLEU", "{:.1f}"),
                 ("valid", "valid", "{:.3f}")],
    "multilingual": [("language", "language", None), ("teacher", "teacher", "{:.1f}"),
                     ("selective KD", "student, selective KD", "{:.1f}"),
                     ("KD always on", "student, KD always on", "{:.1f}"),
                     ("no KD", "student, no KD", "{:.1f}"), ("switches", "selective KD switches",
                                                            None)],
    "shleifer": [("size", "layers enc+dec", None), ("method", "method", None),
                 ("bleu", "BLEU", "{:.1f}"), ("train_cpu_minutes", "training CPU min", "{:.2f}"),
                 ("data_cpu_minutes", "pseudo-labels CPU min", "{:.2f}"),
                 ("cost_cpu_minutes", "cost CPU min", "{:.2f}")],
    "natdecode": [("system", "decoding", None), ("bleu_raw", "BLEU raw", "{:.1f}"),
                  ("bleu_distilled", "BLEU distilled", "{:.1f}"),
                  ("speed_distilled", "sent/s (b128, distilled)", "{:.0f}"),
                  ("speed_vs_teacher", "speed / teacher beam 5", "{:.2f}")],
    "unimodality": [("model", "NAT", None), ("bleu_raw", "BLEU raw", "{:.1f}"),
                    ("bleu_distilled", "BLEU distilled", "{:.1f}"),
                    ("mixed_raw", "mixed raw", "{:.3f}"),
                    ("mixed_distilled", "mixed distilled", "{:.3f}")],
    "born_again": [("generation", "generation", None), ("corpus", "corpus", None),
                   ("complexity_bits", "C(d) bits", "{:.3f}"),
                   ("mixed", "mixed sentences", "{:.3f}"),
                   ("teacher", "teacher trained on it", None),
                   ("teacher_bleu", "that teacher's BLEU", "{:.1f}")],
    "rnn": [("row", "model", None), ("data", "trained on", None), ("bleu", "BLEU", "{:.1f}"),
            ("speed", "sent/s (b128)", "{:.0f}"), ("speed_vs_teacher", "speed / teacher",
                                                   "{:.2f}")],
}


def _natdecode_plot(path, rows):
    """BLEU on raw (hollow) and distilled (filled) data of each NAT decoding scheme, at the
    scheme's measured speed relative to the teacher (the seed's "faster ↓ slower" axis)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k, row in enumerate(r for r in rows if r.get("speed_vs_teacher")):
        color, x = plots.COLORS[k % len(plots.COLORS)], row["speed_vs_teacher"]
        if row.get("bleu_raw") is not None and row.get("bleu_distilled") is not None:
            ax.plot([x, x], [row["bleu_raw"], row["bleu_distilled"]], color=color, alpha=0.4)
        if row.get("bleu_raw") is not None:
            ax.scatter(x, row["bleu_raw"], s=45, facecolors="none", edgecolors=color)
        if row.get("bleu_distilled") is not None:
            ax.scatter(x, row["bleu_distilled"], s=45, color=color, label=row["system"])
    ax.axvline(1.0, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("sentences / s relative to the teacher's beam 5 (batch 128, log scale)")
    ax.set_ylabel("multi-reference sacreBLEU")
    ax.set_title("NAT decoding: raw data (hollow) vs distilled (filled)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def section(results, fig_dir=None):
    """The report's lines for ``results["seed_tables"]`` (none when absent); the NAT decoding
    figure goes to ``fig_dir``."""
    tables = results.get("seed_tables")
    if not tables:
        return []
    lines = ["## The seed talk's tables, at small scale", "",
             f"One section per table of the seed talk (`nat-experiment --preset seed`): the "
             f"claim first, then ✓ holds / ✗ fails / – not measurable, then the rows. BLEU is "
             f"multi-reference sacreBLEU on the test set; speeds are fairseq-generate's at batch "
             f"128, each table's rows decoded in one process one after another (ratios, not "
             f"absolute times). The seed stage took {tables.get('seconds', 0) / 60:.1f} min.", ""]
    for key, (title, source, claim) in SECTIONS.items():
        entry = tables["sections"].get(key)
        if entry is None:
            continue
        lines += [f"### {title} ({source})", "", f"*Claim:* {claim}.", ""]
        lines += [f"- {_MARK[c['holds']]} {c['claim']}: {c['detail']}" for c in entry["checks"]]
        lines += [""] + table(entry["rows"], COLUMNS[key]) + [""]
        if entry.get("note"):
            lines += [entry["note"], ""]
        if key == "natdecode" and fig_dir and any(r.get("speed_vs_teacher") for r in
                                                  entry["rows"]):
            _natdecode_plot(os.path.join(fig_dir, "seed_natdecode.png"), entry["rows"])
            lines += ["![NAT decoding, raw vs distilled](figures/seed_natdecode.png)", ""]
    return lines
