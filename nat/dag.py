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
import torch

NEG_INF = float("-inf")


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


class _ScaledForward(torch.autograd.Function):
    """``alphas`` (B x M x L) of the forward algorithm with per-step max shifts.

    Forward: one batched vector-matrix product per target position.  Backward: the same
    recursion in reverse (one product with the transposed links per position), and the link
    gradient as a single B x (L x M) @ (M x L) product at the end, instead of the M outer products
    plain autograd would build and accumulate.
    """

    @staticmethod
    def forward(ctx, trans, emit, col_shift):
        bsz, max_m, max_l = emit.shape
        start = torch.full((max_l,), NEG_INF, dtype=emit.dtype, device=emit.device)
        start[0] = 0.0
        alpha = emit[:, 0] + start
        alphas, weights, masses = [alpha], [], []
        for i in range(1, max_m):
            shift = _finite_or_zero(alpha.max(dim=-1, keepdim=True).values)
            weight = (alpha - shift).exp()
            mass = torch.bmm(weight.unsqueeze(1), trans).squeeze(1)
            positive = mass > 0
            log_mass = torch.where(positive, torch.where(positive, mass, 1.0).log(), NEG_INF)
            alpha = log_mass + shift + col_shift + emit[:, i]
            alphas.append(alpha)
            weights.append(weight)
            masses.append(mass)
        empty = emit.new_zeros(bsz, 0, max_l)
        ctx.save_for_backward(trans, torch.stack(weights, 1) if weights else empty,
                              torch.stack(masses, 1) if masses else empty)
        return torch.stack(alphas, dim=1)

    @staticmethod
    def backward(ctx, grad_alphas):
        trans, weights, masses = ctx.saved_tensors
        max_m = grad_alphas.size(1)
        grad_emit = grad_alphas.clone()
        if max_m == 1:
            return torch.zeros_like(trans), grad_emit, None
        trans_t = trans.transpose(1, 2).contiguous()
        grad_mass = torch.zeros_like(masses)
        grad = grad_emit[:, max_m - 1]
        for i in range(max_m - 1, 0, -1):
            mass = masses[:, i - 1]
            positive = mass > 0
            g_mass = torch.where(positive, grad / torch.where(positive, mass, 1.0), 0.0)
            grad_mass[:, i - 1] = g_mass
            g_weight = torch.bmm(g_mass.unsqueeze(1), trans_t).squeeze(1)
            grad_emit[:, i - 1] += g_weight * weights[:, i - 1]
            grad = grad_emit[:, i - 1]
        grad_trans = torch.bmm(weights.transpose(1, 2), grad_mass)
        return grad_trans, grad_emit, None


def dag_log_likelihood(links, target_emissions, target_lengths, graph_lengths,
                       dtype=torch.float32):
    """``log sum_paths P(path, target)`` for each batch item (B,); ``-inf`` if no path exists.

    Forward algorithm over target positions, in log space: ``alpha_i[u] = log P(y_0..y_i, a_i=u)``.
    Each step ``alpha_{i+1}[u] = logsumexp_v(alpha_i[v] + links[v, u]) + emit[i+1, u]`` is done as
    one batched vector-matrix product of max-shifted exponentials (``_ScaledForward``), keeping
    O(B x M x L) for the backward pass besides the B x L x L links, not the O(B x M x L x L) that
    autograd through a broadcast ``logsumexp`` would keep.  Shifts: the running max of ``alpha``
    and the per-column max of ``links`` (they cancel exactly); ``band_mask`` prunes prefixes that
    cannot complete.  Runs in ``dtype`` (or the inputs' wider type); the result is exact except
    that a term further than ~87 (float32) / ~708 (float64) nats below both shifts underflows,
    which only drops mass (the likelihood stays a lower bound).  float64 is the safe choice for
    very peaked models; float32 is faster.
    """
    dtype = torch.promote_types(links.dtype, dtype)
    links = links.to(dtype)
    emit = target_emissions.to(dtype).masked_fill(
        ~band_mask(target_lengths, graph_lengths, *target_emissions.shape[1:]), NEG_INF)
    col_shift = _finite_or_zero(links.max(dim=1).values).detach()       # B x L
    trans = (links - col_shift[:, None, :]).exp()                        # B x L x L, in [0, 1]
    alphas = _ScaledForward.apply(trans, emit, col_shift)               # B x M x L
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
    """Tokens/scores along ``path`` (B x P, -1 = none), left-packed and ``pad``-filled."""
    valid = path >= 0
    index = path.clamp(min=0)
    toks = tokens.gather(1, index)
    scores = vertex_scores.gather(1, index)
    if dedup:
        repeat = torch.zeros_like(valid)
        repeat[:, 1:] = toks[:, 1:] == toks[:, :-1]
        valid = valid & ~repeat
    # stable left-packing: sort by (invalid, position)
    order = torch.argsort((~valid).long() * path.size(1)
                          + torch.arange(path.size(1), device=path.device), dim=1)
    valid = valid.gather(1, order)
    toks = toks.gather(1, order).masked_fill(~valid, pad)
    scores = scores.gather(1, order).masked_fill(~valid, 0.0)
    width = max(int(valid.sum(1).max()), 1)
    return toks[:, :width], scores[:, :width]


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
