"""The stages of ``nat-experiment``: corpus -> teacher (+ raw NATs) -> distillation ->
distilled NATs -> decoding and speed -> analysis -> report.

Every stage runs the real commands (nat-synth, fairseq-*, nat-distill, nat-analyze) and
records them, so the report can list each step for a user to re-run by hand.  What the config
asks for beyond the quick preset (several distilled corpora, born-again teachers, AR students)
comes from ``variants``; it only adds jobs to the one dependency graph and systems to decode.
The data come from a data source (``synthetic_data.SyntheticData``, or ``user_data.UserData``
for ``nat-experiment --data DIR``: one ``prepare`` stage replaces nat-synth and
fairseq-preprocess, and the later stages work on its pieces and score words); both have one
interface, so nothing here asks which one it has.  Planning (``jobs``, ``systems``, ``plan``,
every settings key) writes nothing and needs no stage to have run; the stages execute it.
"""
import json
import os
from concurrent.futures import ThreadPoolExecutor

from nat import console_pool, fairseq_cli
from nat.errors import UserError
from nat.experiment import variants
from nat.experiment.speed import timed_generate
from nat.experiment.stages import Runner
from nat.experiment.synthetic_data import SyntheticData
from nat.experiment.training import Job, run_jobs
from nat.experiment.user_data import UserData
from nat.hashing import settings_key
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


