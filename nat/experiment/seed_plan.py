"""The steps of ``nat-experiment --preset seed`` after the experiment itself: the seed talk's
tables that need more than the experiment's own models (``nat.experiment.seed`` turns their
scores into the report's sections).

``SeedPlan`` is ``nat-bench methods``' plan (``nat.bench.methods.Plan``: every step a real
command, every system scored by ``nat-analyze outputs``) over the finished experiment in OUT,
writing to OUT/seed, with the sections the bench does not have: the AR students of Kim & Rush
decoded greedily and with beam 5, model stealing with a shifted test set, multilingual
selective KD, shrink / Word-KD / Seq-KD at two sizes with their cost, and NAT decoding rows
(length beam with AR reranking, DAG strategies, CMLM passes).
"""
import json
import os
from dataclasses import dataclass

from nat import console_pool, fairseq_cli
from nat.bench import methods
from nat.experiment import seed

#: the plan's methods behind each section (unimodality and born-again read the experiment)
PLAN_METHODS = {"kimrush": ("kimrush",), "ensemble": ("ensemble",), "stealing": ("blackbox",),
                "multilingual": ("multilingual",), "shleifer": ("shleifer",),
                "natdecode": ("natdecode", "cmlm"), "rnn": ("lstm",)}
#: the experiment's AR students (the seed preset's ``ar_students``): name -> what it learns from
STUDENTS = (("student_raw", "raw data"), ("student_wordkd", "raw data + Word-KD"),
            ("student_seqkd", "Seq-KD data"), ("student_seqinter", "Seq-Inter data"),
            ("student_seqkd_wordkd", "Seq-KD data + Word-KD"))
LANGS = ("xa", "xb", "xc")


@dataclass
class Options:
    """What ``methods.Plan`` reads, from the seed config section."""
    experiment: str
    out: str
    methods: str
    updates: int
    teacher_updates: int
    subset: int
    query_zipf: float
    lstm_lr: float
    multilingual_train: int
    multilingual_updates: int
    check_interval: int


