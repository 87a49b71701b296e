"""Source-to-decoder-length upsampling: the decoder input of length-free NATs (CTC, DAG).

The decoder sees the source token embeddings stretched to its own length ``L``: output position
``j`` reads source rank ``floor(j * n / L)`` (copy; an integer scale copies each token exactly
``scale`` times) or a linear blend of the two nearest ranks (interpolate).  Ranks count non-pad
tokens, so left- and right-padded batches give the same rows as unpadded single sentences.
"""
import torch


def upsampled_lengths(src_lengths, scale, min_length=1):
    """Decoder lengths ``floor(scale * n)`` (at least ``min_length``)."""
    return torch.floor(src_lengths.to(torch.float64) * float(scale)).long().clamp(min=min_length)


def nonpad_index(mask):
    """``(B, T)``: column ``r`` holds the position of the ``r``-th valid token of each row.

    An argsort of distinct keys (invalid after valid, then by position) rather than a stable
    sort, which ONNX cannot express."""
    width = mask.size(1)
    key = (~mask).long() * width + torch.arange(width, device=mask.device)
    return torch.argsort(key, dim=1)


def _gather_rank(src, order, rank):
    idx = order.gather(1, rank)
    return src.gather(1, idx[:, :, None].expand(-1, -1, src.size(-1)))


def upsample(src, src_mask, out_mask, mode="copy"):
    """Stretch ``src`` ``(B, T, C)`` (valid where ``src_mask``) to ``out_mask``'s length.

    ``out_mask``: ``(B, L)`` bool, valid decoder positions (right-padded).  Returns ``(B, L, C)``,
    zero at invalid positions.
    """
    n = src_mask.sum(1).clamp(min=1)
    L = out_mask.sum(1).clamp(min=1)
    j = torch.arange(out_mask.size(1), device=src.device)[None, :]
    order = nonpad_index(src_mask)
    if mode == "copy":
        rank = torch.div(j * n[:, None], L[:, None], rounding_mode="floor")
        out = _gather_rank(src, order, torch.minimum(rank, (n - 1)[:, None]))
    elif mode == "interpolate":
        step = (n - 1).to(src.dtype) / (L - 1).clamp(min=1).to(src.dtype)
        pos = j.to(src.dtype) * step[:, None]
        lo = torch.minimum(pos.floor().long(), (n - 1)[:, None])
        hi = torch.minimum(lo + 1, (n - 1)[:, None])
        w = (pos - lo.to(src.dtype)).clamp(0, 1)[:, :, None]
        out = (1 - w) * _gather_rank(src, order, lo) + w * _gather_rank(src, order, hi)
    else:
        raise ValueError(f"unknown upsampling mode {mode!r} (copy or interpolate)")
    return out.masked_fill(~out_mask[:, :, None], 0.0)
