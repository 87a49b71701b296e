"""Tagged multilingual corpus: one student, one teacher per target language (Tan et al. 2019).

A raw corpus whose lines carry their target language (``{split}.src``, ``.tgt``, ``.lang``;
``nat-synth --mode all`` writes every source in xa, xb and xc) becomes::

    OUT/text/{split}.{src,tgt,lang}   every pair; the source starts with the tag <2L>
    OUT/text/L/{split}.{src,tgt}      language L's pairs only: its teacher's corpus
    OUT/bin                           the student's data-bin (one joined dictionary, tags in it)
    OUT/bin-L                         language L's data-bin, binarized with that dictionary
    OUT/manifest.json                 languages, counts, inputs' hashes (written last)

The tag tells the student which language to produce (Johnson et al. 2017) and tells
``--criterion multilingual_word_kd`` which teacher a sentence belongs to.  Teachers are trained
on the same tagged sources (one constant token for them), so each teacher's distribution is
over exactly the input the student sees, and every model shares one dictionary.
"""
import os
import re
import shutil
from dataclasses import dataclass

from nat import fairseq_cli, textio
from nat.cli import arg
from nat.errors import UserError
from nat.hashing import file_sha256

#: how a target language ``L`` is written at the start of a source line
TAG_FORMAT = "<2{}>"
_TAG = re.compile(r"^<2(\S+)>$")
_LANGUAGE = re.compile(r"^[A-Za-z0-9_]+$")
SPLITS = ("train", "valid", "test")
REQUIRED = ("train", "valid")   # valid: the switch of every language is checked on it
MANIFEST = "manifest.json"
STAGING = ".multilingual-"


def tag(language):
    return TAG_FORMAT.format(language)


def language_of(token):
    """The language whose tag ``token`` is, or None."""
    match = _TAG.match(token)
    return match.group(1) if match else None


@dataclass
class MultilingualConfig:
    raw: str = arg("directory with {train,valid[,test]}.{src,tgt,lang} (one target language "
                   "per line in .lang; nat-synth --mode all writes them)")
    out: str = arg("output directory (text/, bin/, bin-L/, manifest.json)")
    teacher_bins: bool = arg("binarize only the student's corpus (OUT/bin), not one data-bin "
                             "per language", True, flag="--no-teacher-bins")
    overwrite: bool = arg("replace what an existing --out holds (else refused)", False)


def read_split(raw, split):
    """``(sources, targets, languages)`` of ``raw/split.*``, or None when the split is absent
    (train and valid are required); every line's language and tokens checked."""
    paths = [os.path.join(raw, f"{split}.{ext}") for ext in ("src", "tgt", "lang")]
    if not os.path.exists(paths[0]):
        if split in REQUIRED:
            raise UserError(f"--raw {raw}: no {split}.src")
        return None
    for path in paths:
        textio.input_file(path)
    textio.check_parallel(*paths)
    src, tgt, langs = (textio.read_lines(p) for p in paths)
    for number, (line, lang) in enumerate(zip(src, langs), start=1):
        if not _LANGUAGE.match(lang):
            raise UserError(f"{paths[2]}:{number}: language {lang!r} is not a name "
                            "(letters, digits, _)")
        clash = next((t for t in line.split() if language_of(t) is not None), None)
        if clash:
            raise UserError(f"{paths[0]}:{number}: token {clash} reads as a language tag")
    return src, tgt, langs


def write_text(splits, text_dir):
    """Tagged corpus and per-language corpora under ``text_dir``; returns the line counts
    ``{split: {language: n}}``."""
    counts = {}
    for split, (src, tgt, langs) in splits.items():
        tagged = [f"{tag(lang)} {line}".rstrip() for line, lang in zip(src, langs)]
        for ext, lines in (("src", tagged), ("tgt", tgt), ("lang", langs)):
            textio.write_lines_atomic(os.path.join(text_dir, f"{split}.{ext}"), lines)
        counts[split] = {}
        for language in sorted(set(langs)):
            rows = [i for i, lang in enumerate(langs) if lang == language]
            for ext, lines in (("src", tagged), ("tgt", tgt)):
                textio.write_lines_atomic(os.path.join(text_dir, language, f"{split}.{ext}"),
                                          [lines[i] for i in rows])
            counts[split][language] = len(rows)
    return counts


