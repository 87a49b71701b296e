"""nat-prepare's command line: the argparse parser generated from ``PrepareConfig`` and the
config it parses into.  Here, not in the command module, because the experiment parses its
``prepare`` settings with the same parser (same checks and messages).
"""
from nat.cli import ArgumentParser, add_dataclass_arguments, config_from
from nat.prepare.config import PrepareConfig


def build_parser(doc=""):
    """nat-prepare's parser; ``doc``: the command's docstring (first paragraph: the
    description, from the third on: the epilog)."""
    parts = doc.split("\n\n", 2)
    p = ArgumentParser(prog="nat-prepare", description=parts[0],
                       epilog=parts[2] if len(parts) > 2 else None)
    add_dataclass_arguments(p, PrepareConfig, exclude=("max_sentence_length",))
    return p


def config_from_args(args):
    return config_from(PrepareConfig, args)
