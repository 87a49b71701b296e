"""``nat-export``: a NAT checkpoint to an ONNX model directory that ``nat-translate`` runs.

    nat-export CHECKPOINT --out DIR [--int8] [--data-bin BIN | --prepared DIR]
"""
import argparse

from nat.cli import ArgumentParser, add_dataclass_arguments, command, config_from
from nat.translate.export import ExportConfig


def build_parser():
    parser = ArgumentParser(prog="nat-export", description=__doc__.split("\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            epilog="See nat/translate/export.py for the directory layout.")
    add_dataclass_arguments(parser, ExportConfig)
    return parser


@command("nat-export")
def main(argv=None):
    from nat.translate.export import export

    cfg = config_from(ExportConfig, build_parser().parse_args(argv))
    manifest = export(cfg)
    print(f"{cfg.out}: {manifest['model']} ({manifest['arch']}, {manifest['kind']}), "
          f"{manifest['precision']}, opset {manifest['opset']}; probe check fp32: "
          f"{manifest['verified_fp32']} identical to torch")
    return 0
