"""``nat-distill``: teacher decoding -> n-best store -> selection -> text + bin + manifest.json.

Example::

    nat-distill --path teacher.pt --data-bin data-bin --source train.src --target train.tgt \\
        --out distilled --method seqkd --beam 5
    fairseq-train distilled/bin --task translation_lev ...
    # an ensemble teacher (fairseq backend)
    nat-distill --path a.pt:b.pt:c.pt --data-bin data-bin --source train.src ...
    # a black-box teacher on monolingual text (one answer line per line, same order)
    nat-distill --backend command --teacher-cmd "./translate.sh" --source mono.src \
        --out imitated --no-binarize
"""
import json
import os
import sys

from nat.cli import ArgumentParser, add_dataclass_arguments, command, config_from
from nat.distill.config import SHARDING, DistillConfig


EPILOG = ("--backend command: the teacher is --teacher-cmd, run once per --teacher-batch lines "
          "(source lines on stdin, one answer line each on stdout, same order; a timeout, a "
          "non-zero exit, a wrong count or a failed echo check stops the run with one line "
          "naming the source lines). It has no dictionaries, so the output is binarized only "
          "with --data-bin (the dictionaries to use); otherwise pass --no-binarize. Without "
          "--target the source is monolingual: the corpus is the source and the teacher's "
          "answers (seqkd; nbest and sample with checkpoints).")


def build_parser():
    """DistillConfig's flags; ``--num-shards`` defaults to the launcher's count, and
    ``--no-launcher`` (no config field) ignores the launcher."""
    p = ArgumentParser(prog="nat-distill", description=__doc__.split("\n\n")[0],
                       epilog=EPILOG)
    by_launcher = (f"default: the launcher's process count (torchrun WORLD_SIZE, Slurm "
                   f"SLURM_ARRAY_TASK_COUNT), else {DistillConfig.num_shards}")
    groups = add_dataclass_arguments(p, DistillConfig, exclude=("launcher", "extra"),
                                     num_shards=dict(default=None, help=by_launcher))
    groups[SHARDING].add_argument("--no-launcher", action="store_true",
                                  help="ignore torchrun/Slurm-array variables (run every shard "
                                       "here)")
    return p


def sharding_from_args(args, environ=None):
    """``(num_shards, shard_id, launcher)``: the flags, else the launcher's environment.

    Without ``--shard-id`` (and without ``--merge-only``/``--no-launcher``), torchrun's
    ``RANK``/``WORLD_SIZE`` or a Slurm array's task give the shard; an explicit ``--num-shards``
    must then agree with the launcher's count."""
    from nat.distill import launcher as launcher_mod
    from nat.errors import UserError

    num_shards = args.num_shards
    if args.shard_id is not None or args.merge_only or args.no_launcher:
        return num_shards or DistillConfig.num_shards, args.shard_id, None
    found = launcher_mod.from_environment(os.environ if environ is None else environ)
    if found is None:
        return num_shards or DistillConfig.num_shards, None, None
    if num_shards is not None and num_shards != found["num_shards"]:
        raise UserError(f"--num-shards {num_shards} disagrees with the {found['launcher']} "
                        f"launcher's {found['num_shards']} processes (drop --num-shards, or "
                        f"pass --shard-id)")
    return found["num_shards"], found["shard_id"], found


def config_from_args(args):
    num_shards, shard_id, launcher = sharding_from_args(args)
    return config_from(DistillConfig, args, num_shards=num_shards, shard_id=shard_id,
                       launcher=launcher)


@command("nat-distill")
def main(argv=None):
    from nat.distill.pipeline import run

    result = run(config_from_args(build_parser().parse_args(argv)))
    if "counts" in result:
        summary = {k: result[k] for k in ("counts", "fallbacks", "truncations", "timing")}
    else:
        summary = result
    print(json.dumps(summary, sort_keys=True), file=sys.stderr)
    return 0
