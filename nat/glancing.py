"""Glancing training (Qian et al. 2021, GLAT): how many reference tokens to reveal, and where.

A first, gradient-free decoder pass is compared with the reference; the worse it is, the more
reference tokens are revealed as decoder input in the second pass, which is trained on the rest.
The count is ``floor(ratio * errors)`` per sentence; positions are drawn uniformly among the
valid (non-pad) ones.  Pure torch, any device.
"""
import torch


def hamming_errors(pred, target, mask):
    """Per-row number of valid positions where ``pred`` differs from ``target``."""
    return (pred.ne(target) & mask).sum(1)


def glancing_count(errors, ratio):
    """``floor(ratio * errors)`` per row (computed in float64 so it matches Python's floats)."""
    return torch.floor(errors.to(torch.float64) * float(ratio)).long()


def glancing_mask(mask, counts, generator=None):
    """Reveal exactly ``counts[b]`` random valid positions of row ``b`` (counts are clamped).

    ``mask``: ``(B, L)`` bool of valid positions.  Returns a ``(B, L)`` bool mask.
    """
    scores = torch.rand(mask.shape, generator=generator, device=mask.device)
    scores = scores.masked_fill(~mask, 2.0)                    # invalid positions sort last
    rank = scores.argsort(1).argsort(1)
    counts = torch.minimum(counts, mask.sum(1))
    return (rank < counts[:, None]) & mask


def annealed_ratio(start, end, num_updates, anneal_updates):
    """Linear schedule from ``start`` to ``end`` over ``anneal_updates`` (constant if 0)."""
    if anneal_updates <= 0 or end is None:
        return start
    frac = min(max(num_updates, 0) / anneal_updates, 1.0)
    return start + (end - start) * frac
