"""``nat-bench analysis``: seconds for ``nat-analyze corpus`` (alignment included), synthetic data.

Generates each size with ``nat.synth`` (not timed), then times the full analysis plus report
with the default aligner and, side by side at the first size, with gold links (no aligner), so
the alignment's share shows as a ratio. Target: 100k pairs in under a minute on 2 cores.
"""
import os
import tempfile
import time
from dataclasses import dataclass
from typing import List, Optional

from nat.cli import add_subcommand, arg


def _sizes(text):
    return [int(v) for v in text.split(",") if v]


@dataclass
class AnalysisOptions:
    """``nat-bench analysis``'s flags."""
    sizes: List[int] = arg("comma list of pair counts", [100000, 1000000], type=_sizes)
    aligner: str = arg("aligner timed at every size", "eflomal", choices=("eflomal", "ibm1"))
    preset: str = arg("nat-synth grammar preset", "default")
    workdir: Optional[str] = arg("keep corpora and reports here (default: a temp dir)", None)


def register(subparsers):
    add_subcommand(subparsers, "analysis", AnalysisOptions, run,
                   help="seconds to analyse synthetic corpora (nat-analyze)")


def _analyse(d, aligner, out):
    from analysis import api, lexicon, report
    from nat.textio import read_lines

    start = time.perf_counter()
    src, tgt = read_lines(os.path.join(d, "train.src")), read_lines(os.path.join(d, "train.tgt"))
    gold = read_lines(os.path.join(d, "train.align")) if aligner == "gold" else None
    metrics = api.analyze_corpus(src, tgt, lexicon=lexicon.load(os.path.join(d, "lexicon.json")),
                                 align=gold, aligner=aligner, name=f"{len(src)} pairs")
    report.write_analysis(metrics, out)
    return time.perf_counter() - start, metrics


def run(args):
    from nat.synth import generate_corpus

    work = args.workdir or tempfile.mkdtemp(prefix="nat-bench-analysis-")
    rows = []
    for k, n in enumerate(args.sizes):
        d = os.path.join(work, f"synth_{n}")
        t0 = time.perf_counter()
        generate_corpus(d, mode="random", seed=1, sizes=(n, 10, 10), preset=args.preset)
        gen = time.perf_counter() - t0
        runs = [args.aligner] + (["gold"] if k == 0 else [])
        for aligner in runs:
            secs, m = _analyse(d, aligner, os.path.join(work, f"report_{n}_{aligner}"))
            rows.append((n, aligner, secs, gen, m["complexity_bits"]))
            print(f"{n:>9} pairs  {aligner:<8} {secs:8.1f} s  {n / secs:9.0f} pairs/s  "
                  f"C(d) {m['complexity_bits']:.3f} bits  (generation {gen:.1f} s, not counted)",
                  flush=True)
    base = rows[0]
    print("ratios (same run):")
    for n, aligner, secs, _, _ in rows[1:]:
        print(f"  {n} pairs {aligner} / {base[0]} pairs {base[1]}: time x{secs / base[2]:.2f}, "
              f"size x{n / base[0]:.1f}")
    print(f"work dir: {work}")
    return 0
