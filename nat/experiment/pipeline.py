"""The stages of ``nat-experiment``: corpus -> teacher (+ raw NATs) -> distillation ->
distilled NATs -> decoding and speed -> analysis -> report.

Every stage runs the real commands (nat-synth, fairseq-*, nat-distill, nat-analyze) and
records them, so the report can list each step for a user to re-run by hand.  What the config
asks for beyond the quick preset (several distilled corpora, born-again teachers, AR students)
comes from ``variants``; it only adds jobs to the one dependency graph and systems to decode.
With a user's corpus (``data=DIR``: ``nat-experiment --data DIR``) one ``prepare`` stage
(nat-prepare) replaces nat-synth and fairseq-preprocess, and the later stages work on its
sentencepiece pieces and score words (``user_data``).
"""
import json
import os
from concurrent.futures import ThreadPoolExecutor

from nat import fairseq_cli
from nat.experiment import config as presets
from nat.experiment import variants
from nat.experiment.speed import timed_generate
from nat.experiment.stages import Runner
from nat.hashing import settings_key
from nat.experiment.training import Job, run_jobs
from nat.experiment.user_data import UserData
from nat.textio import count_lines, write_lines_atomic

NAT_DECODE = ["--iter-decode-max-iter", "0"]
#: ETA only: seconds per update and 1k batch tokens of a tiny model, one job per core (measured
#: with the quick preset on 2 cores), times the architecture's relative cost
SECONDS_PER_KTOKEN_UPDATE = 0.2
#: glancing runs the decoder twice; the DAG's dynamic program costs ~3.5x (nat-bench dag);
#: base size (6+6 layers, 512 dims) ~10x a tiny model on CPU (rough)
UPDATE_COST = (("dag", 3.5), ("glat", 2.0))
BASE_COST = 10.0


def _update_seconds(job):
    """Expected seconds per update of a fairseq-train job (for the ETA; 0 for other tools)."""
    args = [str(a) for a in job.args]
    value = lambda flag, default: args[args.index(flag) + 1] if flag in args else default  # noqa
    arch = value("--arch", "")
    cost = next((c for key, c in UPDATE_COST if key in arch), 1.0)
    if arch.endswith("_base") or value("--encoder-layers", "2") == "6":
        cost *= BASE_COST
    return SECONDS_PER_KTOKEN_UPDATE * int(value("--max-tokens", 4096)) / 1024 * cost


def _synth_command(out, corpus):
    return ["nat-synth", "--out", out, "--mode", corpus["mode"], "--mix", corpus["mix"],
            "--seed", corpus["seed"], "--train", corpus["train"], "--valid", corpus["valid"],
            "--test", corpus["test"], "--preset", corpus["preset"], "--quiet",
            *corpus["extra"]]


def _train_args(data_bin, model, save_dir, seed, nat):
    args = [data_bin, "--user-dir", fairseq_cli.PLUGIN_DIR, "--arch", model["arch"],
            "--lr", model["lr"], "--warmup-updates", model["warmup"],
            "--max-tokens", model["max_tokens"], "--max-update", model["updates"],
            "--save-dir", save_dir, "--seed", seed,
            *([] if fairseq_cli.cuda_available() else ["--cpu"]), *presets.COMMON_TRAIN]
    if nat:
        args += presets.NAT_TRAIN
    return args + list(model.get("extra", []))


def _student_criterion(student, teacher_checkpoint):
    """Plain label-smoothed CE (Seq-KD on a distilled corpus) or Word-KD against the teacher."""
    smoothing = ["--label-smoothing", student["label_smoothing"]]
    kd = student["word_kd"]
    if kd is None:
        return ["--criterion", "label_smoothed_cross_entropy"] + smoothing
    return ["--criterion", "word_kd"] + smoothing + [
        "--teacher-path", teacher_checkpoint, "--kd-alpha", kd["alpha"],
        "--kd-temperature", kd["temperature"]]


