"""Compatibility layer for fairseq 0.12 on Python 3.11, torch 2.13 and numpy 2.

Installed by ``import fairseq_plugins`` (so by ``--user-dir fairseq_plugins``) and by every
``nat-*`` command.  It changes nothing globally that weakens safety:

* **Checkpoints** load with torch's ``weights_only=True`` unpickler.  fairseq checkpoints pickle a
  few non-tensor objects (``argparse.Namespace`` for legacy args, omegaconf containers in older
  checkpoints, numpy scalars/arrays in ``extra_state``); exactly those classes are allowlisted with
  ``torch.serialization.add_safe_globals``.  Any other global (``os.system``, ``subprocess.Popen``,
  ...) is refused, and fairseq's loader is wrapped so the refusal, like any other file that is no
  checkpoint (text, truncated, a directory), reads as one clear sentence; torch's advice to
  disable ``weights_only`` is never shown.
* **numpy >= 1.24** removed ``np.float``/``np.int``; fairseq's NAT-CRF layer and span-masking
  utilities still use them.  Those modules get a numpy proxy with the two aliases; the real
  ``numpy`` module is left untouched.
* **Multi-process training on CPU** (``torchrun ... fairseq-train --cpu --distributed-backend
  gloo``): fairseq computes ``device_id = rank % torch.cuda.device_count()``, a division by zero
  without a GPU.  Only while CUDA is unavailable, that one function
  (``fairseq.distributed.utils._infer_torch_distributed_launch_init``) gets ``device_id = 0``
  (it names a CUDA device, which a CPU run never uses), and fairseq's DDP wrapper
  (``fairseq.models.distributed_fairseq_model.DistributedDataParallel``), which passes
  ``device_ids=[device_id]`` that torch refuses for a CPU module, drops ``device_ids`` /
  ``output_device`` for a module on the CPU.  With a GPU fairseq runs unchanged.
"""
import argparse
import collections
import contextlib
import functools
import logging
import os
import re
import sys
import types
import typing
import warnings

import importlib.abc
import importlib.util

import numpy as np

from nat.errors import UserError

_ALLOWLISTED = False


@contextlib.contextmanager
def fairseq_logging_kept():
    """Undo fairseq's import-time ``logging.basicConfig(level=DEBUG)`` (wav2vec2_classification,
    text_to_speech): without this, in-process users of fairseq (nat-distill, nat-analyze) get
    every library's DEBUG lines on stderr.  A no-op inside fairseq's CLIs, which configure
    logging before importing models."""
    root = logging.getLogger()
    level, handlers, disabled = root.level, list(root.handlers), logging.root.manager.disable
    logging.disable(logging.INFO)                  # and their INFO notices while importing
    try:
        yield
    finally:
        logging.disable(disabled)
        root.setLevel(level)
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)


class CheckpointError(UserError):
    """A checkpoint file that cannot be loaded: one sentence naming the file and why."""


class UnsafeCheckpointError(CheckpointError, RuntimeError):
    """A checkpoint contains a pickled global that is not on the allowlist."""


