"""The glue between the exported halves, in numpy: decoder inputs in, token ids out.

Each function reproduces the matching step of the fairseq decoding path, so the ids equal
``fairseq-generate``'s hypothesis tokens (before bos/eos/pad are stripped by its string step):

* ``placeholder``: ``initialize_output_tokens`` (vanilla/GLAT: bos, unk..., eos; CTC/DAG: unk);
* ``ctc_collapse``: ``nat.ctc.greedy_decode`` (merge repeats, then drop blanks);
* ``dag_walk``: ``nat.dag``'s greedy/lookahead walk from vertex 0 to the last vertex, with
  DA-Transformer's pad-vertex removal and optional merging of repeated tokens.
"""
import numpy as np


def placeholder(lengths, kind, pad, unk, bos, eos):
    """``(B, max L)`` int64 decoder input for ``lengths``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    width = int(lengths.max()) if lengths.size else 0
    idx = np.arange(width)[None, :]
    tokens = np.where(idx < lengths[:, None], unk, pad).astype(np.int64)
    if kind == "length" and width:
        rows = np.arange(len(lengths))
        tokens[:, 0] = bos
        tokens[rows, lengths - 1] = eos
    return tokens


def ctc_collapse(frames, lengths, blank):
    """Per sentence: the frames below its length, repeats merged, blanks dropped."""
    out = []
    for row, n in zip(frames, lengths):
        row = row[:n]
        keep = np.ones(n, dtype=bool)
        keep[1:] = row[1:] != row[:-1]
        out.append(row[keep & (row != blank)])
    return out


def dag_walk(tokens, successor, lengths, pad, dedup=True):
    """Per sentence: the vertices visited from 0 along ``successor`` until ``L - 1``, each
    emitting its best token; pad-emitting vertices emit nothing, and with ``dedup`` a token
    equal to the previous vertex's token (pad included) is merged into it."""
    out = []
    for toks, succ, n in zip(tokens, successor, lengths):
        path, cur = [0], 0
        while cur < n - 1 and len(path) < n:
            cur = int(succ[cur])
            path.append(cur)
        seq = toks[path]
        keep = seq != pad
        if dedup:
            keep[1:] &= seq[1:] != seq[:-1]
        out.append(seq[keep])
    return out


def strip(ids, specials):
    """Ids without the symbols fairseq's string step drops (bos, eos, pad)."""
    ids = np.asarray(ids)
    return ids[~np.isin(ids, list(specials))]


def read_outputs(kind, lengths, outputs, pad, blank=None, dedup=True):
    """Hypothesis token ids per sentence from the decoder graph's outputs."""
    tokens = outputs[0]
    if kind == "length":
        return [row[:n] for row, n in zip(tokens, lengths)]
    if kind == "ctc":
        return ctc_collapse(tokens, lengths, blank)
    return dag_walk(tokens, outputs[2], lengths, pad, dedup)
