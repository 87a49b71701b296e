"""``nat-distill``: teacher decoding -> n-best store -> selection -> text + bin + manifest.json.

Example::

    nat-distill --path teacher.pt --data-bin data-bin --source train.src --target train.tgt \\
        --out distilled --method seqkd --beam 5
    fairseq-train distilled/bin --task translation_lev ...
"""
import argparse
import json
import sys

from nat.cli import ArgumentParser, command
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
    sel.add_argument("--nbest", type=int, help="outputs per source: nbest (default --beam) and "
                     "sample (default 1 = samples drawn); the store always keeps the whole beam")
    sel.add_argument("--selective-ter", type=float, default=_default("selective_ter"),
                     help="selective: keep the raw target when TER(teacher, gold) > this")
    sel.add_argument("--bleu-tokenize", default=_default("bleu_tokenize"))
    sel.add_argument("--bleu-remove-bpe", help="undo subwords for scoring: '@@ ' or sentencepiece")
    dec = p.add_argument_group("decoding")
    dec.add_argument("--backend", choices=BACKENDS, default=_default("backend"))
    dec.add_argument("--beam", type=int, default=_default("beam"))
    dec.add_argument("--lenpen", type=float, default=_default("lenpen"))
    dec.add_argument("--max-len-a", type=float, default=_default("max_len_a"))
    dec.add_argument("--max-len-b", type=int, default=_default("max_len_b"))
    dec.add_argument("--max-tokens", type=int, default=_default("max_tokens"),
                     help="source tokens per batch")
    dec.add_argument("--long-source", choices=LONG_SOURCE_POLICIES, default=_default("long_source"),
                     help="sources longer than the teacher's positions: keep the raw target "
                          "(counted), decode a truncated source (counted), or stop")
    dec.add_argument("--max-source-positions", type=int, help="lower the teacher's limit")
    dec.add_argument("--sampling-topk", type=int, default=_default("sampling_topk"))
    dec.add_argument("--sampling-temperature", type=float,
                     default=_default("sampling_temperature"))
    dec.add_argument("--seed", type=int, default=_default("seed"))
    dec.add_argument("--threads", type=int,
                     help="CPU threads (default: OMP_NUM_THREADS if set, else all cores)")
    dec.add_argument("--ct2-cache", help="converted-model cache (default ~/.cache/nat-kd/ct2)")
    dec.add_argument("--ct2-compute-type", default=_default("ct2_compute_type"))
    dec.add_argument("--user-dir", help="extra fairseq plugin directory")
    sh = p.add_argument_group("sharding and resume")
    sh.add_argument("--num-shards", type=int, default=_default("num_shards"))
    sh.add_argument("--shard-id", type=int,
                    help="decode only this shard (no merge); omit to run all shards and merge")
    sh.add_argument("--chunk-size", type=int, default=_default("chunk_size"),
                    help="sentences per atomically written chunk (the unit of resume)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def config_from_args(args):
    return DistillConfig(
        paths=args.path, data_bin=args.data_bin, source=args.source, target=args.target,
        out=args.out, method=args.method, beam=args.beam, nbest=args.nbest, backend=args.backend,
        num_shards=args.num_shards, shard_id=args.shard_id, split=args.split,
        source_lang=args.source_lang, target_lang=args.target_lang, lenpen=args.lenpen,
        max_len_a=args.max_len_a, max_len_b=args.max_len_b, max_tokens=args.max_tokens,
        chunk_size=args.chunk_size, long_source=args.long_source,
        max_source_positions=args.max_source_positions, sampling_topk=args.sampling_topk,
        sampling_temperature=args.sampling_temperature, seed=args.seed,
        selective_ter=args.selective_ter, bleu_tokenize=args.bleu_tokenize,
        bleu_remove_bpe=args.bleu_remove_bpe, valid_source=args.valid_source,
        valid_target=args.valid_target, copy_valid=not args.no_copy_valid,
        binarize=not args.no_binarize, threads=args.threads, ct2_cache=args.ct2_cache,
        ct2_compute_type=args.ct2_compute_type, user_dir=args.user_dir, spm=args.spm,
        progress=not args.quiet)


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
