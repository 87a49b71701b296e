"""``nat-bench gpu``: every model trains a few updates on the GPU in fp32, fp16 and bf16, decodes
batch-invariantly, and times itself.

For each registered model (the AR teacher, vanilla, GLAT, CTC, CTC+GLAT, DAG with its dynamic
program) and each precision: the real fairseq-train (``--fp16`` / ``--bf16``) on the toy task,
then the real fairseq-generate at batch 1 and batch 64 in one process (``generate_many``),
checking every id and that both batches give the same hypotheses.  It prints one row per run:
whether the loss stayed finite, batch invariance, fairseq-generate's own sentences/s, and the
training seconds.  Without CUDA it refuses in one line, unless ``--device cpu`` (fp32 only: the
same code path, to check the benchmark itself).
"""
import math
import os
import re
import tempfile
import time
from dataclasses import dataclass
from typing import List, Optional

from nat import fairseq_cli
from nat.cli import add_subcommand, arg
from nat.errors import UserError
from nat.textio import count_lines
from nat.toy import write_toy_corpus

TEACHER = "transformer_teacher_tiny"
MODELS = [TEACHER, "nat_vanilla_tiny", "nat_glat_tiny", "nat_ctc_tiny", "nat_ctc_glat_tiny",
          "nat_dag_tiny"]
PRECISIONS = {"fp32": [], "fp16": ["--fp16"], "bf16": ["--bf16"]}
_LOSS = re.compile(r"\| train \|.*? loss ([\w.+-]+)")


@dataclass
class GpuOptions:
    """``nat-bench gpu``'s flags."""
    models: List[str] = arg("models to check", MODELS, nargs="+", choices=MODELS)
    precisions: List[str] = arg("training precisions", list(PRECISIONS), nargs="+",
                                choices=list(PRECISIONS))
    updates: int = arg("training updates per run", 20)
    device: str = arg("cpu: fp32 only, to check the benchmark itself without a GPU", "cuda",
                      choices=("cuda", "cpu"))
    work: Optional[str] = arg("working directory (default: a temporary one)", None)


def register(subparsers):
    add_subcommand(subparsers, "gpu", GpuOptions, run, description=__doc__,
                   help="every model: a few updates on CUDA in fp32/fp16/bf16, batch-invariant "
                        "decoding, speed")


def check(args, work):
    """The rows: ``(model, precision, final loss, batch invariant, sent/s b1, sent/s b64,
    train seconds)``."""
    corpus = write_toy_corpus(os.path.join(work, "corpus"))
    data_bin = os.path.join(work, "bin")
    fairseq_cli.preprocess(data_bin, {s: os.path.join(corpus, s)
                                      for s in ("train", "valid", "test")}, joined=True)
    n = count_lines(os.path.join(corpus, "test.src"))
    rows = []
    for precision in args.precisions:
        for model in args.models:
            nat = model != TEACHER
            save = os.path.join(work, f"{model}-{precision}")
            recipe = fairseq_cli.Recipe(model, args.updates, warmup=5, max_tokens=2000, nat=nat,
                                        extra=([] if nat else fairseq_cli.AR_TRAIN)
                                        + PRECISIONS[precision])
            start = time.perf_counter()
            log = fairseq_cli.train(data_bin, save, recipe)
            seconds = time.perf_counter() - start
            losses = _LOSS.findall(log)
            loss = float(losses[-1]) if losses else float("nan")
            extra = ["--iter-decode-max-iter", "0"] if nat else []
            results = fairseq_cli.generate_many([dict(
                data_bin=data_bin, checkpoint=os.path.join(save, "checkpoint_last.pt"),
                expected=n, task="translation_lev" if nat else "translation",
                beam=1 if nat else 5, batch_size=batch, extra=extra,
                log_path=os.path.join(save, f"generate_b{batch}.log")) for batch in (1, 64)],
                save)
            speeds = [fairseq_cli.parse_speed(r.stdout)["sentences_per_second"] for r in results]
            rows.append((model, precision, loss, results[0].best() == results[1].best(),
                         *speeds, seconds))
    return rows


def run(args):
    if args.device == "cpu":
        args.precisions = ["fp32"]
        os.environ["NAT_FORCE_CPU"] = "1"  # every command line built here gets --cpu
    elif not fairseq_cli.cuda_available():
        raise UserError("no CUDA device visible: nothing to check (--device cpu runs the same "
                        "code in fp32 on the CPU)")
    if args.work:
        os.makedirs(args.work, exist_ok=True)
        rows = check(args, args.work)
    else:
        with tempfile.TemporaryDirectory(prefix="nat-bench-gpu-") as work:
            rows = check(args, work)
    print(f"\n{args.device}, toy task, {args.updates} updates per run; decode: NATs one pass, "
          f"teacher beam 5; sentences/s from fairseq-generate's own timer")
    print(f"| {'model':<26} | precision | final loss | batch invariant | sent/s b1 | "
          f"sent/s b64 | train s |")
    print("|---|---|---|---|---|---|---|")
    for model, precision, loss, same, b1, b64, seconds in rows:
        print(f"| {model:<26} | {precision:<9} | {loss:10.3f} | {str(same):<15} | {b1:9.1f} | "
              f"{b64:10.1f} | {seconds:7.1f} |")
    bad = [f"{m} {p}" for m, p, loss, same, *_ in rows if not same or not math.isfinite(loss)]
    if bad:
        raise UserError(f"failed: {', '.join(bad)} (non-finite loss or batch-dependent output)")
    return 0
