"""Directed-acyclic-graph (DA-Transformer, Huang et al. 2022) math in pure torch.

A decoder with ``L`` vertices is a DAG: vertex ``v`` links to every later vertex ``u > v`` with
log-probability ``links[v, u]`` (each row a distribution over later vertices) and emits token
``y`` with log-probability ``emissions[v, y]``.  A target ``y_0 .. y_{M-1}`` is produced by a path
``0 = a_0 < a_1 < ... < a_{M-1} = L-1`` with probability
``prod_i emissions[a_i, y_i] * prod_i links[a_i, a_{i+1}]``; the loss sums over all paths.

Shapes: ``links`` B x L x L (log-probabilities, ``-inf`` where no edge), ``target_emissions``
B x M x L (``log P(y_i | v)``, see ``gather_emissions``), ``graph_lengths`` / ``target_lengths``
B (``L_b`` and ``M_b``; vertices ``>= L_b`` and positions ``>= M_b`` are padding).
Every function is batched and vectorised; Python loops run over target positions or path steps
only, never over batch items, so everything runs unchanged on CPU and CUDA.
"""
import math

import torch
import torch.nn.functional as F

NEG_INF = float("-inf")
#: columns per exactly recomputed tile of the forward algorithm (see ``_BandForward``)
TILE = 16


def link_mask(graph_lengths, max_length):
    """B x L x L bool: the edge ``v -> u`` exists iff ``v < u < L_b``."""
    idx = torch.arange(max_length, device=graph_lengths.device)
    causal = idx[None, :, None] < idx[None, None, :]
    return causal & (idx[None, None, :] < graph_lengths[:, None, None])


def log_links(scores, graph_lengths, log_gates=None):
    """Normalise raw link scores over the allowed later vertices (log-softmax per row).

    ``scores``: B x L x L, or B x H x L x L for H link heads mixed per source vertex by
    ``log_gates`` (B x H x L, log-weights summing to one over H).  Rows without any edge (the last
    vertex, padding) become all ``-inf`` without NaNs, in the values or in the gradients.
    """
    mask = link_mask(graph_lengths, scores.size(-1))
    if scores.dim() == 4:
        mask = mask[:, None]
    lowest = torch.finfo(scores.dtype).min
    logp = torch.log_softmax(scores.masked_fill(~mask, lowest), dim=-1)   # finite everywhere
    if scores.dim() == 4:
        logp = torch.logsumexp(logp + log_gates[..., None], dim=1)
        mask = mask[:, 0]
    return logp.masked_fill(~mask, NEG_INF)


def gather_emissions(log_probs, target):
    """B x M x L ``log P(target_i | v)`` from B x L x V per-vertex log-probabilities."""
    index = target[:, None, :].expand(-1, log_probs.size(1), -1)
    return log_probs.gather(2, index).transpose(1, 2)


def band_mask(target_lengths, graph_lengths, max_m, max_l):
    """B x M x L bool: position ``i`` can sit on vertex ``v`` of a complete path, i.e.
    ``i <= v`` and ``L_b - 1 - v >= M_b - 1 - i``.  Pruning the rest is exact, and keeps
    dead-end prefixes from dominating the scaling shift of the forward algorithm."""
    pos = torch.arange(max_m, device=graph_lengths.device)[None, :, None]
    vert = torch.arange(max_l, device=graph_lengths.device)[None, None, :]
    left = (graph_lengths - target_lengths)[:, None, None]
    return (pos <= vert) & (vert - pos <= left) & (pos < target_lengths[:, None, None])


def _finite_or_zero(x):
    return torch.where(torch.isfinite(x), x, torch.zeros_like(x))


def _exp_floor(dtype):
    """Below this, ``exp`` is treated as 0: ``e x finfo.tiny`` (smallest normal) in log."""
    return math.log(torch.finfo(dtype).tiny) + 1.0


def _exp_or_zero_(x):
    """In place: ``exp(x)``, exactly 0 where that is below ``e x finfo.tiny`` (``-inf``
    included).  Clamping first keeps ``exp`` off its underflow slow path: on CPU, ``exp`` with
    a subnormal or zero result runs about 100x slower (measured, float32 and float64), and
    most terms of a peaked model are there."""
    floor = _exp_floor(x.dtype)
    below = x < floor
    return x.clamp_(min=floor).exp_().masked_fill_(below, 0.0)


