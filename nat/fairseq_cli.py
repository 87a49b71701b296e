"""Thin, loud wrappers around the real fairseq command-line tools.

fairseq-generate loses sentences silently (``--required-batch-size-multiple`` shrinking batches,
length filters) and prints them in length-sorted batch order.  ``generate`` here always passes
``--required-batch-size-multiple 1``, never ``--skip-invalid-size-inputs-valid-test``, restores
order by id, and fails unless exactly the ids ``0..N-1`` came back, each with ``nbest`` hypotheses.
"""
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field

from nat.cli import bin_path
from nat.errors import UserError

PLUGIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          "fairseq_plugins")


def run_tool(tool, args, log_path=None, env=None):
    """Run ``fairseq-<tool>`` (or any console script); raise UserError with the log's tail."""
    cmd = [bin_path(tool)] + [str(a) for a in args]
    full_env = dict(os.environ)
    full_env.setdefault("OMP_NUM_THREADS", "1")  # tiny models: threads cost more than they give
    if env:
        full_env.update(env)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=full_env)
    if log_path:
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        with open(log_path, "w", encoding="utf-8") as handle:
            handle.write(" ".join(cmd) + "\n" + proc.stdout)
    if proc.returncode != 0:
        tail = [l for l in proc.stdout.strip().splitlines() if l.strip()][-1:] or ["(no output)"]
        where = f" (log: {log_path})" if log_path else ""
        raise UserError(f"{tool} failed with exit status {proc.returncode}: {tail[0]}{where}")
    return proc.stdout


@dataclass
class Hypothesis:
    tokens: str      # H- line: hypothesis in the target dictionary's (subword) tokens
    detok: str       # D- line: after --remove-bpe / detokenizer, if any
    score: float


@dataclass
class GenerateResult:
    hypotheses: list                    # hypotheses[id] = [Hypothesis, ...] best first
    stdout: str = ""
    command: list = field(default_factory=list)

    def best(self):
        return [h[0].tokens for h in self.hypotheses]


_LINE = re.compile(r"^([HD])-(\d+)\t([^\t]*)\t?(.*)$")


def parse_generate_output(text, expected, nbest=1):
    """Collect H-/D- lines by id; raise unless ids are exactly 0..expected-1 with nbest each."""
    tokens, detok = {}, {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match:
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
        result.append([Hypothesis(tokens=h[1], detok=d[1], score=h[0]) for h, d in zip(hs, ds)])
    return result


def generate(data_bin, checkpoint, expected, subset="test", task="translation", nbest=1,
             beam=5, batch_size=64, extra=(), log_path=None, user_dir=PLUGIN_DIR):
    """Decode ``subset`` of ``data_bin`` with the real fairseq-generate; every id checked."""
    args = [data_bin, "--path", checkpoint, "--gen-subset", subset, "--task", task,
            "--beam", beam, "--nbest", nbest, "--batch-size", batch_size,
            "--required-batch-size-multiple", 1, "--num-workers", 0]
    if not cuda_available():
        args.append("--cpu")
    if user_dir:
        args += ["--user-dir", user_dir]
    args += list(extra)
    out = run_tool("fairseq-generate", args, log_path=log_path)
    hyps = parse_generate_output(out, expected, nbest=nbest)
    return GenerateResult(hypotheses=hyps, stdout=out,
                          command=["fairseq-generate"] + [str(a) for a in args])


def cuda_available():
    """True when fairseq would use CUDA (a GPU is visible and NAT_FORCE_CPU is not 1)."""
    try:
        import torch
        return torch.cuda.is_available() and os.environ.get("NAT_FORCE_CPU") != "1"
    except Exception:  # pragma: no cover - torch is a hard dependency
        return False
