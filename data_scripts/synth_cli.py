"""``nat-synth``: write the synthetic three-language corpus with its exact ground truth.

    nat-synth --out DIR --mode random|deterministic|all --mix a,b,c --seed N \
              --train N --valid N --test N [--preset default|small] [--overwrite]
              [grammar flags]

Grammar flags left unset take the preset's value; see ``nat.synth.settings``.
"""
import argparse
import dataclasses
import json
import sys

from nat.cli import ArgumentParser, command, nonnegative_int, positive_int
from nat.synth import DEFAULT_MIX, MODES, PRESETS, SPLITS, SynthSettings, generate_corpus

HELP = {
    "nouns": "noun lemmas", "adjectives": "adjectives", "verbs": "verbs", "adverbs": "adverbs",
    "prepositions": "prepositions", "min_len": "minimum source length (tokens)",
    "max_len": "maximum source length (tokens)", "zipf": "Zipf exponent of word frequencies",
    "adj_prob": "probability of each further adjective", "max_adj": "adjectives per noun",
    "pp_prob": "probability of a prepositional phrase after a noun",
    "max_depth": "nesting limit of prepositional phrases",
    "object_prob": "probability of an object", "adverb_prob": "probability of an adverb",
    "plural_prob": "plural rate where the determiner allows both numbers",
    "synonym_rate": "share of (word, language) pairs with several synonyms",
    "max_synonyms": "most synonyms per word and language",
    "grammar_seed": "seed of the vocabularies and synonym probabilities (not of the corpus)",
}


def build_parser():
    parser = ArgumentParser(prog="nat-synth", description=__doc__.split("\n")[0],
                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--mode", default="random",
                        help=f"pairing of sources with languages: {', '.join(MODES)}")
    parser.add_argument("--mix", default=",".join(map(str, DEFAULT_MIX)),
                        help="language mixture a,b,c (sums to 1); the target in deterministic "
                             "mode")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sampled corpus")
    for split, size in zip(SPLITS, (20000, 500, 500)):
        parser.add_argument(f"--{split}", default=size,
                            type=positive_int if split == "train" else nonnegative_int,
                            help=f"{split} source sentences (x3 lines in 'all' mode)"
                                 + ("" if split == "train" else "; 0 = an empty split"))
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS),
                        help="grammar size: 'default' (rich) or 'small' (tiny CPU models)")
    group = parser.add_argument_group("grammar (unset: the preset's value)")
    for field in dataclasses.fields(SynthSettings):
        group.add_argument(f"--{field.name.replace('_', '-')}", type=field.type,
                           default=None, help=HELP[field.name])
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the corpus files an existing --out holds (else refused)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    return parser


@command("nat-synth")
def main(argv=None):
    args = build_parser().parse_args(argv)
    grammar = {f.name: getattr(args, f.name) for f in dataclasses.fields(SynthSettings)}
    truth = generate_corpus(args.out, mode=args.mode, mix=args.mix, seed=args.seed,
                            sizes={s: getattr(args, s) for s in SPLITS}, preset=args.preset,
                            progress=not args.quiet, overwrite=args.overwrite, **grammar)
    if not args.quiet:
        keys = ("pairs", "h_lang_given_src", "h_tgt_given_src", "sum_token_entropy",
                "total_correlation")
        for split in SPLITS:
            row = {k: (round(v, 4) if isinstance(v, float) else v)
                   for k, v in truth[split].items() if k in keys}
            print(f"{split}: {json.dumps(row)}")
        print(f"wrote {args.out} (bits; exact values in truth.json)", file=sys.stderr)
    return 0