class SeedPlan(methods.Plan):
    """The steps and systems of the seed sections (no file is touched to build it)."""
    METHODS = ("kimrush", "ensemble", "blackbox", "multilingual", "shleifer", "natdecode",
               "cmlm", "lstm")

    def checkpoint(self, name):
        return os.path.join(self.o.experiment, "checkpoints", name, "checkpoint_last.pt")

    def kimrush(self):
        """The experiment's AR students and teacher, each greedy and with beam 5."""
        systems = [("teacher", "raw data", self.teacher, kind, "") for kind in ("greedy", "ar")]
        systems += [(name, data, self.checkpoint(name), kind, "")
                    for name, data in STUDENTS for kind in ("greedy", "ar")]
        self.decode("kimrush", [(f"{row} {'beam 5' if kind == 'ar' else 'greedy'}", data, ckpt,
                                 kind, notes) for row, data, ckpt, kind, notes in systems], ())

    def blackbox(self):
        """The bench's imitation student, also scored on a shifted test set (the query
        corpus's own test split: another seed and Zipf exponent)."""
        super().blackbox()
        m = "blackbox"
        queries = self.path(m, "queries")
        synth = next(s for s in self.steps if s.name == f"{m}/synth_queries")
        synth.args[synth.args.index("--test") + 1] = str(min(300, self.o.subset))
        shifted = self.path(m, "shifted_bin")
        prep = self.command(m, "binarize_shifted", "fairseq-preprocess", fairseq_cli.preprocess_args(
            shifted, {"test": os.path.join(queries, "test")}, srcdict=os.path.join(
                self.raw, "dict.src.txt"), tgtdict=os.path.join(self.raw, "dict.tgt.txt")),
            deps=[synth.name])
        student = os.path.join(self.path(m, "checkpoints", "student"), "checkpoint_last.pt")
        self.decode("blackbox_shifted", [
            ("official teacher (fairseq beam 5)", "shifted test set", self.teacher, "ar", ""),
            ("imitation transformer_student_tiny", "shifted test set", student, "ar",
             "no gold targets")], deps=[prep, f"{m}/train_student"], data_bin=shifted,
            ref_dir=queries)

    def multilingual(self):
        """Tan et al. 2019: one teacher per target language, one tagged student with
        selective KD (margin 1 BLEU), KD always on (margin 1000) and none."""
        m = "multilingual"
        raw, ml = self.path(m, "synth"), self.path(m, "ml")
        n, updates = self.o.multilingual_train, self.o.multilingual_updates
        synth = self.command(m, "synth", "nat-synth", [
            "--out", raw, "--mode", "all", "--seed", 11, "--train", n, "--valid", min(100, n),
            "--test", min(100, n), "--preset", "small", "--quiet", "--overwrite"])
        prep = self.command(m, "prepare", "nat-multilingual", ["--raw", raw, "--out", ml],
                            deps=[synth])
        teachers, steps = {}, []
        recipe = fairseq_cli.Recipe("transformer_teacher_tiny", self.o.teacher_updates,
                                    extra=list(fairseq_cli.AR_TRAIN))
        for lang in LANGS:
            step, teachers[lang] = self.train(m, f"teacher_{lang}", os.path.join(ml, f"bin-{lang}"),
                                              recipe, deps=[prep])
            steps.append(step)
        common = ["--task", "translation_multilingual_kd", "--label-smoothing", "0.1",
                  "--validate-interval-updates", self.o.check_interval,
                  "--validate-interval", 100000, "--eval-bleu-args",
                  '{"max_len_a": 1.5, "max_len_b": 10}']
        kd = ["--criterion", "multilingual_word_kd", "--teacher-paths",
              ",".join(f"{lang}:{teachers[lang]}" for lang in LANGS), "--kd-topk", 4,
              "--kd-alpha", 0.5, "--kd-temperature", 1]
        students = {"selective KD": kd + ["--kd-margin", 1],
                    "KD always on": kd + ["--kd-margin", 1000],
                    "no KD": ["--criterion", "label_smoothed_cross_entropy"]}
        trained = {}
        for name, flags in students.items():
            # COMMON_TRAIN's --disable-validation would switch the checks off: the flags of
            # the recipe are rebuilt without it
            recipe = fairseq_cli.Recipe("transformer_student_tiny", updates,
                                        extra=[*flags, *common])
            slug = name.replace(" ", "_")
            save = self.path(m, "checkpoints", slug)
            tool, args = recipe.launch(os.path.join(ml, "bin"), save, 1)
            args = [a for a in args if a != "--disable-validation"]
            trained[name] = (self.command(m, f"train_{slug}", tool, args, deps=steps),
                             os.path.join(save, "checkpoint_last.pt"), save)
        for lang in LANGS:
            systems = [(f"teacher {lang}", lang, teachers[lang], "ar", "")]
            systems += [(f"student, {name}", lang, ckpt, "ar", "") for name, (_, ckpt, _)
                        in trained.items()]
            self.decode(f"multilingual_{lang}", systems,
                        deps=[s for s, _, _ in trained.values()],
                        data_bin=os.path.join(ml, f"bin-{lang}"),
                        ref_dir=os.path.join(ml, "text", lang), truth=False)
        self.multilingual_dirs = {name: save for name, (_, _, save) in trained.items()}

    def shleifer(self):
        """Shleifer & Rush 2020 at two student sizes: the shrunk teacher fine-tuned on raw data
        (shrink), with Word-KD (KD) and on the Seq-KD corpus (SeqKD), each from the same
        shrunk initialisation; the cost is each run's CPU time (``shleifer_costs``)."""
        m = "shleifer"
        systems, steps = [("teacher 2+2", "raw", self.teacher, "ar", "")], []
        kd = ["--criterion", "word_kd", "--teacher-path", self.teacher, "--label-smoothing",
              "0.1"]
        for enc, dec in ((2, 1), (1, 1)):
            size = f"{enc}+{dec}"
            shrunk = self.path(m, f"shrunk_{enc}x{dec}.pt")
            sh = self.command(m, f"shrink_{enc}x{dec}", "nat-shrink", [
                self.teacher, "--encoder-layers", enc, "--decoder-layers", dec, "--out", shrunk,
                "--data-bin", self.raw, "--overwrite"])
            layers = ["--encoder-layers", enc, "--decoder-layers", dec,
                      "--finetune-from-model", shrunk]
            for name, data, criterion in (("shrink", self.raw, fairseq_cli.AR_TRAIN),
                                          ("kd", self.raw, kd),
                                          ("seqkd", self.distilled, fairseq_cli.AR_TRAIN)):
                recipe = fairseq_cli.Recipe("transformer_teacher_tiny", self.o.updates,
                                            extra=[*criterion, *[str(x) for x in layers]])
                step, ckpt = self.train(m, f"{name}_{enc}x{dec}", data, recipe, deps=[sh])
                steps.append(step)
                systems.append((f"{size} {name}", "Seq-KD" if name == "seqkd" else "raw", ckpt,
                                "ar", ""))
        self.decode(m, systems, deps=steps)

    def natdecode(self):
        """The experiment's vanilla NATs (raw, distilled) with length beam 1 / 3 / 5 reranked
        by the teacher; DAG NATs trained here, decoded greedy / lookahead / Viterbi."""
        m = "natdecode"
        systems = []
        for data in ("raw", "distilled"):
            nat = self.checkpoint(f"vanilla_{data}")
            label = "Seq-KD" if data == "distilled" else "raw"
            systems.append(("vanilla NAT, length beam 1", label, nat, "nat", ""))
            for k in (3, 5):
                systems.append((f"vanilla NAT, length beam {k} + AR reranking", label,
                                f"{nat}:{self.teacher}", f"rerank{k}", ""))
        recipe = fairseq_cli.Recipe("nat_dag_tiny", self.o.updates, nat=True)
        steps = []
        for data, data_bin in (("raw", self.raw), ("Seq-KD", self.distilled)):
            step, ckpt = self.train(m, f"dag_{'raw' if data == 'raw' else 'seqkd'}", data_bin,
                                    recipe)
            steps.append(step)
            for strategy in ("greedy", "lookahead", "viterbi"):
                systems.append((f"DAG, {strategy}", data, ckpt, f"dag-{strategy}", ""))
        self.decode(m, [("teacher beam 5", "raw", self.teacher, "ar", "")] + systems,
                    deps=steps)

    def lstm(self):
        """lstm_student_tiny on raw vs Seq-KD data (its own learning rate), with the teacher
        decoded in the same step for the speed ratio."""
        m, arch = "lstm", "lstm_student_tiny"
        recipe = fairseq_cli.Recipe(arch, self.o.updates, lr=self.o.lstm_lr,
                                    extra=list(fairseq_cli.AR_TRAIN))
        a, ca = self.train(m, "raw", self.raw, recipe)
        b, cb = self.train(m, "seqkd", self.distilled, recipe)
        self.decode(m, [("teacher beam 5", "raw", self.teacher, "ar", ""),
                        (arch, "raw", ca, "ar", ""), (arch, "Seq-KD", cb, "ar", "")],
                    deps=[a, b])


