"""A fairseq dictionary (``dict.*.txt``) read without fairseq, for the deployed path.

Same ids as ``fairseq.data.Dictionary.load``: ``<s> <pad> </s> <unk>`` first (0-3), then one
symbol per line in file order (``SYMBOL COUNT [#fairseq:overwrite]``).  ``encode`` is
``encode_line(line, append_eos=True)``: whitespace-split symbols, unknown ones ``<unk>``.
"""
from nat.errors import UserError

SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
OVERWRITE = "#fairseq:overwrite"


class Vocabulary:
    bos, pad, eos, unk = 0, 1, 2, 3

    def __init__(self, symbols):
        self.symbols = list(symbols)
        self.index = {s: i for i, s in enumerate(self.symbols)}

    @classmethod
    def load(cls, path):
        vocab = cls(SPECIALS)
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                word, _, field = line.rstrip().rpartition(" ")
                overwrite = field == OVERWRITE
                if overwrite:
                    word, _, field = word.rpartition(" ")
                if not word or not field.lstrip("-").isdigit():
                    raise UserError(f"{path}:{number}: not a fairseq dictionary line "
                                    f"('SYMBOL COUNT'): {line.strip()[:60]!r}")
                if word in vocab.index and not overwrite:
                    raise UserError(f"{path}:{number}: duplicate symbol {word!r}")
                vocab.index[word] = len(vocab.symbols)   # as fairseq: overwrite re-points
                vocab.symbols.append(word)
        return vocab

    def __len__(self):
        return len(self.symbols)

    def encode(self, line, prepend_bos=False):
        """Ids of the whitespace-separated symbols of ``line``, then eos (bos first if
        ``prepend_bos``, as fairseq's ``translation_lev`` task reads its sources)."""
        ids = [self.index.get(w, self.unk) for w in line.split()] + [self.eos]
        return [self.bos] + ids if prepend_bos else ids

    def string(self, ids):
        """Symbols of ``ids`` joined by spaces, bos/eos/pad left out (fairseq's H/D text)."""
        skip = (self.bos, self.eos, self.pad)
        return " ".join(self.symbols[i] for i in ids if i not in skip)
