"""``nat-prepare``: your own parallel text -> sentencepiece -> fairseq data-bin + manifest.json.

    nat-prepare --raw DIR --out OUT [--vocab-size 8000] [--model-type unigram|bpe] [--separate]

DIR holds train.SRC/TGT and valid.SRC/TGT (test.SRC/TGT optional), optionally {split}.lang (one
mode label per line, e.g. the target language: OUT/lexicon.json is derived from train.lang) and
{valid,test}.ref.NAME (more references).  Policies: CRLF stripped; a CR inside a line (unless
--stray-cr space), invalid UTF-8, mismatched line counts and (without --drop-empty) empty lines
are refused with file:line;
duplicate training pairs are counted (dropped with --dedup); pairs over --max-pieces pieces are
dropped (counted) or refused (--long-lines error).  Re-running with the same settings and inputs
reuses OUT; other settings need --overwrite.  Layout and policies: docs/prepare.md.
"""
import argparse
import json
import sys

from nat.cli import ArgumentParser, command
from nat.prepare.config import (LONG_LINE_POLICIES, MODEL_TYPES, NORMALIZATIONS,
                                STRAY_CR_POLICIES, PrepareConfig)

D = PrepareConfig.__dataclass_fields__


def _default(name):
    return D[name].default


def build_parser():
    p = ArgumentParser(prog="nat-prepare", description=__doc__.split("\n\n")[0],
                       epilog=__doc__.split("\n\n", 2)[2],
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    io = p.add_argument_group("inputs and outputs")
    io.add_argument("--raw", required=True, help="directory with the raw text files")
    io.add_argument("--out", required=True, help="the prepared directory")
    io.add_argument("--source-lang", default=_default("source_lang"),
                    help="suffix of the source files (train.SRC ...)")
    io.add_argument("--target-lang", default=_default("target_lang"),
                    help="suffix of the target files")
    io.add_argument("--no-binarize", action="store_true", help="skip fairseq-preprocess")
    io.add_argument("--workers", type=int, default=_default("workers"),
                    help="fairseq-preprocess workers")
    io.add_argument("--overwrite", action="store_true",
                    help="replace an OUT prepared with other settings or inputs")
    sp = p.add_argument_group("sentencepiece")
    sp.add_argument("--vocab-size", type=int, default=_default("vocab_size"),
                    help="pieces per model (a maximum unless --hard-vocab-limit)")
    sp.add_argument("--model-type", choices=MODEL_TYPES, default=_default("model_type"))
    sp.add_argument("--separate", action="store_true",
                    help="one model per side (default: one joint model; tiny transformer "
                         "architectures share all embeddings and need the joint one)")
    sp.add_argument("--character-coverage", type=float, default=_default("character_coverage"))
    sp.add_argument("--normalization", choices=NORMALIZATIONS, default=_default("normalization"),
                    help="Unicode normalization rule, applied to every line before anything")
    sp.add_argument("--byte-fallback", action="store_true",
                    help="unknown characters as UTF-8 byte pieces instead of <unk> "
                         "(needs --vocab-size > 260)")
    sp.add_argument("--hard-vocab-limit", action="store_true",
                    help="fail unless exactly --vocab-size pieces can be made")
    sp.add_argument("--spm-sentences", type=int, default=_default("spm_sentences"),
                    help="training lines sampled for sentencepiece (0 = all)")
    sp.add_argument("--seed", type=int, default=_default("seed"))
    po = p.add_argument_group("policies")
    po.add_argument("--drop-empty", action="store_true",
                    help="drop pairs with an empty side (counted) instead of refusing them")
    po.add_argument("--dedup", action="store_true",
                    help="drop repeated training pairs (always counted)")
    po.add_argument("--stray-cr", choices=STRAY_CR_POLICIES, default=_default("stray_cr"),
                    help="a carriage return inside a line (CRLF endings are always fine): "
                         "refuse with file:line, or replace it by a space (counted)")
    po.add_argument("--max-pieces", type=int, default=_default("max_pieces"),
                    help="subword pieces per line and side (0 = no limit)")
    po.add_argument("--long-lines", choices=LONG_LINE_POLICIES, default=_default("long_lines"),
                    help="pairs over --max-pieces: drop (counted) or refuse")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    return p


def config_from_args(args):
    return PrepareConfig(
        raw=args.raw, out=args.out, source_lang=args.source_lang, target_lang=args.target_lang,
        vocab_size=args.vocab_size, model_type=args.model_type, joint=not args.separate,
        character_coverage=args.character_coverage, normalization=args.normalization,
        byte_fallback=args.byte_fallback, hard_vocab_limit=args.hard_vocab_limit,
        spm_sentences=args.spm_sentences, seed=args.seed, drop_empty=args.drop_empty,
        dedup=args.dedup, stray_cr=args.stray_cr, max_pieces=args.max_pieces,
        long_lines=args.long_lines,
        binarize=not args.no_binarize, workers=args.workers, overwrite=args.overwrite,
        progress=not args.quiet)


def summary(manifest):
    """One JSON line: pairs kept and dropped per split, vocabulary, unk rate per side."""
    out = {"reused": manifest.get("reused", False), "splits": {}}
    for split, c in manifest["counts"].items():
        cov = manifest["coverage"][split]
        out["splits"][split] = {
            "pairs": c["pairs"], "lines": c["lines"], "dropped_empty": c["dropped_empty"],
            "duplicate_pairs": c["duplicate_pairs"], "dropped_long": c["dropped_long"],
            "unk_rate": {side: round(cov[side]["unk_rate"], 6) for side in ("src", "tgt")}}
    out["vocab_size"] = {side: m["vocab_size"] for side, m in
                         manifest["sentencepiece"]["models"].items()}
    if manifest.get("lexicon"):
        lex = manifest["lexicon"]
        out["identifying_tokens"] = f"{lex['identifying_tokens']} of {lex['tokens']}"
    return out


@command("nat-prepare")
def main(argv=None):
    from nat.prepare import prepare

    args = build_parser().parse_args(argv)
    manifest = prepare(config_from_args(args))
    print(json.dumps(summary(manifest), sort_keys=True, ensure_ascii=False), file=sys.stderr)
    return 0
