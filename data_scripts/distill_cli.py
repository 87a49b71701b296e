"""``nat-distill``: teacher decoding -> n-best store -> selection -> text + bin + manifest.json.

Example::

    nat-distill --path teacher.pt --data-bin data-bin --source train.src --target train.tgt \\
        --out distilled --method seqkd --beam 5
    fairseq-train distilled/bin --task translation_lev ...
"""
import argparse
import json
import os
import sys

from nat.cli import (ArgumentParser, command, config_from, nonnegative_float, nonnegative_int,
                     positive_float, positive_int)
from nat.distill.config import BACKENDS, LONG_SOURCE_POLICIES, METHODS, DistillConfig

D = DistillConfig.__dataclass_fields__


def _default(name):
    return D[name].default


def build_parser():
    p = ArgumentParser(
        prog="nat-distill", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    io = p.add_argument_group("inputs and outputs")
    io.add_argument("--path", required=True, help="teacher checkpoint(s), T1.pt[:T2.pt] = ensemble")
    io.add_argument("--data-bin", required=True, help="directory with the teacher's dictionaries")
    io.add_argument("--source", required=True, help="tokenized source text, one sentence a line")
    io.add_argument("--target", required=True, help="gold target text, line-aligned")
    io.add_argument("--out", required=True, help="output directory")
    io.add_argument("--split", default=_default("split"), help="name of the output split")
    io.add_argument("--source-lang", help="default: from the checkpoint or the data-bin")
    io.add_argument("--target-lang")
    io.add_argument("--valid-source", help="raw valid source to binarize next to the output")
    io.add_argument("--valid-target")
    io.add_argument("--no-copy-valid", action="store_true",
                    help="do not copy valid/test binaries from --data-bin")
    io.add_argument("--no-binarize", action="store_true", help="write text and manifest only")
    io.add_argument("--spm", help="sentencepiece model, or a nat-prepare directory (its models):"
                    " also write OUT/SPLIT.detok.LANG, the corpus decoded to words (SPLIT.LANG "
                    "stays subwords for binarization); seqinter/selective then score words")
    sel = p.add_argument_group("selection")
    sel.add_argument("--method", choices=METHODS, default=_default("method"))
    sel.add_argument("--nbest", type=positive_int, help="outputs per source: nbest (default "
                     "--beam) and sample (default 1 = samples drawn); the store always keeps "
                     "the whole beam")
    sel.add_argument("--selective-ter", type=nonnegative_float, default=_default("selective_ter"),
                     help="selective: keep the raw target when TER(teacher, gold) > this")
    sel.add_argument("--bleu-tokenize", default=_default("bleu_tokenize"))
    sel.add_argument("--bleu-remove-bpe", help="undo subwords for scoring: '@@ ' or sentencepiece")
    dec = p.add_argument_group("decoding")
    dec.add_argument("--backend", choices=BACKENDS, default=_default("backend"))
    dec.add_argument("--beam", type=positive_int, default=_default("beam"))
    dec.add_argument("--lenpen", type=float, default=_default("lenpen"))
    dec.add_argument("--max-len-a", type=nonnegative_float, default=_default("max_len_a"))
    dec.add_argument("--max-len-b", type=positive_int, default=_default("max_len_b"))
    dec.add_argument("--max-tokens", type=positive_int, default=_default("max_tokens"),
                     help="source tokens per batch")
    dec.add_argument("--long-source", choices=LONG_SOURCE_POLICIES, default=_default("long_source"),
                     help="sources longer than the teacher's positions: keep the raw target "
                          "(counted), decode a truncated source (counted), or stop")
    dec.add_argument("--max-source-positions", type=positive_int, help="lower the teacher's limit")
    dec.add_argument("--sampling-topk", type=int, default=_default("sampling_topk"))
    dec.add_argument("--sampling-temperature", type=positive_float,
                     default=_default("sampling_temperature"))
    dec.add_argument("--seed", type=int, default=_default("seed"))
    dec.add_argument("--threads", type=positive_int,
                     help="CPU threads (default: OMP_NUM_THREADS if set, else all cores)")
    dec.add_argument("--ct2-cache", help="converted-model cache (default ~/.cache/nat-kd/ct2)")
    dec.add_argument("--ct2-compute-type", default=_default("ct2_compute_type"))
    dec.add_argument("--user-dir", help="extra fairseq plugin directory")
    sh = p.add_argument_group("sharding and resume")
    sh.add_argument("--num-shards", type=positive_int,
                    help=f"default: the launcher's process count (torchrun WORLD_SIZE, Slurm "
                         f"SLURM_ARRAY_TASK_COUNT), else {_default('num_shards')}")
    sh.add_argument("--shard-id", type=nonnegative_int,
                    help="decode only this shard (no merge); default: the launcher's (torchrun "
                         "RANK, Slurm array task - SLURM_ARRAY_TASK_MIN); without a launcher "
                         "every shard is run, then merged")
    sh.add_argument("--merge-only", action="store_true",
                    help="decode nothing: merge the finished shards (an unfinished one is an "
                         "error naming it)")
    sh.add_argument("--no-launcher", action="store_true",
                    help="ignore torchrun/Slurm-array variables (run every shard here)")
    sh.add_argument("--chunk-size", type=positive_int, default=_default("chunk_size"),
                    help="sentences per atomically written chunk (the unit of resume)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def sharding_from_args(args, environ=None):
    """``(num_shards, shard_id, launcher)``: the flags, else the launcher's environment.

    Without ``--shard-id`` (and without ``--merge-only``/``--no-launcher``), torchrun's
    ``RANK``/``WORLD_SIZE`` or a Slurm array's task give the shard; an explicit ``--num-shards``
    must then agree with the launcher's count."""
    from nat.distill import launcher as launcher_mod
    from nat.errors import UserError

    num_shards = args.num_shards
    if args.shard_id is not None or args.merge_only or args.no_launcher:
        return num_shards or _default("num_shards"), args.shard_id, None
    found = launcher_mod.from_environment(os.environ if environ is None else environ)
    if found is None:
        return num_shards or _default("num_shards"), None, None
    if num_shards is not None and num_shards != found["num_shards"]:
        raise UserError(f"--num-shards {num_shards} disagrees with the {found['launcher']} "
                        f"launcher's {found['num_shards']} processes (drop --num-shards, or "
                        f"pass --shard-id)")
    return found["num_shards"], found["shard_id"], found


def config_from_args(args):
    num_shards, shard_id, launcher = sharding_from_args(args)
    return config_from(DistillConfig, args, paths=args.path, copy_valid=not args.no_copy_valid,
                       binarize=not args.no_binarize, progress=not args.quiet,
                       num_shards=num_shards, shard_id=shard_id, launcher=launcher)


@command("nat-distill")
def main(argv=None):
    from nat.distill.pipeline import run

    result = run(config_from_args(build_parser().parse_args(argv)))
    if "counts" in result:
        summary = {k: result[k] for k in ("counts", "fallbacks", "truncations", "timing")}
    else:
        summary = result
    print(json.dumps(summary, sort_keys=True), file=sys.stderr)
    return 0
