"""Which tokens of a hypothesis are correct: the labels that calibration is measured against.

Synthetic data (``synthetic``), exact against the generator.  The hypothesis is aligned with
the valid realisations of its source (any language, any synonym in every slot) at the least
token edit distance (Levenshtein: substitution, insertion, deletion cost 1, a match 0); a token
is correct iff that alignment matches it to an identical token.  Ties between alignments (and
realisations) are broken left to right: token i is correct iff some least-distance alignment
that agrees with the labels of tokens 0..i-1 matches it.  So a valid hypothesis is all
correct, a wrong word or synonym is one incorrect token, a dropped word leaves the others
correct wherever they moved, and of a repeated word ("cat cat") the first copy is correct
and the second not: the correct tokens are always the matches of one optimal alignment.  The
valid outputs of a language are a lattice of slots (``nat.synth.recognise``); forward and
backward edit-distance passes over it (decided labels forbid the moves that contradict them)
say which tokens some optimal alignment matches, without enumerating realisations.

Real data (``by_reference``): a token is correct iff it occurs in a reference, with clipped
counts: of a type the reference holds r times (the most of any reference), the first r
occurrences from the left are correct and the rest not, as BLEU's unigram matches count.
"""
from collections import Counter

import numpy as np

from nat.errors import UserError


def by_reference(hypothesis, references):
    """Correctness of each token of ``hypothesis`` against reference lines (clipped counts)."""
    budget = Counter()
    for ref in references:
        budget |= Counter(ref.split())
    labels = []
    for token in hypothesis.split():
        labels.append(budget[token] > 0)
        budget[token] -= 1
    return labels


#: the cost of a move a decided label forbids: above any alignment's cost, so never optimal
FORBIDDEN = 1 << 30


class _Hyp:
    """A hypothesis as token ids, with the labels decided so far: ``match`` tokens must be
    matched to an identical lattice token, ``miss`` tokens must not be."""

    def __init__(self, ids):
        self.ids = ids
        self.match = np.zeros(len(ids), dtype=bool)
        self.miss = np.zeros(len(ids), dtype=bool)

    def insert_costs(self):
        """Cumulative cost of inserting hypothesis tokens 0..i-1, i = 0..n."""
        costs = np.where(self.match, FORBIDDEN, 1)
        return np.concatenate([[0], np.cumsum(costs)])

    def diagonal_costs(self, tokens):
        """(A, n): cost of aligning lattice token ``tokens[a]`` with hypothesis token i."""
        equal = self.ids[None, :] == tokens[:, None]
        return np.where(equal, np.where(self.miss, FORBIDDEN, 0),
                        np.where(self.match, FORBIDDEN, 1))


def _inserted(cost, inserts, forward):
    """Close cost rows (..., n+1) under hypothesis-token insertions (``inserts``: cumulative)."""
    if forward:
        return np.minimum.accumulate(cost - inserts, axis=-1) + inserts
    return np.minimum.accumulate((cost + inserts)[..., ::-1], axis=-1)[..., ::-1] - inserts


def _step(row, diagonal, inserts, forward):
    """Consume one lattice token per alternative from ``row`` (A, n+1): delete it (cost 1) or
    align it with a hypothesis token (``diagonal``: (A, n) costs)."""
    out = row + 1
    if forward:
        out[:, 1:] = np.minimum(out[:, 1:], row[:, :-1] + diagonal)
    else:
        out[:, :-1] = np.minimum(out[:, :-1], row[:, 1:] + diagonal)
    return _inserted(out, inserts, forward)


def _slot_arrays(slots, ids):
    """Per slot an int array (alternatives, width) of token ids (-1: not in the hypothesis)."""
    return [np.array([[ids.get(t, -1) for t in alt] for alt in allowed]) for _, allowed in slots]


def _matchable(slots, hyp):
    """``(distance, matchable)``: the least cost of aligning ``hyp`` (a ``_Hyp``) with a path
    through ``slots`` under its decided labels and, per hypothesis token, whether an alignment
    of that cost matches it (forward and backward passes meeting at each match)."""
    n, inserts = len(hyp.ids), hyp.insert_costs()
    boundary = inserts                  # hypothesis tokens inserted before the lattice
    forward = []                        # per slot, its rows: (alternatives, width + 1, n + 1)
    for alts in slots:
        row, kept = np.repeat(boundary[None, :], len(alts), axis=0), []
        for t in range(alts.shape[1]):
            kept.append(row)
            row = _step(row, hyp.diagonal_costs(alts[:, t]), inserts, True)
        kept.append(row)
        forward.append(np.stack(kept, axis=1))
        boundary = row.min(axis=0)
    distance = int(boundary[n])
    after = inserts[n] - inserts        # the rest of the hypothesis inserted
    matched = np.zeros(n, dtype=bool)
    for alts, fwd in zip(reversed(slots), reversed(forward)):
        row = np.repeat(after[None, :], len(alts), axis=0)
        for t in reversed(range(alts.shape[1])):
            # token t of an alternative matched with hypothesis token i, at the least cost
            through = fwd[:, t, :-1] + row[:, 1:]
            hit = (hyp.ids[None, :] == alts[:, t][:, None]) & (through == distance)
            matched |= hit.any(axis=0)
            row = _step(row, hyp.diagonal_costs(alts[:, t]), inserts, False)
        after = row.min(axis=0)
    return distance, matched


def _first_matches(lattices, hyp):
    """Labels of ``hyp`` against the closest of ``lattices``: left to right, a token is correct
    iff some least-distance alignment matches it and agrees with the labels before it."""
    found = [_matchable(slots, hyp) for slots in lattices]
    best = min(d for d, _ in found)
    alive = [(slots, m) for slots, (d, m) in zip(lattices, found) if d == best]
    for i in range(len(hyp.ids)):
        if not any(m[i] for _, m in alive):
            hyp.miss[i] = True          # no alignment left matches it: nothing is excluded
            continue
        hyp.match[i] = True             # alignments leaving it unmatched are excluded
        alive = [(slots, _matchable(slots, hyp)[1]) for slots, m in alive if m[i]]
    return hyp.match


def synthetic(hypothesis, realisations):
    """Correctness of each token of ``hypothesis`` against the valid outputs of its source
    (``Recogniser.realisations(source)``); see the module doc."""
    tokens = hypothesis.split()
    if not tokens:
        return []
    if realisations.languages(hypothesis):
        return [True] * len(tokens)
    ids = {t: k for k, t in enumerate(dict.fromkeys(tokens))}
    lattices = [_slot_arrays(slots, ids) for slots in realisations.slots.values()]
    return _first_matches(lattices, _Hyp(np.array([ids[t] for t in tokens]))).tolist()


def synthetic_labels(hypotheses, truth):
    """Per hypothesis its token labels against ``truth`` (``analysis.validity.Truth``)."""
    out = []
    for number, (source, hyp) in enumerate(zip(truth.sources, hypotheses, strict=True), start=1):
        try:
            realisations = truth.recogniser.realisations(source)
        except ValueError as err:
            raise UserError(f"{truth.sources_path}:{number}: not a sentence of its grammar "
                            f"({err})") from None
        out.append(synthetic(hyp, realisations))
    return out
