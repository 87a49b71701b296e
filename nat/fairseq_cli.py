"""Thin, loud wrappers around the real fairseq command-line tools: the one place that talks to
fairseq-preprocess, fairseq-train and fairseq-generate.

fairseq-preprocess drops nothing silently here: ``preprocess`` checks that every sentence of
every split was binarized.  Training flags come from a ``Recipe`` (data, not argument lists
written out at each call site).

fairseq-generate loses sentences silently (``--required-batch-size-multiple`` shrinking batches,
length filters) and prints them in length-sorted batch order.  ``generate`` here always passes
``--required-batch-size-multiple 1``, never ``--skip-invalid-size-inputs-valid-test``, restores
order by id, and fails unless exactly the ids ``0..N-1`` came back, each with ``nbest`` hypotheses.
"""
import logging
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field

from nat import console_pool
from nat.cli import bin_path, run_owned
from nat.errors import UserError
from nat.textio import count_lines, write_json_atomic

PLUGIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "fairseq_plugins")


def run_command(tool, args, log_path=None, env=None, pool=None):
    """Run a console script (a fairseq CLI or one of ours); raise UserError with its last line.

    The child never outlives this process (``nat.cli.run_owned``): it is killed when this
    process is killed (even by SIGKILL) or interrupted, so no orphaned fairseq-preprocess keeps
    writing into a directory that a re-run is rebuilding.  With ``pool``
    (``nat.console_pool.Pool``) and a ``log_path``, a script of ``console_pool.IN_PROCESS``
    runs in one of the pool's workers instead (same command, same log)."""
    cmd = [bin_path(tool)] + [str(a) for a in args]
    if pool is not None and log_path and env is None and tool in console_pool.IN_PROCESS:
        returncode, stdout = pool.run(tool, [str(a) for a in args], log_path)
        return _checked(tool, returncode, stdout, log_path)
    full_env = dict(os.environ)
    full_env.setdefault("OMP_NUM_THREADS", "1")  # tiny models: threads cost more than they give
    if env:
        full_env.update(env)
    try:
        returncode, stdout = run_owned(cmd, stderr=subprocess.STDOUT, text=True, env=full_env)
    except FileNotFoundError:
        raise UserError(f"{tool}: command not found (is the virtual environment installed?)") \
            from None
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        with open(log_path, "w", encoding="utf-8") as handle:
            handle.write(" ".join(cmd) + "\n" + stdout)
    return _checked(tool, returncode, stdout, log_path)


def _checked(tool, returncode, stdout, log_path):
    if returncode != 0:
        tail = [l for l in stdout.strip().splitlines() if l.strip()][-1:] or ["(no output)"]
        where = f" (log: {log_path})" if log_path else ""
        raise UserError(f"{tool} failed with exit status {returncode}: {tail[0]}{where}")
    return stdout


#: the fairseq-preprocess flag of each split it binarizes
SPLIT_FLAGS = {"train": "--trainpref", "valid": "--validpref", "test": "--testpref"}


def preprocess_args(dest, prefixes, src="src", tgt="tgt", srcdict=None, tgtdict=None,
                    joined=False, workers=1):
    """The fairseq-preprocess arguments of ``preprocess`` (also what a stage records)."""
    args = ["--source-lang", src, "--target-lang", tgt]
    for split, prefix in prefixes.items():
        args += [SPLIT_FLAGS[split], prefix]
    args += ["--destdir", dest]
    if joined:
        args.append("--joined-dictionary")
    if srcdict:
        args += ["--srcdict", srcdict]
    if tgtdict:
        args += ["--tgtdict", tgtdict]
    return args + ["--workers", workers]


_BINARIZED = re.compile(r"\[(\S+)\] (.+?): (\d+) sents, (\d+) tokens, ([\d.]+)% replaced")


#: fairseq's own log format (its console scripts' ``logging.basicConfig``)
LOG_FORMAT = logging.Formatter("%(asctime)s | %(levelname)s | %(name)s | %(message)s",
                               "%Y-%m-%d %H:%M:%S")
#: one in-process fairseq-preprocess at a time per process (its logger is process-wide)
_PREPROCESS_LOCK = threading.Lock()


