"""Rare-word recall (after Ding et al. 2021): how well hypotheses keep the translations of source
words by how often those words occur in the training sources.

Each source word of the test set falls in a bucket of its training-source frequency f: ``0``
(unseen), then one per range of ``bounds`` (default 1-2, 3-10, 11-100, >100).

Reference recall: every reference token linked to source words (gold Pharaoh links; a token
linked to several counts for the least frequent) belongs to that word's bucket; unlinked
tokens (case and agreement particles) are left out.  Per sentence and token type y, with r_y
reference tokens of type y and h_y in the hypothesis, min(r_y, h_y) are recalled (clipped
counts), shared among the buckets in proportion to their reference tokens of type y, so the
buckets' recalled tokens add up to the sentence's clipped unigram matches.  Bucket recall =
recalled / reference tokens, summed over sentences.

Lexicon recall (synthetic corpora): a source-word occurrence is recalled when the hypothesis
holds a realisation of the word (any synonym, any language: a contiguous token run); per
sentence and word, min(source occurrences, realisations found).  It does not depend on which
language or synonym the reference took.

``rare_word_recall`` pools every bucket but the most frequent and the unseen one (f from 1 to
the last bound).
"""
from collections import Counter
from typing import List, NamedTuple, Optional

from nat.errors import UserError

BOUNDS = (2, 10, 100)


class Inputs(NamedTuple):
    """What the recall of a test set's hypotheses is computed against."""
    train_sources: List[str]
    sources: List[str]
    references: Optional[List[str]] = None     # with ``alignments``: reference recall
    alignments: Optional[List[str]] = None
    realisations: Optional[dict] = None        # source word -> token tuples: lexicon recall
    bounds: tuple = BOUNDS
    alignments_name: str = "alignments"       # in error messages


def check_bounds(bounds):
    """Strictly increasing positive ints (a string ``"2,10,100"`` accepted)."""
    if isinstance(bounds, str):
        try:
            bounds = [int(b) for b in bounds.split(",")]
        except ValueError:
            raise UserError(f"--rare-buckets must be comma-separated integers, got "
                            f"{bounds!r}") from None
    bounds = tuple(bounds)
    if not bounds or bounds[0] < 1 or any(a >= b for a, b in zip(bounds, bounds[1:])):
        raise UserError(f"--rare-buckets must be increasing integers >= 1, got "
                        f"{','.join(map(str, bounds))}")
    return bounds


def bucket_names(bounds):
    lows = [1] + [b + 1 for b in bounds]
    return ["0"] + [f"{lo}-{hi}" if lo != hi else str(lo) for lo, hi in zip(lows, bounds)] + \
        [f">{bounds[-1]}"]


def bucket_of(frequency, bounds):
    """Index into ``bucket_names(bounds)``."""
    if frequency == 0:
        return 0
    return 1 + sum(frequency > b for b in bounds)


def realisations_of(recogniser):
    """Source word -> every non-empty realisation (token tuple) in any language."""
    grammar = recogniser.grammar
    return {word: [opt for lang in recogniser.languages for opt in lang.options[wid] if opt]
            for wid, word in enumerate(grammar.words)}


def _links(line, where, n_src, n_ref):
    """Source positions linked to each reference position; one-line error on a bad link."""
    linked = [[] for _ in range(n_ref)]
    for link in line.split():
        i, sep, j = link.partition("-")
        if not (sep and i.isdecimal() and j.isdecimal()) or int(i) >= n_src or int(j) >= n_ref:
            raise UserError(f"{where}: bad link {link!r} for a sentence pair of lengths "
                            f"{n_src} and {n_ref}")
        linked[int(j)].append(int(i))
    return linked


def reference_recall(inputs, hypotheses, bucket, n_buckets):
    """``(recalled, reference tokens)`` per bucket."""
    recalled, totals = [0.0] * n_buckets, [0] * n_buckets
    rows = zip(inputs.sources, inputs.references, inputs.alignments, hypotheses)
    for number, (source, reference, links, hypothesis) in enumerate(rows, start=1):
        src, ref = source.split(), reference.split()
        per_type = {}
        where = f"{inputs.alignments_name}:{number}"
        for tok, positions in zip(ref, _links(links, where, len(src), len(ref))):
            if positions:
                b = min(bucket[src[i]] for i in positions)   # the least frequent word's
                per_type.setdefault(tok, Counter())[b] += 1
        found = Counter(hypothesis.split())
        for tok, buckets in per_type.items():
            total = sum(buckets.values())
            matched = min(total, found[tok])
            for b, r in buckets.items():
                recalled[b] += matched * r / total
                totals[b] += r
    return recalled, totals


def lexicon_recall(inputs, hypotheses, bucket, n_buckets):
    """``(recalled, source occurrences)`` per bucket."""
    realisations = inputs.realisations
    widths = sorted({len(r) for rs in realisations.values() for r in rs})
    recalled, totals = [0] * n_buckets, [0] * n_buckets
    for source, hypothesis in zip(inputs.sources, hypotheses):
        toks = hypothesis.split()
        runs = Counter(tuple(toks[i:i + w]) for w in widths for i in range(len(toks) - w + 1))
        for word, n in Counter(source.split()).items():
            options = realisations.get(word)
            if options:
                b = bucket[word]
                recalled[b] += min(n, sum(runs[r] for r in options))
                totals[b] += n
    return recalled, totals


def _table(names, recalled, totals):
    return {name: {"recall": r / t if t else None, "recalled": r, "total": t}
            for name, r, t in zip(names, recalled, totals)}


def _pooled(recalled, totals):
    """Recall over the rare buckets: f from 1 to the last bound."""
    t = sum(totals[1:-1])
    return sum(recalled[1:-1]) / t if t else None


def rare_word_recall(hypotheses, inputs):
    """The ``rare_words`` block of metrics.json (hypotheses line-parallel to the sources)."""
    bounds = check_bounds(inputs.bounds)
    names = bucket_names(bounds)
    counts = Counter(tok for line in inputs.train_sources for tok in line.split())
    bucket = {word: bucket_of(counts[word], bounds)
              for word in {tok for line in inputs.sources for tok in line.split()}}
    out = {"buckets": names, "source_types": dict.fromkeys(names, 0),
           "settings": {"frequency": "occurrences in the training sources",
                        "bounds": list(bounds), "pooled": f"1-{bounds[-1]}",
                        "counts": "clipped per sentence"}}
    for b in bucket.values():
        out["source_types"][names[b]] += 1
    if inputs.references is not None:
        recalled, totals = reference_recall(inputs, hypotheses, bucket, len(names))
        out["reference"] = _table(names, recalled, totals)
        out["reference_pooled"] = _pooled(recalled, totals)
    if inputs.realisations is not None:
        recalled, totals = lexicon_recall(inputs, hypotheses, bucket, len(names))
        out["lexicon"] = _table(names, recalled, totals)
        out["lexicon_pooled"] = _pooled(recalled, totals)
    return out

