"""``nat-multilingual``: a corpus with target-language tags for multilingual selective
distillation (Tan et al. 2019): the student's data-bin and one data-bin per language for its
teacher, all with one dictionary.

    nat-synth --out syn --mode all --preset small
    nat-multilingual --raw syn --out ml      # ml/bin, ml/bin-xa, ml/bin-xb, ml/bin-xc

Then train one teacher per language on ml/bin-L and the student on ml/bin with
``--task translation_multilingual_kd --criterion multilingual_word_kd
--teacher-paths xa:A.pt,xb:B.pt,xc:C.pt`` (fairseq_plugins/tasks/multilingual_kd.py).
"""
import argparse
import json

from nat.cli import ArgumentParser, add_dataclass_arguments, command, config_from
from nat.distill import multilingual


def build_parser():
    parser = ArgumentParser(prog="nat-multilingual", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataclass_arguments(parser, multilingual.MultilingualConfig)
    return parser


@command("nat-multilingual")
def main(argv=None):
    config = config_from(multilingual.MultilingualConfig, build_parser().parse_args(argv))
    manifest = multilingual.prepare(config)
    print(json.dumps({"languages": manifest["languages"], "counts": manifest["counts"],
                      "teacher_bins": manifest["teacher_bins"]}, sort_keys=True))
    return 0
