"""A tiny deterministic toy translation task (reverse + relabel) for smoke runs and tests.

Source ``w3 w7 w1`` -> target ``W1 W7 W3``: learnable in a few dozen updates by a tiny model,
with disjoint source/target vocabularies.  The synthetic three-language corpus (``nat-synth``)
is the real data source; this exists so the smoke pipeline and fixtures need nothing else.
"""
import os
import random


def toy_pair(rng, vocab=24, min_len=3, max_len=9):
    words = [f"w{rng.randrange(vocab)}" for _ in range(rng.randint(min_len, max_len))]
    return " ".join(words), " ".join(w.upper() for w in reversed(words))


def write_toy_corpus(out_dir, train=600, valid=60, test=60, seed=1, src="src", tgt="tgt"):
    """Write ``{train,valid,test}.{src,tgt}`` into ``out_dir``; returns ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(seed)
    for split, size in (("train", train), ("valid", valid), ("test", test)):
        with open(os.path.join(out_dir, f"{split}.{src}"), "w", encoding="utf-8") as fs, \
                open(os.path.join(out_dir, f"{split}.{tgt}"), "w", encoding="utf-8") as ft:
            for _ in range(size):
                source, target = toy_pair(rng)
                fs.write(source + "\n")
                ft.write(target + "\n")
    return out_dir
