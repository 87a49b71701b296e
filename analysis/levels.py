"""At which level the numbers are: words (detokenized text, the default) or subword pieces.

A file of sentencepiece pieces is recognised by U+2581 (sentencepiece's space symbol) anywhere in
it: word-level text has none after ``nat-prepare``, and a model's output may start a line with
any piece, so no stricter test is safe.
With ``--spm MODEL|PREPARED_DIR``, inputs are brought to the requested level: pieces are decoded
for word level, words are encoded for subword level; without it, a piece file at word level is
refused (its numbers would silently be subword numbers).
"""
from nat.errors import UserError

LEVELS = ("word", "subword")
SPACE = "\u2581"


def looks_like_pieces(lines):
    """True when any line contains U+2581."""
    return any(SPACE in line for line in lines)


class LevelConverter:
    """Brings line lists to ``level``; remembers which inputs it converted (for metrics.json)."""

    def __init__(self, level="word", spm=None):
        if level not in LEVELS:
            raise UserError(f"--level {level}: choose {', '.join(LEVELS)}")
        self.level, self.spm, self.models, self.converted = level, spm, {}, {}
        if spm:
            from nat.prepare import subwords

            self.models = {side: subwords.load(path)
                           for side, path in subwords.models_for(spm).items()}

    def __call__(self, lines, side, what):
        """``lines`` at this level; ``side`` 'src' or 'tgt' picks the model; ``what`` names the
        input in errors and in the record."""
        pieces = looks_like_pieces(lines)
        if self.level == "word" and pieces:
            if not self.models:
                raise UserError(f"{what} looks like sentencepiece pieces; pass --spm MODEL (or a "
                                f"prepared directory) to analyse words, or --level subword")
            self.converted[what] = "decoded (sentencepiece)"
            sp = self.models[side]
            return [sp.decode(line.split()) for line in lines]
        if self.level == "subword" and not pieces:
            if not self.models:
                raise UserError(f"--level subword: {what} is not sentencepiece pieces; pass "
                                f"--spm MODEL to encode it")
            self.converted[what] = "encoded (sentencepiece)"
            sp = self.models[side]
            return [" ".join(p) for p in sp.encode(list(lines), out_type=str)]
        return lines

    def annotate(self, metrics, bleu_note=True):
        """Record the level on metrics.json (top level and signature)."""
        metrics["level"] = self.level
        metrics["level_inputs"] = dict(self.converted)
        if self.spm:
            metrics["spm"] = self.spm
        if bleu_note and "sacrebleu" in metrics:
            metrics["bleu_level"] = "sacreBLEU 13a on detokenized (word-level) text"
        if "signature" in metrics:
            metrics["signature"] += f"|level:{self.level}"
        return metrics
