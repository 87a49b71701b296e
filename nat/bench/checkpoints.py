"""Checkpoints with random weights, written in-process: models of any size to time or export
without training them (``nat-bench speed`` at transformer-base size, export tests).

The checkpoint is what ``fairseq-train`` would save before its first update: the parsed
configuration of ``fairseq-train DATA_BIN --task TASK --arch ARCH [extra]`` and the freshly
initialised weights (``torch.manual_seed(seed)``), so fairseq-generate, nat-export and
CTranslate2's converter load it as any other checkpoint.
"""
import contextlib
import io
import os

from nat import compat
from nat.fairseq_cli import PLUGIN_DIR


def random_checkpoint(data_bin, arch, path, task="translation_lev", extra=(), seed=1):
    """Write the checkpoint to ``path``; returns ``path``."""
    import torch

    with compat.fairseq_logging_kept():
        import fairseq_plugins  # noqa: F401  our architectures and the compat layer
        from fairseq import options, tasks
        from fairseq.dataclass.utils import convert_namespace_to_omegaconf
        from omegaconf import OmegaConf
    argv = [data_bin, "--task", task, "--arch", arch, "--user-dir", PLUGIN_DIR, "--cpu",
            *map(str, extra)]
    with contextlib.redirect_stdout(io.StringIO()):
        args = options.parse_args_and_arch(options.get_training_parser(), argv)
    cfg = convert_namespace_to_omegaconf(args)
    torch.manual_seed(seed)
    with compat.fairseq_logging_kept():
        model = tasks.setup_task(cfg.task).build_model(cfg.model)
    state = {"cfg": OmegaConf.to_container(cfg, resolve=True), "args": None,
             "model": model.state_dict(), "extra_state": {}, "last_optimizer_state": None,
             "optimizer_history": [{"criterion_name": str(cfg.criterion._name),
                                    "optimizer_name": "none", "lr_scheduler_state": {},
                                    "num_updates": 0}]}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    torch.save(state, path)
    return path