def _preprocess_here(args, log_path):
    """fairseq-preprocess's ``cli_main`` (parse the arguments, ``main``) in this process: a
    small corpus binarizes in well under a second, a new process spends ~4 s importing fairseq
    first.  What it logs goes to ``log_path`` as its stdout would (command line first), not to
    this process's stdout; the handler fairseq adds for ``DEST/preprocess.log`` is closed after
    the run.  Returns the output; a failure raises UserError with its last line."""
    import io
    import traceback

    from nat.compat import fairseq_logging_kept

    args = [str(a) for a in args]
    with _PREPROCESS_LOCK:
        with fairseq_logging_kept():   # its import's basicConfig: this process keeps its own
            from fairseq import options
            from fairseq_cli import preprocess as fairseq_preprocess
        logger = logging.getLogger("fairseq_cli.preprocess")
        before = (list(logger.handlers), logger.level, logger.propagate)
        buffer = io.StringIO()
        capture = logging.StreamHandler(buffer)
        capture.setFormatter(LOG_FORMAT)
        logger.addHandler(capture)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        argv, sys.argv = sys.argv, ["fairseq-preprocess"] + args  # its parser reads sys.argv
        returncode = 0
        try:
            fairseq_preprocess.main(options.get_preprocessing_parser().parse_args(args))
        except SystemExit as stop:  # argparse
            returncode = stop.code if isinstance(stop.code, int) else 1
        except Exception:  # the log shows the traceback, as the command's own output would
            buffer.write(traceback.format_exc())
            returncode = 1
        finally:
            sys.argv = argv
            for handler in logger.handlers:
                if handler not in before[0]:
                    handler.close()
            logger.handlers[:] = before[0]
            logger.setLevel(before[1])
            logger.propagate = before[2]
    out = buffer.getvalue()
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        with open(log_path, "w", encoding="utf-8") as handle:
            handle.write(" ".join([bin_path("fairseq-preprocess")] + args) + "\n" + out)
    return _checked("fairseq-preprocess", returncode, out, log_path)


def preprocess(dest, prefixes, src="src", tgt="tgt", srcdict=None, tgtdict=None, joined=False,
               workers=1, log_path=None):
    """fairseq-preprocess ``prefixes`` ({split: path prefix}, e.g. ``{"train": "data/train"}``)
    into ``dest``; raise unless every sentence of every file was binarized.  Returns fairseq's
    ``<unk>`` percentage per file name (``{"train.src": 0.0, ...}``).  One worker: fairseq's
    own preprocessing in this process (``_preprocess_here``); several: the command, whose worker
    processes are forked from a process that runs nothing else."""
    args = preprocess_args(dest, prefixes, src, tgt, srcdict, tgtdict, joined, workers)
    if int(workers) == 1:
        out = _preprocess_here(args, log_path)
    else:
        out = run_command("fairseq-preprocess", args, log_path=log_path)
    seen, replaced = {}, {}
    for _, path, sents, _, percent in _BINARIZED.findall(out):
        seen[os.path.basename(path)], replaced[os.path.basename(path)] = int(sents), float(percent)
    for prefix in prefixes.values():
        for lang in (src, tgt):
            path = f"{prefix}.{lang}"
            expected, name = count_lines(path), os.path.basename(path)
            if seen.get(name) != expected:
                where = f" (log: {log_path})" if log_path else ""
                raise UserError(f"fairseq-preprocess binarized {seen.get(name)} sentences of "
                                f"{path}, expected {expected}{where}")
    return replaced


#: fairseq-train flags every recipe shares (per-recipe flags extend them)
COMMON_TRAIN = ["--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--clip-norm", "1.0",
                "--lr-scheduler", "inverse_sqrt", "--weight-decay", "0.0",
                "--log-format", "simple", "--log-interval", "20", "--num-workers", "0",
                "--no-epoch-checkpoints", "--save-interval-updates", "200",
                "--keep-interval-updates", "1", "--disable-validation"]
#: an autoregressive model: label-smoothed cross-entropy
AR_TRAIN = ["--criterion", "label_smoothed_cross_entropy", "--label-smoothing", "0.1"]
#: a NAT: fairseq's Levenshtein task, full masking, the NAT loss
NAT_TRAIN = ["--task", "translation_lev", "--criterion", "nat_loss", "--noise", "full_mask",
             "--label-smoothing", "0.1"]


