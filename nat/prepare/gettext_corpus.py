"""A real multilingual corpus from the machine's gettext catalogs, built without downloads.

Every ``LOCALE_DIR/LANG/LC_MESSAGES/*.mo`` holds English messages (msgid) with their
translations into LANG.  For languages L1, L2, L3 this writes a raw directory that
``nat-prepare --raw`` (and ``nat-experiment --data``) reads:

- ``train.src`` English, ``train.tgt`` its translation into **one** language drawn at random
  among those that translate it, ``train.lang`` that language: the same multimodality as the
  synthetic corpus' random mode, on real text;
- ``valid`` and ``test``: English messages translated into every language; the target is again
  one random language, and ``{split}.ref.LANG`` holds every language's translation (a
  multi-reference test: an output in any one language can match, a mixed one cannot);
- ``manifest.json``: settings, catalogs read and skipped, counts per language.

The iso-codes catalogs (names of countries and languages, most of them copied unchanged) are
left out by default (``exclude``): the corpus is software messages.

Cleaning (counted in the manifest): plural entries, entries with a context, multi-line and empty
messages are skipped; GTK/Qt mnemonic markers (``_File``, ``&Open``) are removed; a message
longer than ``max_words`` English words is skipped.  Where catalogs disagree on a translation, the
most frequent one is kept (ties: the smallest string), so the corpus is a function of the
catalogs and the seed.
"""
import fnmatch
import gettext
import glob
import os
import random
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass

from tqdm import tqdm

from nat.cli import arg, positive_int
from nat.errors import UserError
from nat.hashing import json_key
from nat.textio import output_dir, write_json_atomic, write_lines_atomic

MNEMONIC = re.compile(r"[_&](?=\w)")
_SPACE = re.compile(r"\s+")


@dataclass(kw_only=True)
class GettextConfig:
    out: str = arg("output directory (a raw corpus directory for nat-prepare --raw)")
    langs: str = arg("target languages, comma-separated locale names (three for the "
                     "three-language experiments)", "de,es,fr")
    locale_dir: str = arg("where the compiled catalogs are", "/usr/share/locale")
    exclude: str = arg("catalogs left out, comma-separated file-name patterns (iso_*: the "
                       "iso-codes lists of country and language names, mostly copied "
                       "unchanged)", "iso_*")
    max_words: int = arg("longest English message kept (words)", 12, type=positive_int)
    train: int = arg("most training pairs (a random subset when more are available)", 25000,
                     type=positive_int)
    valid: int = arg("validation sources (translated into every language)", 500,
                     type=positive_int)
    test: int = arg("test sources (translated into every language; one reference each)", 500,
                    type=positive_int)
    seed: int = arg("seed of the split and the target language drawn per source", 1)
    progress: bool = arg("no progress bar", True, flag="--quiet")


def clean(text):
    """A message as one line: mnemonic markers removed, whitespace collapsed."""
    return _SPACE.sub(" ", MNEMONIC.sub("", text)).strip()


def read_catalog(path):
    """``{msgid: msgstr}`` of one .mo file (singular entries without context)."""
    with open(path, "rb") as handle:
        catalog = gettext.GNUTranslations(handle)._catalog
    return {k: v for k, v in catalog.items() if isinstance(k, str)}


