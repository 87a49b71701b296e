"""``Translator``: lines of text in, translations out in input order.

::

    from nat.translate import Translator
    t = Translator.open("model_dir")             # an export (ONNX Runtime) or a checkpoint
    t.translate(["a line", "another"])           # -> ["...", "..."]

Each line is cleaned and split into pieces (when the model has sentencepiece models), mapped to
ids (unknown symbols -> ``<unk>``), sorted by length and cut into batches of at most
``max_tokens`` padded source tokens and ``batch_size`` sentences, translated, and put back in
input order.  An empty line translates to an empty line without running the model.  A line
longer than the encoder's positions is cut to fit (``long_lines="truncate"``, counted in
``stats``) or refused (``"error"``).  Batching never changes a translation beyond
floating-point rounding (``nat-bench speed`` measures batch 1 against batch 64).
"""
import json
import os
from dataclasses import dataclass, field

import numpy as np

from nat.errors import UserError
from nat.translate.options import TranslateConfig
from nat.translate.vocab import Vocabulary


@dataclass
class Stats:
    lines: int = 0
    empty: int = 0
    truncated: int = 0
    batches: int = 0


@dataclass
class Translator:
    backend: object
    src_vocab: Vocabulary
    tgt_vocab: Vocabulary
    spm: dict = field(default_factory=dict)       # {"src": processor, "tgt": processor}
    cleaner: object = None
    max_tokens: int = None
    batch_size: int = None
    long_lines: str = None
    prepend_bos: bool = True
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self):
        for name in ("max_tokens", "batch_size", "long_lines"):       # defaults: one place
            if getattr(self, name) is None:
                setattr(self, name, getattr(TranslateConfig, name))

    @classmethod
    def open(cls, model, backend=None, threads=1, data_bin=None, **options):
        """A Translator for an export directory (default backend onnxruntime) or a checkpoint
        file (backend torch; dictionaries from ``data_bin`` or the recorded data dir);
        ``options``: ``max_tokens``, ``batch_size``, ``long_lines`` (``TranslateConfig``)."""
        from nat.translate import runtime

        if os.path.isdir(model):
            from nat.prepare import subwords

            manifest = read_manifest(model)
            if backend not in (None, "onnxruntime"):
                raise UserError(f"--model {model} is an ONNX export: it runs with --backend "
                                f"onnxruntime (give the checkpoint for --backend torch)")
            engine = runtime.OnnxBackend(model, manifest, threads)
            files = manifest["files"]
            vocabs = [Vocabulary.load(os.path.join(model, files[k]))
                      for k in ("src_dict", "tgt_dict")]
            spm = {side: subwords.load(os.path.join(model, files[f"spm_{side}"]))
                   for side in ("src", "tgt") if f"spm_{side}" in files}
            cleaner = _cleaner(manifest.get("normalization")) if spm else None
            return cls(engine, *vocabs, spm=spm, cleaner=cleaner,
                       prepend_bos=manifest["prepend_bos"], **options)
        if backend == "onnxruntime":
            raise UserError(f"--model {model}: --backend onnxruntime needs an export "
                            f"directory (nat-export {model} --out DIR)")
        from nat.translate import checkpoint

        if not os.path.exists(model):
            raise UserError(f"--model {model}: no such file or directory")
        loaded = checkpoint.load(model, data_bin, flag="--model")
        engine = runtime.TorchBackend(loaded, threads)
        vocabs = [Vocabulary.load(p) for p in (loaded.src_dict, loaded.tgt_dict)]
        return cls(engine, *vocabs, prepend_bos=loaded.prepend_bos, **options)

    def encode(self, line):
        if self.cleaner is not None:
            line = self.cleaner(line, "input")[0]
        if "src" in self.spm:
            line = " ".join(self.spm["src"].encode(line, out_type=str))
        return self.src_vocab.encode(line, self.prepend_bos)

    def decode(self, ids):
        text = self.tgt_vocab.string(ids)
        if "tgt" in self.spm:
            text = self.spm["tgt"].decode(text.split())
        return text

    def translate(self, lines):
        """Translations of ``lines`` (a list of str), in order."""
        encoded = [self.encode(line) if line.strip() else None for line in lines]
        self.stats.lines += len(lines)
        self.stats.empty += encoded.count(None)
        limit = self.backend.max_positions
        for i, ids in enumerate(encoded):
            if ids is not None and len(ids) > limit:
                if self.long_lines == "error":
                    raise UserError(f"input line {i + 1}: {len(ids)} source tokens, the model "
                                    f"reads at most {limit} (pass --long-lines truncate)")
                encoded[i] = ids[:limit - 1] + [self.src_vocab.eos]
                self.stats.truncated += 1
        out = [""] * len(lines)
        for batch in self.batches(encoded):
            src = np.full((len(batch), max(len(encoded[i]) for i in batch)),
                          self.src_vocab.pad, dtype=np.int64)
            for row, i in enumerate(batch):
                src[row, :len(encoded[i])] = encoded[i]
            for i, ids in zip(batch, self.backend.translate_ids(src)):
                out[i] = self.decode(ids.tolist())
            self.stats.batches += 1
        return out

    def batches(self, encoded):
        """Indices of the non-empty lines, by length, in batches within both caps."""
        order = sorted((i for i, ids in enumerate(encoded) if ids is not None),
                       key=lambda i: len(encoded[i]))
        batch, width = [], 0
        for i in order:
            width = max(width, len(encoded[i]))
            if batch and (len(batch) + 1 > self.batch_size
                          or (len(batch) + 1) * width > self.max_tokens):
                yield batch
                batch, width = [], len(encoded[i])
            batch.append(i)
        if batch:
            yield batch


def read_manifest(directory):
    path = os.path.join(directory, "manifest.json")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise UserError(f"--model {directory}: no manifest.json (not a nat-export directory)") \
            from None
    except ValueError:
        raise UserError(f"--model {directory}: manifest.json is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("tool") != "nat-export":
        raise UserError(f"--model {directory}: manifest.json was not written by nat-export")
    for name in manifest.get("files", {}).values():
        if not os.path.isfile(os.path.join(directory, name)):
            raise UserError(f"--model {directory}: {name} is missing")
    return manifest


def _cleaner(rule):
    from nat.prepare.clean import Cleaner

    return Cleaner(rule or "nmt_nfkc", stray_cr="space")
