"""``nat-bench speed``: NATs as deployed against the AR teacher in CTranslate2, side by side.

For every (size, thread count, source length) it times, one after the other in this process:
the teacher in CTranslate2 (greedy and beam 5, fp32 and int8) and every NAT through
``nat-translate``'s torch backend and its ONNX Runtime exports (fp32, int8), plus, at tiny size,
both through the real ``fairseq-generate`` (its own timer: model time only).  It prints, per
system, batch-1 latency (p50 and p90 ms per sentence, each sentence timed alone) and batch-B
throughput (reference target tokens per second), and the NAT's ratios to CTranslate2 greedy and
beam 5 *of the same precision* (fp32 vs fp32, int8 vs int8).

Sizes:
* ``tiny``: the trained models of a ``nat-experiment`` run (``--experiment DIR``: its teacher,
  its NATs trained on distilled data, its test set; more NATs with ``--nat NAME=CKPT``), natural
  decoding (every system picks its own output length).
* ``base``: transformer-base (6+6 layers, 512 dims, 16k joined vocabulary) with random weights
  (``nat.bench.checkpoints``), random sources of each ``--lengths`` value; every system is held
  to the reference length = source length (AR: min = max decoding length; vanilla: decoder
  length; CTC/DAG decode their upsampled length, which the source sets).
The machine is shared: compare ratios within one run, not absolute times across runs.
"""
import gc
import os
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import List

import numpy as np

from nat.cli import add_subcommand, arg, positive_int
from nat.errors import UserError

SIZES = ("tiny", "base")
#: base-size NATs (arch, flags); GLAT decodes exactly as vanilla and CTC+GLAT as CTC
BASE_NATS = {"vanilla": "nonautoregressive_transformer", "ctc": "nat_ctc_base",
             "dag": "nat_dag_base"}
BASE_VOCAB = 16000


@dataclass
class SpeedOptions:
    """``nat-bench speed``'s flags."""
    sizes: List[str] = arg("model sizes to time", list(SIZES), nargs="+", choices=SIZES)
    experiment: str = arg("tiny size: a nat-experiment output directory (its teacher, its NATs "
                          "trained on distilled data, its test set)", None)
    nat: List[str] = arg("tiny size: more NATs, as NAME=CHECKPOINT", [], nargs="*")
    base_nats: List[str] = arg("base size: NAT kinds (random weights)", list(BASE_NATS),
                               nargs="+", choices=list(BASE_NATS))
    lengths: List[int] = arg("base size: source lengths of the sweep (tokens)", [10, 30, 60],
                             nargs="+", type=positive_int)
    threads: List[int] = arg("thread counts (intra-op threads of every runtime)", [1, 2],
                             nargs="+", type=positive_int)
    latency_sentences: int = arg("sentences timed one at a time (batch 1)", 40,
                                 type=positive_int)
    throughput_sentences: int = arg("sentences timed in batches of --batch", 192,
                                    type=positive_int)
    batch: int = arg("throughput batch size (sentences)", 64, type=positive_int)
    fairseq: bool = arg("tiny size: also time fairseq-generate (teacher beam 5, NATs one pass)",
                        True)
    work: str = arg("working directory: exports, conversions, base-size checkpoints (default: "
                    "a temporary one)", None)
    json_out: str = arg("also write every row as JSON to this file", None, flag="--json")
    device: str = arg("cpu, or cuda (CTranslate2 and torch on the GPU; ONNX Runtime rows "
                      "need onnxruntime-gpu)", "cpu", choices=("cpu", "cuda"))
    progress: bool = arg("print nothing while timing (by default one line per system timed, "
                         "on stderr)", True, flag="--quiet")


def register(subparsers):
    add_subcommand(subparsers, "speed", SpeedOptions, run,
                   help="NAT exports vs the AR teacher in CTranslate2: latency, throughput, "
                        "ratios, at tiny and transformer-base size",
                   description=__doc__)


@dataclass
class Row:
    size: str
    threads: int
    length: str                 # "natural" (tiny) or the forced length
    system: str
    family: str
    runtime: str
    precision: str
    p50_ms: float
    p90_ms: float
    tokens_per_s: float


# ---- timing ---------------------------------------------------------------------------------
def _time_latency(system, sources, force):
    system.run(sources[:1], force)                                   # warm-up
    times = []
    for ids in sources:
        start = time.perf_counter()
        system.run([ids], force)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), float(np.percentile(times, 90))


def _time_throughput(system, sources, batch, ref_tokens, force):
    system.run(sources[:batch], force)                               # warm-up
    start = time.perf_counter()
    for i in range(0, len(sources), batch):
        system.run(sources[i:i + batch], force)
    return ref_tokens / (time.perf_counter() - start)


