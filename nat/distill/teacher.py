"""What we know about the teacher before decoding: hashes, languages, dictionaries, limits.

Read from the checkpoints with the safe loader, so bad settings fail before any model is built.
"""
import glob
import os
import re
from dataclasses import dataclass, field
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
    member_positions: List[int] = field(default_factory=list)  # each checkpoint's own limit

    @property
    def label(self):
        """Teacher identity stored with every hypothesis: short checkpoint hashes."""
        return "+".join(h[:12] for h in self.sha256)

    def members(self):
        """The manifest's ``teachers``: every checkpoint (ensemble member) with its identity."""
        positions = self.member_positions or [self.max_source_positions] * len(self.paths)
        return [{"path": os.path.abspath(p), "sha256": h, "arch": a, "max_source_positions": n}
                for p, h, a, n in zip(self.paths, self.sha256, self.archs, positions)]

    def ensemble(self):
        """How the members are combined (None for one checkpoint): fairseq's EnsembleModel
        averages the members' probabilities at every decoding step (log of the mean, uniform
        weights); the task setup (languages, dictionaries) is the first member's."""
        if len(self.paths) < 2:
            return None
        return {"members": len(self.paths), "distinct_checkpoints": len(set(self.sha256)),
                "combination": "mean of the members' token probabilities at each step "
                               "(fairseq EnsembleModel: logsumexp(log p_i) - log N)",
                "weights": "uniform", "source_positions": "the smallest member's"}


def setting(obj, name, default=None):
    """``obj.name`` of a checkpoint config (argparse Namespace, omegaconf config or dict), or
    ``default`` (also for an omegaconf missing key)."""
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(name, default)
    try:
        return getattr(obj, name, default)
    except Exception:  # omegaconf missing keys
        return default


def model_config(state):
    """The model part of a checkpoint's config (``cfg.model``, else the old ``args``)."""
    cfg = state.get("cfg")
    model = setting(cfg, "model")
    return model if model is not None else state.get("args")


def task_config(state):
    """The task part of a checkpoint's config (``cfg.task``, else the old ``args``)."""
    cfg = state.get("cfg")
    task = setting(cfg, "task")
    return task if task is not None else state.get("args")


def recorded_data_dir(state):
    """The data-bin a checkpoint was trained on (its task's first ``data`` path), or None."""
    data = setting(task_config(state), "data")
    return str(data).split(os.pathsep)[0] if data else None


def infer_langs(data_bin):
    """``(src, tgt)`` from binarized files ``<split>.<src>-<tgt>.<lang>.idx`` in the data-bin."""
    pairs = set()
    for path in glob.glob(os.path.join(data_bin, "*.idx")):
        match = re.match(r"^[^.]+\.([^.-]+)-([^.-]+)\.[^.]+\.idx$", os.path.basename(path))
        if match:
            pairs.add(match.groups())
    return pairs.pop() if len(pairs) == 1 else None


SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")


def dictionary_symbols(path):
    """Symbols of a fairseq ``dict.txt`` in index order, as ``Dictionary.load`` reads them: the
    four specials, then one per line (``word count [#fairseq:overwrite]``; an overwrite line of
    a symbol already there adds none)."""
    symbols, seen = list(SPECIALS), set(SPECIALS)
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.rstrip()
            if not line:
                continue
            word, field = line.rsplit(" ", 1) if " " in line else (line, "")
            overwrite = field == "#fairseq:overwrite"
            if overwrite:
                word = word.rsplit(" ", 1)[0]
            if overwrite and word in seen:
                continue
            symbols.append(word)
            seen.add(word)
    return symbols


_EMBEDDINGS = {"source": ("encoder.embed_tokens.weight",),
               "target": ("decoder.embed_tokens.weight", "decoder.output_projection.weight")}


def check_dictionaries(path, state, dicts, data_bin, flag="--path"):
    """Raise a one-line UserError when the data-bin's dictionaries do not have the sizes of the
    checkpoint's embedding tables (fairseq would stop at "Error(s) in loading state_dict")."""
    weights = state.get("model") if isinstance(state, dict) else None
    if not isinstance(weights, dict):
        return
    differ = []
    for (side, keys), dict_path in zip(_EMBEDDINGS.items(), dicts):
        rows = next((int(weights[k].shape[0]) for k in keys
                     if k in weights and getattr(weights[k], "dim", lambda: 0)() == 2), None)
        size = len(dictionary_symbols(dict_path))
        if rows is not None and rows != size:
            differ.append(f"{os.path.basename(dict_path)} has {size} symbols, the checkpoint's "
                          f"{side} embeddings {rows}")
    if differ:
        raise UserError(f"--data-bin {data_bin} does not match {flag} {path}: "
                        f"{'; '.join(differ)} (use the data-bin the model was trained on)")


