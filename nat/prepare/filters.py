"""Which lines of a split are kept: empty pairs, duplicate pairs, over-long lines.

Each filter takes the kept raw-line indices (0-based) and returns the ones it keeps plus a count;
nothing is dropped without being counted, and the policies that refuse name ``file:line``.
"""
from nat.errors import UserError

TEXT_COLUMNS_FIRST = ("src", "tgt")


def _text_columns(split_text):
    """Source, target, then references (labels are checked when read)."""
    return list(TEXT_COLUMNS_FIRST) + sorted(c for c in split_text.columns if c.startswith("ref."))


def drop_empty(split_text, kept, drop):
    """Pairs with an empty source, target or reference (after cleaning): refused unless ``drop``."""
    columns = _text_columns(split_text)
    out, dropped = [], 0
    for i in kept:
        empty = [c for c in columns if not split_text.columns[c][i]]
        if not empty:
            out.append(i)
        elif drop:
            dropped += 1
        else:
            path = split_text.files.columns[empty[0]]
            raise UserError(f"{path}:{i + 1}: empty line (after cleaning); pass --drop-empty "
                            f"to drop such pairs (counted in the manifest)")
    return out, dropped


def duplicates(split_text, kept, drop):
    """Repeats of an earlier (source, target) pair: counted; dropped only when ``drop``."""
    src, tgt = split_text.columns["src"], split_text.columns["tgt"]
    seen, out, repeats = set(), [], 0
    for i in kept:
        pair = (src[i], tgt[i])
        if pair in seen:
            repeats += 1
            if drop:
                continue
        seen.add(pair)
        out.append(i)
    return out, repeats


def long_lines(split_text, kept, lengths, max_pieces, policy):
    """Pairs with more than ``max_pieces`` pieces on either side (``lengths[column][i]``)."""
    if not max_pieces:
        return kept, 0
    out, dropped = [], 0
    for i in kept:
        over = [c for c in ("src", "tgt") if lengths[c][i] > max_pieces]
        if not over:
            out.append(i)
        elif policy == "drop":
            dropped += 1
        else:
            path = split_text.files.columns[over[0]]
            raise UserError(f"{path}:{i + 1}: {lengths[over[0]][i]} subword pieces exceed "
                            f"--max-pieces {max_pieces} (use --long-lines drop, or raise the "
                            f"limit)")
    return out, dropped


def overlap(sources, train_sources):
    """How many of ``sources`` also occur as a training source (exact, after cleaning)."""
    train = set(train_sources)
    return sum(1 for s in sources if s in train)
