"""Word-alignment links in Pharaoh ``i-j`` format (source i, target j, 0-based) as flat arrays."""
from dataclasses import dataclass

import numpy as np

from nat.errors import UserError


@dataclass
class Links:
    sent: np.ndarray   # sentence index of each link
    src: np.ndarray    # source position
    tgt: np.ndarray    # target position

    def __len__(self):
        return len(self.sent)


def parse_pharaoh(lines, src_lengths, tgt_lengths, name="alignment"):
    """Parse one line of links per sentence; one-line UserError on bad syntax or range."""
    if len(lines) != len(src_lengths):
        raise UserError(f"{name} has {len(lines)} lines but the corpus has {len(src_lengths)}")
    sent, numbers = [], []
    for s, line in enumerate(lines):
        fields = line.replace("-", " ").split()
        if len(fields) != 2 * line.count("-") or (fields and len(fields) % 2):
            raise UserError(f"{name}:{s + 1}: expected links like '0-1 2-3', got {line[:40]!r}")
        sent.extend([s] * (len(fields) // 2))
        numbers.extend(fields)
    try:
        pairs = np.asarray(numbers, dtype=np.int64).reshape(-1, 2)
    except ValueError:
        bad = next((s for s, l in enumerate(lines) if not _all_numbers(l)), 0)
        raise UserError(f"{name}:{bad + 1}: links must be non-negative integers i-j") from None
    links = Links(np.asarray(sent, dtype=np.int64), pairs[:, 0].copy(), pairs[:, 1].copy())
    check_range(links, src_lengths, tgt_lengths, name)
    return links


def _all_numbers(line):
    return all(part.isascii() and part.isdigit() for part in line.replace("-", " ").split())


def check_range(links, src_lengths, tgt_lengths, name="alignment"):
    """Raise naming the first line whose link points past the end of its sentence."""
    bad = (links.src >= src_lengths[links.sent]) | (links.tgt >= tgt_lengths[links.sent])
    bad |= (links.src < 0) | (links.tgt < 0)
    if bad.any():
        k = int(np.argmax(bad))
        s = int(links.sent[k])
        raise UserError(f"{name}:{s + 1}: link {links.src[k]}-{links.tgt[k]} outside a sentence "
                        f"pair of lengths {src_lengths[s]} and {tgt_lengths[s]}")


def format_pharaoh(links, n_sentences):
    """Lines of ``i-j`` links, one per sentence (inverse of parse_pharaoh)."""
    out = [[] for _ in range(n_sentences)]
    for s, i, j in zip(links.sent.tolist(), links.src.tolist(), links.tgt.tolist()):
        out[s].append(f"{i}-{j}")
    return [" ".join(x) for x in out]
