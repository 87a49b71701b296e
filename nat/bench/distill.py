"""``nat-bench distill``: teacher decoding speed, side by side on one tiny teacher.

Compares, on >= 10k synthetic sentences with beam 5 and the same batch budget:
plain ``fairseq-generate --gen-subset train`` + parsing + sort by id (the community recipe),
``nat-distill --backend fairseq`` and ``nat-distill --backend ctranslate2``.  Each runs as a fresh
process (imports and model loading included in wall time); the decode-only rate comes from
fairseq-generate's own log line and from nat-distill's manifest.  Reports ratios and the share of
top-1 outputs identical to fairseq-generate's.  With your teacher (``--path T.pt --data-bin
BIN --source F --target F``) every side reads the same sentences: F must be the text of BIN's
train split (checked line by line against fairseq-generate's source lines; a mismatch is
refused, not timed).
"""
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from typing import Optional

from nat import fairseq_cli
from nat.cli import add_subcommand, arg, bin_path
from nat.errors import UserError
from nat.textio import check_parallel, count_lines, read_lines, write_json_atomic
from nat.toy import write_toy_corpus


@dataclass
class DistillOptions:
    """``nat-bench distill``'s flags."""
    work: str = arg("working directory", "runs/bench-distill")
    sentences: int = arg("toy training sentences decoded (without --path)", 10000)
    path: Optional[str] = arg("teacher checkpoint (default: train a tiny one)", None)
    data_bin: Optional[str] = arg("the teacher's data-bin (with --path); its train split is "
                                  "decoded", None)
    source: Optional[str] = arg("with --path: the text of the data-bin's train split", None)
    target: Optional[str] = arg("with --path: its targets", None)
    train_updates: int = arg("training updates of the tiny teacher", 200)
    beam: int = arg("beam size, all three", 5)
    max_tokens: int = arg("tokens per batch, all three", 6000)
    max_len_b: int = arg("output length cap, all three", 200)
    threads: int = arg("CPU threads of each decoder", os.cpu_count() or 1)


def register(subparsers):
    add_subcommand(subparsers, "distill", DistillOptions, main, help=__doc__.splitlines()[0],
                   description=__doc__)


def _timed(cmd, env=None):
    full = dict(os.environ, OMP_NUM_THREADS=str(env or os.cpu_count() or 1))
    started = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, env=full)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
        raise UserError(f"{os.path.basename(str(cmd[0]))} failed with exit status "
                        f"{proc.returncode}: {tail}")
    return wall, proc.stdout


def prepare(args):
    """(source, target, data-bin, checkpoint): the user's teacher and the text of its data-bin's
    train split, or the toy corpus and a tiny teacher trained here."""
    if args.path:
        missing = [f for f, v in (("--data-bin", args.data_bin), ("--source", args.source),
                                  ("--target", args.target)) if not v]
        if missing:
            raise UserError(f"--path needs {', '.join(missing)}: the data-bin's train split is "
                            f"decoded, so nat-distill must read the same sentences")
        check_parallel(args.source, args.target)
        return args.source, args.target, args.data_bin, args.path
    corpus = write_toy_corpus(os.path.join(args.work, "corpus"), train=args.sentences,
                              valid=200, test=200, seed=7)
    data_bin = os.path.join(args.work, "bin")
    if not os.path.exists(os.path.join(data_bin, "dict.src.txt")):
        fairseq_cli.preprocess(data_bin, {s: os.path.join(corpus, s) for s in ("train", "valid")},
                               joined=True)
    save = os.path.join(args.work, "teacher")
    ckpt = os.path.join(save, "checkpoint_last.pt")
    if not os.path.exists(ckpt):
        print(f"training a tiny teacher ({args.train_updates} updates)...", flush=True)
        fairseq_cli.train(data_bin, save, fairseq_cli.Recipe(
            "transformer_teacher_tiny", args.train_updates, lr=3e-3, warmup=30, max_tokens=2000,
            extra=fairseq_cli.AR_TRAIN))
    return os.path.join(corpus, "train.src"), os.path.join(corpus, "train.tgt"), data_bin, ckpt


