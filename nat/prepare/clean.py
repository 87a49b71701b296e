"""Line cleaning for real text: what every line goes through before sentencepiece sees it.

Policy (counted, never silent; see docs/prepare.md):
- ``\\r\\n`` line endings are stripped when reading; a carriage return *inside* a line (old Mac
  line endings, or a file whose lines would split differently in other tools) is refused, or
  replaced by a space with ``stray_cr="space"`` (counted).
- A byte-order mark at the start of a file is removed.
- Control characters, tabs, every other Unicode whitespace (NBSP, U+2028 ...) and
  sentencepiece's own space symbol U+2581 become a plain space: nothing inside a line can split
  it in fairseq (``\\s+``) or in ``str.splitlines``.
- The text is normalized by the sentencepiece rule (default ``nmt_nfkc``), runs of spaces are
  collapsed and ends stripped, so the stored text is exactly what the model decodes back.
"""
import unicodedata

from nat.errors import UserError

SPM_SPACE = "\u2581"
BOM = "\ufeff"


def _needs_space(char):
    return char == SPM_SPACE or (char != " " and (char.isspace()
                                                  or unicodedata.category(char) == "Cc"))


def replace_controls(text):
    """``text`` with control characters, non-space whitespace and U+2581 as spaces; and whether
    anything was replaced."""
    if text.isascii() and text.isprintable():
        return text, False
    out = "".join(" " if _needs_space(c) else c for c in text)
    return out, out != text


class Cleaner:
    """Callable ``(text, where) -> (clean text, replaced?, normalized?)``; ``where`` names the
    file and line for errors (``path:line``)."""

    def __init__(self, rule="nmt_nfkc", stray_cr="error"):
        import sentencepiece as spm

        self.rule, self.stray_cr = rule, stray_cr
        self.stray_cr_lines = 0
        self._normalizer = None if rule == "identity" else spm.SentencePieceNormalizer(
            rule_name=rule, add_dummy_prefix=False, escape_whitespaces=False,
            remove_extra_whitespaces=False)

    def __call__(self, text, where):
        if "\r" in text:
            if self.stray_cr == "error":
                raise UserError(f"{where}: carriage return inside a line (old Mac line "
                                f"endings?); fix the file or pass --stray-cr space")
            self.stray_cr_lines += 1
        text, replaced = replace_controls(text)
        text = " ".join(text.split())
        normalized = False
        if self._normalizer is not None:
            new, again = replace_controls(self._normalizer.normalize(text))
            new = " ".join(new.split())      # no rule should add whitespace; stay safe
            normalized, replaced, text = new != text, replaced or again, new
        return text, replaced, normalized
