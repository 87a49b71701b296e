"""The stages of ``nat-experiment``: corpus -> teacher (+ raw NATs) -> distillation ->
distilled NATs -> decoding and speed -> analysis -> report.

Every stage runs the real commands (nat-synth, fairseq-*, nat-distill, nat-analyze) and
records them, so the report can list each step for a user to re-run by hand.
"""
import json
import os

from nat import fairseq_cli
from nat.experiment import config as presets
from nat.experiment.speed import timed_generate
from nat.experiment.stages import Runner, settings_key
from nat.experiment.training import Job, run_jobs
from nat.textio import count_lines, read_lines, write_lines_atomic

NAT_DECODE = ["--iter-decode-max-iter", "0"]
#: seconds per update of a tiny model, one job per core (quick preset, measured), for the ETA only
SECONDS_PER_UPDATE = 0.9


def _synth_command(out, corpus):
    return ["nat-synth", "--out", out, "--mode", corpus["mode"], "--mix", corpus["mix"],
            "--seed", corpus["seed"], "--train", corpus["train"], "--valid", corpus["valid"],
            "--test", corpus["test"], "--preset", corpus["preset"], "--quiet",
            *corpus["extra"]]


def _train_args(data_bin, model, save_dir, seed, nat):
    args = [data_bin, "--user-dir", fairseq_cli.PLUGIN_DIR, "--arch", model["arch"],
            "--lr", model["lr"], "--warmup-updates", model["warmup"],
            "--max-tokens", model["max_tokens"], "--max-update", model["updates"],
            "--save-dir", save_dir, "--seed", seed, "--cpu",
            *presets.COMMON_TRAIN]
    if nat:
        args += presets.NAT_TRAIN
    return args + list(model.get("extra", []))


