"""``nat-gettext``: a real multilingual corpus (English -> several languages) from the machine's
gettext catalogs, without downloads: one random target language per training source, every
language's translation as a reference of the valid and test sources.

    nat-gettext --langs de,es,fr --out raw
    nat-experiment --preset real --data raw --out exp

The directory is what ``nat-prepare --raw`` reads (train/valid/test .src/.tgt/.lang,
{valid,test}.ref.LANG) plus manifest.json (settings, catalogs read and skipped, counts).
"""
import argparse
import json

from nat.cli import ArgumentParser, add_dataclass_arguments, command, config_from
from nat.prepare import gettext_corpus


def build_parser():
    parser = ArgumentParser(prog="nat-gettext", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataclass_arguments(parser, gettext_corpus.GettextConfig)
    return parser


@command("nat-gettext")
def main(argv=None):
    config = config_from(gettext_corpus.GettextConfig, build_parser().parse_args(argv))
    manifest = gettext_corpus.build(config)
    print(json.dumps({"languages": manifest["languages"], "available": manifest["available"],
                      "splits": manifest["splits"],
                      "skipped_catalogs": len(manifest["skipped_catalogs"])}, sort_keys=True))
    return 0
