"""``nat-analyze``: corpus measures, system-output measures and side-by-side comparisons.

    nat-analyze corpus --source F --target F [--lexicon J] [--align F] [--reference-target F]
                       [--truth truth.json] [--extra-aligners eflomal,ibm1] --out D
    nat-analyze outputs --hyp F [--ref F ...] [--ref-dir D] [--lexicon J] [--lang F] --out D
    nat-analyze compare D1 D2 ... --out D
"""
import glob
import json
import os
import sys

from analysis import alignment, api, lexicon as lexicon_io, nll_gap, report, validation
from nat.cli import ArgumentParser, command
from nat.errors import UserError
from nat.textio import read_lines


def _read(path, what):
    lines = read_lines(path)
    if not lines:
        raise UserError(f"{what} file is empty: {path}")
    return lines


def corpus(args):
    source, target = _read(args.source, "source"), _read(args.target, "target")
    align = read_lines(args.align) if args.align else None
    ref = _read(args.reference_target, "reference target") if args.reference_target else None
    lex = lexicon_io.load(args.lexicon) if args.lexicon else None
    modes = [m.strip() or None for m in read_lines(args.modes)] if args.modes else None
    if args.truth:
        validation.load_truth(args.truth, args.split)        # fail before the slow part
    if bool(args.nll_nat) != bool(args.nll_at):
        raise UserError("--nll-nat and --nll-at go together")
    gap = None
    if args.nll_nat:
        gap = nll_gap.nll_gap(nll_gap.parse_scores(read_lines(args.nll_nat), args.nll_nat),
                              nll_gap.parse_scores(read_lines(args.nll_at), args.nll_at),
                              args.nll_unit)
        if gap["n_sentences"] != len(source):
            raise UserError(f"{args.nll_nat} has {gap['n_sentences']} scores for "
                            f"{len(source)} pairs")
    extra = [a for a in (args.extra_aligners or "").split(",") if a]
    for name in extra + [args.aligner or "eflomal", args.faithfulness_aligner]:
        if name not in alignment.ALIGNERS:
            choices = ", ".join(alignment.ALIGNERS)
            raise UserError(f"unknown aligner {name!r} (choose from {choices})")
    metrics = api.analyze_corpus(
        source, target, lexicon=lex, align=align, aligner=args.aligner, extra_aligners=extra,
        reference_target=ref, faithfulness_aligner=args.faithfulness_aligner, modes=modes,
        unit="bits", min_count=args.min_count, ibm1_iterations=args.ibm1_iterations,
        seed=args.seed, name=args.name or os.path.basename(os.path.normpath(args.out)))
    metrics["inputs"] = {k: getattr(args, k) for k in ("source", "target", "align", "lexicon",
                                                        "reference_target", "modes")}
    if gap is not None:
        metrics["measures"].setdefault("sentence_level", {})["nll_gap"] = gap
        metrics["total_correlation_estimate_bits"] = gap["value"]
    if args.truth:
        metrics["validation"] = validation.against_truth(
            metrics, args.truth, args.split, lex, source, target, align)
    return metrics


def outputs(args):
    if not (args.ref or args.ref_dir or args.lexicon):
        raise UserError("outputs needs --ref, --ref-dir or --lexicon (nothing to compare with)")
    hyps = _read(args.hyp, "hypothesis")
    refs = [read_lines(p) for p in args.ref or []]
    by_lang = {}
    if args.ref_dir:
        for path in sorted(glob.glob(os.path.join(args.ref_dir, "test.ref.*"))):
            by_lang[path.rsplit(".", 1)[1]] = read_lines(path)
        if not by_lang:
            raise UserError(f"no test.ref.<lang> files in {args.ref_dir}")
    lex = lexicon_io.load(args.lexicon) if args.lexicon else None
    gold = read_lines(args.lang) if args.lang else None
    metrics = api.analyze_outputs(hyps, refs, lex, gold, by_lang, seed=args.seed,
                                  name=args.name or os.path.basename(os.path.normpath(args.out)))
    metrics["inputs"] = {"hyp": args.hyp, "ref": args.ref, "ref_dir": args.ref_dir,
                         "lexicon": args.lexicon, "lang": args.lang}
    return metrics


def compare(args):
    analyses = []
    for d in args.dirs:
        path = os.path.join(d, "metrics.json")
        if not os.path.isfile(path):
            raise UserError(f"no metrics.json in {d} (run nat-analyze corpus/outputs first)")
        with open(path, encoding="utf-8") as handle:
            try:
                analyses.append(json.load(handle))
            except ValueError as err:
                raise UserError(f"{path}: not valid JSON ({err})") from None
    return api.compare(analyses), analyses


def build_parser():
    parser = ArgumentParser(prog="nat-analyze", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("corpus", help="complexity, faithfulness, reordering, mixing of a corpus")
    c.add_argument("--source", required=True)
    c.add_argument("--target", required=True)
    c.add_argument("--lexicon", help="lexicon.json of the synthetic corpus (language mixing)")
    c.add_argument("--align", help="gold Pharaoh links (then the default aligner is 'gold')")
    c.add_argument("--aligner", choices=alignment.ALIGNERS, help="default: gold with --align, "
                   "else eflomal")
    c.add_argument("--extra-aligners", default="", help="comma list, e.g. eflomal,ibm1: also "
                   "report their estimates (aligner bias)")
    c.add_argument("--reference-target", help="targets of the reference (e.g. raw) corpus for F(d)")
    c.add_argument("--faithfulness-aligner", default="eflomal", choices=("eflomal", "ibm1"))
    c.add_argument("--modes", help="a mode label per line (e.g. train.lang) for the classifier")
    c.add_argument("--truth", help="truth.json of the synthetic corpus: compare estimates")
    c.add_argument("--split", default="train", help="split of truth.json (default train)")
    c.add_argument("--nll-nat", help="per-sentence NLL of the pairs under a NAT model (gold "
                   "length), one per line: with --nll-at estimates the total correlation")
    c.add_argument("--nll-at", help="per-sentence NLL of the same pairs under an AR model")
    c.add_argument("--nll-unit", default="bits", choices=("bits", "nats"))
    c.add_argument("--min-count", type=int, default=5)
    c.add_argument("--ibm1-iterations", type=int, default=5)
    o = sub.add_parser("outputs", aliases=["system"], help="a system's hypotheses vs references")
    o.add_argument("--hyp", required=True)
    o.add_argument("--ref", action="append", help="reference file (repeat for multi-reference)")
    o.add_argument("--ref-dir", help="directory with test.ref.<lang> (per-language BLEU)")
    o.add_argument("--lexicon")
    o.add_argument("--lang", help="gold language per line (e.g. test.lang)")
    for p in (c, o):
        p.add_argument("--out", required=True)
        p.add_argument("--name", help="label in reports (default: the --out folder name)")
        p.add_argument("--seed", type=int, default=0)
    m = sub.add_parser("compare", help="several analyses side by side")
    m.add_argument("dirs", nargs="+")
    m.add_argument("--out", required=True)
    return parser


@command("nat-analyze")
def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.mode == "compare":
        table, analyses = compare(args)
        path = report.write_comparison(table, analyses, args.out)
    else:
        metrics = corpus(args) if args.mode == "corpus" else outputs(args)
        path = report.write_analysis(metrics, args.out)
    print(path, file=sys.stderr)
    return 0