def collect(cfg, langs):
    """{english: {lang: Counter(translation)}} over every catalog, and the counts."""
    found = defaultdict(lambda: defaultdict(Counter))
    excluded = [p.strip() for p in cfg.exclude.split(",") if p.strip()]
    counts = {"catalogs": {}, "skipped_catalogs": [], "entries": Counter()}
    catalogs = {}
    for lang in langs:  # every language checked before anything is read
        paths = sorted(glob.glob(os.path.join(cfg.locale_dir, lang, "LC_MESSAGES", "*.mo")))
        paths = [p for p in paths if not any(fnmatch.fnmatch(os.path.basename(p), pattern)
                                             for pattern in excluded)]
        if not paths:
            raise UserError(f"--langs {lang}: no catalogs in "
                            f"{os.path.join(cfg.locale_dir, lang, 'LC_MESSAGES')}")
        catalogs[lang] = paths
    for lang, paths in catalogs.items():
        read = 0
        for path in tqdm(paths, desc=f"nat-gettext {lang}", unit="catalog", leave=False,
                         disable=not cfg.progress):
            try:
                catalog = read_catalog(path)
            except (OSError, UnicodeDecodeError, ValueError) as err:
                counts["skipped_catalogs"].append(
                    f"{os.path.relpath(path, cfg.locale_dir)}: {str(err).splitlines()[0][:80]}")
                continue
            read += 1
            for msgid, msgstr in catalog.items():
                entry = counts["entries"]
                if not msgid:
                    continue  # the header
                if "\x04" in msgid:
                    entry["skipped_context"] += 1
                    continue
                if "\n" in msgid or "\n" in msgstr:
                    entry["skipped_multiline"] += 1
                    continue
                source, target = clean(msgid), clean(msgstr)
                if not source or not target:
                    entry["skipped_empty"] += 1
                    continue
                if len(source.split()) > cfg.max_words:
                    entry["skipped_long"] += 1
                    continue
                entry["kept"] += 1
                found[source][lang][target] += 1
        counts["catalogs"][lang] = read
    counts["entries"] = dict(counts["entries"])
    return found, counts


def _choice(counter):
    """The most frequent translation (ties: the smallest string)."""
    return min(counter.items(), key=lambda item: (-item[1], item[0]))[0]


def build(cfg):
    """Write the raw corpus directory; returns its manifest."""
    langs = [lang.strip() for lang in cfg.langs.split(",") if lang.strip()]
    if len(set(langs)) != len(langs) or len(langs) < 2:
        raise UserError(f"--langs {cfg.langs!r}: give two or more different languages")
    for lang in langs:
        if not re.fullmatch(r"[A-Za-z0-9_@]+", lang):
            raise UserError(f"--langs: {lang!r} is not a locale name (e.g. de, pt_BR)")
    output_dir(cfg.out)
    found, counts = collect(cfg, langs)
    rng = random.Random(cfg.seed)
    sources = sorted(found)
    rng.shuffle(sources)
    complete = [s for s in sources if len(found[s]) == len(langs)]
    held = cfg.valid + cfg.test
    if len(complete) < held:
        raise UserError(f"only {len(complete)} messages are translated into all of "
                        f"{', '.join(langs)}: fewer than --valid + --test = {held}")
    splits = {"test": complete[:cfg.test], "valid": complete[cfg.test:held]}
    taken = set(complete[:held])
    train = [s for s in sources if s not in taken]
    splits["train"] = train[:cfg.train]
    manifest = {"settings": asdict(cfg), "languages": langs,
                "key": json_key({k: v for k, v in asdict(cfg).items()
                                 if k not in ("out", "progress")}),
                "catalogs": counts["catalogs"], "skipped_catalogs": counts["skipped_catalogs"],
                "entries": counts["entries"], "available": {
                    "sources": len(sources), "translated_into_all": len(complete),
                    "train_candidates": len(train)},
                "splits": {}}
    for split in ("train", "valid", "test"):
        rows = splits[split]
        picked = [rng.choice(sorted(found[s])) for s in rows]
        write_lines_atomic(os.path.join(cfg.out, f"{split}.src"), rows)
        write_lines_atomic(os.path.join(cfg.out, f"{split}.tgt"),
                           [_choice(found[s][lang]) for s, lang in zip(rows, picked)])
        write_lines_atomic(os.path.join(cfg.out, f"{split}.lang"), picked)
        if split != "train":
            for lang in langs:
                write_lines_atomic(os.path.join(cfg.out, f"{split}.ref.{lang}"),
                                   [_choice(found[s][lang]) for s in rows])
        manifest["splits"][split] = {"pairs": len(rows), "languages": dict(Counter(picked))}
    write_json_atomic(os.path.join(cfg.out, "manifest.json"), manifest)
    return manifest
