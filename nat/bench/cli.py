"""``nat-bench``: run one benchmark; each prints ratios measured side by side in one run."""
import importlib
import pkgutil

import nat.bench
from nat.cli import ArgumentParser, command


def build_parser():
    parser = ArgumentParser(
        prog="nat-bench",
        description="Benchmarks that compare implementations side by side in one run and "
                    "report ratios (this machine is shared: absolute times are noise).")
    subparsers = parser.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK")
    for info in pkgutil.iter_modules(nat.bench.__path__):
        if info.name == "cli":
            continue
        module = importlib.import_module(f"nat.bench.{info.name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


@command("nat-bench")
def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)