def methods_of(sections):
    """The plan's methods for the seed sections named (in the order of ``seed.SECTIONS``)."""
    return [m for s in seed.SECTIONS if s in sections for m in PLAN_METHODS.get(s, ())]


# --- from scores to the seed tables ----------------------------------------------------------
def _metric(metrics, key):
    return None if metrics is None else metrics.get(key)


def _bleu(metrics):
    return _metric(metrics, "sacrebleu")


def _speed(metrics):
    return _metric(metrics, "sentences_per_second_batch128")


def _ratio(a, b):
    return None if a is None or not b else a / b


def collect(plan, scored, results, cpu_seconds, distill_seconds):
    """``{"sections": {key: {"rows", "checks"}}}`` of the seed tables (``nat.experiment.seed``)
    from the plan's scored systems, the experiment's results, the CPU seconds of each run in
    the pool (by log path) and the Seq-KD corpus's distillation seconds."""
    by_method = {}
    for system, metrics in scored:
        by_method.setdefault(system.method, []).append((system, metrics))
    found = {}

    def rows_of(method):
        return by_method.get(method, [])

    if "kimrush" in by_method:
        got = {s.row: m for s, m in rows_of("kimrush")}
        teacher_speed = _speed(got.get("teacher beam 5"))
        rows = []
        for name, data in (("teacher", "raw data"),) + STUDENTS:
            greedy, beam = got.get(f"{name} greedy"), got.get(f"{name} beam 5")
            rows.append({"model": name, "data": data, "bleu_greedy": _bleu(greedy),
                         "bleu_beam5": _bleu(beam), "sentences_per_second_greedy": _speed(greedy),
                         "sentences_per_second_beam5": _speed(beam),
                         "beam5_output_probability": _metric(beam, "output_probability"),
                         "speedup_greedy_vs_teacher_beam5": _ratio(_speed(greedy),
                                                                   teacher_speed)})
        found["kimrush"] = {"rows": rows, "checks": seed.kimrush(rows)}
    if "ensemble" in by_method:
        rows = [{"row": s.row, "data": s.trained_on, "bleu": _bleu(m),
                 "mixed": _metric(m, "mixed_sentence_rate"), "valid": _metric(m, "valid_rate")}
                for s, m in rows_of("ensemble")]
        found["ensemble"] = {"rows": rows, "checks": seed.ensemble(rows)}
    if "blackbox" in by_method:
        rows = [{"row": s.row, "test": test, "bleu": _bleu(m), "valid": _metric(m, "valid_rate")}
                for method, test in (("blackbox", "in-distribution"),
                                     ("blackbox_shifted", "shifted"))
                for s, m in rows_of(method)]
        found["stealing"] = {"rows": rows, "checks": seed.stealing(rows), "note": (
            f"The imitation student learned from the black box's answers to {plan.o.subset} "
            f"sources of another nat-synth corpus (seed 7, Zipf {plan.o.query_zipf}); it never "
            f"saw a gold target. The shifted test set is that corpus's test split.")}
    if any(m.startswith("multilingual_") for m in by_method):
        rows = []
        history = _history(plan)
        for lang in LANGS:
            got = {s.row: m for s, m in rows_of(f"multilingual_{lang}")}
            row = {"language": lang, "teacher": _bleu(got.get(f"teacher {lang}"))}
            for name in ("selective KD", "KD always on", "no KD"):
                row[name] = _bleu(got.get(f"student, {name}"))
            row["switches"] = ", ".join(
                f"{'on' if s['kd'] else 'off'} at {s['update']}" for s in
                history.get("switches", []) if s["language"] == lang) or "none"
            rows.append(row)
        found["multilingual"] = {"rows": rows, "checks": seed.multilingual(rows), "note": (
            f"{plan.o.multilingual_train} sources in all three languages (nat-synth --mode all), "
            f"one tiny teacher per language ({plan.o.teacher_updates} updates), a tagged "
            f"student of {plan.o.multilingual_updates} updates whose switches are checked every "
            f"{plan.o.check_interval} updates on the validation set (greedy BLEU); the table's "
            f"BLEU is beam 5 on each language's test set.")}
    if "shleifer" in by_method:
        rows = []
        for s, m in rows_of("shleifer"):
            if s.row.startswith("teacher"):
                continue
            size, method = s.row.split(" ", 1)
            enc, dec = size.split("+")
            log = os.path.abspath(plan.path("shleifer", "logs", f"train_{method}_{enc}x{dec}.log"))
            train = cpu_seconds.get(log)
            data = distill_seconds if method == "seqkd" else 0.0
            rows.append({"size": size, "method": method, "bleu": _bleu(m),
                         "train_cpu_minutes": None if train is None else train / 60,
                         "data_cpu_minutes": None if data is None else data / 60,
                         "cost_cpu_minutes": None if train is None or data is None else
                         (train + data) / 60})
        teacher = next((m for s, m in rows_of("shleifer") if s.row.startswith("teacher")), None)
        found["shleifer"] = {"rows": rows, "checks": seed.shleifer(rows), "note": (
            f"The teacher (2+2 layers) scores {seed._fmt(_bleu(teacher))}. Every student starts "
            f"from the teacher's layers (nat-shrink) and trains {plan.o.updates} updates; its "
            f"training CPU time is measured in the worker that ran it (KD includes the teacher's "
            f"forward passes); Seq-KD also pays for its pseudo-labels (the experiment's "
            f"single-threaded distillation of the whole corpus, wall time).")}
    if "natdecode" in by_method or "cmlm" in by_method:
        got = {(s.row, s.trained_on): m for s, m in rows_of("natdecode") + rows_of("cmlm")}
        teacher_speed = _speed(got.get(("teacher beam 5", "raw")))
        labels = list(dict.fromkeys(row for row, data in got if not row.startswith("teacher")))
        rows = []
        for label in labels:
            raw, dist = got.get((label, "raw")), got.get((label, "Seq-KD"))
            system = label.replace("cmlm_tiny", "CMLM,")
            rows.append({"system": system, "bleu_raw": _bleu(raw), "bleu_distilled": _bleu(dist),
                         "speed_distilled": _speed(dist),
                         "speed_vs_teacher": _ratio(_speed(dist), teacher_speed)})
        found["natdecode"] = {"rows": rows, "checks": seed.natdecode(rows), "note": (
            f"Length beam K decodes K lengths in one pass and the teacher picks one (--path "
            f"NAT:AR, fairseq's external reranker); the DAG models train {plan.o.updates} "
            f"updates here; CMLM rows are decoded in their own step (their speed ratio is to "
            f"the teacher of the other step).")}
    found.update(experiment_sections(results))
    if "lstm" in by_method:
        got = {(s.row, s.trained_on): m for s, m in rows_of("lstm")}
        teacher_speed = _speed(got.get(("teacher beam 5", "raw")))
        rows = [{"row": row, "data": data, "bleu": _bleu(m), "speed": _speed(m),
                 "speed_vs_teacher": _ratio(_speed(m), teacher_speed)}
                for (row, data), m in got.items()]
        found["rnn"] = {"rows": rows, "checks": seed.rnn(rows), "note": (
            f"lstm_student_tiny: fairseq's lstm, 1+1 layers, 64 dims, {plan.o.updates} updates "
            f"at lr {plan.o.lstm_lr:g}; all three decoded with beam 5.")}
    return {"sections": found}


