"""nat-distill under a launcher: each torchrun rank / Slurm array task decodes its own shard,
a later run merges, and the merged corpus is byte-identical to one process's."""
import json
import os
import subprocess

import pytest

from distill_helpers import FAST, make_inputs, read
from data_scripts.distill_cli import build_parser, sharding_from_args
from nat.cli import bin_path
from nat.distill import DistillConfig, launcher, run
from nat.errors import UserError

CLI_FAST = ["--beam", "4", "--max-len-a", "1", "--max-len-b", "4", "--threads", "1",
            "--max-source-positions", "16", "--chunk-size", "10", "--no-binarize", "--quiet"]
OUTPUTS = ("train.ids", "train.src", "train.tgt")
LAUNCHER_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR",
                 "MASTER_PORT", "TORCHELASTIC_RUN_ID", "SLURM_ARRAY_TASK_ID",
                 "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX",
                 "SLURM_ARRAY_TASK_STEP", "SLURM_ARRAY_JOB_ID")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARS}
    env.setdefault("OMP_NUM_THREADS", "1")
    return {**env, **extra}


def distill(args, env=None, prefix=(), expect=0):
    proc = subprocess.run([*prefix, bin_path("nat-distill"), *[str(a) for a in args]],
                          env=env or clean_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=600)
    assert proc.returncode == expect, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def setup(tiny_teacher, toy_data_bin, toy_corpus, tmp_path_factory):
    """``(args(out), reference_dir)``: the shared flags and one plain 1-process run (the
    ``nat.distill.run`` behind the command, with ``CLI_FAST``'s settings, in this process: the
    sharded commands below must give its bytes and its store key)."""
    tmp = tmp_path_factory.mktemp("distill_launcher")
    src, tgt = make_inputs(toy_corpus, str(tmp / "in"), count=60)   # 62 lines: 7 chunks

    def args(out):
        return ["--path", tiny_teacher, "--data-bin", toy_data_bin, "--source", src,
                "--target", tgt, "--out", out, *CLI_FAST]

    ref = tmp / "ref"
    run(DistillConfig(paths=[tiny_teacher], data_bin=toy_data_bin, source=src, target=tgt,
                      out=str(ref), **{**FAST, "chunk_size": 10}))   # = CLI_FAST
    return args, ref, tmp


def manifest(out):
    with open(os.path.join(str(out), "manifest.json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_torchrun_shards_then_plain_run_merges(setup):
    args, ref, tmp = setup
    out = tmp / "torchrun"
    distill(args(out), prefix=[bin_path("torchrun"), "--standalone", "--nproc_per_node", "2"])
    assert not (out / "train.tgt").exists()             # each rank decoded, nobody merged
    merged = distill(args(out) + ["--num-shards", "2"])  # plain: no shard id, no launcher
    summary = json.loads(merged.stderr.strip().splitlines()[-1])
    assert summary["counts"]["decoded"] == 61           # the over-long line is not decoded
    for name in OUTPUTS:
        assert read(str(out / name)) == read(str(ref / name)), name
    m = manifest(out)
    assert m["this_run"]["decoded_chunks_now"] == 0
    assert m["store_key"] == manifest(ref)["store_key"]
    assert m["sharding"]["shards"] == [
        {"shard_id": r, "launcher": {"launcher": "torchrun", "shard_id": r, "num_shards": 2}}
        for r in (0, 1)]


def test_slurm_array_shards_then_merge_only(setup):
    args, ref, tmp = setup
    out = tmp / "slurm"

    def task(i):
        return clean_env(SLURM_ARRAY_JOB_ID="77", SLURM_ARRAY_TASK_ID=str(i),
                         SLURM_ARRAY_TASK_COUNT="2", SLURM_ARRAY_TASK_MIN="0",
                         SLURM_ARRAY_TASK_MAX="1")

    distill(args(out), env=task(0))
    failed = distill(args(out) + ["--num-shards", "2", "--merge-only"], expect=2)
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "nat-distill: error: --merge-only: shard 1 of 2 not finished"), lines
    assert not (out / "train.tgt").exists()
    distill(args(out), env=task(1))
    distill(args(out) + ["--num-shards", "2", "--merge-only"])
    for name in OUTPUTS:
        assert read(str(out / name)) == read(str(ref / name)), name
    shards = manifest(out)["sharding"]["shards"]
    assert [s["launcher"]["launcher"] for s in shards] == ["slurm-array"] * 2
    assert [s["launcher"]["array_task_id"] for s in shards] == [0, 1]


def test_merge_only_names_every_missing_shard(setup):
    args, _, tmp = setup
    proc = distill(args(tmp / "none") + ["--num-shards", "3", "--merge-only"], expect=2)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "shards 0, 1, 2 of 3 not finished" in lines[0], lines


@pytest.mark.parametrize("env,expected", [
    ({}, None),
    ({"RANK": "0", "WORLD_SIZE": "1"}, None),                       # one process: run all
    ({"RANK": "1", "WORLD_SIZE": "4"}, ("torchrun", 1, 4)),
    ({"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "2"}, ("slurm-array", 1, 2)),
    ({"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "3",
      "SLURM_ARRAY_TASK_MAX": "6"}, ("slurm-array", 2, 4)),           # --array=3-6
    ({"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_MIN": "0",
      "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_STEP": "2"}, ("slurm-array", 2, 4)),
])
def test_shard_from_environment(env, expected):
    found = launcher.from_environment(env)
    got = found and (found["launcher"], found["shard_id"], found["num_shards"])
    assert got == expected


@pytest.mark.parametrize("env,message", [
    ({"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1",
      "SLURM_ARRAY_TASK_MAX": "7"}, "is not one of min"),              # --array=1,3,7
    ({"SLURM_ARRAY_TASK_ID": "2"}, "SLURM_ARRAY_TASK_COUNT is not"),
    ({"RANK": "x", "WORLD_SIZE": "2"}, "RANK='x' is not an integer"),
    ({"RANK": "2", "WORLD_SIZE": "2"}, "RANK=2 is not in 0..WORLD_SIZE-1"),
    ({"RANK": "0", "WORLD_SIZE": "2", "SLURM_ARRAY_TASK_ID": "0",
      "SLURM_ARRAY_TASK_COUNT": "2"}, "both torchrun"),
])
def test_bad_launcher_environment_is_one_line(env, message):
    with pytest.raises(UserError, match=message) as err:
        launcher.from_environment(env)
    assert "\n" not in str(err.value)


def parse(*extra):
    return build_parser().parse_args(["--path", "t.pt", "--data-bin", "b", "--source", "s",
                                      "--target", "t", "--out", "o", *extra])


def test_flags_win_over_the_launcher():
    torchrun = {"RANK": "1", "WORLD_SIZE": "2"}
    assert sharding_from_args(parse(), torchrun)[:2] == (2, 1)
    assert sharding_from_args(parse("--num-shards", "2"), torchrun)[:2] == (2, 1)
    assert sharding_from_args(parse("--num-shards", "4", "--shard-id", "3"), torchrun) == \
        (4, 3, None)
    assert sharding_from_args(parse("--no-launcher"), torchrun) == (1, None, None)
    assert sharding_from_args(parse("--num-shards", "2", "--merge-only"), torchrun) == \
        (2, None, None)
    assert sharding_from_args(parse(), {}) == (1, None, None)
    with pytest.raises(UserError, match="--num-shards 3 disagrees with the torchrun"):
        sharding_from_args(parse("--num-shards", "3"), torchrun)