def time_systems(systems, ar_sources, nat_sources, ref_tokens, opts, size, threads, length,
                 force=None):
    rows = []
    for system in systems:
        sources = ar_sources if system.family == "ar" else nat_sources
        p50, p90 = _time_latency(system, sources[:opts.latency_sentences], force)
        tput = _time_throughput(system, sources[:opts.throughput_sentences], opts.batch,
                                ref_tokens, force)
        rows.append(Row(size, threads, length, system.name, system.family, system.runtime,
                        system.precision, p50, p90, tput))
        if opts.progress:
            print(f"nat-bench speed: {size}, {threads} thread(s), length {length}: "
                  f"{system.name} {system.precision}: p50 {p50:.2f} ms, {tput:.0f} tokens/s",
                  file=sys.stderr, flush=True)
    return rows


@contextmanager
def _omp_threads(n):
    old = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(n)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("OMP_NUM_THREADS")
        else:
            os.environ["OMP_NUM_THREADS"] = old


def fairseq_rows(teacher_ckpt, nats, data_bin, n_test, ref_tokens_per_sentence, opts, threads,
                 work):
    """fairseq-generate at batch 1 and B: its own sentences/s; latency = its mean."""
    from nat import fairseq_cli

    rows = []
    runs = [("teacher fairseq-generate beam 5", "ar", teacher_ckpt, "translation", 5, [])]
    runs += [(f"{name} fairseq-generate", "nat", ckpt, "translation_lev", 1,
              ["--iter-decode-max-iter", "0"]) for name, ckpt in nats]
    for label, family, ckpt, task, beam, extra in runs:
        with _omp_threads(threads):
            results = fairseq_cli.generate_many([dict(
                data_bin=data_bin, checkpoint=ckpt, expected=n_test, task=task, beam=beam,
                batch_size=batch, extra=extra) for batch in (1, opts.batch)], work)
        b1, bb = (fairseq_cli.parse_speed(r.stdout)["sentences_per_second"] for r in results)
        rows.append(Row("tiny", threads, "natural", label, family, "fairseq-generate", "fp32",
                        1000 / b1, float("nan"), bb * ref_tokens_per_sentence))
    return rows


# ---- sizes ----------------------------------------------------------------------------------
def all_systems(teacher, nats, data_bin, work, size, threads, device):
    """The CTranslate2 teachers, then every NAT's torch and ONNX Runtime systems (exports in
    ``work/size``)."""
    from nat.bench import speed_systems

    systems = speed_systems.ct2_systems(teacher, data_bin, work, threads, device)
    for name, checkpoint in nats:
        systems += speed_systems.nat_systems(name, checkpoint, data_bin,
                                             os.path.join(work, size), threads, device=device)
    return systems


def _experiment_models(opts):
    from nat.textio import read_lines

    exp = opts.experiment
    if not exp or not os.path.isdir(exp):
        raise UserError("--sizes tiny needs --experiment DIR (a nat-experiment output "
                        "directory, e.g. from `make demo`)")
    teacher_ckpt = os.path.join(exp, "checkpoints", "teacher", "checkpoint_last.pt")
    data_bin = os.path.join(exp, "bin", "raw")
    test_src, test_tgt = (os.path.join(exp, "data", f"test.{s}") for s in ("src", "tgt"))
    for path in (teacher_ckpt, data_bin, test_src, test_tgt):
        if not os.path.exists(path):
            raise UserError(f"--experiment {exp}: {path} is missing (not a finished "
                            f"nat-experiment run?)")
    nats = []
    for name in sorted(os.listdir(os.path.join(exp, "checkpoints"))):
        ckpt = os.path.join(exp, "checkpoints", name, "checkpoint_last.pt")
        if name.endswith("_distilled") and os.path.isfile(ckpt):
            nats.append((name, ckpt))
    for item in opts.nat:
        name, sep, ckpt = item.partition("=")
        if not sep or not os.path.isfile(ckpt):
            raise UserError(f"--nat {item}: expected NAME=CHECKPOINT (an existing file)")
        nats.append((name, ckpt))
    return teacher_ckpt, nats, data_bin, read_lines(test_src), read_lines(test_tgt)


def tiny_rows(opts, work, threads_list):
    from nat.translate.vocab import Vocabulary

    teacher_ckpt, nats, data_bin, src_lines, tgt_lines = _experiment_models(opts)
    vocab = Vocabulary.load(os.path.join(data_bin, "dict.src.txt"))
    ar_sources = [vocab.encode(line) for line in src_lines]
    nat_sources = [vocab.encode(line, prepend_bos=True) for line in src_lines]
    n = min(opts.throughput_sentences, len(src_lines))
    ref_tokens = sum(len(line.split()) for line in tgt_lines[:n])
    rows = []
    for threads in threads_list:
        systems = all_systems(teacher_ckpt, nats, data_bin, work, "tiny", threads, opts.device)
        rows += time_systems(systems, ar_sources, nat_sources, ref_tokens, opts, "tiny",
                             threads, "natural")
        if opts.fairseq:
            per_sentence = sum(len(line.split()) for line in tgt_lines) / len(tgt_lines)
            rows += fairseq_rows(teacher_ckpt, nats, data_bin, len(src_lines), per_sentence,
                                 opts, threads, os.path.join(work, "fairseq"))
    return rows


