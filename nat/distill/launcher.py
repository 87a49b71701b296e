"""The shard a launcher gave this process: torchrun (``RANK``/``WORLD_SIZE``) or a Slurm job
array (``SLURM_ARRAY_TASK_ID`` counted from ``SLURM_ARRAY_TASK_MIN`` in steps of
``SLURM_ARRAY_TASK_STEP``, ``SLURM_ARRAY_TASK_COUNT`` tasks).

``nat-distill`` uses it when neither ``--shard-id`` nor ``--num-shards`` is given, so
``torchrun --nproc_per_node 4 nat-distill ...`` or ``sbatch --array=0-3 ... nat-distill ...``
decodes shard RANK (or task - min) of 4 in each process; a later plain run merges.
"""
from nat.errors import UserError


def _int(env, name):
    text = env.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise UserError(f"environment variable {name}={text!r} is not an integer") from None


def torchrun(env):
    """``{"launcher": "torchrun", "shard_id", "num_shards"}`` or None (not under torchrun)."""
    rank, world = _int(env, "RANK"), _int(env, "WORLD_SIZE")
    if rank is None or world is None:
        return None
    if world < 1 or not 0 <= rank < world:
        raise UserError(f"torchrun environment: RANK={rank} is not in 0..WORLD_SIZE-1 "
                        f"(WORLD_SIZE={world})")
    return {"launcher": "torchrun", "shard_id": rank, "num_shards": world}


def slurm_array(env):
    """``{"launcher": "slurm-array", "shard_id", "num_shards", "array_task_id"}`` or None.

    Task ids need not start at 0 (``--array=1-4``: shard = id - min) and may step
    (``--array=0-6:2``: shard = (id - min) / step); an irregular list (``--array=1,3,7``) has
    no such mapping and is refused (pass ``--shard-id``/``--num-shards``)."""
    task, count = _int(env, "SLURM_ARRAY_TASK_ID"), _int(env, "SLURM_ARRAY_TASK_COUNT")
    if task is None:
        return None
    if count is None:
        raise UserError("Slurm array: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is "
                        "not; pass --shard-id and --num-shards")
    low = _int(env, "SLURM_ARRAY_TASK_MIN") or 0
    step = _int(env, "SLURM_ARRAY_TASK_STEP") or 1
    high = _int(env, "SLURM_ARRAY_TASK_MAX")
    regular = high is None or (high - low) == (count - 1) * step
    offset = task - low
    if count < 1 or step < 1 or not regular or offset % step or not 0 <= offset // step < count:
        raise UserError(f"Slurm array task {task} (min {low}, max {high}, step {step}, count "
                        f"{count}) is not one of min + k*step, k < count; pass --shard-id and "
                        f"--num-shards")
    return {"launcher": "slurm-array", "shard_id": offset // step, "num_shards": count,
            "array_task_id": task}


def from_environment(env):
    """The launcher's shard description, or None when no launcher (or one of one process) ran
    this one.  torchrun inside a Slurm array task with both giving several shards is refused:
    which one shards the input is not ours to guess."""
    found = [s for s in (torchrun(env), slurm_array(env)) if s and s["num_shards"] > 1]
    if len(found) > 1:
        raise UserError("both torchrun (RANK/WORLD_SIZE) and a Slurm array "
                        "(SLURM_ARRAY_TASK_ID) give a shard; pass --shard-id and --num-shards")
    return found[0] if found else None
