"""One schema per command: ``nat.cli.add_dataclass_arguments`` makes the argparse flags of a
dataclass, and every converted command's parser defaults are its dataclass's defaults."""
import argparse
import dataclasses
from dataclasses import dataclass
from typing import List, Optional

import pytest

from analysis import cli as analyze_cli, options as analyze_options
from data_scripts import distill_cli, prepare_cli, smoke
from nat.bench import analysis, cli as bench_cli, dag, distill, gpu, nat_models, synth
from nat.cli import (ArgumentParser, add_dataclass_arguments, add_subcommand, arg, config_from,
                     field_default, positive_int)
from nat.distill.config import DistillConfig
from nat.errors import UserError
from nat.prepare.config import PrepareConfig


@dataclass(kw_only=True)
class Toy:
    out: str = arg("output directory", group="files")
    size: int = arg("items", 3, type=positive_int)
    rate: float = arg("a rate", 0.5)
    mode: str = arg("how", "fast", choices=("fast", "slow"))
    names: List[str] = arg("names", ["a", "b"], nargs="+")
    verbose: bool = arg("talk", False)
    cache: bool = arg("do not cache", True)
    progress: bool = arg("no progress bar", True, flag="--quiet")
    color: Optional[bool] = arg("colours", None, action=argparse.BooleanOptionalAction)
    inputs: List[str] = arg("input files", [], positional=True, nargs="*", group="files")
    hidden: int = 7


def toy_parser(**overrides):
    parser = ArgumentParser(prog="toy")
    groups = add_dataclass_arguments(parser, Toy, exclude=("hidden",), **overrides)
    return parser, groups


def parse(argv, **overrides):
    return toy_parser(**overrides)[0].parse_args(argv)


def parsed_defaults(args, cls, skip=()):
    """{field: (parsed, default)} of every defaulted field of ``cls`` that was parsed."""
    return {f.name: (getattr(args, f.name), field_default(f)) for f in dataclasses.fields(cls)
            if f.name not in skip and field_default(f) is not dataclasses.MISSING
            and hasattr(args, f.name)}


def assert_defaults(args, cls, skip=()):
    pairs = parsed_defaults(args, cls, skip)
    assert pairs and {k: v[0] for k, v in pairs.items()} == {k: v[1] for k, v in pairs.items()}


def test_fields_become_flags_with_their_defaults():
    args = parse(["--out", "o"])
    assert vars(args) == {"out": "o", "size": 3, "rate": 0.5, "mode": "fast",
                          "names": ["a", "b"], "verbose": False, "cache": True,
                          "progress": True, "color": None, "inputs": []}
    toy = config_from(Toy, args)
    assert toy == Toy(out="o") and toy.hidden == 7


def test_switches_types_and_positionals():
    args = parse(["x", "y", "--out", "o", "--size", "4", "--rate", "2", "--mode", "slow",
                  "--names", "c", "--verbose", "--no-cache", "--quiet", "--no-color"])
    assert (args.inputs, args.size, args.rate, args.mode, args.names) == \
        (["x", "y"], 4, 2.0, "slow", ["c"])
    assert (args.verbose, args.cache, args.progress, args.color) == (True, False, False, False)


def test_list_defaults_are_copied_per_instance():
    first, second = Toy(out="a"), Toy(out="b")
    first.names.append("z")
    assert second.names == ["a", "b"]


@pytest.mark.parametrize("argv, message", [
    (["--out", "o", "--size", "0"], "argument --size: must be a positive integer (>= 1), got 0"),
    (["--out", "o", "--rate", "x"], "argument --rate: invalid float value: 'x'"),
    (["--out", "o", "--mode", "slower"], "argument --mode: invalid choice: 'slower' "
                                         "(choose from 'fast', 'slow')"),
    ([], "the following arguments are required: --out"),
    (["--out", "o", "--hidden"], "unrecognized arguments: --hidden"),
])
def test_bad_values_are_one_line_user_errors(argv, message):
    with pytest.raises(UserError) as err:
        parse(argv)
    assert str(err.value) == message


