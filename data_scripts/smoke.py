"""``nat-smoke``: the smallest real pipeline, to check an installation end to end.

fairseq-preprocess -> fairseq-train (``transformer_teacher_tiny``, --user-dir fairseq_plugins)
-> fairseq-generate (every test id checked) -> sacreBLEU.  Without ``--data`` it writes the toy
reverse-and-relabel corpus first.
"""
import argparse
import os
import time
from dataclasses import dataclass
from typing import Optional

from nat import fairseq_cli
from nat.cli import (ArgumentParser, add_dataclass_arguments, arg, command, config_from,
                     positive_int)
from nat.errors import UserError
from nat.textio import (check_parallel, output_dir, read_lines, write_json_atomic,
                        write_lines_atomic)
from nat.toy import write_toy_corpus

SPLITS = ("train", "valid", "test")


@dataclass
class SmokeOptions:
    """nat-smoke's flags."""
    out: str = arg("output directory")
    data: Optional[str] = arg("directory with {train,valid,test}.{SRC,TGT} (default: write the "
                              "toy corpus)", None)
    source_lang: str = arg("suffix of the source files", "src")
    target_lang: str = arg("suffix of the target files", "tgt")
    updates: int = arg("teacher training updates", 200, type=positive_int)
    seed: int = arg("seed of the toy corpus and of training", 1)


def check_corpus(data_dir, src, tgt):
    """One-line errors for a missing directory/file or mismatched line counts."""
    if not os.path.isdir(data_dir):
        raise UserError(f"data directory not found: {data_dir}")
    for split in SPLITS:
        paths = [os.path.join(data_dir, f"{split}.{lang}") for lang in (src, tgt)]
        for path in paths:
            if not os.path.isfile(path):
                raise UserError(f"missing corpus file: {path}")
        if check_parallel(*paths) == 0:
            raise UserError(f"empty corpus file: {paths[0]}")


def run_smoke(out_dir, data_dir=None, src=SmokeOptions.source_lang,
              tgt=SmokeOptions.target_lang, updates=SmokeOptions.updates, seed=SmokeOptions.seed):
    """Run the pipeline; returns a summary dict (also written to ``out_dir/smoke.json``)."""
    start = time.time()
    if data_dir is None:
        data_dir = write_toy_corpus(os.path.join(out_dir, "data"), seed=seed)
    check_corpus(data_dir, src, tgt)
    bin_dir, ckpt_dir = os.path.join(out_dir, "bin"), os.path.join(out_dir, "teacher")
    logs = os.path.join(out_dir, "logs")
    prefix = {split: os.path.join(data_dir, split) for split in SPLITS}
    fairseq_cli.preprocess(bin_dir, prefix, src, tgt, joined=True,
                           log_path=os.path.join(logs, "preprocess.log"))
    fairseq_cli.train(bin_dir, ckpt_dir, fairseq_cli.Recipe(
        "transformer_teacher_tiny", updates, warmup=20, max_tokens=2000,
        extra=fairseq_cli.AR_TRAIN), seed=seed, log_path=os.path.join(logs, "train.log"))
    references = read_lines(os.path.join(data_dir, f"test.{tgt}"))
    result = fairseq_cli.generate(bin_dir, os.path.join(ckpt_dir, "checkpoint_last.pt"),
                                  expected=len(references), beam=5,
                                  log_path=os.path.join(logs, "generate.log"))
    hypotheses = [h[0].detok for h in result.hypotheses]
    write_lines_atomic(os.path.join(out_dir, "test.hyp"), hypotheses)

    import sacrebleu

    bleu = sacrebleu.metrics.BLEU()
    score = bleu.corpus_score(hypotheses, [references])
    summary = {"bleu": round(score.score, 2), "signature": str(bleu.get_signature()),
               "sentences": len(hypotheses), "updates": updates,
               "seconds": round(time.time() - start, 1), "data": os.path.abspath(data_dir)}
    write_json_atomic(os.path.join(out_dir, "smoke.json"), summary, indent=2)
    return summary


def build_parser():
    parser = ArgumentParser(prog="nat-smoke", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataclass_arguments(parser, SmokeOptions)
    return parser


@command("nat-smoke")
def main(argv=None):
    opts = config_from(SmokeOptions, build_parser().parse_args(argv))
    output_dir(opts.out, "--out")
    summary = run_smoke(opts.out, opts.data, opts.source_lang, opts.target_lang, opts.updates,
                        opts.seed)
    print(f"BLEU {summary['bleu']} on {summary['sentences']} test sentences "
          f"({summary['signature']}); {summary['seconds']} s; outputs in {opts.out}")
