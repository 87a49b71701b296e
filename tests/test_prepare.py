"""nat-prepare on a small real-looking multilingual corpus: counts, cleaning, coverage and the
label-derived lexicon against brute force; idempotence; one-line errors on bad input.

No fairseq here (``binarize=False``); the binarized path runs in test_real_text.py.
"""
import json
import os
import subprocess
import sys
import unicodedata
from collections import Counter, defaultdict

import pytest

import real_text_sample
from data_scripts.prepare_cli import main
from nat.errors import UserError
from nat.prepare import is_prepared, load_prepared, prepare, subwords
from nat.prepare.clean import Cleaner

FAST = dict(vocab_size=300, drop_empty=True, binarize=False, progress=False)


def lines_of(path):
    with open(path, encoding="utf-8", newline="") as handle:
        text = handle.read()
    assert "\r" not in text
    return text.split("\n")[:-1]


def expected_clean(text):
    """Independent cleaning for the sample's characters: NFKC, whitespace runs -> one space."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    raw = str(tmp_path_factory.mktemp("raw_text"))
    return raw, real_text_sample.write(raw)


@pytest.fixture(scope="module")
def prepared(sample, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("prepared") / "p")
    manifest = prepare(raw=sample[0], out=out, **FAST)
    return manifest, load_prepared(out)


def kept_rows(rows, corpus, split):
    """Raw rows of ``split`` expected to survive: non-empty, at most 250 pieces a side."""
    sp = subwords.load(corpus.spm_models["src"])
    keep = []
    for number, (src, tgt, lang, refs) in enumerate(rows[split], start=1):
        s, t = expected_clean(src), expected_clean(tgt)
        if s and t and max(len(sp.encode(s)), len(sp.encode(t))) <= 250:
            keep.append((number, s, t, lang, {k: expected_clean(v) for k, v in refs.items()}))
    return keep


def test_cleaned_text_counts_and_line_maps(prepared, sample):
    manifest, corpus = prepared
    rows = sample[1]
    for split in ("train", "valid", "test"):
        keep = kept_rows(rows, corpus, split)
        assert lines_of(corpus.line_map(split)) == [str(k[0]) for k in keep]
        assert lines_of(corpus.text(split, "src")) == [k[1] for k in keep]
        assert lines_of(corpus.text(split, "tgt")) == [k[2] for k in keep]
        assert lines_of(corpus.labels(split)) == [k[3] for k in keep]
        c = manifest["counts"][split]
        assert c["lines"] == len(rows[split]) and c["pairs"] == len(keep)
        pairs = [(k[1], k[2]) for k in keep]
        assert c["duplicate_pairs"] == len(pairs) - len(set(pairs))
        assert c["labels"] == dict(Counter(k[3] for k in keep))
        for side in ("src", "tgt"):
            pieces = [l.split() for l in lines_of(corpus.pieces(split, side))]
            assert len(pieces) == len(keep)
            assert manifest["coverage"][split][side]["pieces"] == sum(map(len, pieces))
    train = manifest["counts"]["train"]
    assert (train["dropped_empty"], train["dropped_long"], train["bom_removed"]) == (1, 1, 1)
    assert train["crlf_lines"] == {f"train.{c}": len(rows["train"]) for c in ("src", "tgt",
                                                                               "lang")}
    assert train["lines_with_replaced_characters"] == 1      # the tab / NBSP line
    assert train["duplicate_pairs"] >= 2 and train["dropped_duplicates"] == 0
    test_keep = kept_rows(rows, corpus, "test")
    for k, name in enumerate(("de", "fr", "ja")):                # sorted by reference name
        assert lines_of(corpus.references("test")[k]) == [r[4][name] for r in test_keep]
    assert corpus.references("valid") == [corpus.text("valid", "tgt")]   # no valid.ref.*


def test_unk_rate_and_coverage_against_brute_force(prepared):
    manifest, corpus = prepared
    sp = subwords.load(corpus.spm_models["tgt"])
    train_chars = set("".join(lines_of(corpus.text("train", "src"))
                              + lines_of(corpus.text("train", "tgt"))))
    for split in ("train", "test"):
        for side in ("src", "tgt"):
            text = lines_of(corpus.text(split, side))
            unseen = sum(1 for line in text for ch in line if ch != " " and ch not in train_chars)
            chars = sum(1 for line in text for ch in line if ch != " ")
            ids = [i for line in text for i in sp.encode(line)]
            got = manifest["coverage"][split][side]
            assert got["unk_pieces"] == ids.count(subwords.UNK_ID)
            assert got["unk_rate"] == pytest.approx(ids.count(subwords.UNK_ID) / len(ids))
            assert got["char_coverage"] == pytest.approx(1 - unseen / chars)
            assert (got["unk_pieces"] > 0) == (split == "test")     # the snowman, test only
            assert sp.id_to_piece(subwords.UNK_ID) == "<unk>"


def test_round_trip_through_sentencepiece(prepared):
    _, corpus = prepared
    sp = subwords.load(corpus.spm_models["tgt"])
    checked = 0
    for split in corpus.splits:
        for side in ("src", "tgt"):
            text = lines_of(corpus.text(split, side))
            pieces = lines_of(corpus.pieces(split, side))
            for line, piece_line in zip(text, pieces):
                assert sp.decode(piece_line.split()) == line
                if "☃" not in line:
                    assert sp.decode(sp.encode(line)) == line
                    assert sp.encode(line, out_type=str) == piece_line.split()
                    checked += 1
    assert checked > 500
    scripts = "".join(lines_of(corpus.text("train", "tgt")))
    assert all(ch in scripts for ch in "éüÄ«„「😀李")


def test_fairseq_dictionary_is_the_spm_vocabulary(prepared):
    manifest, corpus = prepared
    sp = subwords.load(corpus.spm_models["src"])
    counts = Counter(p for side in ("src", "tgt")
                     for line in lines_of(corpus.pieces("train", side)) for p in line.split())
    entries = [l.rsplit(" ", 1) for l in lines_of(os.path.join(corpus.root, "spm",
                                                               "dict.src.txt"))]
    assert [e[0] for e in entries] == [sp.id_to_piece(i) for i in range(4, sp.get_piece_size())]
    assert {e[0]: int(e[1]) for e in entries if int(e[1])} == dict(counts)
    assert manifest["dictionaries"] == {"src": sp.get_piece_size(), "tgt": sp.get_piece_size()}


def test_lexicon_identifying_tokens_brute_force(prepared, tmp_path, capsys):
    manifest, corpus = prepared
    targets, labels = lines_of(corpus.text("train", "tgt")), lines_of(corpus.labels("train"))
    langs_of, count = defaultdict(set), Counter()
    for line, label in zip(targets, labels):
        for word in line.split():
            langs_of[word].add(label)
            count[word] += 1
    identifying = {w: next(iter(s)) for w, s in langs_of.items() if len(s) == 1}
    with open(corpus.lexicon, encoding="utf-8") as handle:
        lex = json.load(handle)
    assert lex["token_language"] == identifying and lex["level"] == "word"
    assert lex["stats"]["identifying_tokens"] == sum(count[w] for w in identifying)
    assert manifest["lexicon"]["identifying_tokens"] == lex["stats"]["identifying_tokens"]
    assert lex["stats"]["neutral_tokens"] + lex["stats"]["identifying_tokens"] == sum(
        count.values())
    assert (lex["token_language"]["achète"], lex["token_language"]["kauft"]) == ("fr", "de")
    for shared in ("Zoë", "😀", ".", "?"):                  # names, emoji, punctuation
        assert shared in langs_of and shared not in lex["token_language"]
    # the CLI derives the same lexicon from the pieces (decoded with the prepared models)
    out = tmp_path / "lex.json"
    from analysis.cli import main as analyze
    assert analyze(["lexicon", "--target", corpus.pieces("train", "tgt"), "--labels",
                    corpus.labels("train"), "--spm", corpus.root, "--out", str(out)]) == 0
    again = json.loads(out.read_text(encoding="utf-8"))
    assert again["token_language"] == identifying
    assert "identifying word types" in capsys.readouterr().err


def test_reuse_overwrite_and_determinism(sample, tmp_path):
    raw = str(tmp_path / "raw")
    real_text_sample.write(raw, train=60, valid=6, test=6, messy=False)
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    first = prepare(raw=raw, out=a, **FAST)
    model = os.path.join(a, "spm", "spm.model")
    stamp = os.stat(model).st_mtime_ns
    assert first["reused"] is False
    assert prepare(raw=raw, out=a, **FAST)["reused"] is True
    assert os.stat(model).st_mtime_ns == stamp
    prepare(raw=raw, out=b, **FAST)                       # same settings elsewhere: same bytes
    for rel in ("spm/spm.model", "pieces/train.src", "pieces/test.tgt", "spm/dict.src.txt"):
        assert open(os.path.join(a, rel), "rb").read() == open(os.path.join(b, rel), "rb").read()
    with pytest.raises(UserError, match=r"other settings or inputs \(vocab_size 300 -> 120"):
        prepare(raw=raw, out=a, **{**FAST, "vocab_size": 120})
    with open(os.path.join(raw, "valid.src"), "a", encoding="utf-8") as handle:
        handle.write("one more\n")
    with open(os.path.join(raw, "valid.tgt"), "a", encoding="utf-8") as handle:
        handle.write("encore une\n")
    with open(os.path.join(raw, "valid.lang"), "a", encoding="utf-8") as handle:
        handle.write("fr\n")
    with pytest.raises(UserError, match="valid.src changed"):
        prepare(raw=raw, out=a, **FAST)
    again = prepare(raw=raw, out=a, overwrite=True, **{**FAST, "vocab_size": 120})
    assert again["reused"] is False and again["counts"]["valid"]["pairs"] == 7
    assert load_prepared(a).manifest["settings"]["vocab_size"] == 120
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]   # no temp dirs left
    assert is_prepared(a) and not is_prepared(raw) and not is_prepared(str(tmp_path / "x"))
    with pytest.raises(UserError, match="not a prepared directory"):
        load_prepared(raw)
    os.unlink(os.path.join(b, "pieces", "valid.tgt"))
    with pytest.raises(UserError, match="pieces/valid.tgt is listed in the manifest but missing"):
        load_prepared(b)
    assert prepare(raw=raw, out=b, overwrite=True, **FAST)["reused"] is False   # rebuilt


def test_bpe_separate_models_dedup(sample, tmp_path):
    out = str(tmp_path / "bpe")
    m = prepare(raw=sample[0], out=out, model_type="bpe", joint=False, dedup=True,
                **{**FAST, "vocab_size": 200})
    corpus = load_prepared(out)
    assert corpus.spm_models["src"] != corpus.spm_models["tgt"]
    for side in ("src", "tgt"):
        sp = subwords.load(corpus.spm_models[side])
        assert sp.get_piece_size() <= 200 and m["dictionaries"][side] == sp.get_piece_size()
        for line, pieces in zip(lines_of(corpus.text("train", side)),
                                lines_of(corpus.pieces("train", side))):
            assert sp.decode(pieces.split()) == line
    src, tgt = lines_of(corpus.text("train", "src")), lines_of(corpus.text("train", "tgt"))
    assert len(set(zip(src, tgt))) == len(src)                       # no duplicates left
    c = m["counts"]["train"]
    assert c["dropped_duplicates"] == c["duplicate_pairs"] > 0
    assert c["pairs"] == c["lines"] - c["dropped_empty"] - c["dropped_long"] - c["duplicate_pairs"]
    assert m["sentencepiece"]["trainer"]["model_type"] == "bpe"


def test_cleaner_policy():
    clean = Cleaner("nmt_nfkc")
    assert clean("  a\tb\u00a0c\u2028d\x0be  ", "f:1") == ("a b c d e", True, False)
    assert clean("\u2581lit", "f:1")[0] == "lit"
    assert clean("Ｆｕｌｌ ﬁ x²", "f:1") == ("Full fi x2", False, True)
    assert clean("東京 は 😀 Ça", "f:1") == ("東京 は 😀 Ça", False, False)
    with pytest.raises(UserError, match=r"^f:3: carriage return inside a line"):
        clean("a\rb", "f:3")
    assert Cleaner("identity")("Ｆｕｌｌ", "f:1") == ("Ｆｕｌｌ", False, False)


def _write(d, name, text, mode="w"):
    with open(os.path.join(d, name), mode, **({} if "b" in mode else
                                              {"encoding": "utf-8", "newline": ""})) as handle:
        handle.write(text)


@pytest.fixture
def small_raw(tmp_path):
    raw = str(tmp_path / "small")
    real_text_sample.write(raw, train=40, valid=5, test=5, messy=False)
    return raw


def run_cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as err:
        code = err.code
    return code, capsys.readouterr().err


def test_bad_inputs_give_one_line_errors(small_raw, tmp_path, capsys):
    out = str(tmp_path / "out")
    base = ["--raw", small_raw, "--out", out, "--vocab-size", "200", "--no-binarize", "--quiet"]
    train_src = os.path.join(small_raw, "train.src")
    original = open(train_src, encoding="utf-8").read()
    lines = original.split("\n")

    def case(edit, message, extra=()):
        edit()
        code, err = run_cli(base + list(extra), capsys)
        _write(small_raw, "train.src", original)
        assert code == 2, (message, err)
        assert err.startswith("nat-prepare: error:") and message in err, err
        assert err.count("\n") == 1, err
        assert not os.path.exists(out)                        # nothing half-written

    case(lambda: _write(small_raw, "train.src", "\n".join(lines[1:])),
         f"line counts differ: {train_src} has 39")
    case(lambda: _write(small_raw, "train.src", "\n".join(["x"] + lines[1:3] + [""] + lines[4:])),
         f"{train_src}:4: empty line (after cleaning); pass --drop-empty")
    case(lambda: _write(small_raw, "train.src", "\n".join(["  \u200b "] + lines[1:])),
         f"{train_src}:1: empty line")
    case(lambda: _write(small_raw, "train.src", b"ok \xff" + original.encode(), "wb"),
         f"{train_src}:1: invalid UTF-8")
    case(lambda: _write(small_raw, "train.src", original.replace(" ", "\r", 1)),
         f"{train_src}:1: carriage return inside a line (old Mac line endings?); fix the file "
         f"or pass --stray-cr space")
    case(lambda: _write(small_raw, "train.src", "\n".join([" ".join(["w"] * 40)] + lines[1:])),
         f"{train_src}:1: ", ["--max-pieces", "30", "--long-lines", "error"])
    lang = os.path.join(small_raw, "valid.lang")
    labels = open(lang, encoding="utf-8").read()
    case(lambda: _write(small_raw, "valid.lang", "f r\n" + labels.split("\n", 1)[1]),
         f"{lang}:1: label 'f r' contains spaces")
    _write(small_raw, "valid.lang", labels)
    valid = os.path.join(small_raw, "valid.src")
    os.rename(valid, valid + ".away")
    case(lambda: None, f"missing corpus file: {valid}")
    os.rename(valid + ".away", valid)
    case(lambda: None, "sentencepiece training failed", ["--vocab-size", "10",
                                                         "--hard-vocab-limit"])
    case(lambda: None, "--source-lang 's.rc'", ["--source-lang", "s.rc"])
    case(lambda: _write(small_raw, "train.ref.x", "a\n"),
         "train.ref.x: references are read for valid and test only")
    os.unlink(os.path.join(small_raw, "train.ref.x"))
    os.makedirs(out)
    _write(out, "notes.txt", "mine")
    code, err = run_cli(base, capsys)
    assert code == 2 and "is not a prepared directory" in err and err.count("\n") == 1


def test_console_script_and_help(small_raw, tmp_path):
    script = os.path.join(os.path.dirname(sys.executable), "nat-prepare")
    proc = subprocess.run([script, "--raw", str(tmp_path / "nope"), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == f"nat-prepare: error: --raw {tmp_path / 'nope'}: no such directory\n"
    helptext = subprocess.run([script, "--help"], capture_output=True, text=True).stdout
    for flag in ("--vocab-size", "--model-type", "--separate", "--drop-empty", "--dedup",
                 "--max-pieces", "--long-lines", "--overwrite", "--normalization"):
        assert flag in helptext


def test_stray_carriage_return_policy(small_raw, tmp_path):
    train_src = os.path.join(small_raw, "train.src")
    lines = open(train_src, encoding="utf-8").read().split("\n")
    lines[2] = lines[2].replace(" ", " \r", 1)
    _write(small_raw, "train.src", "\n".join(lines))
    with pytest.raises(UserError, match=rf"^{train_src}:3: carriage return inside a line"):
        prepare(raw=small_raw, out=str(tmp_path / "a"), **FAST)
    m = prepare(raw=small_raw, out=str(tmp_path / "b"), stray_cr="space", **FAST)
    assert m["counts"]["train"]["stray_cr_lines"] == 1
    text = lines_of(os.path.join(tmp_path, "b", "text", "train.src"))
    assert text[2] == " ".join(lines[2].replace("\r", " ").split())
