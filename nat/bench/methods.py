"""``nat-bench methods``: each distillation method of docs/methods.md, end to end, in one small run.

Reuses a finished ``nat-experiment`` directory (``--experiment DIR``, read only): its nat-synth
corpus (DIR/data), data-bin (DIR/bin/raw), teacher (DIR/checkpoints/teacher) and Seq-KD corpus
(DIR/distilled/bin).  Every method runs through the real commands (nat-distill, nat-shrink,
fairseq-train, fairseq-generate) and every system is scored by ``nat-analyze outputs``
(multi-reference sacreBLEU, mixed-sentence rate, exact valid rate).  Writes OUT/results.md (the
table), OUT/results.json and OUT/commands.txt (every command, in the order it ran).
Multilingual selective KD is not part of it (docs/methods.md reports a run of it).
"""
import json
import os
import re
import shlex
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable, Optional

from nat import fairseq_cli
from nat.cli import add_subcommand, arg
from nat.errors import UserError
from nat.textio import count_lines, read_lines, write_json_atomic, write_lines_atomic

METHODS = ("ensemble", "blackbox", "imitkd", "shrink", "lstm", "cmlm")
#: decoding limits of every autoregressive system (the experiment's)
AR_LIMITS = ["--max-len-a", "0", "--max-len-b", "64"]
#: one-pass NAT decoding (nat.experiment.pipeline.NAT_DECODE)
NAT_DECODE = ["--iter-decode-max-iter", "0"]
CMLM_PASSES = (1, 2, 4, 10)


@dataclass
class MethodsOptions:
    """``nat-bench methods``'s flags."""
    experiment: Optional[str] = arg("finished nat-experiment output directory (read only)", None)
    out: str = arg("output directory", "runs/bench-methods")
    methods: str = arg(f"comma-separated subset of {','.join(METHODS)}", ",".join(METHODS))
    updates: int = arg("fairseq-train updates of every student", 300)
    teacher_updates: int = arg("updates of the two extra ensemble teachers (seeds 2, 3)", 300)
    subset: int = arg("training sentences the ensemble distils (both corpora), and black-box "
                      "queries sampled from another corpus", 3000)
    query_zipf: float = arg("Zipf exponent of the black-box query corpus (the experiment's "
                            "small preset: 1.0)", 0.7)
    jobs: int = arg("steps run at once", 2)
    budget_minutes: float = arg("start no step after this many minutes (0: no limit)", 0.0)
    dry_run: bool = arg("print every step's commands and run nothing", False)


def register(subparsers):
    add_subcommand(subparsers, "methods", MethodsOptions, main, help=__doc__.splitlines()[0],
                   description=__doc__)


@dataclass
class Step:
    """One unit of work: a console script (``tool`` + ``args``) or an in-process ``action``
    (whose ``commands`` are what it runs, for the plan and commands.txt)."""
    name: str
    deps: tuple = ()
    tool: Optional[str] = None
    args: list = field(default_factory=list)
    action: Optional[Callable] = None
    commands: list = field(default_factory=list)
    log: Optional[str] = None

    def command_lines(self):
        if self.tool:
            return [shlex.join([self.tool] + [str(a) for a in self.args])]
        return [c if isinstance(c, str) else shlex.join(str(a) for a in c) for c in self.commands]


@dataclass
class System:
    """One decoded model: a row of the table."""
    method: str
    row: str
    trained_on: str
    hyp: str
    analysis: str
    notes: str = ""


def decoding(kind):
    """``(task, beam, extra flags)`` of a system kind (see ``Plan.decode``)."""
    if kind == "ar":
        return "translation", 5, AR_LIMITS
    if kind == "greedy":
        return "translation", 1, AR_LIMITS
    if kind == "nat":
        return "translation_lev", 1, NAT_DECODE
    if kind.startswith("rerank"):     # noisy parallel decoding: --path NAT:AR
        return "translation_nat", 1, NAT_DECODE + ["--iter-decode-with-beam", kind[6:],
                                                   "--iter-decode-with-external-reranker"]
    if kind.startswith("dag-"):
        return "translation_lev", 1, NAT_DECODE + [
            "--model-overrides", repr({"decode_strategy": kind[4:],
                                       "decode_length_penalty": 1.0})]
    if kind.startswith("cmlm"):       # N decoder passes
        return "translation_lev", 1, ["--iter-decode-max-iter", int(kind[4:]) - 1,
                                      *fairseq_cli.CMLM_DECODE]
    raise ValueError(f"unknown system kind {kind!r}")