def experiment_sections(results):
    """Unimodality and born-again rows: the experiment's own models and corpora."""
    found = {}
    models = {m["name"]: m for m in results["models"]}
    config = results["config"]
    rows = []
    for nat in config["nat"]:
        raw, dist = models.get(f"{nat['name']}_raw"), models.get(f"{nat['name']}_distilled")
        rows.append({"model": nat["name"], "bleu_raw": seed._get(raw, "bleu"),
                     "bleu_distilled": seed._get(dist, "bleu"),
                     "mixed_raw": seed._get(raw, "mixed_sentence_rate"),
                     "mixed_distilled": seed._get(dist, "mixed_sentence_rate")})
    found["unimodality"] = {"rows": rows, "checks": seed.unimodality(rows, results["corpora"]),
                            "note": "The language simplex and the corpus table are in the "
                                    "sections above."}
    corpora = {c["name"]: c for c in results["corpora"]}
    chain = ["raw", config["born_again"]["from"]] + [
        f"born_again_{k}" for k in range(1, config["born_again"]["rounds"] + 1)]
    rows = []
    for generation, name in enumerate(chain):
        corpus = corpora.get(name)
        teacher = next((m for m in results["models"] if m["family"] == "teacher" and
                        m["train_data"] == name and "greedy" not in m["name"]), None)
        rows.append({"generation": generation, "corpus": name,
                     "complexity_bits": seed._get(corpus, "complexity_bits"),
                     "mixed": seed._get(corpus, "mixed_sentence_rate"),
                     "teacher": None if teacher is None else teacher["name"],
                     "teacher_bleu": seed._get(teacher, "bleu")})
    if config["born_again"]["rounds"]:
        found["born_again"] = {"rows": rows, "checks": seed.born_again(rows)}
    return found