def _logsumexp_rows_(terms):
    """``logsumexp`` over dim 1 of B x R x C ``terms`` (consumed); ``-inf`` for all-``-inf``.
    Terms below ``_exp_floor`` count as ``exp(_exp_floor)``: at most R x e x tiny more than the
    largest term's 1, far below rounding."""
    top = terms.amax(dim=1)
    dead = torch.isinf(top)
    top = top.masked_fill_(dead, 0.0)
    floor = _exp_floor(terms.dtype)
    total = terms.sub_(top[:, None, :]).clamp_(min=floor).exp_().sum(1)     # >= 1 where alive
    return total.log_().add_(top).masked_fill_(dead, NEG_INF)


def _headroom_bits(dtype, width):
    """``k``: the fast path scales its row weights by ``2^k``, the largest to ``2^k`` instead of
    1, so that rows ``k ln 2`` nats further down stay representable while a sum of ``width``
    products stays finite.  float32: k ~ 115 (~80 nats, doubling its range); float64: 0 (its
    range is ample, and its weight x 1/mass products at the end would overflow even float64)."""
    info = torch.finfo(dtype)
    if info.bits >= 64:
        return 0
    return max(int(math.log2(info.max) - math.log2(width)) - 2, 0)


def _row_weights(alpha, top, bits):
    """``2^bits x exp(alpha - top)``, exactly 0 below ``e x tiny``.  A power of two scales
    exactly: rows within the plain exponent range keep full precision; rows below it (where
    ``exp(alpha - top)`` alone would underflow) get ``exp(alpha - top + bits ln 2)``."""
    gap = alpha - top
    weight = _exp_or_zero_(gap.clone()).mul_(2.0 ** bits)
    if bits:
        deep = gap < _exp_floor(alpha.dtype)
        weight = torch.where(deep, _exp_or_zero_(gap.add_(bits * math.log(2.0))), weight)
    return weight


def _log_scaled(mass, bits):
    """``log(mass / 2^bits)``, exactly scaled first wherever that stays normal."""
    if not bits:
        return mass.log()
    scaled = mass * 2.0 ** -bits
    normal = scaled >= torch.finfo(mass.dtype).tiny
    return torch.where(normal, scaled.log_(), mass.log().sub_(bits * math.log(2.0)))


def band_width(target_lengths, graph_lengths):
    """``W = max_b (L_b - M_b) + 1``: position ``i`` of a complete path sits on a vertex in
    ``[i, i + W)``."""
    return int((graph_lengths - target_lengths).max().clamp(min=0)) + 1


