"""The prepared directory: file names, and ``load_prepared`` to find everything in one.

::

    OUT/manifest.json               settings, inputs (sha256), counts, coverage, where things are
    OUT/text/{split}.SRC|TGT         cleaned, normalized text = what sentencepiece decodes back
    OUT/text/{split}.lang            mode labels of the kept lines (when given)
    OUT/text/{split}.ref.NAME        further references (valid/test, when given)
    OUT/text/{split}.line            raw line number (1-based) of each kept line
    OUT/pieces/{split}.SRC|TGT       subword pieces, space-separated (what fairseq binarizes)
    OUT/spm/spm.model|.vocab         joint model (or src.model/tgt.model when separate)
    OUT/spm/dict.SRC|TGT.txt         fairseq dictionaries: piece ids = sentencepiece ids
    OUT/bin/                         fairseq data-bin (fairseq-preprocess)
    OUT/lexicon.json                 word -> language from the labelled training targets
    OUT/logs/preprocess.log

Paths in the manifest are relative to OUT, so a prepared directory can be moved.
"""
import json
import os
from dataclasses import dataclass

from nat.errors import UserError

MANIFEST = "manifest.json"
TOOL = "nat-prepare"
FORMAT = 1


def text_path(split, lang):
    return os.path.join("text", f"{split}.{lang}")


def pieces_path(split, lang):
    return os.path.join("pieces", f"{split}.{lang}")


def read_manifest(directory):
    path = os.path.join(directory, MANIFEST)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (ValueError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    return data if isinstance(data, dict) else {}


def recorded_files(manifest):
    """Every relative path listed under the manifest's ``files``."""
    files = manifest.get("files", {})
    found = [files.get("bin"), files.get("lexicon")]
    for group in ("spm", "vocab", "dict"):
        found += list(files.get(group, {}).values())
    for entry in files.get("splits", {}).values():
        found += list(entry["text"].values()) + list(entry["pieces"].values())
        found += [entry.get("lang"), entry["line_map"]] + list(entry.get("refs", {}).values())
    return sorted({p for p in found if p})


@dataclass
class PreparedCorpus:
    """A prepared directory, read from its manifest; every path is absolute."""
    root: str
    manifest: dict

    def path(self, relative):
        return None if relative is None else os.path.join(self.root, relative)

    @property
    def source_lang(self):
        return self.manifest["languages"]["source"]

    @property
    def target_lang(self):
        return self.manifest["languages"]["target"]

    @property
    def splits(self):
        return list(self.manifest["files"]["splits"])

    @property
    def spm_models(self):
        """``{"src": path, "tgt": path}`` (the same file when the model is joint)."""
        return {side: self.path(p) for side, p in self.manifest["files"]["spm"].items()}

    @property
    def data_bin(self):
        return self.path(self.manifest["files"].get("bin"))

    @property
    def lexicon(self):
        return self.path(self.manifest["files"].get("lexicon"))

    def _split(self, split):
        try:
            return self.manifest["files"]["splits"][split]
        except KeyError:
            raise UserError(f"{self.root}: no split {split!r} (has {', '.join(self.splits)})") \
                from None

    def text(self, split, side):
        """Cleaned word-level text of ``side`` ('src' or 'tgt')."""
        return self.path(self._split(split)["text"][side])

    def pieces(self, split, side):
        """Subword pieces of ``side`` (what the data-bin holds)."""
        return self.path(self._split(split)["pieces"][side])

    def labels(self, split):
        return self.path(self._split(split).get("lang"))

    def line_map(self, split):
        return self.path(self._split(split)["line_map"])

    def references(self, split="test"):
        """Reference files for BLEU: the ``{split}.ref.*`` files when given, else the target."""
        refs = self._split(split).get("refs") or {}
        return [self.path(refs[name]) for name in sorted(refs)] or [self.text(split, "tgt")]


def is_prepared(directory):
    """Whether ``directory`` holds a nat-prepare manifest (files not checked)."""
    try:
        manifest = read_manifest(directory)
    except UserError:
        return False
    return bool(manifest) and manifest.get("tool") == TOOL


def load_prepared(directory):
    """The ``PreparedCorpus`` in ``directory``; one-line errors when it is not one or a file
    it lists is missing."""
    manifest = read_manifest(directory)
    if manifest is None:
        raise UserError(f"{directory}: not a prepared directory (no {MANIFEST}; run nat-prepare)")
    if manifest.get("tool") != TOOL or manifest.get("format") != FORMAT:
        raise UserError(f"{os.path.join(directory, MANIFEST)}: not a nat-prepare manifest "
                        f"(format {FORMAT})")
    corpus = PreparedCorpus(os.path.abspath(directory), manifest)
    for relative in recorded_files(manifest):
        if not os.path.exists(corpus.path(relative)):
            raise UserError(f"{directory}: {relative} is listed in the manifest but missing")
    return corpus
