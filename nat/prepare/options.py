"""nat-prepare's command line: the argparse parser over ``PrepareConfig`` (defaults read from
the dataclass) and the config it parses into.  Here, not in the command module, because the
experiment parses its ``prepare`` settings with the same parser (same checks and messages).
"""
import argparse

from nat.cli import ArgumentParser, config_from, nonnegative_int, positive_int
from nat.prepare.config import (LONG_LINE_POLICIES, MODEL_TYPES, NORMALIZATIONS,
                                STRAY_CR_POLICIES, PrepareConfig)

D = PrepareConfig.__dataclass_fields__


def _default(name):
    return D[name].default


def build_parser(doc=""):
    """nat-prepare's parser; ``doc``: the command's docstring (first paragraph: the
    description, from the third on: the epilog)."""
    parts = doc.split("\n\n", 2)
    p = ArgumentParser(prog="nat-prepare", description=parts[0],
                       epilog=parts[2] if len(parts) > 2 else None,
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    io = p.add_argument_group("inputs and outputs")
    io.add_argument("--raw", required=True, help="directory with the raw text files")
    io.add_argument("--out", required=True, help="the prepared directory")
    io.add_argument("--source-lang", default=_default("source_lang"),
                    help="suffix of the source files (train.SRC ...)")
    io.add_argument("--target-lang", default=_default("target_lang"),
                    help="suffix of the target files")
    io.add_argument("--no-binarize", action="store_true", help="skip fairseq-preprocess")
    io.add_argument("--workers", type=positive_int, default=_default("workers"),
                    help="fairseq-preprocess workers")
    io.add_argument("--overwrite", action="store_true",
                    help="replace an OUT prepared with other settings or inputs")
    sp = p.add_argument_group("sentencepiece")
    sp.add_argument("--vocab-size", type=positive_int, default=_default("vocab_size"),
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
    sp.add_argument("--spm-sentences", type=nonnegative_int, default=_default("spm_sentences"),
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
    po.add_argument("--max-pieces", type=nonnegative_int, default=_default("max_pieces"),
                    help="subword pieces per line and side (0 = no limit)")
    po.add_argument("--long-lines", choices=LONG_LINE_POLICIES, default=_default("long_lines"),
                    help="pairs over --max-pieces: drop (counted) or refuse")
    p.add_argument("--quiet", action="store_true", help="no progress messages")
    return p


def config_from_args(args):
    return config_from(PrepareConfig, args, joint=not args.separate,
                       binarize=not args.no_binarize, progress=not args.quiet)