class _BandForward(torch.autograd.Function):
    """``alphas`` (B x M x L) of the forward algorithm, exact in log space, over the band.

    Step ``i`` maps ``alpha_{i-1}`` on vertices ``[i-1, i-1+W)`` to ``alpha_i`` on ``[i, i+W)``
    through that W x W block of the links.  Fast path, one batched vector-matrix product per
    step: ``mass_u = sum_v w_v * T[v, u]``, ``w_v = 2^k exp(alpha_v - s)`` (``s`` the largest
    ``alpha_v``; ``2^k`` the headroom of ``_headroom_bits``), ``T = exp(links - c_u)`` computed
    once (``c_u``: the largest link into ``u`` from a vertex that can precede it).  Every
    factor and product is exact to rounding or below ``e x finfo.tiny`` (then dropped, as are
    links that far below ``c_u``), so a column with
    ``mass_u >= 4 e tiny / eps x (W + sum of the weights of its dropped links)`` is exact to
    rounding: what it dropped is below its own rounding.  Any other live column (its best term
    far below ``s + c_u``: a peaked model, a band corner far from the band's peak) is
    recomputed exactly, with its tile of ``tile`` columns, for the batch items that need it: a
    ``logsumexp`` of ``alpha_v + links[v, u]`` over the rows that can reach it.  So every entry
    equals the plain ``logsumexp`` recursion up to rounding, in float32 as in float64, for any
    logit scale, at the speed of matrix products wherever the shifts suffice.

    Backward: the same recursion in reverse: fast columns by products with the transposed block
    (their link gradient as one B x (L x M) @ (M x L) product at the end, in float64: weights
    up to ``2^k`` times ``1/mass`` need its range), recomputed tiles by their exact posteriors
    ``exp(alpha_v + links[v, u] - pre_u)``.  Saved: O(B x M x L) besides the links and ``T``,
    never O(B x M x L x L).  All ``exp`` inputs are clamped above the underflow threshold
    (``_exp_or_zero_``), which on CPU is ~100x faster than letting ``exp`` underflow.
    """

    @staticmethod
    def forward(ctx, links, emit, width, tile):
        bsz, max_m, max_l = emit.shape
        info = torch.finfo(emit.dtype)
        unit = 4 * math.exp(_exp_floor(emit.dtype)) / info.eps
        bits = _headroom_bits(emit.dtype, width)
        idx = torch.arange(max_l, device=links.device)
        reach = idx[None, :] - idx[:, None] <= width      # v can precede u inside the band
        trans = links.masked_fill(~reach, NEG_INF)
        col = _finite_or_zero(trans.amax(dim=1))                                   # B x L
        trans = trans.sub_(col[:, None, :])
        lost = None             # links dropped from T (finite, below the floor): with weights
        if bits:                # above 1 they can matter, so their weight is bounded per column
            lost = (trans < _exp_floor(emit.dtype)) & torch.isfinite(trans)
            lost = lost.to(emit.dtype) if bool(lost.any()) else None
        trans = _exp_or_zero_(trans)                                               # in [0, 1]
        alphas = emit.new_full((bsz, max_m, max_l), NEG_INF)
        alphas[:, 0, 0] = emit[:, 0, 0]
        weights = emit.new_zeros(bsz, max_m - 1, max_l)
        masses = emit.new_zeros(bsz, max_m - 1, max_l)
        pres = emit.new_full((bsz, max_m - 1, max_l), NEG_INF)
        tiles = []
        for i in range(1, max_m):
            v0, u0 = i - 1, i
            v1, u1 = min(v0 + width, max_l), min(u0 + width, max_l)
            if u1 <= u0:
                tiles.append(())
                continue
            alpha = alphas[:, i - 1, v0:v1]
            shift = _finite_or_zero(alpha.amax(dim=-1, keepdim=True))
            weight = _row_weights(alpha, shift, bits)                     # in [0, 2^bits]
            mass = torch.bmm(weight.unsqueeze(1), trans[:, v0:v1, u0:u1]).squeeze(1)
            if lost is None:
                fast = mass >= unit * width
            else:
                dropped = torch.bmm(weight.unsqueeze(1), lost[:, v0:v1, u0:u1]).squeeze(1)
                fast = mass >= dropped.add_(width).mul_(unit)
            pre = _log_scaled(torch.where(fast, mass, 1.0), bits).add_(shift + col[:, u0:u1])
            pre = pre.masked_fill_(~fast, NEG_INF)
            slow = ~fast & torch.isfinite(emit[:, i, u0:u1])
            n_tiles = -(-(u1 - u0) // tile)
            flags = F.pad(slow, (0, n_tiles * tile - (u1 - u0))).view(bsz, n_tiles, tile).any(2)
            redo = []
            for k in [k for k, flag in enumerate(flags.any(0).tolist()) if flag]:
                q0, q1 = k * tile, min((k + 1) * tile, u1 - u0)
                rows = min(q1, v1 - v0)           # row p reaches column q only if p <= q
                items = flags[:, k].nonzero().squeeze(1)            # only the items that need it
                terms = alpha[items, :rows, None] + links[items, v0:v0 + rows, u0 + q0:u0 + q1]
                pre[items, q0:q1] = _logsumexp_rows_(terms)
                fast[items, q0:q1] = False
                redo.append((k, items))
            weights[:, i - 1, v0:v1] = weight
            masses[:, i - 1, u0:u1] = mass.masked_fill_(~fast, 0.0)
            pres[:, i - 1, u0:u1] = pre
            alphas[:, i, u0:u1] = pre + emit[:, i, u0:u1]
            tiles.append(redo)
        ctx.width, ctx.tile, ctx.tiles = width, tile, tiles
        ctx.save_for_backward(links, trans, alphas, weights, masses, pres)
        return alphas

    @staticmethod
    def backward(ctx, grad_alphas):
        links, trans, alphas, weights, masses, pres = ctx.saved_tensors
        width, tile = ctx.width, ctx.tile
        max_m, max_l = grad_alphas.shape[1:]
        floor = _exp_floor(links.dtype)
        grad_emit = grad_alphas.clone()
        grad_links = torch.zeros_like(links)
        if max_m == 1:
            return grad_links, grad_emit, None, None
        grad_mass = torch.zeros_like(masses)
        for i in range(max_m - 1, 0, -1):
            v0, u0 = i - 1, i
            v1, u1 = min(v0 + width, max_l), min(u0 + width, max_l)
            if u1 <= u0:
                continue
            grad = grad_emit[:, i, u0:u1]
            mass = masses[:, i - 1, u0:u1]
            fast = mass > 0
            g_mass = torch.where(fast, grad, 0.0).div_(torch.where(fast, mass, 1.0))
            grad_mass[:, i - 1, u0:u1] = g_mass
            grad_prev = torch.bmm(g_mass.unsqueeze(1),
                                  trans[:, v0:v1, u0:u1].transpose(1, 2)).squeeze(1)
            grad_prev.mul_(weights[:, i - 1, v0:v1])
            for k, items in ctx.tiles[i - 1]:
                q0, q1 = k * tile, min((k + 1) * tile, u1 - u0)
                rows = min(q1, v1 - v0)
                pre = pres[items, i - 1, u0 + q0:u0 + q1]
                live = torch.isfinite(pre)
                post = alphas[items, i - 1, v0:v0 + rows, None] \
                    + links[items, v0:v0 + rows, u0 + q0:u0 + q1]
                post = post.sub_(pre.masked_fill(~live, 0.0)[:, None, :])
                post = post.clamp_(min=floor).exp_()       # off-band: e x tiny, not 0; harmless
                post.mul_(grad[items, q0:q1].masked_fill(~live, 0.0)[:, None, :])
                grad_links[items, v0:v0 + rows, u0 + q0:u0 + q1] += post
                grad_prev[items, :rows] += post.sum(2)
            grad_emit[:, i - 1, v0:v1] += grad_prev
        wide = torch.promote_types(links.dtype, torch.float64)    # weights x 1/mass: no overflow
        grad_links += torch.bmm(weights.transpose(1, 2).to(wide), grad_mass.to(wide)).mul_(trans)
        return grad_links, grad_emit, None, None


def dag_log_likelihood(links, target_emissions, target_lengths, graph_lengths,
                       dtype=torch.float32, tile=TILE):
    """``log sum_paths P(path, target)`` for each batch item (B,); ``-inf`` if no path exists.

    Forward algorithm over target positions, in log space: ``alpha_i[u] = log P(y_0..y_i, a_i=u)``,
    ``alpha_{i+1}[u] = logsumexp_v(alpha_i[v] + links[v, u]) + emit[i+1, u]``, restricted to the
    band of vertices a position can occupy on a complete path (``band_mask``, width
    ``band_width``).  ``_BandForward`` does each step as a matrix product of shifted
    exponentials and recomputes by an exact ``logsumexp`` every column where the shifts could
    lose mass: values and gradients equal the plain recursion (DA-Transformer's) up to the
    rounding of ``dtype``, in float32 as in float64, for any logit scale; no target that fits
    its graph comes out ``-inf``.  float32 recomputes more columns (its exponent range is
    smaller), so on CPU it is no faster than float64 (measured with ``nat-bench dag``).  Memory
    O(B x M x L) for the backward pass besides the B x L x L links, not the O(B x M x L x L) of
    autograd through a broadcast ``logsumexp``.  Runs in ``dtype`` (or the inputs' wider type);
    ``tile``: columns per exactly recomputed tile.
    """
    dtype = torch.promote_types(links.dtype, dtype)
    links = links.to(dtype)
    emit = target_emissions.to(dtype).masked_fill(
        ~band_mask(target_lengths, graph_lengths, *target_emissions.shape[1:]), NEG_INF)
    width = band_width(target_lengths, graph_lengths)
    alphas = _BandForward.apply(links, emit, width, tile)               # B x M x L
    batch = torch.arange(emit.size(0), device=emit.device)
    return alphas[batch, target_lengths - 1, graph_lengths - 1]


def dag_loss(links, target_emissions, target_lengths, graph_lengths, dtype=torch.float32):
    """Per-item negative log-likelihood (B,), ``inf`` where the target cannot fit the graph."""
    return -dag_log_likelihood(links, target_emissions, target_lengths, graph_lengths, dtype)


@torch.no_grad()
def best_alignment(links, target_emissions, target_lengths, graph_lengths):
    """Viterbi path for a given target: (B x M vertex per position, B best log-score).

    Positions ``>= M_b`` hold 0.  Used by glancing training to pick the vertices that get
    reference tokens.  Memory: O(B x M x L) back-pointers plus one B x L x L scratch per step.
    """
    bsz, max_m, max_l = target_emissions.shape
    emit = target_emissions.to(links.dtype)
    delta = torch.full((bsz, max_l), NEG_INF, dtype=links.dtype, device=links.device)
    delta[:, 0] = emit[:, 0, 0]
    deltas, pointers = [delta], [torch.zeros_like(delta, dtype=torch.long)]
    for i in range(1, max_m):
        best, arg = (delta[:, :, None] + links).max(dim=1)
        delta = best + emit[:, i]
        deltas.append(delta)
        pointers.append(arg)
    deltas, pointers = torch.stack(deltas, 1), torch.stack(pointers, 1)  # B x M x L
    batch = torch.arange(bsz, device=links.device)
    score = deltas[batch, target_lengths - 1, graph_lengths - 1]
    path = torch.zeros(bsz, max_m, dtype=torch.long, device=links.device)
    cur = graph_lengths - 1
    for i in range(max_m - 1, -1, -1):
        active = i < target_lengths
        cur = torch.where(i == target_lengths - 1, graph_lengths - 1, cur)
        path[:, i] = torch.where(active, cur, 0)
        cur = torch.where(active, pointers[batch, i, cur], cur)
    return path, score


def _follow(successor, graph_lengths):
    """Vertices visited from 0 by ``successor`` (B x L) until ``L_b - 1``: B x P (-1 padded)."""
    bsz, max_l = successor.shape
    cur = torch.zeros(bsz, dtype=torch.long, device=successor.device)
    steps = [cur]
    done = cur >= graph_lengths - 1
    for _ in range(max_l - 1):
        if bool(done.all()):
            break
        nxt = successor.gather(1, cur[:, None]).squeeze(1)
        cur = torch.where(done, cur, nxt)
        steps.append(torch.where(done, -1, cur))
        done = done | (cur >= graph_lengths - 1)
    return torch.stack(steps, 1)


def _path_tokens(path, tokens, vertex_scores, pad, dedup):
    """Tokens/scores along ``path`` (B x P, -1 = none), left-packed and ``pad``-filled.

    As DA-Transformer's decoders: a vertex whose best token is ``pad`` emits nothing (every real
    token is kept), and with ``dedup`` a token equal to the previous vertex's token on the path
    (pad included) is merged into it.
    """
    valid = path >= 0
    index = path.clamp(min=0)
    toks = tokens.gather(1, index)
    scores = vertex_scores.gather(1, index)
    if dedup:
        repeat = torch.zeros_like(valid)
        repeat[:, 1:] = toks[:, 1:] == toks[:, :-1]
        valid = valid & ~repeat
    valid = valid & toks.ne(pad)
    # stable left-packing: sort by (invalid, position)
    order = torch.argsort((~valid).long() * path.size(1)
                          + torch.arange(path.size(1), device=path.device), dim=1)
    valid = valid.gather(1, order)
    toks = toks.gather(1, order).masked_fill(~valid, pad)
    scores = scores.gather(1, order).masked_fill(~valid, 0.0)
    width = max(int(valid.sum(1).max()), 1)
    return toks[:, :width], scores[:, :width]


def close_outputs(tokens, scores, pad, bos, eos):
    """Decoded rows (left-packed, ``pad``-filled) made to start with ``bos`` and end with
    ``eos``: each is inserted (score 0) where the row does not already have it, no token is
    replaced.  Returns (tokens, scores, B positions of the final eos)."""
    bsz, width = tokens.shape
    lengths = tokens.ne(pad).sum(1)
    add_bos = (lengths == 0) | tokens[:, 0].ne(bos)
    pos = torch.arange(width, device=tokens.device)[None, :] + add_bos.long()[:, None]
    out = tokens.new_full((bsz, width + 2), pad).scatter(1, pos, tokens)
    out_scores = scores.new_zeros(bsz, width + 2).scatter(1, pos, scores)
    out[:, 0] = torch.where(add_bos, bos, out[:, 0])
    end = lengths + add_bos.long()                                  # tokens so far, >= 1
    add_eos = out.gather(1, (end - 1)[:, None]).squeeze(1).ne(eos)
    out.scatter_(1, end[:, None], torch.where(add_eos, eos, pad)[:, None])
    eos_at = torch.where(add_eos, end, end - 1)
    keep = int(eos_at.max()) + 1
    return out[:, :keep], out_scores[:, :keep], eos_at


def _best_tokens(log_probs):
    scores, tokens = log_probs.max(dim=-1)
    return tokens, scores


@torch.no_grad()
def greedy_decode(links, log_probs, graph_lengths, pad, dedup=False):
    """From vertex 0 follow the most likely link until ``L_b - 1``; emit each vertex's argmax.

    Returns (B x T tokens, ``pad``-filled; B x T per-token log-probabilities).
    """
    tokens, scores = _best_tokens(log_probs)
    successor = links.argmax(dim=-1)
    return _path_tokens(_follow(successor, graph_lengths), tokens, scores, pad, dedup)


@torch.no_grad()
def lookahead_decode(links, log_probs, graph_lengths, pad, dedup=False):
    """Like greedy, but choose the next vertex and its token jointly:
    ``argmax_u links[v, u] + max_y log P(y | u)``."""
    tokens, scores = _best_tokens(log_probs)
    successor = (links + scores[:, None, :]).argmax(dim=-1)
    return _path_tokens(_follow(successor, graph_lengths), tokens, scores, pad, dedup)


@torch.no_grad()
def viterbi_decode(links, log_probs, graph_lengths, pad, length_penalty=1.0, dedup=False,
                   max_length=None):
    """Best path per output length, then the length maximising ``score / length**penalty``.

    Tokens are each vertex's argmax; ``score`` of a path with ``m`` vertices is the sum of its
    links and token log-probabilities.  O(L) steps of B x L x L work; back-pointers B x L x L.
    ``max_length`` caps ``m`` (default: ``L``).
    """
    tokens, scores = _best_tokens(log_probs)
    bsz, max_l = scores.shape
    steps = max_l if max_length is None else min(max_l, max_length)
    batch = torch.arange(bsz, device=links.device)
    last = graph_lengths - 1
    delta = torch.full_like(scores, NEG_INF)
    delta[:, 0] = scores[:, 0]
    ends = [torch.where(last == 0, delta[:, 0], NEG_INF)]
    pointers = [torch.zeros_like(tokens)]
    for _ in range(1, steps):
        best, arg = (delta[:, :, None] + links).max(dim=1)
        delta = best + scores
        ends.append(delta[batch, last])
        pointers.append(arg)
    ends, pointers = torch.stack(ends, 1), torch.stack(pointers, 1)     # B x S, B x S x L
    lengths = torch.arange(1, steps + 1, device=links.device, dtype=scores.dtype)
    normed = ends / lengths ** length_penalty
    normed = torch.where(torch.isfinite(ends), normed, NEG_INF)
    best_m = normed.argmax(dim=1)                                        # path length - 1
    path = torch.full((bsz, steps), -1, dtype=torch.long, device=links.device)
    cur = last.clone()
    for i in range(steps - 1, -1, -1):
        active = i <= best_m
        path[:, i] = torch.where(active, cur, -1)
        cur = torch.where(active, pointers[batch, i, cur], cur)
    return _path_tokens(path, tokens, scores, pad, dedup)