@dataclass
class Recipe:
    """How to train one model with fairseq-train: the settings that differ between models;
    everything else is ``COMMON_TRAIN``.  ``nat`` adds ``NAT_TRAIN`` (task and criterion);
    ``extra`` is passed last (criterion of an AR model, architecture overrides, ...).
    ``processes`` > 1 trains data-parallel under torchrun (gloo on CPU, NCCL on GPUs): each
    process reads ``max_tokens``, so the global batch is ``processes x max_tokens``."""
    arch: str
    updates: int
    lr: float = 2e-3
    warmup: int = 100
    max_tokens: int = 2048
    nat: bool = False
    extra: list = field(default_factory=list)
    processes: int = 1
    validate_every: int = 0

    def args(self, data_bin, save_dir, seed=1):
        """The fairseq-train arguments (CPU unless CUDA is visible).  ``validate_every`` N > 0:
        the validation loss every N updates (and at the end) instead of no validation: the
        learning curve in the log, and ``checkpoint_best.pt`` by that loss.  Checkpoints are
        then saved every N updates too (fairseq validates at every save), so validation runs
        only there; training is the same either way (fairseq seeds every update by its number).
        """
        common = list(COMMON_TRAIN)
        if self.validate_every:
            common.remove("--disable-validation")
            common[common.index("--save-interval-updates") + 1] = self.validate_every
            common += ["--validate-interval", "1000000",  # epochs: never; updates decide
                       "--validate-interval-updates", self.validate_every]
        args = [data_bin, "--user-dir", PLUGIN_DIR, "--arch", self.arch, "--lr", self.lr,
                "--warmup-updates", self.warmup, "--max-tokens", self.max_tokens,
                "--max-update", self.updates, "--save-dir", save_dir, "--seed", seed,
                *([] if cuda_available() else ["--cpu"]), *common]
        if self.nat:
            args += NAT_TRAIN
        return args + list(self.extra)

    def launch(self, data_bin, save_dir, seed=1):
        """``(console script, arguments)``: fairseq-train, or torchrun over it for
        ``processes`` > 1 (tests/test_ddp.py checks that the weights match one process)."""
        args = self.args(data_bin, save_dir, seed)
        if self.processes == 1:
            return "fairseq-train", args
        backend = [] if cuda_available() else ["--distributed-backend", "gloo"]
        return "torchrun", ["--standalone", "--nproc_per_node", self.processes,
                            bin_path("fairseq-train"), *args,
                            "--distributed-world-size", self.processes, *backend]


def processes_per_job(setting):
    """``train_processes`` of the experiment: 0 means one per visible GPU (1 without one)."""
    if setting:
        return setting
    if cuda_available():
        import torch

        return max(1, torch.cuda.device_count())
    return 1


def train(data_bin, save_dir, recipe, seed=1, log_path=None, env=None, pool=None):
    """Run fairseq-train (under torchrun for several processes) with ``recipe``; returns its
    output (the log).  ``pool``: one process in a ``nat.console_pool`` worker."""
    return run_command(*recipe.launch(data_bin, save_dir, seed),
                       log_path=log_path or os.path.join(save_dir, "train.log"), env=env,
                       pool=pool)


_VALID = re.compile(r"\| valid on '[^']+' subset \|(.*)$")


def parse_validation(text):
    """fairseq-train's validation lines as a learning curve: ``[{updates, loss, nll_loss,
    bleu}]`` sorted by updates (``bleu`` only with ``--eval-bleu``, else None); a resumed run's
    repeated update counts keep their last line."""
    points = {}
    for line in text.splitlines():
        match = _VALID.search(line)
        if not match:
            continue
        fields = {}
        for part in match.group(1).split("|"):
            name, _, value = part.strip().partition(" ")
            try:
                fields[name] = float(value)
            except ValueError:
                continue
        if "num_updates" in fields and "loss" in fields:
            points[int(fields["num_updates"])] = {
                "updates": int(fields["num_updates"]), "loss": fields["loss"],
                "nll_loss": fields.get("nll_loss"), "bleu": fields.get("bleu")}
    return [points[k] for k in sorted(points)]