def _base_models(opts, work):
    """A 16k joined dictionary, the random-weight teacher and NATs (written once per work)."""
    from nat.bench.checkpoints import random_checkpoint

    data_bin = os.path.join(work, "base-bin")
    os.makedirs(data_bin, exist_ok=True)
    for side in ("src", "tgt"):
        path = os.path.join(data_bin, f"dict.{side}.txt")
        if not os.path.isfile(path):
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(f"t{i} 1\n" for i in range(BASE_VOCAB - 4))
    shared = ["--share-all-embeddings", "--source-lang", "src", "--target-lang", "tgt",
              "--max-source-positions", "1024", "--max-target-positions", "1024"]
    def ckpt(name, arch, task):
        path = os.path.join(work, "base", f"{name}.pt")
        if not os.path.isfile(path):
            random_checkpoint(data_bin, arch, path, task=task, extra=shared)
        return path
    teacher = ckpt("teacher", "transformer", "translation")
    nats = [(name, ckpt(name, BASE_NATS[name], "translation_lev")) for name in opts.base_nats]
    return teacher, nats, data_bin


def base_rows(opts, work, threads_list):
    teacher, nats, data_bin = _base_models(opts, work)
    rng = np.random.default_rng(1)
    rows = []
    for threads in threads_list:
        systems = all_systems(teacher, nats, data_bin, work, "base", threads, opts.device)
        gc.collect()                       # the previous thread count's models and sessions
        for length in opts.lengths:
            n = max(opts.latency_sentences, opts.throughput_sentences)
            words = rng.integers(4, BASE_VOCAB, (n, length)).tolist()
            ar_sources = [w + [2] for w in words]
            nat_sources = [[0] + w + [2] for w in words]
            ref_tokens = length * min(opts.throughput_sentences, n)
            rows += time_systems(systems, ar_sources, nat_sources, ref_tokens, opts, "base",
                                 threads, str(length), force=length)
    return rows


# ---- report ---------------------------------------------------------------------------------
def ratio_table(rows):
    """Markdown: per group, every system with its ratios to CTranslate2 greedy / beam 5 of the
    same precision (latency: their p50 / ours; throughput: ours / theirs)."""
    out = []
    groups = {}
    for row in rows:
        groups.setdefault((row.size, row.threads, row.length), []).append(row)
    for (size, threads, length), group in groups.items():
        ref = {(r.precision, "greedy" if "greedy" in r.system else "beam"): r
               for r in group if r.runtime == "ctranslate2"}
        out.append(f"\n### {size}, {threads} thread(s), source length {length}\n")
        out.append("| system | precision | b1 p50 ms | b1 p90 ms | tokens/s | b1 speed-up vs "
                   "CT2 greedy / beam 5 | throughput vs CT2 greedy / beam 5 |")
        out.append("|---|---|---|---|---|---|---|")
        for r in group:
            greedy = ref.get((r.precision, "greedy")) or ref.get(("fp32", "greedy"))
            beam = ref.get((r.precision, "beam")) or ref.get(("fp32", "beam"))
            lat = (f"{greedy.p50_ms / r.p50_ms:.2f}x / {beam.p50_ms / r.p50_ms:.2f}x"
                   if greedy and beam else "")
            tput = (f"{r.tokens_per_s / greedy.tokens_per_s:.2f}x / "
                    f"{r.tokens_per_s / beam.tokens_per_s:.2f}x" if greedy and beam else "")
            p90 = "" if r.p90_ms != r.p90_ms else f"{r.p90_ms:.2f}"
            out.append(f"| {r.system} | {r.precision} | {r.p50_ms:.2f} | {p90} | "
                       f"{r.tokens_per_s:.0f} | {lat} | {tput} |")
    return "\n".join(out)


def run(opts):
    if opts.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA device visible (this torch build: "
                            f"{torch.__version__})")
    if "tiny" in opts.sizes:
        _experiment_models(opts)                                  # fail before any work
    with tempfile.TemporaryDirectory(prefix="nat-bench-speed-") as tmp:
        work = opts.work or tmp
        os.makedirs(work, exist_ok=True)
        rows = []
        if "tiny" in opts.sizes:
            rows += tiny_rows(opts, work, opts.threads)
        if "base" in opts.sizes:
            rows += base_rows(opts, work, opts.threads)
    print(f"nat-bench speed ({opts.device}): batch-1 latency over {opts.latency_sentences} "
          f"sentences timed alone, throughput over {opts.throughput_sentences} in batches of "
          f"{opts.batch}; tokens/s = reference target tokens per second")
    print(ratio_table(rows))
    if opts.json_out:
        from nat.textio import write_json_atomic

        write_json_atomic(opts.json_out, [asdict(r) for r in rows])
    return 0