def test_help_shows_defaults_groups_and_overrides():
    parser, groups = toy_parser(size=dict(default=None, help="items (default: from the data)"))
    text = " ".join(parser.format_help().split())
    assert "--rate RATE a rate (default: 0.5)" in text
    assert "--names NAMES [NAMES ...] names (default: a b)" in text
    assert "--verbose talk --no-cache do not cache --quiet no progress bar" in text
    assert "--size SIZE items (default: from the data) --rate" in text
    assert list(groups) == ["files"] and "files: --out OUT output directory" in text
    assert parser.parse_args(["--out", "o"]).size is None


def test_subcommand_gets_the_built_dataclass():
    parser = ArgumentParser(prog="toy")
    add_subcommand(parser.add_subparsers(dest="name"), "run", Toy, lambda toy: toy,
                   help="run it")
    args = parser.parse_args(["run", "--out", "o", "--size", "2"])
    assert args.func(args) == Toy(out="o", size=2)


# ---- every converted command: parser defaults == dataclass defaults ---------------------------

def test_nat_distill_defaults_are_distill_config_defaults():
    args = distill_cli.build_parser().parse_args(
        ["--path", "t.pt", "--data-bin", "b", "--source", "s", "--target", "t", "--out", "o"])
    assert_defaults(args, DistillConfig, skip=("num_shards", "paths", "data_bin", "target"))
    assert (args.paths, args.data_bin, args.target) == ("t.pt", "b", "t")
    # a black-box teacher needs neither checkpoints nor a data-bin nor a target: their
    # defaults too are the dataclass's
    minimal = distill_cli.build_parser().parse_args(["--source", "s", "--out", "o"])
    assert_defaults(minimal, DistillConfig, skip=("num_shards",))
    assert args.num_shards is None                    # the launcher's count, else the default
    assert distill_cli.sharding_from_args(args, {})[0] == \
        field_default(DistillConfig.__dataclass_fields__["num_shards"])
    flags = {f.name for f in dataclasses.fields(DistillConfig)} - {"launcher", "extra"}
    assert flags <= set(vars(args))


def test_nat_prepare_defaults_are_prepare_config_defaults():
    args = prepare_cli.build_parser().parse_args(["--raw", "r", "--out", "o"])
    assert_defaults(args, PrepareConfig)
    assert not hasattr(args, "max_sentence_length")    # no flag: the API's only


def test_nat_smoke_defaults_are_smoke_options_defaults():
    assert_defaults(smoke.build_parser().parse_args(["--out", "o"]), smoke.SmokeOptions)


@pytest.mark.parametrize("argv, schema", [
    (["corpus", "--source", "s", "--target", "t", "--out", "o"], analyze_options.Corpus),
    (["outputs", "--hyp", "h", "--out", "o"], analyze_options.Outputs),
    (["system", "--hyp", "h", "--out", "o"], analyze_options.Outputs),
    (["lexicon", "--target", "t", "--labels", "l", "--out", "o"], analyze_options.Lexicon),
])
def test_nat_analyze_defaults_are_its_mode_dataclass_defaults(argv, schema):
    args = analyze_cli.build_parser().parse_args(argv)
    assert args.schema is schema
    assert_defaults(args, schema)


def test_nat_analyze_compare_takes_its_directories():
    args = analyze_cli.build_parser().parse_args(["compare", "a", "b", "--out", "o"])
    assert config_from(args.schema, args) == analyze_options.Compare(dirs=["a", "b"], out="o")


@pytest.mark.parametrize("name, schema", [
    ("analysis", analysis.AnalysisOptions), ("dag", dag.DagOptions),
    ("distill", distill.DistillOptions), ("gpu", gpu.GpuOptions),
    ("nat-models", nat_models.NatModelsOptions), ("synth", synth.SynthOptions)])
def test_nat_bench_defaults_are_its_dataclass_defaults(name, schema):
    args = bench_cli.build_parser().parse_args([name])
    assert_defaults(args, schema)
    assert set(vars(args)) == {f.name for f in dataclasses.fields(schema)} | {"benchmark", "func"}
