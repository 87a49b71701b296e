"""The stages of ``prepare``: read and filter, train sentencepiece, encode, write, dictionaries,
lexicon.  Each takes what the previous one made and writes under the build directory."""
import json
import os
import sys

from nat import textio
from nat.hashing import file_sha256
from nat.errors import UserError
from nat.prepare import filters, raw, subwords
from nat.prepare.clean import Cleaner
from nat.prepare.layout import pieces_path, text_path


def _say(cfg, message):
    if cfg.progress:
        print(f"nat-prepare: {message}", file=sys.stderr, flush=True)


SIDES = ("src", "tgt")


def _write(build, relative, lines):
    textio.write_lines_atomic(os.path.join(build, relative), lines)
    return relative


def _column(text, rows, column):
    return [text.columns[column][i] for i in rows]


def read_and_filter(cfg, found):
    """Cleaned splits, the raw rows each keeps (after empty pairs and duplicates), counts."""
    cleaner = Cleaner(cfg.normalization, cfg.stray_cr)
    texts, kept, counts = {}, {}, {}
    for split, files in found.items():
        names = ", ".join(os.path.basename(p) for p in files.columns.values())
        _say(cfg, f"reading {split} ({names})")
        text = texts[split] = raw.read_split(files, cleaner)
        rows = list(range(text.counts["lines"]))
        rows, empty = filters.drop_empty(text, rows, cfg.drop_empty)
        dedup = cfg.dedup and split == "train"
        rows, repeats = filters.duplicates(text, rows, dedup)
        kept[split] = rows
        counts[split] = {**text.counts, "dropped_empty": empty, "duplicate_pairs": repeats,
                         "dropped_duplicates": repeats if dedup else 0}
    if not kept["train"]:
        raise UserError(f"{found['train'].columns['src']}: no training pairs left")
    train_sources = _column(texts["train"], kept["train"], "src")
    for split in found:
        if split != "train":
            counts[split]["sources_in_train"] = filters.overlap(
                _column(texts[split], kept[split], "src"), train_sources)
    return texts, kept, counts


def model_groups(cfg):
    """``[(model name, sides it encodes)]``: one joint model or one per side."""
    return [("spm", SIDES)] if cfg.joint else [(side, (side,)) for side in SIDES]


def train_models(cfg, build, train_text, rows):
    """Train and write the sentencepiece model(s); returns ``(models, info)`` by side."""
    models, info = {}, {}
    os.makedirs(os.path.join(build, "spm"), exist_ok=True)
    for name, sides in model_groups(cfg):
        lines = [line for side in sides for line in _column(train_text, rows, side)]
        _say(cfg, f"training sentencepiece '{name}' ({cfg.model_type}, vocab <= "
                  f"{cfg.vocab_size}) on {len(lines)} lines")
        proto = subwords.train(lines, cfg.spm_trainer_args(), cfg.seed)
        model_rel = os.path.join("spm", f"{name}.model")
        with open(os.path.join(build, model_rel), "wb") as handle:
            handle.write(proto)
        sp = subwords.load(proto)
        vocab_rel = _write(build, os.path.join("spm", f"{name}.vocab"), subwords.vocab_lines(sp))
        too_long = sum(1 for line in lines if len(line.encode("utf-8")) > cfg.max_sentence_length)
        for side in sides:
            models[side] = sp
            info[side] = {"model": model_rel, "vocab": vocab_rel,
                          "vocab_size": sp.get_piece_size(),
                          "sha256": file_sha256(os.path.join(build, model_rel)),
                          "training_lines": len(lines),
                          "training_lines_sampled": bool(cfg.spm_sentences)
                          and len(lines) > cfg.spm_sentences,
                          "training_lines_too_long": too_long}
    return models, info


def encode_and_filter(cfg, found, texts, kept, counts, models):
    """Pieces of every kept line (``{split: {side: {row: "p1 p2 ..."}}}``); drops or refuses
    pairs over ``max_pieces`` (updates ``kept`` and ``counts``)."""
    pieces = {}
    for split in found:
        pieces[split] = {side: dict(zip(kept[split], subwords.encode(
            models[side], _column(texts[split], kept[split], side)))) for side in SIDES}
        lengths = {side: {i: subwords.n_pieces(p) for i, p in pieces[split][side].items()}
                   for side in SIDES}
        kept[split], long_ = filters.long_lines(texts[split], kept[split], lengths,
                                                cfg.max_pieces, cfg.long_lines)
        counts[split]["dropped_long"] = long_
        counts[split]["pairs"] = len(kept[split])
        if not kept[split]:
            raise UserError(f"{found[split].columns['src']}: no pairs left after filtering")
    return pieces


