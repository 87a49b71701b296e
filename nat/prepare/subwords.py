"""Sentencepiece: deterministic training, encoding, decoding and coverage statistics.

Models are trained in-process with one thread and a fixed seed (``set_random_generator_seed``),
so the same text and settings give the same model bytes.  Special ids are fairseq's (``<s>`` 0,
``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3), so a piece's sentencepiece id is its fairseq id.
"""
import io
import os

from nat.errors import UserError

UNK_ID = 3
FIRST_PIECE = 4
LONG_WORD_CHARS = 100   # words longer than this are counted (coverage: long_words): often junk
                        # (a URL, a line without spaces) that sentencepiece makes one <unk> of


def train(lines, trainer_args, seed):
    """Serialized model trained on ``lines`` (a list of str)."""
    import sentencepiece as spm

    if not any(lines):
        raise UserError("no training text for sentencepiece (every training line is empty)")
    spm.set_random_generator_seed(seed)
    model = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=model,
                                       minloglevel=2, **trainer_args)
    except RuntimeError as err:
        first = (str(err).strip().splitlines() or ["?"])[0]
        raise UserError(f"sentencepiece training failed: {first}") from None
    return model.getvalue()


def load(path_or_bytes):
    import sentencepiece as spm

    if isinstance(path_or_bytes, bytes):
        return spm.SentencePieceProcessor(model_proto=path_or_bytes)
    if not os.path.isfile(path_or_bytes):
        raise UserError(f"no such sentencepiece model: {path_or_bytes}")
    try:
        return spm.SentencePieceProcessor(model_file=path_or_bytes)
    except (RuntimeError, OSError) as err:
        raise UserError(f"{path_or_bytes}: not a sentencepiece model ({str(err)[:80]})") from None


def vocab_lines(sp):
    """``piece<TAB>score`` for every id (the ``.vocab`` file sentencepiece's CLI writes)."""
    return [f"{sp.id_to_piece(i)}\t{sp.get_score(i):g}" for i in range(sp.get_piece_size())]


def encode(sp, lines, batch=20000):
    """Space-separated pieces of each line (unknown characters keep their surface form)."""
    out = []
    for start in range(0, len(lines), batch):
        out.extend(" ".join(p) for p in sp.encode(lines[start:start + batch], out_type=str))
    return out


def n_pieces(piece_line):
    return piece_line.count(" ") + 1 if piece_line else 0


def decode(sp, piece_lines):
    """Text of each line of space-separated pieces (fairseq's ``<unk>`` decodes to ' ⁇ ')."""
    return [sp.decode(line.split()) for line in piece_lines]


def coverage(sp, lines, piece_lines):
    """How well the model covers ``lines`` (cleaned text) encoded as ``piece_lines``.

    ``unk_rate`` = <unk> pieces / pieces; ``char_coverage`` = 1 - characters inside <unk>
    pieces / non-space characters; ``pieces_per_word`` = pieces / whitespace words;
    ``long_words``: words over ``LONG_WORD_CHARS`` characters (a 100k-character token is one
    <unk> piece, invisible in ``unk_rate``), the first in line ``first_long_word_line``.
    """
    lengths = [n_pieces(p) for p in piece_lines]
    total = sum(lengths)
    unk_pieces = unk_chars = 0
    for piece_line in piece_lines:
        line = piece_line.split()
        for piece, pid in zip(line, sp.piece_to_id(line)):
            if pid == UNK_ID:
                unk_pieces += 1
                unk_chars += len(piece.replace("\u2581", ""))
    chars = sum(len(line) - line.count(" ") for line in lines)
    words = sum(len(line.split()) for line in lines)
    long_words, longest, first_long = 0, 0, None
    for index, line in enumerate(lines):
        lengths_here = [len(w) for w in line.split()]
        over = sum(1 for n in lengths_here if n > LONG_WORD_CHARS)
        if over:
            long_words += over
            first_long = index if first_long is None else first_long
        longest = max([longest] + lengths_here)
    return {"lines": len(lines), "words": words, "characters": chars, "pieces": total,
            "long_words": long_words, "longest_word_chars": longest,
            "first_long_word_line": first_long,      # index into ``lines`` (callers map it)
            "unk_pieces": unk_pieces, "unk_rate": unk_pieces / total if total else 0.0,
            "unk_characters": unk_chars,
            "char_coverage": 1.0 - unk_chars / chars if chars else 1.0,
            "pieces_per_word": total / words if words else 0.0,
            "max_pieces": max(lengths, default=0),
            "mean_pieces": total / len(lines) if lines else 0.0}


def piece_counts(sp, piece_lines):
    """Occurrences of each id in the given lines of space-separated pieces."""
    counts = [0] * sp.get_piece_size()
    for line in piece_lines:
        for pid in sp.piece_to_id(line.split()):
            counts[pid] += 1
    return counts


def fairseq_dictionary(sp, counts):
    """Lines of a fairseq ``dict.txt``: every piece after the four specials, in id order, so the
    fairseq index of a piece equals its sentencepiece id."""
    lines = []
    for pid in range(FIRST_PIECE, sp.get_piece_size()):
        piece = sp.id_to_piece(pid)
        if sp.is_control(pid) or sp.is_unknown(pid):
            raise UserError(f"sentencepiece model has a special piece {piece!r} at id {pid}")
        lines.append(f"{piece} {counts[pid]}")
    return lines


def models_for(path):
    """``{"src": model, "tgt": model}`` paths from a ``.model`` file (both sides) or a prepared
    directory (its manifest's models)."""
    if os.path.isdir(path):
        from nat.prepare.layout import load_prepared

        prepared = load_prepared(path)
        return dict(prepared.spm_models)
    if not os.path.isfile(path):
        raise UserError(f"--spm {path}: no such sentencepiece model or prepared directory")
    return {"src": path, "tgt": path}