_SPEED = re.compile(r"Translated ([\d,]+) sentences \(([\d,]+) tokens\) in ([\d.]+)s "
                    r"\(([\d.]+) sentences/s")


def parse_speed(text, where="fairseq-generate output"):
    """fairseq-generate's own timer (generation only, model loading excluded):
    ``{"sentences", "tokens", "seconds", "sentences_per_second"}``."""
    match = _SPEED.search(text)
    if not match:
        raise UserError(f"no speed line in {where}")
    return {"sentences": int(match.group(1).replace(",", "")),
            "tokens": int(match.group(2).replace(",", "")), "seconds": float(match.group(3)),
            "sentences_per_second": float(match.group(4))}


@dataclass
class Hypothesis:
    tokens: str      # H- line: hypothesis in the target dictionary's (subword) tokens
    detok: str       # D- line: after --remove-bpe / detokenizer, if any
    score: float
    #: P- line: log2 probabilities of the decoded ids, specials (<s>, </s>) included
    positional_scores: list = field(default_factory=list)


def token_probabilities(hypotheses):
    """The model's probability of each token of each hypothesis (``Hypothesis`` list).

    fairseq prints a score for every decoded id, and the H- line leaves the specials out: an
    autoregressive model and our upsampled NATs score one more id than the line has (</s>),
    fairseq's length-predicting NATs two (<s> and </s>).  The system's usual surplus is the most
    common one; a line with another surplus (a special decoded inside the sentence) cannot be
    matched to its tokens, and gets None."""
    surplus = [len(h.positional_scores) - len(h.tokens.split()) for h in hypotheses]
    usual = max(set(surplus), key=surplus.count) if surplus else 1
    if usual not in (1, 2):
        return [None] * len(hypotheses)
    first = usual - 1
    return [[2.0 ** v for v in h.positional_scores[first:-1]] if extra == usual else None
            for h, extra in zip(hypotheses, surplus)]


@dataclass
class GenerateResult:
    hypotheses: list                    # hypotheses[id] = [Hypothesis, ...] best first
    stdout: str = ""
    command: list = field(default_factory=list)

    def best(self):
        return [h[0].tokens for h in self.hypotheses]


_LINE = re.compile(r"^([HD])-(\d+)\t([^\t]*)\t?(.*)$")
_SCORES = re.compile(r"^P-(\d+)\t(.*)$")