class Plan:
    """The steps and systems of the chosen methods, built without touching any file."""
    METHODS = METHODS

    def __init__(self, opts):
        if not opts.experiment:
            raise UserError("--experiment DIR is required (a finished nat-experiment output)")
        unknown = sorted(set(opts.methods.split(",")) - set(self.METHODS))
        if unknown:
            raise UserError(f"--methods {','.join(unknown)}: choose from "
                            f"{','.join(self.METHODS)}")
        self.o = opts
        self.pool = None     # the runner's nat.console_pool.Pool, set when it runs
        exp = os.path.abspath(opts.experiment)
        self.out = os.path.abspath(opts.out)
        self.data = os.path.join(exp, "data")
        self.raw = os.path.join(exp, "bin", "raw")
        self.distilled = os.path.join(exp, "distilled", "bin")
        self.teacher = os.path.join(exp, "checkpoints", "teacher", "checkpoint_last.pt")
        self.steps, self.systems = [], []
        for method in self.METHODS:
            if method in opts.methods.split(","):
                getattr(self, method)()

    # --- building blocks ---------------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.out, *parts)

    def add(self, step):
        self.steps.append(step)
        return step.name

    def command(self, method, name, tool, args, deps=()):
        return self.add(Step(f"{method}/{name}", tuple(deps), tool=tool,
                             args=[str(a) for a in args],
                             log=self.path(method, "logs", f"{name}.log")))

    def train(self, method, name, data_bin, recipe, seed=1, deps=()):
        """A fairseq-train step; returns (step name, checkpoint)."""
        save = self.path(method, "checkpoints", name)
        tool, args = recipe.launch(data_bin, save, seed)
        step = self.command(method, f"train_{name}", tool, args, deps)
        return step, os.path.join(save, "checkpoint_last.pt")

    def ar(self, arch, criterion=fairseq_cli.AR_TRAIN, updates=None, extra=()):
        return fairseq_cli.Recipe(arch, updates or self.o.updates,
                                  extra=list(criterion) + list(extra))

    def decode(self, method, systems, deps, data_bin=None, ref_dir=None, truth=True):
        """One generate_many step decoding the test set of ``data_bin`` (default: the
        experiment's) for ``systems`` ((row, trained on, checkpoint, kind, notes); kind ar
        (beam 5) | greedy | nat | rerankK (length beam K, the AR model after ``:`` reranks) |
        cmlmN (N passes) | dag-STRATEGY), then one nat-analyze step each against ``ref_dir``
        (default: the experiment's corpus; ``truth``: also the exact valid rate)."""
        data_bin, ref_dir = data_bin or self.raw, ref_dir or self.data
        requests, rows = [], []
        for row, trained_on, checkpoint, kind, notes in systems:
            task, beam, extra = decoding(kind)
            slug = re.sub(r"[^A-Za-z0-9.]+", "_", f"{method}_{len(rows) + 1}_{row}_{trained_on}")
            requests.append(dict(data_bin=data_bin, checkpoint=checkpoint, task=task, beam=beam,
                                 batch_size=128, extra=[str(e) for e in extra],
                                 log_path=self.path(method, "logs", f"generate_{slug}.log")))
            hyp, analysis = self.path("hyps", f"{slug}.txt"), self.path("analysis", slug)
            self.systems.append(System(method, row, trained_on, hyp, analysis, notes))
            rows.append((hyp, analysis, slug))
        work = self.path(method, "generate")
        test_src = os.path.join(ref_dir, "test.src")

        def action():
            os.makedirs(work, exist_ok=True)
            n = count_lines(test_src)
            results = fairseq_cli.generate_many([dict(r, expected=n) for r in requests], work,
                                                pool=self.pool)
            for (hyp, _, _), (_, _, _, kind, _), result in zip(rows, systems, results):
                best = [h[0] for h in result.hypotheses]
                write_lines_atomic(hyp, [h.detok for h in best])
                record = {"sentences_per_second_batch128":
                          fairseq_cli.parse_speed(result.stdout)["sentences_per_second"]}
                if kind in ("ar", "greedy") and all(h.positional_scores for h in best):
                    # Kim & Rush's "probability mass on the beam output": the mean of
                    # p(output | source), fairseq's per-id scores being log2 (</s> included)
                    record["output_probability"] = sum(
                        2.0 ** sum(h.positional_scores) for h in best) / max(1, len(best))
                write_json_atomic(hyp + ".decode.json", record)

        commands = [["fairseq-generate"] + fairseq_cli.generate_args(
            **{k: v for k, v in r.items() if k != "log_path"}) for r in requests]
        gen = self.add(Step(f"{method}/generate", tuple(deps), action=action, commands=commands))
        # a nat-synth directory: its references in every language, the exact valid rate;
        # else one reference, ref_dir/test.tgt
        scoring = ["--ref-dir", ref_dir, "--lexicon", os.path.join(ref_dir, "lexicon.json"),
                   "--truth", ref_dir] if truth else ["--ref", os.path.join(ref_dir, "test.tgt")]
        for hyp, analysis, slug in rows:
            self.command(method, f"analyze_{slug}", "nat-analyze", [
                "outputs", "--hyp", hyp, *scoring, "--out", analysis], deps=[gen])

    def distill(self, method, name, paths, source, target, backend="fairseq", deps=(),
                extra=()):
        out = self.path(method, name)
        args = ["--path", ":".join(paths)] if paths else []
        args += ["--data-bin", self.raw, "--source", source]
        args += ["--target", target] if target else []
        args += ["--out", out, "--method", "seqkd", "--beam", 5, "--backend", backend,
                 *AR_LIMITS, "--no-launcher", "--quiet", *extra]
        return self.command(method, f"distill_{name}", "nat-distill", args, deps), \
            os.path.join(out, "bin")

    # --- the methods ---------------------------------------------------------------------
    def ensemble(self):
        """Two more teachers (seeds 2, 3); Seq-KD of a training subset by the ensemble of three
        and by the experiment's teacher alone (same backend, beam, sentences); a vanilla NAT on
        each."""
        m, k = "ensemble", self.o.subset
        src, tgt = self.path(m, "subset.src"), self.path(m, "subset.tgt")

        def take():
            os.makedirs(self.path(m), exist_ok=True)
            for side, dest in (("src", src), ("tgt", tgt)):
                write_lines_atomic(dest, read_lines(os.path.join(self.data, f"train.{side}"))[:k])
        cut = self.add(Step(f"{m}/subset", action=take,
                            commands=[f"head -n {k} {self.data}/train.{side} > {dest}"
                                      for side, dest in (("src", src), ("tgt", tgt))]))
        teacher = fairseq_cli.Recipe("transformer_teacher_tiny", self.o.teacher_updates,
                                     extra=list(fairseq_cli.AR_TRAIN))
        members, steps = [self.teacher], [cut]
        for seed in (2, 3):
            step, ckpt = self.train(m, f"teacher_seed{seed}", self.raw, teacher, seed=seed)
            members.append(ckpt)
            steps.append(step)
        one, one_bin = self.distill(m, "single", [self.teacher], src, tgt, deps=[cut])
        ens, ens_bin = self.distill(m, "ensemble3", members, src, tgt, deps=steps)
        nat = fairseq_cli.Recipe("nat_vanilla_tiny", self.o.updates, nat=True)
        s1, c1 = self.train(m, "nat_single", one_bin, nat, deps=[one])
        s3, c3 = self.train(m, "nat_ensemble", ens_bin, nat, deps=[ens])
        self.decode(m, [
            ("teacher seed 1 (the experiment's)", "raw", self.teacher, "ar", ""),
            ("teacher seed 2", "raw", members[1], "ar", f"{self.o.teacher_updates} updates"),
            ("teacher seed 3", "raw", members[2], "ar", f"{self.o.teacher_updates} updates"),
            ("ensemble of 3 (fairseq-generate --path a:b:c)", "raw", ":".join(members), "ar", ""),
            ("nat_vanilla_tiny", f"Seq-KD by teacher 1 ({k} sents)", c1, "nat", ""),
            ("nat_vanilla_tiny", f"Seq-KD by ensemble ({k} sents)", c3, "nat", ""),
        ], deps=[s1, s3])

    def blackbox(self):
        """The teacher behind a shell command (CTranslate2 in a script); queries are the
        sources of another nat-synth corpus (other seed, shifted Zipf), used without
        targets; an AR student on the answers."""
        m = "blackbox"
        queries = self.path(m, "queries")
        synth = self.command(m, "synth_queries", "nat-synth", [
            "--out", queries, "--mode", "random", "--seed", 7, "--train", self.o.subset,
            "--valid", 0, "--test", 0, "--preset", "small", "--zipf", self.o.query_zipf,
            "--quiet", "--overwrite"])
        script, ct2 = self.path(m, "teacher_cmd.py"), self.path(m, "ct2")

        def convert():
            from nat.distill import backend_ct2, teacher

            model_dir, _ = backend_ct2.convert_cached(teacher.describe([self.teacher], self.raw),
                                                      ct2)
            with open(script, "w", encoding="utf-8") as handle:
                handle.write(TEACHER_SCRIPT.format(model=model_dir))
        conv = self.add(Step(f"{m}/convert", action=convert, commands=[
            f"python: nat.distill.backend_ct2.convert_cached({self.teacher}) -> {ct2}; "
            f"write {script} (CTranslate2 beam 5)"]))
        cmd = f"{sys.executable} {script}"
        imit, imit_bin = self.distill(
            m, "imitation", [], os.path.join(queries, "train.src"), None, backend="command",
            deps=[synth, conv], extra=["--teacher-cmd", cmd, "--teacher-batch", 1000])
        step, ckpt = self.train(m, "student", imit_bin, self.ar("transformer_student_tiny"),
                                deps=[imit])
        self.decode(m, [
            ("official teacher (fairseq beam 5)", "raw", self.teacher, "ar", ""),
            ("imitation transformer_student_tiny", f"{self.o.subset} black-box answers to "
             f"zipf {self.o.query_zipf} queries", ckpt, "ar", "no gold targets"),
        ], deps=[step])

    def imitkd(self):
        """ImitKD vs Word-KD vs label-smoothed CE: three AR students on raw data."""
        m, arch = "imitkd", "transformer_student_tiny"
        runs = [("ce", fairseq_cli.AR_TRAIN, "label_smoothed_cross_entropy 0.1"),
                ("word_kd", ["--criterion", "word_kd", "--teacher-path", self.teacher,
                             "--label-smoothing", "0.1"], "word_kd alpha default"),
                ("imitkd", ["--criterion", "imitkd", "--teacher-path", self.teacher],
                 "imitkd defaults (exponential, hard labels)")]
        steps, systems = [], []
        for name, criterion, notes in runs:
            step, ckpt = self.train(m, name, self.raw, self.ar(arch, criterion))
            steps.append(step)
            systems.append((f"{arch} {name}", "raw", ckpt, "ar", notes))
        self.decode(m, systems, deps=steps)

    def shrink(self):
        """nat-shrink 2+2 -> 1+1, fine-tuned on the Seq-KD corpus, vs 1+1 from scratch."""
        m, n = "shrink", self.o.updates
        shrunk = self.path(m, "shrunk_1x1.pt")
        sh = self.command(m, "shrink", "nat-shrink", [
            self.teacher, "--encoder-layers", 1, "--decoder-layers", 1, "--out", shrunk,
            "--data-bin", self.raw, "--overwrite"])
        layers = ["--encoder-layers", "1", "--decoder-layers", "1"]
        tune, ct = self.train(m, "finetuned", self.distilled, self.ar(
            "transformer_teacher_tiny", extra=["--finetune-from-model", shrunk, *layers]),
            deps=[sh])
        scratch, cs = self.train(m, "scratch", self.distilled,
                                 self.ar("transformer_teacher_tiny", extra=layers))
        self.decode(m, [
            ("teacher 2+2", "raw", self.teacher, "ar", ""),
            ("shrunk 1+1, not fine-tuned", "(teacher's layers 0/1)", shrunk, "ar", ""),
            ("shrunk 1+1 + fine-tune", "Seq-KD", ct, "ar", f"{n} updates"),
            ("1+1 from scratch", "Seq-KD", cs, "ar", f"{n} updates"),
        ], deps=[tune, scratch])

    def lstm(self):
        """lstm_student_tiny on raw vs Seq-KD data."""
        m, arch = "lstm", "lstm_student_tiny"
        a, ca = self.train(m, "raw", self.raw, self.ar(arch))
        b, cb = self.train(m, "seqkd", self.distilled, self.ar(arch))
        self.decode(m, [(arch, "raw", ca, "ar", ""), (arch, "Seq-KD", cb, "ar", "")],
                    deps=[a, b])

    def cmlm(self):
        """cmlm_tiny on raw vs Seq-KD data, decoded with 1, 2, 4, 10 passes."""
        m = "cmlm"
        recipe = fairseq_cli.Recipe("cmlm_tiny", self.o.updates,
                                    extra=list(fairseq_cli.CMLM_TRAIN))
        a, ca = self.train(m, "raw", self.raw, recipe)
        b, cb = self.train(m, "seqkd", self.distilled, recipe)
        self.decode(m, [(f"cmlm_tiny {p} pass{'es' if p > 1 else ''}", data, ckpt,
                         f"cmlm{p}", "")
                        for data, ckpt in (("raw", ca), ("Seq-KD", cb)) for p in CMLM_PASSES],
                    deps=[a, b])