def critical_path_order(jobs):
    """``jobs`` sorted by the updates still ahead of each (its own plus its longest chain of
    dependants), longest first; ties keep their order.  run_jobs starts ready jobs in list
    order, so the teacher -> distillation -> born-again chain goes first and independent jobs
    fill the idle cores."""
    children = {job.name: [] for job in jobs}
    for job in jobs:
        for dep in job.deps:
            children.setdefault(dep, []).append(job.name)
    by_name, tail = {job.name: job for job in jobs}, {}

    def ahead(name):
        if name not in tail:
            tail[name] = by_name[name].updates + max(
                (ahead(child) for child in children[name]), default=0)
        return tail[name]

    return sorted(jobs, key=lambda job: -ahead(job.name))


def describe_plan(plan):
    """The plan as text: one block per job (start order, what it waits for, its command), then
    the systems decoded and the corpora analysed."""
    lines = []
    if plan.get("data"):  # a user corpus (--data): prepared first
        data = plan["data"]
        lines.append(f"corpus: {data['path']} ({data['given']}, prepared in {data['prepared']})"
                     + ("" if data["command"] else " used as it is"))
        if data["command"]:
            lines.append("    " + " ".join(str(part) for part in data["command"]))
    lines.append(f"{len(plan['jobs'])} jobs, up to {plan['parallel']} at a time, in start order "
                 "(a job starts once everything after 'after:' has finished):")
    for job in plan["jobs"]:
        updates = f", {job['updates']} updates" if job["updates"] else ""
        lines += [f"  {job['name']} ({job['tool']}{updates}; after: "
                  f"{', '.join(job['deps']) or '-'})",
                  "    " + " ".join(str(part) for part in job["command"])]
    lines.append(f"decode on the test set ({len(plan['systems'])} systems, batch 1 and large "
                 "batch):")
    lines += [f"  {s['name']} ({s['family']}, trained on {s['train_data']}, beam {s['beam']})"
              for s in plan["systems"]]
    lines.append("corpora analysed:")
    lines += [f"  {c['name']}" + (f" ({c['method']} by {c['made_by']}, job {c['job']})"
                                  if c["job"] else "") for c in plan["corpora"]]
    return "\n".join(lines)