def _previous_seconds(out):
    """The seed stage's wall time recorded in OUT/results.json by an earlier invocation."""
    path = os.path.join(out, "results.json")
    if not os.path.isfile(path):
        return 0.0
    with open(path, encoding="utf-8") as handle:
        return (json.load(handle).get("seed_tables") or {}).get("seconds", 0.0)


def _history(plan):
    save = getattr(plan, "multilingual_dirs", {}).get("selective KD")
    path = save and os.path.join(save, "multilingual_kd.json")
    if not path or not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def options(config, out):
    section = config["seed_tables"]
    return Options(experiment=os.path.abspath(out), out=os.path.join(os.path.abspath(out), "seed"),
                   methods=",".join(methods_of(section["sections"])),
                   **{k: section[k] for k in ("updates", "teacher_updates", "subset",
                                              "query_zipf", "lstm_lr", "multilingual_train",
                                              "multilingual_updates", "check_interval")})


def describe(config, out):
    """The seed stage's steps as text (``--dry-run``): each with what it waits for and its
    commands."""
    plan = SeedPlan(options(config, out))
    lines = [f"seed tables ({', '.join(config['seed_tables']['sections'])}): "
             f"{len(plan.steps)} steps after the experiment, {len(plan.systems)} systems scored:"]
    for step in plan.steps:
        lines.append(f"  {step.name} (after: {', '.join(step.deps) or '-'})")
        lines += [f"    {line}" for line in step.command_lines()]
    return "\n".join(lines)


