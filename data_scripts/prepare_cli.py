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
import json
import sys

from nat.cli import command
from nat.prepare import options


def build_parser():
    return options.build_parser(__doc__)


def summary(manifest):
    """One JSON line: pairs kept and dropped per split, vocabulary, unk rate per side."""
    out = {"reused": manifest.get("reused", False), "splits": {}}
    for split, c in manifest["counts"].items():
        cov = manifest["coverage"][split]
        out["splits"][split] = {
            "pairs": c["pairs"], "lines": c["lines"], "dropped_empty": c["dropped_empty"],
            "duplicate_pairs": c["duplicate_pairs"], "dropped_long": c["dropped_long"],
            "unk_rate": {side: round(cov[side]["unk_rate"], 6) for side in ("src", "tgt")}}
        long_words = {side: cov[side].get("long_words", 0) for side in ("src", "tgt")}
        if any(long_words.values()):
            out["splits"][split]["long_words"] = long_words
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
    manifest = prepare(options.config_from_args(args))
    print(json.dumps(summary(manifest), sort_keys=True, ensure_ascii=False), file=sys.stderr)
    return 0