class Experiment:
    """One run of the experiment in ``out_dir`` with a resolved config."""

    def __init__(self, config, out_dir, quiet=False, data=None):
        self.config = config
        self.out = os.path.abspath(out_dir)
        self.quiet = quiet
        self.data = os.path.join(self.out, "data")
        self.raw_bin = os.path.join(self.out, "bin", "raw")
        # a user's corpus (raw or prepared directory) instead of the synthetic one
        self.user = UserData(data, self.out, config.get("prepare")) if data else None
        if self.user:
            self.data, self.raw_bin = self.user.root, self.user.data_bin
        self.distilled_dir = os.path.join(self.out, "distilled")  # the default corpus
        # every name in the config checked before anything runs (one-line UserError)
        self.corpora = {c.name: c for c in variants.validate(config)}
        self.teachers = variants.teachers(config)
        self.students = variants.ar_students(config)
        self.keys = {}
        self.corpus_keys = {}  # corpus name -> settings key of its data (filled by jobs())
        self._runner = None

    @property
    def runner(self):
        """The stage runner (created on first use, so planning writes nothing)."""
        if self._runner is None:
            self._runner = Runner(self.out, self._estimates(), quiet=self.quiet)
        return self._runner

    # ---- helpers --------------------------------------------------------------------------
    def _estimates(self):
        c, jobs = self.config, self.jobs()
        busy = sum(job.updates * _update_seconds(job) for job in jobs)
        distills = sum(job.tool == "nat-distill" for job in jobs)
        pairs = self.user.train_pairs() if self.user else c["corpus"]["train"]
        data = {"prepare": 10 + 0.002 * pairs} if self.user else {"corpus": 5, "binarize": 5}
        return {**data,
                "train": busy / max(1, c["jobs"])
                + 0.01 * pairs * distills + 10,
                "decode": 15 * len(self.systems()),
                "analysis": 15 * len(self.corpora), "report": 5}

    def _run_tool(self, ctx, tool, args, log):
        ctx.record([tool] + [str(a) for a in args])
        return fairseq_cli.run_tool(tool, args, log_path=os.path.join(self.out, "logs", log))

    def nat_runs(self):
        """(name, model config, train_data) of every NAT to train, raw first."""
        return variants.nat_runs(self.config)

    def corpus_dir(self, name):
        """Text, binaries and manifest of a distilled corpus (the default one keeps the
        ``distilled`` directory of earlier versions)."""
        if name == variants.DEFAULT:
            return self.distilled_dir
        return os.path.join(self.out, "corpora", name)

    def corpus_bin(self, name):
        return self.raw_bin if name == variants.RAW else os.path.join(self.corpus_dir(name), "bin")

    def corpus_target(self, name):
        """The training targets of a corpus (for its line count): the synthetic or the prepared
        (cleaned, word-level) text for raw, nat-distill's output for the others."""
        if name == variants.RAW:
            return self.user.text("train", "tgt") if self.user else os.path.join(
                self.data, "train.tgt")
        lang = self.user.tgt if self.user else "tgt"
        return os.path.join(self.corpus_dir(name), f"train.{lang}")

    def train_file(self, split, side):
        """What nat-distill and the analysis read as the raw corpus: the synthetic text, or the
        prepared subword pieces (what the data-bin holds; ``--spm`` decodes them)."""
        if self.user:
            return self.user.pieces(split, side)
        return os.path.join(self.data, f"{split}.{side}")

    def checkpoint(self, job):
        return os.path.join(self.out, "checkpoints", job, "checkpoint_last.pt")

    # ---- stages ---------------------------------------------------------------------------
    def prepare(self):
        """A user's corpus: nat-prepare into OUT/prepared (recorded), or the prepared directory
        given; keyed by the prepared directory's key (settings + sha256 of every input), which
        every later stage's key includes."""
        key = settings_key("prepare", self.user.key())

        def run(ctx):
            if self.user.command():
                self._run_tool(ctx, "nat-prepare", self.user.command()[1:], "prepare.log")
            return self.user.summary()

        self.keys["prepare"] = key
        self.keys["binarize"] = settings_key("binarize", key)
        record = self.runner.run("prepare", key, run)
        self.user.loaded()  # checked also when the stage was skipped (files still there)
        return record

    def corpus(self):
        corpus = self.config["corpus"]
        key = settings_key("corpus", corpus)

        def run(ctx):
            self._run_tool(ctx, "nat-synth", _synth_command(self.data, corpus)[1:], "synth.log")
            with open(os.path.join(self.data, "truth.json"), encoding="utf-8") as handle:
                return {"truth": json.load(handle)}

        self.keys["corpus"] = key
        return self.runner.run("corpus", key, run)

    def binarize(self):
        key = settings_key("binarize", self.keys["corpus"])

        def run(ctx):
            prefix = {s: os.path.join(self.data, s) for s in ("train", "valid", "test")}
            self._run_tool(ctx, "fairseq-preprocess", [
                "--source-lang", "src", "--target-lang", "tgt", "--trainpref", prefix["train"],
                "--validpref", prefix["valid"], "--testpref", prefix["test"],
                "--destdir", self.raw_bin, "--joined-dictionary", "--workers", "1"],
                "preprocess_raw.log")
            return {"data_bin": self.raw_bin}

        self.keys["binarize"] = key
        return self.runner.run("binarize", key, run)

    def _distill_args(self, corpus, teacher_checkpoint):
        d, limits = corpus.settings, self.config["decode"]
        args = ["--path", teacher_checkpoint, "--data-bin", self.raw_bin,
                "--source", self.train_file("train", "src"),
                "--target", self.train_file("train", "tgt"),
                "--valid-source", self.train_file("valid", "src"),
                "--valid-target", self.train_file("valid", "tgt"),
                "--out", self.corpus_dir(corpus.name), "--method", d["method"],
                "--beam", d["beam"], "--lenpen", d["lenpen"], "--backend", d["backend"],
                "--max-len-a", limits["max_len_a"], "--max-len-b", limits["max_len_b"],
                "--quiet"]
        if self.user:  # pieces in, pieces + detokenized text out
            args += ["--spm", self.user.root]
        for key, flag in variants.DISTILL_FLAGS.items():
            if key in d:
                args += [flag, d[key]]
        return args + list(d.get("extra", []))

    def jobs(self):
        """The dependency graph: teacher -> its distillation variants -> born-again teacher 1
        -> its corpus -> ...; NATs and AR students after the corpus they train on (Word-KD
        students also after the teacher); NATs on raw data depend on nothing."""
        seed, ckpt_root = self.config["seed"], os.path.join(self.out, "checkpoints")
        keys = {variants.RAW: self.keys.get("binarize")}  # corpus -> key of its data
        made_by = {variants.RAW: None}                     # corpus -> job that makes it
        jobs, teacher_keys = [], {}
        for teacher in self.teachers:  # each trains on a corpus made earlier in this loop
            settings = self.config["teacher"]
            key = settings_key("train", settings, keys[teacher.train_data], seed)
            teacher_keys[teacher.job] = key
            save_dir = os.path.join(ckpt_root, teacher.job)
            deps = (made_by[teacher.train_data],) if made_by[teacher.train_data] else ()
            jobs.append(Job(teacher.job, "fairseq-train",
                            _train_args(self.corpus_bin(teacher.train_data), settings,
                                        save_dir, seed, nat=False),
                            save_dir, settings["updates"], key, deps=deps))
            for name in teacher.distils:
                corpus = self.corpora[name]
                keys[name] = settings_key("distill", corpus.key_settings,
                                          self.config["decode"], key)
                made_by[name] = corpus.job
                jobs.append(Job(corpus.job, "nat-distill",
                                self._distill_args(corpus, self.checkpoint(teacher.job)),
                                self.corpus_dir(name), 0, keys[name], deps=(teacher.job,)))
        self.corpus_keys = dict(keys)
        for name, model, data in self.nat_runs():
            save_dir = os.path.join(ckpt_root, name)
            settings = {k: v for k, v in model.items() if k != "train_data"}
            jobs.append(Job(name, "fairseq-train",
                            _train_args(self.corpus_bin(data), model, save_dir, seed, nat=True),
                            save_dir, model["updates"],
                            settings_key("train", settings, keys[data], seed),
                            deps=(made_by[data],) if made_by[data] else ()))
        for student in self.students:
            name, data, kd = student["name"], student["train_data"], student["word_kd"]
            save_dir = os.path.join(ckpt_root, name)
            model = dict(student, extra=_student_criterion(student, self.checkpoint("teacher"))
                         + list(student["extra"]))
            deps = tuple(d for d in (made_by[data], "teacher" if kd else None) if d)
            jobs.append(Job(name, "fairseq-train",
                            _train_args(self.corpus_bin(data), model, save_dir, seed, nat=False),
                            save_dir, student["updates"],
                            settings_key("train", student, keys[data], seed,
                                         teacher_keys["teacher"] if kd else None),
                            deps=tuple(dict.fromkeys(deps))))
        return critical_path_order(jobs)

    def train(self):
        """Every fairseq-train and the nat-distill run, side by side as dependencies allow."""
        jobs = self.jobs()
        key = settings_key("train", [j.key for j in jobs], self.config["jobs"])

        def run(ctx):
            for job in jobs:
                ctx.record(job.command)
            return run_jobs(jobs, self.config["jobs"], quiet=self.quiet)

        return self.runner.run("train", key, run)

    def systems(self):
        """Every model to decode on the test set: {name, checkpoint, task, beam, extra,
        train_data, family, job}; teachers and AR students with beam search, NATs in one pass."""
        limits = ["--max-len-a", self.config["decode"]["max_len_a"],
                  "--max-len-b", self.config["decode"]["max_len_b"]]

        def system(name, job, task, beam, extra, data, family, **more):
            return dict(name=name, checkpoint=self.checkpoint(job), task=task, beam=beam,
                        extra=extra, train_data=data, family=family, job=job, **more)

        found = [system("teacher_beam5", "teacher", "translation", 5, limits, "raw", "teacher"),
                 system("teacher_greedy", "teacher", "translation", 1, limits, "raw", "teacher")]
        for teacher in self.teachers[1:]:
            found.append(system(teacher.system, teacher.job, "translation", 5, limits,
                                teacher.train_data, "teacher", round=teacher.round))
        for name, model, data in self.nat_runs():
            found.append(system(name, name, "translation_lev", 1,
                                NAT_DECODE + list(model.get("decode", [])), data, model["name"]))
        for student in self.students:
            found.append(system(student["name"], student["name"], "translation", student["beam"],
                                limits, student["train_data"], "ar_student"))
        return found

    def plan(self):
        """What this config would run, without running anything: the training/distillation
        jobs in start order with their dependencies, the systems decoded and the corpora
        analysed (``nat-experiment --dry-run`` prints it)."""
        jobs = self.jobs()
        data = {}
        if self.user:
            data = {"data": {"path": self.user.path, "given": "raw" if self.user.raw else
                             "prepared", "prepared": self.user.root,
                             "command": self.user.command()}}
        return {
            **data,
            "jobs": [{"name": j.name, "tool": j.tool, "deps": list(j.deps),
                      "updates": j.updates, "command": j.command} for j in jobs],
            "parallel": self.config["jobs"],
            "systems": [{k: s[k] for k in ("name", "family", "train_data", "task", "beam",
                                           "job")} for s in self.systems()],
            "corpora": [{"name": c.name, "made_by": c.teacher or None,
                         "job": c.job if c.distilled else None,
                         "method": c.settings.get("method"), "round": c.round}
                        for c in self.corpora.values()],
        }

    def decode(self):
        systems = self.systems()
        # a user corpus: pieces decoded to words with its sentencepiece model (keyed too)
        words = ["sentencepiece-decode", self.keys["prepare"]] if self.user else []
        key = settings_key("decode", self.config["speed"], self.config["decode"],
                           self.runner.records["train"]["key"],
                           [[s["name"], s["checkpoint"], s["task"], s["beam"], s["extra"]]
                            for s in systems], *words)
        n_test = count_lines(self.user.text("test", "src") if self.user else
                             os.path.join(self.data, "test.src"))
        hyp_dir = os.path.join(self.out, "hyps")
        speed = self.config["speed"]

        def run(ctx):
            results = {}
            if self.user:
                from nat.prepare import subwords

                model = self.user.spm_model()
                sp = subwords.load(model)
                ctx.commands.append(f"# user corpus: fairseq-generate prints sentencepiece "
                                    f"pieces (H- lines, kept in {hyp_dir}/pieces/); "
                                    f"{hyp_dir}/NAME.txt is each line decoded with {model}")
            for s in systems:
                name, checkpoint, task, beam, extra = (s["name"], s["checkpoint"], s["task"],
                                                       s["beam"], s["extra"])
                logs = os.path.join(self.out, "logs", f"generate_{name}")
                big, per_s_big = timed_generate(self.raw_bin, checkpoint, n_test, task, beam,
                                                speed["throughput_batch"], extra,
                                                logs + f"_b{speed['throughput_batch']}.log")
                ctx.commands.append(" ".join(big.command))
                one, per_s_one = timed_generate(self.raw_bin, checkpoint, n_test, task, beam,
                                                1, extra, logs + "_b1.log")
                ctx.commands.append(" ".join(one.command))
                hyps = [h[0].detok for h in big.hypotheses]
                identical = sum(a[0].tokens == b[0].tokens
                                for a, b in zip(big.hypotheses, one.hypotheses))
                path = os.path.join(hyp_dir, f"{name}.txt")
                if self.user:  # words for BLEU and analysis; the pieces kept beside them
                    write_lines_atomic(os.path.join(hyp_dir, "pieces", f"{name}.txt"), hyps)
                    hyps = subwords.decode(sp, hyps)
                write_lines_atomic(path, hyps)
                results[name] = {"hyp": path, "family": s["family"],
                                 "train_data": s["train_data"], "job": s["job"], "beam": beam,
                                 "sentences_per_second_batch1": per_s_one,
                                 "latency_ms_batch1": 1000.0 / per_s_one,
                                 f"sentences_per_second_batch{speed['throughput_batch']}":
                                     per_s_big,
                                 "batch_invariant_share": identical / n_test}
                if "round" in s:
                    results[name]["born_again_round"] = s["round"]
            return results

        return self.runner.run("decode", key, run)

    def _corpus_analysis_args(self, corpus):
        if self.user:
            return self._user_corpus_analysis_args(corpus)
        lexicon = os.path.join(self.data, "lexicon.json")
        if not corpus.distilled:
            return ["corpus", "--source", os.path.join(self.data, "train.src"),
                    "--target", os.path.join(self.data, "train.tgt"), "--lexicon", lexicon,
                    "--aligner", "eflomal", "--name", corpus.name]
        here = self.corpus_dir(corpus.name)
        if corpus.one_per_source:  # line-aligned with raw: F(d) against the gold targets
            source = os.path.join(self.data, "train.src")
            reference = ["--reference-target", os.path.join(self.data, "train.tgt")]
        else:  # several targets per source (nbest, samples): its own source side
            source, reference = os.path.join(here, "train.src"), []
        return ["corpus", "--source", source, "--target", os.path.join(here, "train.tgt"),
                "--lexicon", lexicon, "--aligner", "eflomal", *reference,
                "--name", corpus.name]

    def _user_corpus_analysis_args(self, corpus):
        """A user corpus at word level: the prepared (cleaned) text for raw, nat-distill's pieces
        decoded by ``--spm``; language mixing only with a label-derived lexicon."""
        user = self.user
        lexicon = ["--lexicon", user.lexicon] if user.lexicon else []
        spm = ["--spm", user.root]
        if not corpus.distilled:
            return ["corpus", "--source", user.text("train", "src"),
                    "--target", user.text("train", "tgt"), *lexicon, "--aligner", "eflomal",
                    *spm, "--name", corpus.name]
        here = self.corpus_dir(corpus.name)
        if corpus.one_per_source:
            source = user.text("train", "src")
            reference = ["--reference-target", user.text("train", "tgt")]
        else:
            source, reference = os.path.join(here, f"train.{user.src}"), []
        return ["corpus", "--source", source, "--target", os.path.join(here, f"train.{user.tgt}"),
                *lexicon, "--aligner", "eflomal", *reference, *spm, "--name", corpus.name]

    def _outputs_analysis_args(self, name, hyp):
        if not self.user:
            return ["outputs", "--hyp", hyp, "--ref-dir", self.data, "--lexicon",
                    os.path.join(self.data, "lexicon.json"), "--name", name]
        user = self.user  # every reference (multi-reference BLEU), words (--spm: the level)
        refs = [part for path in user.references() for part in ("--ref", path)]
        lexicon = ["--lexicon", user.lexicon] if user.lexicon else []
        gold = ["--lang", user.test_labels] if user.lexicon and user.test_labels else []
        return ["outputs", "--hyp", hyp, *refs, *lexicon, *gold, "--spm", user.root,
                "--name", name]

    def analysis(self):
        distilled = [c.name for c in self.corpora.values() if c.distilled]
        key = settings_key("analysis", self.runner.records["decode"]["key"],
                           [self.corpus_keys.get(name) for name in distilled])
        adir = os.path.join(self.out, "analysis")

        def run(ctx):
            todo = [("corpora", c.name, self._corpus_analysis_args(c),
                     os.path.join(adir, f"corpus_{c.name}")) for c in self.corpora.values()]
            for name, system in self.runner.records["decode"]["result"].items():
                todo.append(("outputs", name, self._outputs_analysis_args(name, system["hyp"]),
                             os.path.join(adir, f"outputs_{name}")))
            for _, _, args, out in todo:  # recorded in order; run side by side (1 thread each)
                ctx.record(["nat-analyze"] + args + ["--out", out])

            def analyze(item):
                _, _, args, out = item
                fairseq_cli.run_tool("nat-analyze", args + ["--out", out], log_path=os.path.join(
                    self.out, "logs", f"analyze_{os.path.basename(out)}.log"))
                with open(os.path.join(out, "metrics.json"), encoding="utf-8") as handle:
                    return json.load(handle)

            with ThreadPoolExecutor(max(1, self.config["jobs"])) as pool:
                metrics = list(pool.map(analyze, todo))
            result = {"corpora": {}, "outputs": {}}
            for (group, name, _, _), value in zip(todo, metrics):
                result[group][name] = value
            return result

        return self.runner.run("analysis", key, run)

    def run(self):
        from nat.experiment import report

        if self.user:
            self.prepare()  # nat-prepare (or the prepared directory given)
        else:
            self.corpus()
            self.binarize()
        self.train()  # includes distillation (also when no NAT trains on it: it is analysed)
        self.decode()
        self.analysis()
        results = report.collect(self)
        self.runner.run("report", settings_key("report", results),
                        lambda ctx: report.write(self, results))
        self.runner.close()
        return results