def binarize(stage, counts, teacher_bins=True):
    """fairseq-preprocess the student's corpus (joined dictionary) into ``stage/bin`` and, with
    ``teacher_bins``, each language's corpus into ``stage/bin-L`` with that dictionary."""
    text = os.path.join(stage, "text")
    logs = os.path.join(stage, "logs")
    student = os.path.join(stage, "bin")
    fairseq_cli.preprocess(student, {s: os.path.join(text, s) for s in counts}, joined=True,
                           log_path=os.path.join(logs, "preprocess.log"))
    bins = {}
    if teacher_bins:
        dictionary = os.path.join(student, "dict.src.txt")
        for language in counts["train"]:
            splits = {s: os.path.join(text, language, s) for s in counts
                      if counts[s].get(language)}
            fairseq_cli.preprocess(os.path.join(stage, f"bin-{language}"), splits,
                                   srcdict=dictionary, tgtdict=dictionary,
                                   log_path=os.path.join(logs, f"preprocess-{language}.log"))
            bins[language] = f"bin-{language}"
    return bins


def prepare(config):
    """Write ``config.out`` from ``config.raw`` (see the module's docstring); returns the
    manifest.  Built aside and moved into place, the manifest last."""
    raw = textio.input_dir(config.raw, "--raw")
    out = textio.output_dir(config.out)
    if os.path.exists(os.path.join(out, MANIFEST)) and not config.overwrite:
        raise UserError(f"--out {out} already holds a multilingual corpus; pass --overwrite")
    splits = {s: found for s in SPLITS if (found := read_split(raw, s)) is not None}
    languages = sorted(set(splits["train"][2]))
    for split, (_, _, langs) in splits.items():
        unknown = sorted(set(langs) - set(languages))
        if unknown:
            raise UserError(f"{split}.lang has languages that train.lang lacks: {unknown}")
    missing = sorted(set(languages) - set(splits["valid"][2]))
    if missing:
        raise UserError(f"valid.lang has no line of {', '.join(missing)}: the KD switch of a "
                        "language is checked on its validation sentences")
    os.makedirs(out, exist_ok=True)
    textio.remove_stale_temp_dirs(out, STAGING)
    stage = textio.make_temp_dir(out, STAGING)
    try:
        manifest = _build(stage, raw, splits, languages, config.teacher_bins)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    textio.publish(stage, out, MANIFEST)
    for name in os.listdir(out):   # an overwritten corpus's data-bins of other languages
        if name.startswith("bin-") and name not in manifest["teacher_bins"].values():
            shutil.rmtree(os.path.join(out, name), ignore_errors=True)
    return manifest


def _build(stage, raw, splits, languages, teacher_bins):
    counts = write_text(splits, os.path.join(stage, "text"))
    bins = binarize(stage, counts, teacher_bins)
    manifest = {
        "method": "tagged multilingual corpus (Tan et al. 2019)",
        "raw": os.path.abspath(raw), "tag_format": TAG_FORMAT, "languages": languages,
        "tags": {language: tag(language) for language in languages}, "counts": counts,
        "student_bin": "bin", "teacher_bins": bins, "dictionary": "bin/dict.src.txt",
        "teacher_source": "tagged (the student's input)",
        "inputs": {f"{s}.{ext}": file_sha256(os.path.join(raw, f"{s}.{ext}"))
                   for s in splits for ext in ("src", "tgt", "lang")},
    }
    textio.write_json_atomic(os.path.join(stage, MANIFEST), manifest)
    return manifest