def write_split(cfg, build, split, text, rows, pieces, models, counts):
    """Text, pieces, labels, references and line map of one split; returns (files, coverage)."""
    langs = {"src": cfg.source_lang, "tgt": cfg.target_lang}
    entry, coverage = {"text": {}, "pieces": {}, "refs": {}, "lang": None}, {}
    for side in SIDES:
        lines = _column(text, rows, side)
        piece_lines = [pieces[side][i] for i in rows]
        entry["text"][side] = _write(build, text_path(split, langs[side]), lines)
        entry["pieces"][side] = _write(build, pieces_path(split, langs[side]), piece_lines)
        coverage[side] = cov = subwords.coverage(models[side], lines, piece_lines)
        if cov["first_long_word_line"] is not None:          # the raw file's line number
            cov["first_long_word_line"] = rows[cov["first_long_word_line"]] + 1
            n = cov["long_words"]
            _say(cfg, f"{split}.{langs[side]}:{cov['first_long_word_line']}: a word of over "
                      f"{subwords.LONG_WORD_CHARS} characters ({n} such word{'s' * (n != 1)}, "
                      f"the longest {cov['longest_word_chars']}; counted in manifest.json)")
    if "lang" in text.columns:
        labels = _column(text, rows, "lang")
        entry["lang"] = _write(build, text_path(split, "lang"), labels)
        counts["labels"] = {label: labels.count(label) for label in sorted(set(labels))}
    for name in text.files.refs:
        entry["refs"][name] = _write(build, text_path(split, f"ref.{name}"),
                                     _column(text, rows, f"ref.{name}"))
    entry["line_map"] = _write(build, text_path(split, "line"), [str(i + 1) for i in rows])
    return entry, coverage


def write_dictionaries(cfg, build, models, train_pieces, rows):
    """fairseq dictionaries (piece ids = sentencepiece ids); returns (paths, sizes) by side."""
    paths, sizes = {}, {}
    langs = {"src": cfg.source_lang, "tgt": cfg.target_lang}
    for _, sides in model_groups(cfg):
        sp = models[sides[0]]
        counts = subwords.piece_counts(sp, (train_pieces[side][i] for side in sides
                                            for i in rows))
        lines = subwords.fairseq_dictionary(sp, counts)
        for side in sides:
            paths[side] = _write(build, os.path.join("spm", f"dict.{langs[side]}.txt"), lines)
            sizes[side] = len(lines) + subwords.FIRST_PIECE
    return paths, sizes


def write_lexicon(cfg, build, train_text, rows):
    """``lexicon.json`` from the labelled training targets; returns (path, summary)."""
    from nat.prepare import lexicon as label_lexicon

    lexicon = label_lexicon.derive(_column(train_text, rows, "tgt"),
                                         _column(train_text, rows, "lang"))
    path = _write(build, "lexicon.json", [json.dumps(lexicon, ensure_ascii=False,
                                                     sort_keys=True)])
    _say(cfg, "lexicon.json: " + label_lexicon.summary(lexicon))
    info = {k: v for k, v in lexicon["stats"].items() if k != "per_language"}
    return path, {"languages": lexicon["languages"], **info, "settings": lexicon["settings"]}


def policies(cfg):
    """What happened to real-text problems, in words (the counts name the same keys)."""
    return {
        "line_endings": "\\r\\n stripped (counted: crlf_lines); \\r inside a line " + (
            "refused" if cfg.stray_cr == "error" else "-> space (counted: stray_cr_lines)"),
        "characters": "control characters, non-space whitespace and U+2581 -> space "
                      "(counted: lines_with_replaced_characters); BOM removed (bom_removed)",
        "normalization": f"sentencepiece rule {cfg.normalization}, spaces collapsed "
                         f"(counted: lines_normalized)",
        "empty": "dropped (dropped_empty)" if cfg.drop_empty else "refused",
        "duplicates": "train: dropped (dropped_duplicates)" if cfg.dedup
                      else "counted (duplicate_pairs), kept",
        "long_lines": (f"> {cfg.max_pieces} pieces on either side: {cfg.long_lines} "
                       f"(dropped_long)" if cfg.max_pieces else "no limit"),
        "references": "{split}.ref.* when given, else the target text",
        "long_words": f"words over {subwords.LONG_WORD_CHARS} characters: counted (coverage "
                      f"long_words, longest_word_chars, first_long_word_line), kept"}