#: the black-box teacher: lines in, lines out (CTranslate2 beam 5, one thread)
TEACHER_SCRIPT = '''"""Black-box teacher of nat-bench methods: source lines in, translations out."""
import sys

import ctranslate2

translator = ctranslate2.Translator({model!r}, device="cpu", intra_threads=1)
lines = [line.split() for line in sys.stdin.read().splitlines()]
results = translator.translate_batch(lines, beam_size=5, max_decoding_length=64,
                                     max_batch_size=128) if lines else []
sys.stdout.write("".join(" ".join(r.hypotheses[0]) + "\\n" for r in results))
'''


class Runner:
    """Runs a plan's steps (at most ``jobs`` at once, each after its deps), one progress line
    per step; a failed step skips those that depend on it."""

    def __init__(self, plan, jobs, budget_s, pool=None, quiet=False, done_dir=None):
        """``pool``: a ``nat.console_pool.Pool`` for the scripts it can run; ``done_dir``: a
        finished step leaves a record there, and a later run skips a step whose record has
        the same commands (resume)."""
        self.plan, self.jobs, self.budget_s, self.pool = plan, max(1, jobs), budget_s, pool
        plan.pool = pool
        self.quiet, self.done_dir = quiet, done_dir
        self.started = time.perf_counter()
        self.status, self.ran = {}, []

    def elapsed(self):
        return time.perf_counter() - self.started

    def say(self, text):
        if not self.quiet:
            print(f"[{self.elapsed():7.1f}s] {text}", flush=True)

    def _record(self, step):
        return self.done_dir and os.path.join(self.done_dir,
                                              re.sub(r"[^A-Za-z0-9.]+", "_", step.name) + ".json")

    def _finished(self, step):
        path = self._record(step)
        if not path or not os.path.isfile(path):
            return False
        with open(path, encoding="utf-8") as handle:
            return json.load(handle).get("commands") == step.command_lines()

    def recorded_cpu(self):
        """{log path: CPU seconds} of the finished steps run in the pool (this run or before)."""
        found = {}
        for step in self.plan.steps:
            path = self._record(step)
            if path and os.path.isfile(path):
                with open(path, encoding="utf-8") as handle:
                    record = json.load(handle)
                if record.get("cpu_seconds") is not None and step.log:
                    found[os.path.abspath(step.log)] = record["cpu_seconds"]
        return found

    def run_step(self, step):
        began = time.perf_counter()
        if self._finished(step):
            return 0.0
        if step.tool:
            fairseq_cli.run_command(step.tool, step.args, log_path=step.log, pool=self.pool)
        else:
            step.action()
        seconds = time.perf_counter() - began
        if self.done_dir:
            cpu = self.pool.cpu_seconds.get(os.path.abspath(step.log)) \
                if self.pool and step.log else None
            os.makedirs(self.done_dir, exist_ok=True)
            write_json_atomic(self._record(step), {"commands": step.command_lines(),
                                                   "seconds": round(seconds, 1),
                                                   "cpu_seconds": cpu})
        return seconds

    def run(self):
        pending, running = list(self.plan.steps), {}
        with ThreadPoolExecutor(self.jobs) as pool:
            while pending or running:
                changed = True
                while changed and len(running) < self.jobs:
                    changed = False
                    for step in list(pending):
                        bad = [d for d in step.deps if self.status.get(d, "ok") != "ok"]
                        if bad:
                            self.status[step.name] = f"skipped ({bad[0]} did not finish)"
                        elif any(d not in self.status for d in step.deps):
                            continue
                        elif self.budget_s and self.elapsed() > self.budget_s:
                            self.status[step.name] = "skipped (over --budget-minutes)"
                        else:
                            self.say(f"start {step.name}")
                            self.ran.extend(step.command_lines())
                            running[pool.submit(self.run_step, step)] = step
                        pending.remove(step)
                        changed = True
                        if step.name in self.status:
                            self.say(f"{step.name}: {self.status[step.name]}")
                        if len(running) >= self.jobs:
                            break
                if not running:
                    for step in pending:   # deps that name no step: never ready
                        self.status[step.name] = "skipped (unknown dependency)"
                    pending = []
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    step = running.pop(future)
                    try:
                        seconds = future.result()
                        self.status[step.name] = "ok"
                        left = len(pending) + len(running)
                        finished_n = len(self.plan.steps) - left
                        eta = self.elapsed() / max(1, finished_n) * left
                        self.say(f"done  {step.name} ({seconds:.0f}s; {finished_n} of "
                                 f"{len(self.plan.steps)} steps, ETA {eta / 60:.0f} min)")
                    except Exception as err:  # one failed step must not stop the others
                        self.status[step.name] = f"failed: {err}"
                        self.say(f"FAIL  {step.name}: {err}")