class Experiment:
    """One run of the experiment in ``out_dir`` with a resolved config."""

    def __init__(self, config, out_dir, quiet=False):
        self.config = config
        self.out = os.path.abspath(out_dir)
        self.quiet = quiet
        self.data = os.path.join(self.out, "data")
        self.raw_bin = os.path.join(self.out, "bin", "raw")
        self.distilled_dir = os.path.join(self.out, "distilled")
        self.distilled_bin = os.path.join(self.distilled_dir, "bin")
        self.runner = Runner(self.out, self._estimates(), quiet=quiet)
        self.keys = {}

    # ---- helpers --------------------------------------------------------------------------
    def _estimates(self):
        c = self.config
        updates = c["teacher"]["updates"] + len(c["train_data"]) * sum(
            m["updates"] for m in c["nat"])
        return {"corpus": 5, "binarize": 5,
                "train": SECONDS_PER_UPDATE * updates / max(1, c["jobs"])
                + 0.01 * c["corpus"]["train"] + 10,
                "decode": 10 * (2 + len(c["nat"]) * len(c["train_data"])),
                "analysis": 30, "report": 5}

    def _run_tool(self, ctx, tool, args, log):
        ctx.record([tool] + [str(a) for a in args])
        return fairseq_cli.run_tool(tool, args, log_path=os.path.join(self.out, "logs", log))

    def nat_runs(self):
        """(name, model config, train_data) of every NAT to train, raw first."""
        return [(f"{m['name']}_{data}", m, data)
                for data in self.config["train_data"] for m in self.config["nat"]]

    # ---- stages ---------------------------------------------------------------------------
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

    def _distill_args(self, teacher_checkpoint):
        d, limits = self.config["distill"], self.config["decode"]
        return ["--path", teacher_checkpoint, "--data-bin", self.raw_bin,
                "--source", os.path.join(self.data, "train.src"),
                "--target", os.path.join(self.data, "train.tgt"),
                "--valid-source", os.path.join(self.data, "valid.src"),
                "--valid-target", os.path.join(self.data, "valid.tgt"),
                "--out", self.distilled_dir, "--method", d["method"], "--beam", d["beam"],
                "--lenpen", d["lenpen"], "--backend", d["backend"],
                "--max-len-a", limits["max_len_a"], "--max-len-b", limits["max_len_b"],
                "--quiet"]

    def jobs(self):
        """teacher -> distillation -> NATs on distilled data; NATs on raw data in between."""
        seed, ckpt_root = self.config["seed"], os.path.join(self.out, "checkpoints")
        teacher = self.config["teacher"]
        teacher_key = settings_key("train", teacher, self.keys["binarize"], seed)
        teacher_dir = os.path.join(ckpt_root, "teacher")
        jobs = [Job("teacher", "fairseq-train",
                    _train_args(self.raw_bin, teacher, teacher_dir, seed, nat=False),
                    teacher_dir, teacher["updates"], teacher_key)]
        distill_key = settings_key("distill", self.config["distill"], self.config["decode"],
                                   teacher_key)
        self.keys["distill"] = distill_key
        jobs.append(Job("distill", "nat-distill",
                        self._distill_args(os.path.join(teacher_dir, "checkpoint_last.pt")),
                        self.distilled_dir, 0, distill_key, deps=("teacher",)))
        for name, model, data in self.nat_runs():
            upstream = self.keys["binarize"] if data == "raw" else distill_key
            save_dir = os.path.join(ckpt_root, name)
            data_bin = self.raw_bin if data == "raw" else self.distilled_bin
            jobs.append(Job(name, "fairseq-train",
                            _train_args(data_bin, model, save_dir, seed, nat=True),
                            save_dir, model["updates"],
                            settings_key("train", model, upstream, seed),
                            deps=() if data == "raw" else ("distill",)))
        # the critical path (teacher -> distill -> distilled NATs) is started first
        order = {"teacher": 0, "distill": 1}
        return sorted(jobs, key=lambda j: order.get(j.name, 3 if j.deps else 2))

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
        """(name, checkpoint, task, beam, extra decode args, train_data, family) to decode."""
        ckpt = lambda name: os.path.join(self.out, "checkpoints", name, "checkpoint_last.pt")
        limits = ["--max-len-a", self.config["decode"]["max_len_a"],
                  "--max-len-b", self.config["decode"]["max_len_b"]]
        found = [("teacher_beam5", ckpt("teacher"), "translation", 5, limits, "raw", "teacher"),
                 ("teacher_greedy", ckpt("teacher"), "translation", 1, limits, "raw",
                  "teacher")]
        for name, model, data in self.nat_runs():
            found.append((name, ckpt(name), "translation_lev", 1,
                          NAT_DECODE + list(model.get("decode", [])), data, model["name"]))
        return found

    def decode(self):
        systems = self.systems()
        key = settings_key("decode", self.config["speed"], self.config["decode"],
                           self.runner.records["train"]["key"], [s[:5] for s in systems])
        n_test = count_lines(os.path.join(self.data, "test.src"))
        hyp_dir = os.path.join(self.out, "hyps")
        speed = self.config["speed"]

        def run(ctx):
            results = {}
            for name, checkpoint, task, beam, extra, data, family in systems:
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
                write_lines_atomic(path, hyps)
                results[name] = {"hyp": path, "family": family, "train_data": data,
                                 "sentences_per_second_batch1": per_s_one,
                                 "latency_ms_batch1": 1000.0 / per_s_one,
                                 f"sentences_per_second_batch{speed['throughput_batch']}":
                                     per_s_big,
                                 "batch_invariant_share": identical / n_test}
            return results

        return self.runner.run("decode", key, run)

    def analysis(self):
        key = settings_key("analysis", self.runner.records["decode"]["key"],
                           self.keys["distill"])
        lexicon = os.path.join(self.data, "lexicon.json")
        adir = os.path.join(self.out, "analysis")

        def analyze(ctx, args, out):
            self._run_tool(ctx, "nat-analyze", args + ["--out", out],
                           f"analyze_{os.path.basename(out)}.log")
            with open(os.path.join(out, "metrics.json"), encoding="utf-8") as handle:
                return json.load(handle)

        def run(ctx):
            src = os.path.join(self.data, "train.src")
            corpora = {
                "raw": analyze(ctx, ["corpus", "--source", src,
                                     "--target", os.path.join(self.data, "train.tgt"),
                                     "--lexicon", lexicon, "--aligner", "eflomal",
                                     "--name", "raw"], os.path.join(adir, "corpus_raw")),
                "distilled": analyze(ctx, ["corpus", "--source", src,
                                           "--target", os.path.join(self.distilled_dir,
                                                                    "train.tgt"),
                                           "--lexicon", lexicon, "--aligner", "eflomal",
                                           "--reference-target",
                                           os.path.join(self.data, "train.tgt"),
                                           "--name", "distilled"],
                                     os.path.join(adir, "corpus_distilled")),
            }
            outputs = {}
            for name, system in self.runner.records["decode"]["result"].items():
                outputs[name] = analyze(ctx, ["outputs", "--hyp", system["hyp"],
                                              "--ref-dir", self.data, "--lexicon", lexicon,
                                              "--name", name],
                                        os.path.join(adir, f"outputs_{name}"))
            return {"corpora": corpora, "outputs": outputs}

        return self.runner.run("analysis", key, run)

    def run(self):
        from nat.experiment import report

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
