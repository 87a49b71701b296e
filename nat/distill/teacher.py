"""What we know about the teacher before decoding: hashes, languages, dictionaries, limits.

Read from the checkpoints with the safe loader, so bad settings fail before any model is built.
"""
import glob
import os
import re
from dataclasses import dataclass
from typing import List

from nat.hashing import file_sha256
from nat.errors import UserError


@dataclass
class TeacherInfo:
    paths: List[str]
    sha256: List[str]
    archs: List[str]
    source_lang: str
    target_lang: str
    src_dict: str
    tgt_dict: str
    max_source_positions: int

    @property
    def label(self):
        """Teacher identity stored with every hypothesis: short checkpoint hashes."""
        return "+".join(h[:12] for h in self.sha256)


def _get(obj, name, default=None):
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    try:
        return getattr(obj, name, default)
    except Exception:  # omegaconf missing keys
        return default


def _model_cfg(state):
    cfg = state.get("cfg")
    model = _get(cfg, "model")
    return model if model is not None else state.get("args")


def _task_cfg(state):
    cfg = state.get("cfg")
    task = _get(cfg, "task")
    return task if task is not None else state.get("args")


def infer_langs(data_bin):
    """``(src, tgt)`` from binarized files ``<split>.<src>-<tgt>.<lang>.idx`` in the data-bin."""
    pairs = set()
    for path in glob.glob(os.path.join(data_bin, "*.idx")):
        match = re.match(r"^[^.]+\.([^.-]+)-([^.-]+)\.[^.]+\.idx$", os.path.basename(path))
        if match:
            pairs.add(match.groups())
    return pairs.pop() if len(pairs) == 1 else None


def describe(paths, data_bin, source_lang=None, target_lang=None):
    from nat.compat import load_checkpoint_safely

    if not os.path.isdir(data_bin):
        raise UserError(f"--data-bin {data_bin}: not a directory")
    hashes, archs, limits, langs = [], [], [], set()
    for path in paths:
        if not os.path.isfile(path):
            raise UserError(f"--path: no such checkpoint: {path}")
        hashes.append(file_sha256(path))
        state = load_checkpoint_safely(path)
        model, task = _model_cfg(state), _task_cfg(state)
        archs.append(str(_get(model, "arch", _get(model, "_name", "?"))))
        limits.append(int(_get(model, "max_source_positions", 0) or 0)
                      or int(_get(task, "max_source_positions", 1024) or 1024))
        langs.add((_get(task, "source_lang"), _get(task, "target_lang")))
        del state
    src, tgt = source_lang, target_lang
    if src is None or tgt is None:
        known = {pair for pair in langs if None not in pair}
        inferred = known.pop() if len(known) == 1 else infer_langs(data_bin)
        if inferred is None:
            raise UserError(f"cannot tell the language pair from the checkpoints or {data_bin}; "
                            f"pass --source-lang and --target-lang")
        src, tgt = src or inferred[0], tgt or inferred[1]
    dicts = [os.path.join(data_bin, f"dict.{lang}.txt") for lang in (src, tgt)]
    for path in dicts:
        if not os.path.isfile(path):
            raise UserError(f"--data-bin: dictionary {path} not found")
    return TeacherInfo(paths=list(paths), sha256=hashes, archs=archs, source_lang=src,
                       target_lang=tgt, src_dict=dicts[0], tgt_dict=dicts[1],
                       max_source_positions=min(limits))