def read_metrics(system):
    path = os.path.join(system.analysis, "metrics.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as handle:
        metrics = json.load(handle)
    found = {k: metrics.get(k) for k in ("sacrebleu", "mixed_sentence_rate", "valid_rate")}
    if os.path.isfile(system.hyp + ".decode.json"):
        with open(system.hyp + ".decode.json", encoding="utf-8") as handle:
            found.update(json.load(handle))
    return found


def table(systems):
    lines = ["| method | row | trained on | multi-ref sacreBLEU | mixed-sentence rate | "
             "valid rate | notes |", "|---|---|---|---|---|---|---|"]
    for s, metrics in systems:
        cells = (["n/a"] * 3 if metrics is None else
                 [f"{metrics['sacrebleu']:.1f}", _rate(metrics["mixed_sentence_rate"]),
                  _rate(metrics["valid_rate"])])
        lines.append(f"| {s.method} | {s.row} | {s.trained_on} | " + " | ".join(cells) +
                     f" | {s.notes} |")
    return "\n".join(lines)


def _rate(value):
    return "n/a" if value is None else f"{value:.3f}"


def main(opts):
    plan = Plan(opts)
    if opts.dry_run:
        for step in plan.steps:
            after = f"  (after {', '.join(step.deps)})" if step.deps else ""
            print(f"# {step.name}{after}")
            for line in step.command_lines():
                print(line)
        print(f"# {len(plan.steps)} steps, {len(plan.systems)} systems scored")
        return 0
    for need in (plan.teacher, plan.raw, plan.distilled, os.path.join(plan.data, "test.src")):
        if not os.path.exists(need):
            raise UserError(f"--experiment {opts.experiment}: {need} is missing (a finished "
                            f"nat-experiment output is needed)")
    os.makedirs(plan.out, exist_ok=True)
    runner = Runner(plan, opts.jobs, opts.budget_minutes * 60)
    runner.say(f"{len(plan.steps)} steps, students {opts.updates} updates, extra teachers "
               f"{opts.teacher_updates}, {opts.jobs} at once")
    try:
        runner.run()
    finally:
        write_lines_atomic(plan.path("commands.txt"), runner.ran)
    scored = [(s, read_metrics(s)) for s in plan.systems]
    text = table(scored)
    with open(plan.path("results.md"), "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    write_json_atomic(plan.path("results.json"), {
        "experiment": os.path.abspath(opts.experiment), "options": vars(opts),
        "total_seconds": round(runner.elapsed(), 1),
        "systems": [dict(vars(s), metrics=m) for s, m in scored],
        "steps": runner.status, **multilingual_note()})
    print("\n" + text)
    problems = {k: v for k, v in runner.status.items() if v != "ok"}
    for name, why in problems.items():
        print(f"- {name}: {why}")
    print(f"\ntotal {runner.elapsed():.0f}s; commands: {plan.path('commands.txt')}")
    return 1 if problems else 0


def multilingual_note():
    return {"not_run": {"multilingual": "not part of this benchmark; see docs/methods.md"}}