def safe_globals():
    """The exact classes and functions fairseq checkpoints need beyond tensors."""
    allowed = [argparse.Namespace, collections.defaultdict, collections.OrderedDict, typing.Any,
               np.ndarray, np.dtype, np.bool_, np.int64, np.int32, np.float64, np.float32]
    allowed += [type(np.dtype(t)) for t in ("float64", "float32", "int64", "int32", "bool")]
    from numpy._core import multiarray  # numpy 2 location of the array reconstructors
    allowed += [multiarray._reconstruct, multiarray.scalar]
    # numpy 1.x checkpoints name the reconstructors by their old module path.
    allowed += [(multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
                (multiarray.scalar, "numpy.core.multiarray.scalar")]
    try:
        import omegaconf
        from omegaconf import nodes
        from omegaconf.base import ContainerMetadata, Metadata

        allowed += [omegaconf.DictConfig, omegaconf.ListConfig, ContainerMetadata, Metadata,
                    nodes.AnyNode, nodes.StringNode, nodes.IntegerNode, nodes.FloatNode,
                    nodes.BooleanNode, nodes.EnumNode, nodes.ValueNode]
    except ImportError:  # pragma: no cover - omegaconf comes with fairseq
        pass
    return allowed


def load_checkpoint_safely(path_or_file, map_location="cpu"):
    """``torch.load`` with ``weights_only=True`` and the allowlist.

    Every failure is one ``CheckpointError`` sentence naming the file and why (a directory, an
    empty, text, truncated or corrupt file, a refused global); torch's own message, which
    suggests disabling ``weights_only``, is never passed on."""
    import torch

    install()
    name = getattr(path_or_file, "name", path_or_file)
    if isinstance(path_or_file, (str, bytes, os.PathLike)):
        if os.path.isdir(path_or_file):
            raise CheckpointError(f"{name} is a directory, not a checkpoint file")
        if not os.path.exists(path_or_file):
            raise CheckpointError(f"no such checkpoint: {name}")
    try:
        with warnings.catch_warnings():   # e.g. "Detected pickle protocol 4 in the checkpoint"
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path_or_file, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001  torch raises many types for a bad file
        raise checkpoint_error(name, err) from None


_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")


def _is_refusal(err):
    """True for torch's weights_only unpickler refusing a global (its wording varies)."""
    return "weights_only" in str(err) and _GLOBAL.search(str(err)) is not None


def _unsupported_global(err):
    match = _GLOBAL.search(str(err))
    return match.group(1) if match else "?"


def _head(path, size=512):
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except (OSError, TypeError):
        return None


def checkpoint_error(name, err):
    """The ``CheckpointError`` saying why ``torch.load`` of ``name`` raised ``err``."""
    if _is_refusal(err):
        return UnsafeCheckpointError(
            f"refusing to load checkpoint {name}: it needs the global {_unsupported_global(err)}, "
            f"which is not on the fairseq allowlist (only load checkpoints you trust)")
    if isinstance(err, OSError) and not isinstance(err, EOFError):
        return CheckpointError(f"cannot read checkpoint {name} ({err.strerror or err})")
    head = _head(name)
    if head == b"":
        why = "an empty file"
    elif head and head.startswith(b"PK\x03\x04"):
        why = "truncated or corrupt zip archive"
    elif head and _looks_like_text(head):
        why = "a text file"
    else:
        why = "truncated or corrupt"
    return CheckpointError(f"{name} is not a PyTorch checkpoint ({why})")


def _looks_like_text(head):
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\t\r\n" for c in text)


def _raised_by_torch_load(err):
    """Whether ``err`` comes from inside ``torch.load`` (its unpickler or zip reader)."""
    tb = err.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename.replace("\\", "/")
        if filename.endswith(("torch/serialization.py", "torch/_weights_only_unpickler.py")):
            return True
        tb = tb.tb_next
    return False


class _NumpyWithAliases(types.ModuleType):
    """numpy seen through a module proxy that restores the removed ``float``/``int`` aliases."""

    float = float
    int = int
    bool = bool

    def __getattr__(self, name):
        return getattr(np, name)


def _patch_numpy_aliases():
    proxy = _NumpyWithAliases("numpy")
    import importlib

    for module_name in ("fairseq.modules.dynamic_crf_layer", "fairseq.data.data_utils"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # pragma: no cover
            continue
        if getattr(module, "np", None) is np:
            module.np = proxy


def _patch_cpu_distributed_launch():
    """torchrun on a machine without CUDA: give fairseq ``device_id = 0`` instead of its
    ``rank % torch.cuda.device_count()`` (ZeroDivisionError).  Nothing changes when CUDA is
    available."""
    import torch

    if torch.cuda.is_available():
        return
    try:
        from fairseq.distributed import utils as distributed_utils
    except ImportError:  # pragma: no cover
        return
    original = getattr(distributed_utils, "_infer_torch_distributed_launch_init", None)
    if original is None or getattr(original, "_nat_wrapped", False):
        return

    @functools.wraps(original)
    def _infer_torch_distributed_launch_init(cfg):
        cfg.distributed_init_method = "env://"
        cfg.distributed_world_size = int(os.environ["WORLD_SIZE"])
        cfg.distributed_rank = int(os.environ["RANK"])
        cfg.device_id = 0  # no CUDA device: the id is never used
        cfg.distributed_no_spawn = True  # the processes are the launcher's

    _infer_torch_distributed_launch_init._nat_wrapped = True
    distributed_utils._infer_torch_distributed_launch_init = _infer_torch_distributed_launch_init

    from fairseq.models import distributed_fairseq_model

    ddp = distributed_fairseq_model.DistributedDataParallel

    class DistributedDataParallel(ddp):
        """torch's DDP; ``device_ids``/``output_device`` dropped for a module on the CPU (torch
        accepts them only for GPU modules, fairseq always passes them)."""

        def __init__(self, module, device_ids=None, output_device=None, **kwargs):
            if all(p.device.type == "cpu" for p in module.parameters()):
                device_ids = output_device = None
            super().__init__(module, device_ids=device_ids, output_device=output_device,
                             **kwargs)

    DistributedDataParallel._nat_wrapped = True
    distributed_fairseq_model.DistributedDataParallel = DistributedDataParallel


def _patch_fairseq_loader():
    """Make fairseq's checkpoint loader report a refused global as ``UnsafeCheckpointError``."""
    try:
        from fairseq import checkpoint_utils
    except ImportError:  # pragma: no cover
        return
    original = checkpoint_utils.load_checkpoint_to_cpu
    if getattr(original, "_nat_wrapped", False):
        return

    @functools.wraps(original)
    def load_checkpoint_to_cpu(path, *args, **kwargs):
        if isinstance(path, (str, os.PathLike)) and os.path.isdir(path):
            raise CheckpointError(f"{path} is a directory, not a checkpoint file")
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*pickle protocol", category=UserWarning)
                return original(path, *args, **kwargs)
        except CheckpointError:
            raise
        except Exception as err:
            if _is_refusal(err) or _raised_by_torch_load(err):
                raise checkpoint_error(path, err) from None
            raise

    load_checkpoint_to_cpu._nat_wrapped = True
    checkpoint_utils.load_checkpoint_to_cpu = load_checkpoint_to_cpu


class _InstallAfterTorch(importlib.abc.MetaPathFinder):
    """Finds ``torch`` like the normal finders, and runs ``install()`` once it has loaded."""

    def find_spec(self, name, path, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)
                install()

            spec.loader.exec_module = exec_module
        return spec


def _install_after_torch_import():
    if not any(isinstance(f, _InstallAfterTorch) for f in sys.meta_path):
        sys.meta_path.insert(0, _InstallAfterTorch())


def install():
    """Idempotent: allowlist fairseq's checkpoint globals; patch fairseq if it is imported.

    Commands that never touch fairseq do not pay for importing it; ``fairseq_plugins`` calls
    this after fairseq is loaded, so the fairseq patches are in place for every fairseq CLI.
    """
    global _ALLOWLISTED
    if "torch" not in sys.modules:  # commands that never load torch do not pay for it
        _install_after_torch_import()
        return
    if not _ALLOWLISTED:
        import torch

        torch.serialization.add_safe_globals(safe_globals())
        _ALLOWLISTED = True
    if "fairseq" in sys.modules:
        _patch_numpy_aliases()
        _patch_fairseq_loader()
        if hasattr(sys.modules["fairseq"], "model_parallel"):  # fairseq fully imported (its
            _patch_cpu_distributed_launch()                     # __init__'s last import)
