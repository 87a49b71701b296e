"""Compatibility layer for fairseq 0.12 on Python 3.11, torch 2.13 and numpy 2.

Installed by ``import fairseq_plugins`` (so by ``--user-dir fairseq_plugins``) and by every
``nat-*`` command.  It changes nothing globally that weakens safety:

* **Checkpoints** load with torch's ``weights_only=True`` unpickler.  fairseq checkpoints pickle a
  few non-tensor objects (``argparse.Namespace`` for legacy args, omegaconf containers in older
  checkpoints, numpy scalars/arrays in ``extra_state``); exactly those classes are allowlisted with
  ``torch.serialization.add_safe_globals``.  Any other global (``os.system``, ``subprocess.Popen``,
  ...) is refused, and fairseq's loader is wrapped so the refusal reads as one clear sentence.
* **numpy >= 1.24** removed ``np.float``/``np.int``; fairseq's NAT-CRF layer and span-masking
  utilities still use them.  Those modules get a numpy proxy with the two aliases; the real
  ``numpy`` module is left untouched.
"""
import argparse
import collections
import contextlib
import functools
import logging
import re
import sys
import types
import typing

import importlib.abc
import importlib.util

import numpy as np

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


class UnsafeCheckpointError(RuntimeError):
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
    """``torch.load`` with ``weights_only=True`` and the allowlist; one clear error otherwise."""
    import torch

    install()
    try:
        return torch.load(path_or_file, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises UnpicklingError wrapped in various ways
        if _is_refusal(err):
            name = getattr(path_or_file, "name", path_or_file)
            raise UnsafeCheckpointError(
                f"refusing to load checkpoint {name}: it contains a pickled global that is not "
                f"on the fairseq allowlist ({_unsupported_global(err)}); only load checkpoints "
                f"you trust, and never by disabling weights_only") from None
        raise


_GLOBAL = re.compile(r"GLOBAL\s+([\w.]+)")


def _is_refusal(err):
    """True for torch's weights_only unpickler refusing a global (its wording varies)."""
    return "weights_only" in str(err) and _GLOBAL.search(str(err)) is not None


def _unsupported_global(err):
    match = _GLOBAL.search(str(err))
    return match.group(1) if match else str(err).splitlines()[0][:120]


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
        try:
            return original(path, *args, **kwargs)
        except Exception as err:
            if _is_refusal(err):
                raise UnsafeCheckpointError(
                    f"refusing to load checkpoint {path}: it contains a pickled global that is "
                    f"not on the fairseq allowlist ({_unsupported_global(err)})") from None
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