def _train_job(name, data_bin, model, save_dir, seed, nat, processes, key, deps):
    """The fairseq-train job (torchrun over it for several processes per job)."""
    recipe = fairseq_cli.Recipe(model["arch"], model["updates"], model["lr"], model["warmup"],
                                model["max_tokens"], nat=nat, extra=list(model.get("extra", [])),
                                processes=processes,
                                validate_every=model.get("validate_every") or 0)
    tool, args = recipe.launch(data_bin, save_dir, seed)
    return Job(name, tool, args, save_dir, model["updates"], key, deps=deps)


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
        # the synthetic corpus, or a user's (raw or prepared directory)
        self.source = (UserData(data, self.out, config.get("prepare")) if data else
                       SyntheticData(config, self.out))
        self.raw_bin = self.source.data_bin
        self.distilled_dir = os.path.join(self.out, "distilled")  # the default corpus
        # every name in the config checked before anything runs (one-line UserError)
        self.corpora = {c.name: c for c in variants.validate(config)}
        self.teachers = variants.teachers(config)
        self.students = variants.ar_students(config)
        self._runner = None
        self.pool = None        # the console_pool workers while the stages run

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
        pairs = self.source.train_pairs()
        return {**self.source.estimates(),
                "train": busy / max(1, c["jobs"])
                + 0.01 * pairs * distills + 10,
                "decode": 15 * len(self.systems()),
                "analysis": 15 * len(self.corpora), "report": 5}

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
        """The training targets of a corpus (for its line count): the source's word-level text
        for raw, nat-distill's output for the others."""
        if name == variants.RAW:
            return self.source.text("train", "tgt")
        return os.path.join(self.corpus_dir(name), f"train.{self.source.tgt}")

    def train_file(self, split, side):
        """What nat-distill reads as the raw corpus: what the data-bin holds (the synthetic
        text, or a user corpus' subword pieces, which ``--spm`` decodes)."""
        return self.source.pieces(split, side)

    def checkpoint(self, job):
        return os.path.join(self.out, "checkpoints", job, "checkpoint_last.pt")

    # ---- planning (no I/O) ----------------------------------------------------------------
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
                "--no-launcher", "--quiet"]  # every shard here, even under torchrun / Slurm
        args += self.source.distill_flags()
        if d["method"] == "consistent":  # the candidate of one language: the corpus' lexicon
            if not self.source.lexicon:
                raise UserError(f"distill {corpus.name}: method consistent needs the corpus' "
                                f"language labels (train.lang) for its lexicon")
            args += ["--lexicon", self.source.lexicon]
        for key, flag in variants.DISTILL_FLAGS.items():
            if key in d:
                args += [flag, d[key]]
        return args + list(d.get("extra", []))

    def corpus_keys(self):
        """{corpus name: settings key of its data}: raw's from the data source, each distilled
        corpus' from its settings, the decoding limits and its teacher's key."""
        return self._graph()[1]

    def jobs(self):
        """The dependency graph: teacher -> its distillation variants -> born-again teacher 1
        -> its corpus -> ...; NATs and AR students after the corpus they train on (Word-KD
        students also after the teacher); NATs on raw data depend on nothing."""
        return self._graph()[0]

    def _graph(self):
        """(jobs in start order, corpus keys)."""
        seed, ckpt_root = self.config["seed"], os.path.join(self.out, "checkpoints")
        procs = fairseq_cli.processes_per_job(self.config["train_processes"])
        # data-parallel training changes the numbers: keyed, unless it is the one process
        par = [procs] if procs > 1 else []
        keys = {variants.RAW: self.source.data_key()}  # corpus -> key of its data
        made_by = {variants.RAW: None}                 # corpus -> job that makes it
        jobs, teacher_keys = [], {}
        for teacher in self.teachers:  # each trains on a corpus made earlier in this loop
            settings = self.config["teacher"]
            key = settings_key("train", settings, keys[teacher.train_data], seed, *par)
            teacher_keys[teacher.job] = key
            save_dir = os.path.join(ckpt_root, teacher.job)
            deps = (made_by[teacher.train_data],) if made_by[teacher.train_data] else ()
            jobs.append(_train_job(teacher.job, self.corpus_bin(teacher.train_data), settings,
                                   save_dir, seed, False, procs, key, deps))
            for name in teacher.distils:
                corpus = self.corpora[name]
                keys[name] = settings_key("distill", corpus.key_settings,
                                          self.config["decode"], key)
                made_by[name] = corpus.job
                jobs.append(Job(corpus.job, "nat-distill",
                                self._distill_args(corpus, self.checkpoint(teacher.job)),
                                self.corpus_dir(name), 0, keys[name], deps=(teacher.job,)))
        corpus_keys = dict(keys)
        for name, model, data in self.nat_runs():
            settings = {k: v for k, v in model.items() if k != "train_data"}
            for run, run_seed in self._seeds(name):
                jobs.append(_train_job(run, self.corpus_bin(data), model,
                                       os.path.join(ckpt_root, run), run_seed, True, procs,
                                       settings_key("train", settings, keys[data], run_seed,
                                                    *par),
                                       (made_by[data],) if made_by[data] else ()))
        for student in self.students:
            name, data, kd = student["name"], student["train_data"], student["word_kd"]
            save_dir = os.path.join(ckpt_root, name)
            model = dict(student, extra=_student_criterion(student, self.checkpoint("teacher"))
                         + list(student["extra"]))
            deps = tuple(d for d in (made_by[data], "teacher" if kd else None) if d)
            jobs.append(_train_job(name, self.corpus_bin(data), model, save_dir, seed, False,
                                   procs, settings_key("train", student, keys[data], seed,
                                                       teacher_keys["teacher"] if kd else None,
                                                       *par),
                                   tuple(dict.fromkeys(deps))))
        return critical_path_order(jobs), corpus_keys

    def sizing(self):
        """``--dry-run``'s sizing lines (a user corpus: its size, piece lengths, each model's
        epochs and time, warnings); [] for the synthetic corpus."""
        stats = self.source.corpus_stats()
        if stats is None:
            return []
        from nat.experiment import sizing

        return sizing.describe(stats, self.jobs(), _update_seconds, self.config["jobs"],
                               (self.config.get("prepare") or {}).get("max_pieces"))

    def _seeds(self, name):
        """(run name, seed) of a NAT run: the config's seed, and ``lost.retrain_seed`` (the
        stability measure) as ``NAME_seedS``."""
        again = self.config["lost"]["retrain_seed"]
        return [(name, self.config["seed"])] + ([(f"{name}_seed{again}", again)] if again else [])

    # ---- stages -----------------------------------------------------------------------------
    def train(self):
        """Every fairseq-train and the nat-distill run, side by side as dependencies allow."""
        jobs = self.jobs()
        key = settings_key("train", [j.key for j in jobs], self.config["jobs"])

        def run(ctx):
            for job in jobs:
                ctx.record(job.command)
            return run_jobs(jobs, self.config["jobs"], quiet=self.quiet, pool=self.pool)

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
            for run, _ in self._seeds(name):
                more = {"retrain_of": name} if run != name else {}
                if model.get("compression_of"):
                    more.update(compression_of=model["compression_of"], size=model["size"])
                found.append(system(run, run, "translation_lev", 1,
                                    NAT_DECODE + list(model.get("decode", [])), data,
                                    model["name"], **more))
        for student in self.students:
            found.append(system(student["name"], student["name"], "translation", student["beam"],
                                limits, student["train_data"], "ar_student"))
        return found

    def plan(self):
        """What this config would run, without running anything: the training/distillation
        jobs in start order with their dependencies, the systems decoded and the corpora
        analysed (``nat-experiment --dry-run`` prints it)."""
        jobs = self.jobs()
        return {
            **self.source.plan(),
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
        key = settings_key("decode", self.config["speed"], self.config["decode"],
                           self.runner.records["train"]["key"],
                           [[s["name"], s["checkpoint"], s["task"], s["beam"], s["extra"]]
                            for s in systems], self.source.swapped_test(),
                           *self.source.words_key())
        n_test = count_lines(self.source.text("test", "src"))
        hyp_dir = os.path.join(self.out, "hyps")
        speed = self.config["speed"]

        def run(ctx):
            results, note = {}, self.source.decode_note(hyp_dir)
            if note:
                ctx.commands.append(note)
            requests = []
            for s in systems:
                logs = os.path.join(self.out, "logs", f"generate_{s['name']}")
                for batch in (speed["throughput_batch"], 1):
                    requests.append(dict(
                        data_bin=self.raw_bin, checkpoint=s["checkpoint"], expected=n_test,
                        task=s["task"], beam=s["beam"], batch_size=batch, extra=s["extra"],
                        log_path=logs + f"_b{batch}.log"))
            swap = self.source.swapped_test()
            if swap:  # the one-word-swapped test set, large batch (stability only)
                for s in systems:
                    requests.append(dict(
                        data_bin=swap["data_bin"], checkpoint=s["checkpoint"], expected=n_test,
                        task=s["task"], beam=s["beam"], batch_size=speed["throughput_batch"],
                        extra=s["extra"], log_path=os.path.join(
                            self.out, "logs", f"generate_{s['name']}_swap.log")))
            timed = timed_generate(requests, os.path.join(self.out, "logs"), pool=self.pool)
            for i, s in enumerate(systems):
                name, beam = s["name"], s["beam"]
                (big, per_s_big), (one, per_s_one) = timed[2 * i], timed[2 * i + 1]
                ctx.commands += [" ".join(big.command), " ".join(one.command)]
                hyps = [h[0].detok for h in big.hypotheses]
                identical = sum(a[0].tokens == b[0].tokens
                                for a, b in zip(big.hypotheses, one.hypotheses))
                path = os.path.join(hyp_dir, f"{name}.txt")
                words = self.source.to_words(name, hyps, hyp_dir)
                write_lines_atomic(path, words)
                confidences, missing = self._confidences(name, big.hypotheses, words, hyp_dir)
                results[name] = {"hyp": path, "family": s["family"],
                                 "confidences": confidences, "confidences_missing": missing,
                                 "train_data": s["train_data"], "job": s["job"], "beam": beam,
                                 "sentences_per_second_batch1": per_s_one,
                                 "latency_ms_batch1": 1000.0 / per_s_one,
                                 f"sentences_per_second_batch{speed['throughput_batch']}":
                                     per_s_big,
                                 "batch_invariant_share": identical / n_test}
                for extra in ("round", "retrain_of", "compression_of", "size"):
                    if extra in s:
                        results[name]["born_again_round" if extra == "round" else extra] = \
                            s[extra]
                if swap:
                    swapped = timed[2 * len(systems) + i][0]
                    ctx.commands.append(" ".join(swapped.command))
                    path = os.path.join(hyp_dir, f"{name}.swap.txt")
                    write_lines_atomic(path, self.source.to_words(
                        f"{name}.swap", [h[0].detok for h in swapped.hypotheses], hyp_dir))
                    results[name]["swapped_hyp"] = path
            return results

        return self.runner.run("decode", key, run)

    def _confidences(self, name, hypotheses, words, hyp_dir):
        """``(path, 0)`` of NAME.conf: the model's probability of each output word (fairseq's
        positional scores), or ``(None, lines)`` when some lines cannot be matched to theirs."""
        probs = fairseq_cli.token_probabilities([h[0] for h in hypotheses])
        per_word = [None if p is None else self.source.word_confidences(h[0].tokens, p, w)
                    for h, p, w in zip(hypotheses, probs, words)]
        missing = sum(p is None for p in per_word)
        if missing:
            return None, missing
        path = os.path.join(hyp_dir, f"{name}.conf")
        write_lines_atomic(path, [" ".join(f"{v:.6f}" for v in p) for p in per_word])
        return path, 0

    def deploy(self):
        """Every one-pass NAT exported and timed against the teacher in CTranslate2
        (``nat.experiment.deploy``); skipped with ``speed.deploy: false``."""
        from nat.experiment import deploy

        speed = {**deploy.DEFAULTS, **self.config["speed"]}
        if not speed["deploy"]:
            return None
        key = settings_key("deploy", speed, self.runner.records["decode"]["key"])
        return self.runner.run("deploy", key, lambda ctx: deploy.run(self, ctx, NAT_DECODE))

    def _corpus_analysis_args(self, corpus):
        """nat-analyze corpus arguments: the raw corpus at word level; a distilled one with
        one target per source also against the gold targets (F(d)), else its own sources."""
        text = self.source.text
        if not corpus.distilled:
            args = self.source.corpus_analysis_args(text("train", "src"), text("train", "tgt"),
                                                    None)
        else:
            here = self.corpus_dir(corpus.name)
            if corpus.one_per_source:  # line-aligned with raw: F(d) against the gold targets
                source, reference = text("train", "src"), text("train", "tgt")
            else:  # several targets per source (nbest, samples): its own source side
                source, reference = os.path.join(here, f"train.{self.source.src}"), None
            args = self.source.corpus_analysis_args(
                source, os.path.join(here, f"train.{self.source.tgt}"), reference)
        return args + ["--name", corpus.name]

    def _int8_hyps(self):
        """{system: hypotheses of its int8 ONNX export} from the deploy stage (if it ran)."""
        from nat.experiment import deploy

        record = self.runner.records.get("deploy")
        return deploy.int8_hyps(record["result"]) if record else {}

    def analysis(self):
        distilled = [c.name for c in self.corpora.values() if c.distilled]
        corpus_keys = self.corpus_keys()
        key = settings_key("analysis", self.runner.records["decode"]["key"],
                           (self.runner.records.get("deploy") or {}).get("key"),
                           [corpus_keys.get(name) for name in distilled])
        adir = os.path.join(self.out, "analysis")

        def run(ctx):
            todo = [("corpora", c.name, self._corpus_analysis_args(c),
                     os.path.join(adir, f"corpus_{c.name}")) for c in self.corpora.values()]
            decoded = self.runner.records["decode"]["result"]
            retrained = {s["retrain_of"]: s["hyp"] for s in decoded.values() if "retrain_of" in s}
            for name, system in decoded.items():
                more = (["--confidences", system["confidences"]]
                        if system.get("confidences") else [])
                if name in retrained:
                    more += ["--other-seed", retrained[name]]
                todo.append(("outputs", name, self.source.outputs_analysis_args(
                    system["hyp"], system.get("swapped_hyp")) + more + ["--name", name],
                             os.path.join(adir, f"outputs_{name}")))
            for name, hyp in self._int8_hyps().items():  # the deployed int8 NATs too
                todo.append(("outputs", f"{name}.int8", self.source.outputs_analysis_args(hyp)
                             + ["--name", f"{name}.int8"],
                             os.path.join(adir, f"outputs_{name}.int8")))
            for _, _, args, out in todo:  # recorded in order; run side by side (1 thread each)
                ctx.record(["nat-analyze"] + args + ["--out", out])

            jobs = max(1, self.config["jobs"])
            # nat-analyze in the experiment's console_pool workers
            with ThreadPoolExecutor(jobs) as threads:
                def analyze(item):
                    _, _, args, out = item
                    fairseq_cli.run_command("nat-analyze", args + ["--out", out],
                                            log_path=os.path.join(
                                                self.out, "logs",
                                                f"analyze_{os.path.basename(out)}.log"),
                                            pool=self.pool)
                    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as handle:
                        return json.load(handle)

                metrics = list(threads.map(analyze, todo))
            result = {"corpora": {}, "outputs": {}}
            for (group, name, _, _), value in zip(todo, metrics):
                result[group][name] = value
            return result

        return self.runner.run("analysis", key, run)

    def run(self):
        from nat.experiment import report

        self.source.stages(self.runner)  # nat-synth + preprocess, or nat-prepare
        # one set of console_pool workers for every stage: fairseq imported once per worker
        with console_pool.Pool(self.config["jobs"]) as self.pool:
            self.train()  # with distillation (also when no NAT trains on it: it is analysed)
            self.decode()
            self.deploy()
            self.analysis()
        self.pool = None
        results = report.collect(self)
        self.runner.run("report", settings_key("report", results),
                        lambda ctx: report.write(results, self.out))
        self.runner.close()
        return results