def parse_generate_output(text, expected, nbest=1):
    """Collect H-/D- lines by id; raise unless ids are exactly 0..expected-1 with nbest each."""
    tokens, detok, scores = {}, {}, {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
            match = _SCORES.match(line)
            if match:
                scores.setdefault(int(match.group(1)), []).append(
                    [float(v) for v in match.group(2).split()])
            continue
        kind, idx, score, hyp = match.group(1), int(match.group(2)), match.group(3), match.group(4)
        bucket = tokens if kind == "H" else detok
        bucket.setdefault(idx, []).append((float(score), hyp))
    ids = set(tokens)
    missing = sorted(set(range(expected)) - ids)
    extra = sorted(ids - set(range(expected)))
    if missing or extra:
        raise UserError(
            f"fairseq-generate returned {len(ids & set(range(expected)))} of {expected} sentences"
            f" (missing ids {missing[:10]}{'...' if len(missing) > 10 else ''}"
            f"{', unexpected ids ' + str(extra[:10]) if extra else ''})")
    result = []
    for idx in range(expected):
        hs, ds = tokens[idx], detok.get(idx, tokens[idx])
        if len(hs) != nbest:
            raise UserError(f"fairseq-generate returned {len(hs)} hypotheses for id {idx},"
                            f" expected {nbest}")
        ps = scores.get(idx, [[]] * len(hs))
        result.append([Hypothesis(tokens=h[1], detok=d[1], score=h[0], positional_scores=p)
                       for h, d, p in zip(hs, ds, ps)])
    return result


def generate_args(data_bin, checkpoint, subset="test", task="translation", nbest=1, beam=5,
                  batch_size=64, extra=(), user_dir=PLUGIN_DIR):
    """The fairseq-generate arguments of ``generate`` (no sentence dropped, CPU unless CUDA)."""
    args = [data_bin, "--path", checkpoint, "--gen-subset", subset, "--task", task,
            "--beam", beam, "--nbest", nbest, "--batch-size", batch_size,
            "--required-batch-size-multiple", 1, "--num-workers", 0]
    if not cuda_available():
        args.append("--cpu")
    if user_dir:
        args += ["--user-dir", user_dir]
    return [str(a) for a in args + list(extra)]


def generate(data_bin, checkpoint, expected, subset="test", task="translation", nbest=1,
             beam=5, batch_size=64, extra=(), log_path=None, user_dir=PLUGIN_DIR):
    """Decode ``subset`` of ``data_bin`` with the real fairseq-generate; every id checked."""
    args = generate_args(data_bin, checkpoint, subset, task, nbest, beam, batch_size, extra,
                         user_dir)
    out = run_command("fairseq-generate", args, log_path=log_path)
    hyps = parse_generate_output(out, expected, nbest=nbest)
    return GenerateResult(hypotheses=hyps, stdout=out, command=["fairseq-generate"] + args)


def generate_many(requests, work_dir, pool=None):
    """Several ``generate`` calls (dicts of its keyword arguments, each with ``expected`` and
    ``log_path``) in one process (``nat.fairseq_batch``: fairseq's generate, imported once);
    returns their ``GenerateResult``s in order, every id of each checked.  Each log holds what
    that fairseq-generate run printed, as ``generate`` writes it.  ``pool``: in a
    ``nat.console_pool`` worker (fairseq imported once for all) instead of a new process."""
    runs, checks = [], []
    for i, request in enumerate(requests):
        request = dict(request)
        expected, nbest = request.pop("expected"), request.get("nbest", 1)
        log_path = request.pop("log_path", None) or os.path.join(work_dir, f"generate_{i}.log")
        args = generate_args(**request)
        runs.append({"args": args, "log": os.path.abspath(log_path),
                     "command": ["fairseq-generate"] + args})
        checks.append((expected, nbest))
    spec = os.path.join(work_dir, "generate_many.json")
    write_json_atomic(spec, {"runs": runs})
    log = os.path.join(work_dir, "generate_many.log")
    if pool is not None:   # a nat.console_pool worker (fairseq already imported there)
        _checked("generate_many", *pool.run("nat.fairseq_batch", [spec], log), log)
    else:
        run_command("python", ["-m", "nat.fairseq_batch", spec], log_path=log)
    results = []
    for run, (expected, nbest) in zip(runs, checks):
        with open(run["log"], encoding="utf-8") as handle:
            out = handle.read().split("\n", 1)[1]  # after the command line
        results.append(GenerateResult(hypotheses=parse_generate_output(out, expected, nbest),
                                      stdout=out, command=run["command"]))
    return results


def cuda_available():
    """True when fairseq would use CUDA (a GPU is visible and NAT_FORCE_CPU is not 1)."""
    try:
        import torch
        return torch.cuda.is_available() and os.environ.get("NAT_FORCE_CPU") != "1"
    except Exception:  # pragma: no cover - torch is a hard dependency
        return False


#: a CMLM (mask-predict, ``cmlm_tiny``), as fairseq's own CMLM recipe trains it
#: (examples/nonautoregressive_translation/scripts.md): the Levenshtein task with random masking
#: (between one and all of a target's tokens become ``<unk>``), the NAT loss on those positions.
#: Pass it as a ``Recipe``'s ``extra`` with ``nat=False`` (it replaces ``NAT_TRAIN``).
CMLM_TRAIN = ["--task", "translation_lev", "--criterion", "nat_loss", "--noise", "random_mask",
              "--label-smoothing", "0.1"]
#: decoding a CMLM with ``generate(..., task="translation_lev", beam=1)``, with
#: ``--iter-decode-max-iter N`` beside these: N+1 decoder passes (fairseq loops over
#: ``range(N + 1)``; ``--print-step`` prints N), mask-predict's fixed number.  Without
#: ``--iter-decode-force-max-iter`` fairseq stops a sentence early once a pass leaves its
#: re-masked tokens unchanged, and a CMLM then returns hypotheses that still hold ``<unk>``.
CMLM_DECODE = ["--iter-decode-force-max-iter", "--iter-decode-with-beam", "1"]
