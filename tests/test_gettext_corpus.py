"""``nat-gettext``: a real corpus from compiled gettext catalogs (tiny .mo files written here)."""
import json
import os
import struct

import pytest

from data_scripts import gettext_cli
from nat.prepare.gettext_corpus import GettextConfig, build, clean

HEADER = "Content-Type: text/plain; charset=UTF-8\n"


def write_mo(path, entries):
    """A GNU .mo file of ``{msgid: msgstr}`` (plus the header entry), as msgfmt writes it."""
    entries = dict(sorted({"": HEADER, **entries}.items()))
    ids = [k.encode("utf-8") for k in entries]
    strs = [v.encode("utf-8") for v in entries.values()]
    n = len(ids)
    start = 28 + 16 * n
    blob, id_table, str_table = b"", [], []
    for table, items in ((id_table, ids), (str_table, strs)):
        for item in items:
            table.append((len(item), start + len(blob)))
            blob += item + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(head + b"".join(struct.pack("<2I", *e) for e in id_table + str_table)
                     + blob)


WORDS = {"de": ("Datei", "öffnen", "speichern"), "es": ("archivo", "abrir", "guardar"),
         "fr": ("fichier", "ouvrir", "enregistrer")}


def message(i, lang=None):
    """English message i, or its made-up translation into ``lang``."""
    if lang is None:
        return f"Open file {i}"
    noun, verb, _ = WORDS[lang]
    return f"{verb} {noun} {i}"


@pytest.fixture(scope="module")
def locale_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("locale")
    for lang in ("de", "es", "fr"):
        # ids 0-59 in every language, 60-79 only in de; a second catalog disagrees on id 0
        entries = {message(i): message(i, lang) for i in range(60 if lang != "de" else 80)}
        # a mnemonic, a multi-line message, one with a context, one over max_words
        entries.update({"_Save As": f"_{WORDS[lang][2]} als", "two\nlines": "zwei\nZeilen",
                        "menu\x04Open": "ctx", " ".join(["word"] * 20): "lang"})
        write_mo(str(root / lang / "LC_MESSAGES" / "app.mo"), entries)
        write_mo(str(root / lang / "LC_MESSAGES" / "iso_639.mo"), {"German": "Deutsch"})
    write_mo(str(root / "de" / "LC_MESSAGES" / "other.mo"), {message(0): "anders 0"})
    write_mo(str(root / "de" / "LC_MESSAGES" / "third.mo"), {message(0): "anders 0"})
    with open(root / "fr" / "LC_MESSAGES" / "broken.mo", "wb") as handle:
        handle.write(b"not a catalog")
    return str(root)


def expected(src, lang):
    """The translation the corpus must hold: mnemonics removed; for id 0 in German two catalogs
    say "anders 0" and one the usual, so the majority wins."""
    if src == "Save As":
        return f"{WORDS[lang][2]} als"
    i = int(src.split()[-1])
    return "anders 0" if (i, lang) == (0, "de") else message(i, lang)


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().split("\n")[:-1]


def test_corpus_splits_references_and_labels(locale_dir, tmp_path):
    out = str(tmp_path / "raw")
    manifest = build(GettextConfig(out=out, locale_dir=locale_dir, valid=5, test=10,
                                   train=1000, max_words=12))
    # 80 English messages + "Save As" (mnemonic removed); 61 translated into all three
    assert manifest["available"] == {"sources": 81, "translated_into_all": 61,
                                     "train_candidates": 66}
    assert manifest["catalogs"] == {"de": 3, "es": 1, "fr": 1}   # iso_* left out
    assert [s.split(":")[0] for s in manifest["skipped_catalogs"]] == \
        ["fr/LC_MESSAGES/broken.mo"]
    entries = manifest["entries"]
    assert entries["skipped_multiline"] == 3 and entries["skipped_context"] == 3
    assert entries["skipped_long"] == 3
    sources = {split: read(os.path.join(out, f"{split}.src")) for split in
               ("train", "valid", "test")}
    assert [len(sources[s]) for s in ("train", "valid", "test")] == [66, 5, 10]
    everything = sum(sources.values(), [])
    assert len(set(everything)) == len(everything) == 81   # every source once, in one split
    for split in ("train", "valid", "test"):
        targets, langs = read(os.path.join(out, f"{split}.tgt")), read(
            os.path.join(out, f"{split}.lang"))
        assert [expected(src, lang) for src, lang in zip(sources[split], langs)] == targets
        if split != "train":
            for lang in ("de", "es", "fr"):
                refs = read(os.path.join(out, f"{split}.ref.{lang}"))
                assert refs == [expected(src, lang) for src in sources[split]]
    ids_only_de = [s for s in sources["train"] if s.startswith("Open") and
                   int(s.split()[-1]) >= 60]
    assert len(ids_only_de) == 20
    langs = dict(zip(sources["train"], read(os.path.join(out, "train.lang"))))
    assert all(langs[s] == "de" for s in ids_only_de)
    with open(os.path.join(out, "manifest.json"), encoding="utf-8") as handle:
        assert json.load(handle)["splits"]["train"]["pairs"] == 66


def test_same_seed_same_bytes_other_seed_other_split(locale_dir, tmp_path):
    def corpus(seed, name):
        out = str(tmp_path / name)
        build(GettextConfig(out=out, locale_dir=locale_dir, valid=5, test=10, seed=seed))
        return [read(os.path.join(out, f"test.{s}")) for s in ("src", "lang")]

    assert corpus(1, "a") == corpus(1, "b")
    assert corpus(1, "a") != corpus(2, "c")


def test_train_cap_and_max_words(locale_dir, tmp_path):
    out = str(tmp_path / "capped")
    manifest = build(GettextConfig(out=out, locale_dir=locale_dir, valid=5, test=5, train=7,
                                   max_words=3))
    assert manifest["splits"]["train"]["pairs"] == 7
    assert all(len(s.split()) <= 3 for s in read(os.path.join(out, "train.src")))


def test_clean_removes_mnemonics_only_before_a_letter():
    assert clean("_Save  As") == "Save As" and clean("&Open") == "Open"
    assert clean("a_b") == "ab" and clean("100 %") == "100 %" and clean("x & y") == "x & y"


@pytest.mark.parametrize("flags, message", [
    (["--langs", "de,xx"], "--langs xx: no catalogs in"),
    (["--langs", "de"], "give two or more different languages"),
    (["--langs", "de,de"], "give two or more different languages"),
    (["--langs", "de,es", "--test", "100"], "only 61 messages are translated into all of de, "
                                            "es: fewer than --valid + --test = 600"),
    (["--langs", "de,../x"], "is not a locale name"),
])
def test_bad_input_is_one_line(locale_dir, tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        gettext_cli.main(["--out", str(tmp_path / "o"), "--locale-dir", locale_dir, "--quiet",
                          *flags])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nat-gettext: error: ") and message in err and "\n" not in err


def test_command_prints_one_json_line(locale_dir, tmp_path, capsys):
    gettext_cli.main(["--out", str(tmp_path / "o"), "--locale-dir", locale_dir, "--valid", "5",
                      "--test", "5"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["languages"] == ["de", "es", "fr"] and summary["skipped_catalogs"] == 1
