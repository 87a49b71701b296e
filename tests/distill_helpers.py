"""Shared inputs and settings for the nat-distill tests (small and fast on 2 cores)."""
import os

from nat import textio

FAST = dict(beam=4, max_len_a=1.0, max_len_b=4, threads=1, chunk_size=25, progress=False,
            binarize=False, max_source_positions=16)


def make_inputs(corpus_dir, dest, count=90):
    """First ``count`` toy train pairs plus an empty line and an over-long line (> 16 tokens)."""
    src = textio.read_lines(os.path.join(corpus_dir, "train.src"))[:count]
    tgt = textio.read_lines(os.path.join(corpus_dir, "train.tgt"))[:count]
    long_src = " ".join(f"w{i % 24}" for i in range(30))
    src[10:10] = ["", long_src]
    tgt[10:10] = ["", long_src.upper()]
    os.makedirs(dest, exist_ok=True)
    paths = os.path.join(dest, "in.src"), os.path.join(dest, "in.tgt")
    textio.write_lines_atomic(paths[0], src)
    textio.write_lines_atomic(paths[1], tgt)
    return paths


def read(path):
    with open(path, "rb") as handle:
        return handle.read()
