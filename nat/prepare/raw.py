"""The raw corpus: which files make each split, read line-aligned and cleaned.

Layout of the raw directory (SRC/TGT = ``--source-lang``/``--target-lang``)::

    train.SRC train.TGT  [train.lang]                 required
    valid.SRC valid.TGT  [valid.lang] [valid.ref.*]   required
    test.SRC  test.TGT   [test.lang]  [test.ref.*]    optional

``{split}.lang``: one mode label per line (e.g. the target language); ``{split}.ref.NAME``:
further references of the split (multi-reference BLEU).  Every file of a split must have the
same number of lines, or the run stops before anything is written.
"""
import glob
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List

from nat import textio
from nat.errors import UserError
from nat.prepare.clean import BOM

SPLITS = ("train", "valid", "test")
REQUIRED = ("train", "valid")
REF_SPLITS = ("valid", "test")
_REF_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass
class SplitFiles:
    split: str
    columns: Dict[str, str]            # column -> path: "src", "tgt", ["lang"], ["ref.NAME"...]

    @property
    def refs(self):
        return sorted(c[4:] for c in self.columns if c.startswith("ref."))


@dataclass
class SplitText:
    """Cleaned columns of one split, all line-aligned with the raw files."""
    split: str
    files: SplitFiles
    columns: Dict[str, List[str]]
    counts: Dict[str, int] = field(default_factory=dict)


def find_inputs(raw_dir, source_lang, target_lang):
    """``{split: SplitFiles}`` for the splits present; one-line errors for what is missing."""
    textio.input_dir(raw_dir, "--raw")
    found = {}
    for split in SPLITS:
        cols = {"src": os.path.join(raw_dir, f"{split}.{source_lang}"),
                "tgt": os.path.join(raw_dir, f"{split}.{target_lang}")}
        present = [os.path.isfile(p) for p in cols.values()]
        if not any(present):
            if split in REQUIRED:
                raise UserError(f"missing corpus file: {cols['src']}")
            continue
        if not all(present):
            missing = [p for p, ok in zip(cols.values(), present) if not ok][0]
            raise UserError(f"missing corpus file: {missing}")
        lang = os.path.join(raw_dir, f"{split}.lang")
        if os.path.isfile(lang):
            cols["lang"] = lang
        for path in sorted(glob.glob(os.path.join(glob.escape(raw_dir), f"{split}.ref.*"))):
            name = os.path.basename(path)[len(split) + 5:]
            if split not in REF_SPLITS:
                raise UserError(f"{path}: references are read for valid and test only")
            if not _REF_NAME.match(name):
                raise UserError(f"{path}: reference names use letters, digits, '-' and '_'")
            cols[f"ref.{name}"] = path
        found[split] = SplitFiles(split, cols)
    return found


def count_crlf(path):
    """Lines ending in ``\\r\\n`` (stripped on reading; counted for the manifest)."""
    count, last = 0, b""
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\r\n") + (last == b"\r" and block[:1] == b"\n")
            last = block[-1:]
    return count


def read_labels(path, lines):
    """Mode labels: one non-empty label without spaces per line, kept verbatim."""
    labels = []
    for number, line in enumerate(lines, start=1):
        label = line.strip()
        if not label or len(label.split()) != 1:
            what = "empty label" if not label else f"label {label!r} contains spaces"
            raise UserError(f"{path}:{number}: {what} (one label per line)")
        labels.append(label)
    return labels


def read_split(files, cleaner):
    """Read and clean every column of a split (counts checked first, before any reading)."""
    paths = list(files.columns.values())
    total = textio.check_parallel(*paths)
    columns, counts = {}, {"lines": total, "crlf_lines": {}, "bom_removed": 0,
                           "lines_with_replaced_characters": 0, "lines_normalized": 0}
    replaced_rows, normalized_rows = set(), set()
    stray_before = cleaner.stray_cr_lines
    for column, path in files.columns.items():
        lines = textio.read_lines(path)
        if lines and lines[0].startswith(BOM):
            lines[0] = lines[0][1:]
            counts["bom_removed"] += 1
        crlf = count_crlf(path)
        if crlf:
            counts["crlf_lines"][os.path.basename(path)] = crlf
        if column == "lang":
            columns[column] = read_labels(path, lines)
            continue
        clean = []
        for number, line in enumerate(lines, start=1):
            text, replaced, normalized = cleaner(line, f"{path}:{number}")
            if replaced:
                replaced_rows.add(number)
            if normalized:
                normalized_rows.add(number)
            clean.append(text)
        columns[column] = clean
    counts["lines_with_replaced_characters"] = len(replaced_rows)
    counts["stray_cr_lines"] = cleaner.stray_cr_lines - stray_before
    counts["lines_normalized"] = len(normalized_rows)
    return SplitText(files.split, files, columns, counts)