def load_state(path, flag="--path"):
    """The checkpoint's state dict through the safe loader; one-line errors naming ``flag``."""
    from nat.compat import CheckpointError, load_checkpoint_safely

    if os.path.isdir(path):
        raise UserError(f"{flag} {path}: is a directory, not a checkpoint file")
    if not os.path.exists(path):
        raise UserError(f"{flag}: no such checkpoint: {path}")
    try:
        state = load_checkpoint_safely(path)
    except CheckpointError as err:
        raise UserError(f"{flag}: {err}") from None
    if not isinstance(state, dict) or "model" not in state:
        raise UserError(f"{flag} {path}: a PyTorch file but not a fairseq checkpoint (no model "
                        f"weights)")
    return state


def describe(paths, data_bin, source_lang=None, target_lang=None, flag="--path"):
    if not os.path.isdir(data_bin):
        raise UserError(f"--data-bin {data_bin}: not a directory")
    hashes, archs, limits, langs, states = [], [], [], set(), []
    for path in paths:
        state = load_state(path, flag)
        hashes.append(file_sha256(path))
        model, task = model_config(state), task_config(state)
        archs.append(str(setting(model, "arch", setting(model, "_name", "?"))))
        limits.append(int(setting(model, "max_source_positions", 0) or 0)
                      or int(setting(task, "max_source_positions", 1024) or 1024))
        langs.add((setting(task, "source_lang"), setting(task, "target_lang")))
        states.append({"model": {k: v for k, v in (state.get("model") or {}).items()
                                 if k in _EMBEDDINGS["source"] + _EMBEDDINGS["target"]}})
        del state
    known = {pair for pair in langs if None not in pair}
    if len(known) > 1 and (source_lang is None or target_lang is None):
        pairs = ", ".join(sorted(f"{a}-{b}" for a, b in known))
        raise UserError(f"{flag}: the ensemble's checkpoints were trained on different language "
                        f"pairs ({pairs}); give members of one pair (or --source-lang and "
                        f"--target-lang if they are one pair under other names)")
    src, tgt = resolve_languages(data_bin, source_lang, target_lang, known, "the checkpoints")
    dicts = dictionary_paths(data_bin, src, tgt)
    for path, state in zip(paths, states):
        check_dictionaries(path, state, dicts, data_bin, flag)
    return TeacherInfo(paths=list(paths), sha256=hashes, archs=archs, source_lang=src,
                       target_lang=tgt, src_dict=dicts[0], tgt_dict=dicts[1],
                       max_source_positions=min(limits), member_positions=limits)


def resolve_languages(data_bin, source_lang, target_lang, known=(), where=None):
    """``(src, tgt)``: the flags, else the one pair ``known`` (from ``where``, e.g. the
    checkpoints), else the pair binarized in ``data_bin``; a one-line UserError when none
    tells."""
    src, tgt = source_lang, target_lang
    if src is None or tgt is None:
        known = set(known)
        inferred = known.pop() if len(known) == 1 else (infer_langs(data_bin) if data_bin
                                                         else None)
        if inferred is None:
            origin = " or ".join(str(o) for o in (where, data_bin) if o) or "the flags"
            raise UserError(f"cannot tell the language pair from {origin}; pass --source-lang "
                            f"and --target-lang")
        src, tgt = src or inferred[0], tgt or inferred[1]
    return src, tgt


def dictionary_paths(data_bin, src, tgt):
    """``[dict.SRC.txt, dict.TGT.txt]`` of ``data_bin``; one line naming a missing one."""
    dicts = [os.path.join(data_bin, f"dict.{lang}.txt") for lang in (src, tgt)]
    for path in dicts:
        if not os.path.isfile(path):
            raise UserError(f"--data-bin: dictionary {path} not found")
    return dicts


def check_autoregressive(teacher):
    """Raise a one-line UserError unless every checkpoint is an autoregressive model that
    nat-distill can decode (a NAT given as teacher failed deep inside fairseq's generator)."""
    from nat import compat

    with compat.fairseq_logging_kept():
        import fairseq_plugins  # noqa: F401  registers our architectures
        from fairseq.models import ARCH_MODEL_REGISTRY, MODEL_REGISTRY
        from fairseq.models.nat import FairseqNATModel
    for path, arch in zip(teacher.paths, teacher.archs):
        cls = ARCH_MODEL_REGISTRY.get(arch) or MODEL_REGISTRY.get(arch)
        if cls is not None and issubclass(cls, FairseqNATModel):
            raise UserError(f"--path {path}: {arch} is a non-autoregressive model; the teacher "
                            f"must be an autoregressive one (e.g. transformer_teacher_tiny)")


_MISMATCH = re.compile(r"size mismatch for ([\w.]+): copying a param with shape "
                       r"torch\.Size\(\[([\d, ]*)\]\) from checkpoint, the shape in current "
                       r"model is torch\.Size\(\[([\d, ]*)\]\)")


def load_failure(err):
    """One line for an exception of fairseq's model loading: its first line, plus the first
    shape mismatch when it is "Error(s) in loading state_dict" (the details are on later lines)."""
    text = str(err).strip()
    first = (text.splitlines() or [type(err).__name__])[0][:200]
    match = _MISMATCH.search(text)
    if match:
        first = (f"{first.rstrip(':')} {match.group(1)} is [{match.group(2)}] in the checkpoint "
                 f"but [{match.group(3)}] for these dictionaries")
    return f"{type(err).__name__}: {first}"