def same_sentences(generated, source):
    """Raise unless fairseq-generate's source lines (``S-id``, in the data-bin's tokens) are the
    lines of ``source`` (``<unk>`` matches any word)."""
    shown = {int(m.group(1)): m.group(2) for m in re.finditer(r"^S-(\d+)\t(.*)$", generated,
                                                                re.M)}
    lines = read_lines(source)
    for i, line in enumerate(lines):
        words, seen = line.split(), shown.get(i, "").split()
        if len(words) != len(seen) or any(a != b and b != "<unk>" for a, b in zip(words, seen)):
            raise UserError(f"--source {source}:{i + 1} is not sentence {i} of the data-bin's "
                            f"train split (the benchmark would time different inputs)")


def main(args):
    os.makedirs(args.work, exist_ok=True)
    src, tgt, data_bin, ckpt = prepare(args)
    n = count_lines(src)
    rows = {}

    # 1. plain fairseq-generate on the binarized train split, then parse + sort by id
    gen = [bin_path("fairseq-generate"), data_bin, "--path", ckpt, "--gen-subset", "train",
           "--task", "translation", "--beam", args.beam, "--max-tokens", args.max_tokens,
           "--max-len-b", args.max_len_b, "--batch-size", 100000,
           "--required-batch-size-multiple", 1, "--num-workers", 0,
           "--cpu", "--user-dir", fairseq_cli.PLUGIN_DIR]
    wall, out = _timed(gen, args.threads)
    same_sentences(out, src)
    started = time.perf_counter()
    reference = [h[0].tokens for h in fairseq_cli.parse_generate_output(out, n)]
    wall += time.perf_counter() - started
    rows["fairseq-generate + sort"] = {"wall_s": wall,
                                       "decode_s": fairseq_cli.parse_speed(out)["seconds"],
                                       "outputs": reference}

    # 2./3. nat-distill, both backends (no binarization: same work as the recipe above)
    for backend in ("fairseq", "ctranslate2"):
        out_dir = os.path.join(args.work, f"distill-{backend}")
        subprocess.run(["rm", "-rf", out_dir], check=True)
        cmd = [bin_path("nat-distill"), "--path", ckpt, "--data-bin", data_bin, "--source", src,
               "--target", tgt, "--out", out_dir, "--backend", backend, "--beam", args.beam,
               "--max-tokens", args.max_tokens, "--max-len-b", args.max_len_b,
               "--threads", args.threads, "--no-binarize",
               "--quiet", "--no-launcher", "--ct2-cache", os.path.join(args.work, "ct2-cache")]
        wall, _ = _timed(cmd, args.threads)
        with open(os.path.join(out_dir, "manifest.json"), encoding="utf-8") as handle:
            manifest = json.load(handle)
        with open(os.path.join(out_dir, "train.tgt"), encoding="utf-8") as handle:
            outputs = handle.read().split("\n")[:n]
        rows[f"nat-distill --backend {backend}"] = {
            "wall_s": wall, "decode_s": manifest["timing"]["decode_s"], "outputs": outputs,
            "converted_now": manifest["this_run"].get("converted_now")}
    report(rows, n, args)


def report(rows, n, args):
    base = rows["fairseq-generate + sort"]
    print(f"\nteacher decoding, {n} sentences, beam {args.beam}, max-tokens {args.max_tokens}, "
          f"max-len-b {args.max_len_b}, {args.threads} threads (fresh process each; wall "
          f"includes startup + model load)")
    print(f"{'':34s} {'wall s':>8s} {'sent/s':>8s} {'x gen':>6s} {'decode s':>9s} "
          f"{'sent/s':>8s} {'x gen':>6s} {'identical':>9s}")
    summary = {}
    for name, row in rows.items():
        same = sum(a == b for a, b in zip(row["outputs"], base["outputs"])) / n
        wall_rate, dec_rate = n / row["wall_s"], n / row["decode_s"] if row["decode_s"] else 0
        wall_x = base["wall_s"] / row["wall_s"]
        dec_x = base["decode_s"] / row["decode_s"] if base["decode_s"] and row["decode_s"] else 0
        print(f"{name:34s} {row['wall_s']:8.1f} {wall_rate:8.0f} {wall_x:6.2f} "
              f"{row['decode_s'] or 0:9.1f} {dec_rate:8.0f} {dec_x:6.2f} {100 * same:8.2f}%")
        summary[name] = {"wall_s": round(row["wall_s"], 2), "decode_s": row["decode_s"],
                         "wall_ratio": round(wall_x, 3), "decode_ratio": round(dec_x, 3),
                         "identical_pct": round(100 * same, 2)}
    path = os.path.join(args.work, f"bench-maxlen{args.max_len_b}.json")
    write_json_atomic(path, summary)
    return summary