def run(config, out, results, quiet=False):
    """Run the seed sections' steps over the finished experiment in ``out`` (resumable: a
    finished step with the same commands is skipped), then add ``seed_tables`` and the
    ``seed`` stage to ``results`` and rewrite results.json and the report."""
    from nat.experiment import report

    opts = options(config, out)
    plan = SeedPlan(opts)
    os.makedirs(opts.out, exist_ok=True)
    with console_pool.Pool(config["jobs"]) as pool:
        runner = methods.Runner(plan, config["jobs"], 0, pool=pool, quiet=quiet,
                                done_dir=os.path.join(opts.out, "done"))
        runner.run()
    cpu = runner.recorded_cpu()     # this run's steps and those an earlier run finished
    done = os.path.join(out, "distilled", "done.json")
    distill_seconds = None
    if os.path.isfile(done):
        with open(done, encoding="utf-8") as handle:
            distill_seconds = json.load(handle)["seconds"]
    scored = [(s, methods.read_metrics(s)) for s in plan.systems]
    tables = collect(plan, scored, results, cpu, distill_seconds)
    # wall time summed over the invocations that finished (a resume adds what it ran)
    before = _previous_seconds(out)
    seconds = round(before + runner.elapsed() if runner.ran else before or runner.elapsed(), 1)
    tables.update(seconds=seconds,
                  steps={k: v for k, v in runner.status.items() if v != "ok"})
    results["seed_tables"] = tables
    results["stages"]["seed"] = {"seconds": seconds, "commands": runner.ran}
    report.write(results, out)
    return results
