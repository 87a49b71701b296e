"""Space-tokenized sentences as flat integer arrays (ids, offsets, lengths) for fast counting."""
from dataclasses import dataclass

import numpy as np


@dataclass
class Encoded:
    vocab: list          # id -> token
    ids: np.ndarray      # all tokens of all sentences, concatenated
    offsets: np.ndarray  # offsets[s] = index in ids of sentence s's first token
    lengths: np.ndarray  # tokens per sentence

    def __len__(self):
        return len(self.lengths)

    def sentence(self, s):
        return self.ids[self.offsets[s]:self.offsets[s] + self.lengths[s]]


def encode(lines):
    """Split each line on whitespace and map tokens to ids in order of first appearance."""
    index, flat, lengths = {}, [], []
    setdefault = index.setdefault
    for line in lines:
        toks = line.split()
        lengths.append(len(toks))
        flat.extend([setdefault(t, len(index)) for t in toks])
    lengths = np.asarray(lengths, dtype=np.int64)
    offsets = np.zeros(len(lengths), dtype=np.int64)
    if len(lengths) > 1:
        np.cumsum(lengths[:-1], out=offsets[1:])
    return Encoded(list(index), np.asarray(flat, dtype=np.int64), offsets, lengths)
