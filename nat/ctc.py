"""CTC helpers in pure torch (any device): collapse, best alignment (Viterbi), lattice beam.

A CTC output of length T is read by merging consecutive repeats and then dropping blanks.
``best_alignment`` finds the single most probable frame labelling that reads as the target, which
glancing training on CTC needs (the CUDA-only package the public GLAT+CTC code uses does the same).
Shapes: log-probs ``(B, T, V)``, targets ``(B, S)`` right-padded; lengths are ``(B,)`` tensors.
"""
import math

import torch

NEG_INF = float("-inf")


def compact(tokens, keep, pad, *others):
    """Move the kept entries of each row to the front, right-pad with ``pad`` (0 for ``others``).

    Returns ``(tokens, lengths, *others)`` cut to the longest kept row.
    """
    lengths = keep.sum(1)
    order = torch.sort((~keep).to(torch.uint8), dim=1, stable=True).indices
    width = int(lengths.max()) if tokens.size(0) > 0 else 0
    gone = torch.arange(width, device=tokens.device)[None, :] >= lengths[:, None]
    out = [tokens.gather(1, order)[:, :width].masked_fill(gone, pad), lengths]
    out += [x.gather(1, order)[:, :width].masked_fill(gone, 0) for x in others]
    return tuple(out)


def _kept_frames(frames, blank, lengths):
    B, T = frames.shape
    valid = torch.ones_like(frames, dtype=torch.bool)
    if lengths is not None:
        valid = torch.arange(T, device=frames.device)[None, :] < lengths[:, None]
    prev = torch.cat([frames.new_full((B, 1), -1), frames[:, :-1]], dim=1)
    return valid & frames.ne(prev) & frames.ne(blank)


def collapse(tokens, blank, lengths=None, pad=None):
    """Merge repeats, then remove blanks, row by row.

    Returns ``(out, out_lengths)``: ``out`` is ``(B, max_len)`` right-padded with ``pad``
    (``blank`` when ``pad`` is None).  Frames at or beyond ``lengths[b]`` are ignored.
    """
    keep = _kept_frames(tokens, blank, lengths)
    return compact(tokens, keep, blank if pad is None else pad)


def _extended(targets, blank):
    """Interleave blanks: ``y1 y2`` -> ``_ y1 _ y2 _`` (shape ``(B, 2S+1)``)."""
    B, S = targets.shape
    ext = targets.new_full((B, 2 * S + 1), blank)
    ext[:, 1::2] = targets
    return ext


def best_alignment(log_probs, targets, input_lengths, target_lengths, blank):
    """Most probable CTC alignment of each target (Viterbi over the blank-extended target).

    Returns ``(labels, scores)``: ``labels`` ``(B, T)`` holds, per frame, the target token or
    ``blank`` it is aligned to (``blank`` beyond ``input_lengths``), ``scores`` ``(B,)`` the path's
    summed log-prob, ``-inf`` when no alignment exists (target too long for the input).
    Ties go to the lowest-offset predecessor (stay before advance).
    """
    B, T, _ = log_probs.shape
    ext = _extended(targets, blank)
    N = ext.size(1)
    emit = log_probs.gather(2, ext[:, None, :].expand(B, T, N))           # (B, T, N)
    # s may come from s-2 when ext[s] is a label that differs from ext[s-2].
    skip_ok = ext.ne(blank)
    skip_ok[:, 2:] &= ext[:, 2:].ne(ext[:, :-2])
    skip_ok[:, :2] = False
    neg = emit.new_full((B, 1), NEG_INF)
    alpha = emit.new_full((B, N), NEG_INF)
    alpha[:, 0] = emit[:, 0, 0]
    if N > 1:
        alpha[:, 1] = emit[:, 0, 1]
    back = torch.zeros(B, T, N, dtype=torch.uint8, device=log_probs.device)
    for t in range(1, T):
        stay = alpha
        step = torch.cat([neg, alpha[:, :-1]], 1)
        jump = torch.cat([neg, neg, alpha[:, :-2]], 1).masked_fill(~skip_ok, NEG_INF)
        best, arg = torch.stack([stay, step, jump], 0).max(0)
        active = (t < input_lengths)[:, None]
        alpha = torch.where(active, best + emit[:, t], alpha)
        back[:, t] = torch.where(active, arg.to(torch.uint8), torch.zeros_like(back[:, t]))
    last = (2 * target_lengths).long()                                     # final blank state
    end_blank = alpha.gather(1, last[:, None])[:, 0]
    end_label = alpha.gather(1, (last - 1).clamp(min=0)[:, None])[:, 0]
    end_label = torch.where(target_lengths > 0, end_label, torch.full_like(end_label, NEG_INF))
    use_label = end_label > end_blank
    scores = torch.where(use_label, end_label, end_blank)
    state = torch.where(use_label, last - 1, last)
    labels = torch.full((B, T), blank, dtype=targets.dtype, device=targets.device)
    for t in range(T - 1, -1, -1):
        active = t < input_lengths
        labels[:, t] = torch.where(active, ext.gather(1, state[:, None])[:, 0], labels[:, t])
        state = state - back[:, t].gather(1, state[:, None])[:, 0].long()
    return labels, scores


def greedy_decode(log_probs, lengths, blank, pad):
    """Argmax per frame, then collapse: ``(tokens, out_lengths, token_scores)``.

    ``token_scores`` are the log-probs of the first frame of each kept token.
    """
    scores, frames = log_probs.max(-1)
    return compact(frames, _kept_frames(frames, blank, lengths), pad, scores)


def _logaddexp(a, b):
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    hi, lo = (a, b) if a > b else (b, a)
    return hi + math.log1p(math.exp(lo - hi))


def prefix_beam_search(log_probs, length, blank, beam=5):
    """CTC prefix beam search over one output's lattice ``(T, V)``: ``[(prefix, logp)]`` best first.

    Scores a prefix by the summed probability of all its alignments (blank / non-blank split,
    Graves 2006) instead of the single best path that greedy decoding follows.  Python loops,
    O(T * beam * beam): meant for short outputs and small beams.
    """
    lp = log_probs[:length].double().cpu()
    beams = {(): (0.0, NEG_INF)}          # prefix -> (log p ending in blank, ending in a label)

    def total(item):
        return _logaddexp(*item[1])

    for t in range(lp.size(0)):
        row = lp[t].tolist()
        top = sorted(range(len(row)), key=lambda v: -row[v])[:beam + 1]
        cand = {}

        def add(prefix, pb, pnb):
            ob, onb = cand.get(prefix, (NEG_INF, NEG_INF))
            cand[prefix] = (_logaddexp(ob, pb), _logaddexp(onb, pnb))

        for prefix, (pb, pnb) in beams.items():
            add(prefix, _logaddexp(pb, pnb) + row[blank], NEG_INF)
            for v in top:
                if v == blank:
                    continue
                if prefix and prefix[-1] == v:
                    add(prefix, NEG_INF, pnb + row[v])         # repeat merges into the token
                    add(prefix + (v,), NEG_INF, pb + row[v])   # a blank separated the repeat
                else:
                    add(prefix + (v,), NEG_INF, _logaddexp(pb, pnb) + row[v])
        beams = dict(sorted(cand.items(), key=lambda kv: -total(kv))[:beam])
    return [(list(p), total((p, s))) for p, s in sorted(beams.items(), key=lambda kv: -total(kv))]
