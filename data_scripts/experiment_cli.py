"""``nat-experiment``: the end-to-end experiment (why NAT needs distillation), resumable.

synthesize corpus -> train AR teacher (and NATs on raw data, side by side) -> distill ->
train NATs on distilled data -> decode + speed -> analyse -> OUT/report.md and results.json.
Re-running skips finished stages; a killed run continues where it stopped.

--data DIR runs the same pipeline on your corpus instead of the synthetic one: DIR holds
train/valid/test.{src,tgt} (plain text, one sentence a line; optional {split}.lang labels, e.g.
the target language, and test.ref.NAME extra references), which nat-prepare turns into
OUT/prepared (settings: the config's "prepare" section), or DIR is a directory nat-prepare
already made.  Numbers are at word level on detokenized text; without labels the
language-mixing measures are reported as not measured.

nat-experiment report DIR rebuilds DIR/report.md and DIR/figures from DIR/results.json alone
(after editing the report code, or on another machine).
"""
import argparse
import json
import os
import sys
import time

from nat.cli import ArgumentParser, command
from nat.errors import UserError
from nat.experiment import config as presets
from nat.experiment.pipeline import Experiment, describe_plan


def build_parser():
    parser = ArgumentParser(prog="nat-experiment", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick", choices=sorted(presets.PRESETS),
                        help="quick: ~15 min on 2 CPU cores; full: larger corpus, more models "
                             "(meant for a GPU); seed: quick plus the seed talk's tables, ~35 "
                             "min on 2 CPU cores (docs/seed.md); real: sized for a real corpus of "
                             "~20-30k short pairs (needs --data), ~1 hour on 2 CPU cores "
                             "(docs/real.md). Default: quick")
    parser.add_argument("--config", help="JSON/YAML file deep-merged over the preset")
    parser.add_argument("--out", required=True, help="output directory (reused to resume)")
    parser.add_argument("--data", metavar="DIR",
                        help="your corpus instead of the synthetic one: a directory with "
                             "{train,valid,test}.{src,tgt} (optional {split}.lang labels, "
                             "test.ref.* references) or one prepared by nat-prepare")
    parser.add_argument("--show-config", action="store_true",
                        help="print the resolved configuration and exit")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the planned jobs (with what each waits for and its "
                             "command), the systems decoded and the corpora analysed; run "
                             "nothing, write nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def build_report_parser():
    parser = ArgumentParser(prog="nat-experiment report",
                            description="rebuild DIR/report.md and DIR/figures/ from "
                                        "DIR/results.json alone")
    parser.add_argument("dir", metavar="DIR", help="a finished experiment's output directory")
    return parser


def rebuild_report(argv):
    from nat.experiment import report

    args = build_report_parser().parse_args(argv)
    path = os.path.join(args.dir, "results.json")
    if not os.path.isfile(path):
        raise UserError(f"no results.json in {args.dir} (not a finished nat-experiment run)")
    try:
        with open(path, encoding="utf-8") as handle:
            results = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path}: not a results file ({str(err).splitlines()[0]})") from None
    if not isinstance(results, dict) or "config" not in results or "languages" not in results:
        raise UserError(f"{path}: not written by this version of nat-experiment (no config "
                        f"or languages): re-run the experiment to rebuild it")
    written = report.render(results, args.dir)
    print(f"nat-experiment: report: {written['report']}")


@command("nat-experiment")
def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["report"]:
        return rebuild_report(argv[1:])
    args = build_parser().parse_args(argv)
    config = presets.resolve(args.preset, args.config)
    if config.get("seed_tables") and args.data:
        raise UserError("the seed tables (--preset seed) need the synthetic corpus: no --data")
    if args.preset in presets.NEEDS_DATA and not args.data:
        raise UserError(f"--preset {args.preset} is sized for a real corpus: give --data DIR "
                        f"(e.g. one made by nat-gettext --langs de,es,fr --out DIR)")
    if args.show_config:
        print(json.dumps(config, indent=2))
        return
    if args.dry_run:
        experiment = Experiment(config, args.out, quiet=True, data=args.data)
        print(describe_plan(experiment.plan()))
        for line in experiment.sizing():
            print(line)
        if config.get("seed_tables"):
            from nat.experiment import seed_plan

            print(seed_plan.describe(config, args.out))
        return
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UserError(f"--out exists and is not a directory: {args.out}")
    start = time.time()
    results = Experiment(config, args.out, quiet=args.quiet, data=args.data).run()
    if config.get("seed_tables"):
        from nat.experiment import seed_plan

        results = seed_plan.run(config, args.out, results, quiet=args.quiet)
    print(f"nat-experiment: done in {time.time() - start:.0f} s; report: "
          f"{os.path.join(args.out, 'report.md')}")
    degenerate = (results.get("teacher_check") or {}).get("degenerate")
    if degenerate:
        print(f"nat-experiment: warning: degenerate teacher ({degenerate}): every prediction "
              f"that depends on it is not measurable")
    for model in results["models"]:
        mixed = model["mixed_sentence_rate"]
        print(f"  {model['name']:<22} {model['train_data']:<9} BLEU {model['bleu']:6.1f}  "
              f"mixed {'n/a  ' if mixed is None else f'{mixed:.3f}'}  "
              f"{model['sentences_per_second_batch1']:8.1f} sent/s (batch 1)")
