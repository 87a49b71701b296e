"""nat.dag against brute force: every path of tiny graphs enumerated explicitly."""
import itertools
import math

import pytest
import torch

from nat import dag

PAD = -7


def random_case(seed, graph_lengths, target_lengths, vocab=5, dtype=torch.float64, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    graph_lengths = torch.tensor(graph_lengths)
    target_lengths = torch.tensor(target_lengths)
    bsz, max_l, max_m = len(graph_lengths), int(graph_lengths.max()), int(target_lengths.max())
    scores = torch.randn(bsz, max_l, max_l, generator=gen, dtype=dtype) * scale
    logits = torch.randn(bsz, max_l, vocab, generator=gen, dtype=dtype) * scale
    target = torch.randint(vocab, (bsz, max_m), generator=gen)
    return scores, logits, target, graph_lengths, target_lengths


def paths(length, size):
    """All vertex sequences 0 = a_0 < ... < a_{size-1} = length - 1."""
    if size == 1:
        return [(0,)] if length == 1 else []
    return [(0,) + mid + (length - 1,)
            for mid in itertools.combinations(range(1, length - 1), size - 2)]


def path_score(links, emit, path):
    """links: L x L; emit: M x L (log P(y_i | v))."""
    total = sum(float(emit[i, v]) for i, v in enumerate(path))
    return total + sum(float(links[a, b]) for a, b in zip(path, path[1:]))


def brute_force(links, emit, m, length, reduce):
    scores = [path_score(links, emit, p) for p in paths(length, m)]
    if not scores:
        return -math.inf, None
    if reduce == "sum":
        return float(torch.logsumexp(torch.tensor(scores, dtype=torch.float64), 0)), None
    best = max(range(len(scores)), key=scores.__getitem__)
    return scores[best], paths(length, m)[best]


CASES = [((6, 5, 3, 4, 1), (4, 3, 2, 4, 1)),
         ((7, 7, 2), (7, 3, 2)),
         ((5, 3), (5, 4))]          # last item: target longer than its graph -> no path


def logsumexp_reference(links, emit, target_lengths, graph_lengths):
    """The recursion written out as DA-Transformer's torch version does it: a broadcast
    ``logsumexp`` over all B x L x L terms per target position (autograd through it)."""
    def logsumexp(x):                   # without NaN gradients where a column is all -inf
        top = x.amax(dim=1).detach()
        dead = torch.isinf(top)
        top = torch.where(dead, 0.0, top)
        total = (x - top[:, None]).exp().sum(1)
        return torch.where(dead, -math.inf, torch.where(dead, 1.0, total).log() + top)

    alpha = torch.full_like(emit[:, 0], -math.inf)
    alpha[:, 0] = emit[:, 0, 0]
    alphas = [alpha]
    for i in range(1, emit.size(1)):
        alpha = logsumexp(alpha[:, :, None] + links) + emit[:, i]
        alphas.append(alpha)
    batch = torch.arange(emit.size(0))
    return torch.stack(alphas, 1)[batch, target_lengths - 1, graph_lengths - 1]


@pytest.mark.parametrize("scale,dtype,rel", [(1.0, torch.float64, 1e-9),
                                              (300.0, torch.float64, 1e-12),
                                              (300.0, torch.float32, 1e-6)])
@pytest.mark.parametrize("lengths", CASES)
def test_loss_equals_log_sum_over_all_paths(lengths, scale, dtype, rel):
    scores, logits, target, glen, tlen = random_case(1, *lengths, scale=scale)
    links = dag.log_links(scores, glen)
    emit = dag.gather_emissions(torch.log_softmax(logits, -1), target)
    got = dag.dag_log_likelihood(links.to(dtype), emit.to(dtype), tlen, glen, dtype=dtype)
    assert got.dtype == dtype
    for b in range(len(glen)):
        want, _ = brute_force(links[b], emit[b], int(tlen[b]), int(glen[b]), "sum")
        assert got[b].item() == pytest.approx(want, rel=rel, abs=1e-9) or \
            (want == -math.inf and got[b].item() == -math.inf)
    assert torch.equal(dag.dag_loss(links.to(dtype), emit.to(dtype), tlen, glen, dtype=dtype),
                       -got)


def test_links_are_causal_distributions_over_later_vertices():
    scores, _, _, glen, _ = random_case(2, (5, 3), (2, 2))
    links = dag.log_links(scores, glen)
    for b, length in enumerate(glen.tolist()):
        for v in range(links.size(1)):
            row = links[b, v].exp()
            allowed = [u for u in range(links.size(2)) if v < u < length]
            assert torch.all(row[[u for u in range(links.size(2)) if u not in allowed]] == 0)
            if allowed:
                assert row.sum().item() == pytest.approx(1.0)


def test_link_heads_mix_row_distributions_by_their_gates():
    scores, _, _, glen, _ = random_case(9, (5, 3), (2, 2))
    heads = torch.stack([scores, scores.flip(-1) * 2, -scores], 1)          # B x 3 x L x L
    gates = torch.log_softmax(torch.randn(2, 3, 5, dtype=torch.float64), 1)
    mixed = dag.log_links(heads, glen, gates)
    want = sum(gates[:, h, :, None].exp() * dag.log_links(heads[:, h], glen).exp()
               for h in range(3))
    assert torch.allclose(mixed.exp(), want)
    heads.requires_grad_(True)
    dag.log_links(heads, glen, gates)[:, 0, 1:].sum().backward()
    assert torch.isfinite(heads.grad).all()


@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_gradients_match_finite_differences(scale):
    """scale 1000: link/token log-probabilities spread over thousands of nats, beyond float64's
    exponent range, so the exact recomputation (and its backward) is exercised too."""
    scores, logits, target, glen, tlen = random_case(3, (5, 4), (3, 4), vocab=3, scale=scale)
    scores.requires_grad_(True)
    logits.requires_grad_(True)

    def nll(s, lg):
        emit = dag.gather_emissions(torch.log_softmax(lg, -1), target)
        return dag.dag_loss(dag.log_links(s, glen), emit, tlen, glen)

    assert torch.autograd.gradcheck(nll, (scores, logits), fast_mode=True)
    nll(scores, logits).sum().backward()
    assert torch.isfinite(scores.grad).all() and torch.isfinite(logits.grad).all()
    assert scores.grad.abs().sum() > 0


def test_batched_equals_per_example():
    scores, logits, target, glen, tlen = random_case(4, (6, 2, 5, 4), (3, 2, 5, 2))
    lprobs = torch.log_softmax(logits, -1)
    links = dag.log_links(scores, glen)
    batched = dag.dag_log_likelihood(links, dag.gather_emissions(lprobs, target), tlen, glen)
    path, best = dag.best_alignment(links, dag.gather_emissions(lprobs, target), tlen, glen)
    for b in range(len(glen)):
        L, M = int(glen[b]), int(tlen[b])
        one_links = dag.log_links(scores[b:b + 1, :L, :L], glen[b:b + 1])
        one_emit = dag.gather_emissions(lprobs[b:b + 1, :L], target[b:b + 1, :M])
        one = dag.dag_log_likelihood(one_links, one_emit, tlen[b:b + 1], glen[b:b + 1])
        assert one.item() == pytest.approx(batched[b].item(), rel=1e-12)
        one_path, one_best = dag.best_alignment(one_links, one_emit, tlen[b:b + 1], glen[b:b + 1])
        assert one_path[0].tolist() == path[b, :M].tolist()
        assert one_best.item() == pytest.approx(best[b].item(), rel=1e-12)


@pytest.mark.parametrize("scale,dtype,rtol", [(3.0, torch.float32, 1e-5),
                                               (40.0, torch.float64, 1e-6)])
def test_peaked_float32_inputs_stay_accurate(scale, dtype, rtol):
    """float32 inputs with peaked links/emissions (best path far below the runner-up prefixes):
    no underflow to -inf/NaN, values within ``rtol`` of a float64 reference, finite gradients."""
    scores, logits, target, glen, tlen = random_case(5, (24, 40), (12, 40), vocab=50, scale=scale)
    reference = dag.dag_log_likelihood(
        dag.log_links(scores, glen), dag.gather_emissions(torch.log_softmax(logits, -1), target),
        tlen, glen)
    s32, l32 = scores.float().requires_grad_(True), logits.float().requires_grad_(True)
    got = dag.dag_log_likelihood(
        dag.log_links(s32, glen), dag.gather_emissions(torch.log_softmax(l32, -1), target),
        tlen, glen, dtype=dtype)
    assert torch.isfinite(reference).all() and reference.max() < -50 * scale / 3
    assert torch.allclose(got.double(), reference, rtol=rtol)
    got.sum().backward()
    assert torch.isfinite(s32.grad).all() and torch.isfinite(l32.grad).all()


@pytest.mark.parametrize("tile", [1, 3, dag.TILE])
@pytest.mark.parametrize("scale", [0.3, 3.0, 30.0, 300.0])
def test_equals_plain_logsumexp_recursion_values_and_gradients(scale, tile):
    """Medium graphs (a batch of 3, up to 40 vertices, 24 positions) against the plain recursion
    in float64: values and gradients of links and emissions, in float64 and float32 (float32
    inputs from the same float64 ones), for flat to extremely peaked logits."""
    scores, logits, target, glen, tlen = random_case(12, (24, 40, 17), (12, 24, 9), vocab=30,
                                                     scale=scale)
    links = dag.log_links(scores, glen).requires_grad_(True)
    emit = dag.gather_emissions(torch.log_softmax(logits, -1), target).requires_grad_(True)
    want = logsumexp_reference(links, emit, tlen, glen)
    want_grads = torch.autograd.grad(want.sum(), (links, emit))
    assert torch.isfinite(want).all()
    for dtype in (torch.float64, torch.float32):
        # rounding: values to a few eps; gradients (posteriors, exp of differences of
        # log-values as large as the log-likelihood) to eps x |log-likelihood|
        eps = torch.finfo(dtype).eps
        rel, atol = 16 * eps, eps * float(want.detach().abs().max())
        l_in = links.detach().to(dtype).requires_grad_(True)
        e_in = emit.detach().to(dtype).requires_grad_(True)
        got = dag.dag_log_likelihood(l_in, e_in, tlen, glen, dtype=dtype, tile=tile)
        grads = torch.autograd.grad(got.sum(), (l_in, e_in))
        assert torch.allclose(got.double(), want, rtol=rel, atol=0), (dtype, got, want)
        for g, w in zip(grads, want_grads):
            assert torch.isfinite(g).all() and torch.isfinite(w).all()
            assert torch.allclose(g.double(), w, rtol=0, atol=atol), (dtype, (g - w).abs().max())


@pytest.mark.parametrize("scale", [1.0, 10.0, 30.0, 100.0, 300.0])
def test_float32_matches_float64_over_logit_scales(scale):
    """The loss the model trains on, end to end from float32 logits: the float32 dynamic
    program equals the float64 one to float32 rounding, values and gradients, up to logit
    scale 300 (where link log-probabilities reach -1e4), with no sentence lost to -inf."""
    scores, logits, target, glen, tlen = random_case(13, (24, 40, 17, 30), (12, 40, 9, 30),
                                                     vocab=50, scale=scale)
    results = {}
    for dtype in (torch.float32, torch.float64):
        s32, l32 = scores.float().requires_grad_(True), logits.float().requires_grad_(True)
        nll = dag.dag_loss(dag.log_links(s32, glen),
                           dag.gather_emissions(torch.log_softmax(l32, -1), target),
                           tlen, glen, dtype=dtype)
        (nll / tlen).mean().backward()
        results[dtype] = nll.double(), s32.grad.double(), l32.grad.double()
    (v32, *g32), (v64, *g64) = results[torch.float32], results[torch.float64]
    assert torch.isfinite(v32).all() and torch.isfinite(v64).all()
    assert torch.allclose(v32, v64, rtol=2e-6, atol=0)
    for a, b in zip(g32, g64):
        assert torch.isfinite(a).all()
        assert torch.allclose(a, b, rtol=0, atol=2e-5), (a - b).abs().max()


def test_issue_example_link_logits_120_stay_finite_in_float32():
    """4 vertices, vertex 0's link logits 0 (to 1), 120 (to 2), -120 (to 3); a 2-token target
    can only take 0 -> 3, log-probability ~ -240.  A shared scaling shift underflowed here
    (-inf in float32, the sentence silently left out of the loss); DA-Transformer's logsumexp
    recursion gives -240."""
    scores = torch.zeros(1, 4, 4)
    scores[0, 0, 2], scores[0, 0, 3] = 120.0, -120.0
    glen, tlen = torch.tensor([4]), torch.tensor([2])
    links = dag.log_links(scores, glen)
    emit = torch.zeros(1, 2, 4)
    want = dag.dag_log_likelihood(links.double(), emit.double(), tlen, glen, dtype=torch.float64)
    got = dag.dag_log_likelihood(links, emit, tlen, glen, dtype=torch.float32)
    assert got.dtype == torch.float32 and torch.isfinite(got).all()
    assert got.item() == pytest.approx(-240.0, abs=1e-4)
    assert got.item() == pytest.approx(want.item(), rel=1e-7)
    assert got.item() == pytest.approx(logsumexp_reference(links, emit, tlen, glen).item())


@pytest.mark.parametrize("lengths", CASES[:2])
def test_best_alignment_equals_exhaustive_best_path(lengths):
    scores, logits, target, glen, tlen = random_case(6, *lengths)
    links = dag.log_links(scores, glen)
    emit = dag.gather_emissions(torch.log_softmax(logits, -1), target)
    path, best = dag.best_alignment(links, emit, tlen, glen)
    for b in range(len(glen)):
        want, want_path = brute_force(links[b], emit[b], int(tlen[b]), int(glen[b]), "max")
        assert best[b].item() == pytest.approx(want, rel=1e-12)
        assert tuple(path[b, :int(tlen[b])].tolist()) == want_path
        assert path[b, int(tlen[b]):].eq(0).all()


# A hand-built 4-vertex graph, tokens A=0 B=1 C=2 E=3.  Vertex 0 emits A, 1 emits B (0.4),
# 2 emits C (0.9), 3 emits E.  Links 0->{1: .6, 2: .3, 3: .1}, 1->{2: .7, 3: .3}, 2->{3: 1}.
#   greedy:    0 -> 1 (0.6) -> 2 (0.7) -> 3                      = A B C E
#   lookahead: from 0, 0.6*0.4=.24 < 0.3*0.9=.27 > 0.1*0.97      -> 2 -> 3 = A C E
#   viterbi:   best path per length: m=2 {0,3} .1, m=3 {0,2,3} .27, m=4 {0,1,2,3} .1512 (each
#              times .97^2); log/m: -1.18, -0.46, -0.49 -> A C E; log/m^2: m=4 wins -> A B C E.
def hand_graph():
    probs = torch.tensor([[0, .6, .3, .1], [0, 0, .7, .3], [0, 0, 0, 1.], [0, 0, 0, 0]])
    links = probs.log()[None]
    emit = torch.tensor([[.97, .01, .01, .01], [.2, .4, .2, .2],
                         [.1 / 3, .1 / 3, .9, .1 / 3], [.01, .01, .01, .97]]).log()[None]
    return links, emit, torch.tensor([4])


def test_greedy_lookahead_viterbi_on_hand_checked_graph():
    links, emit, glen = hand_graph()
    tokens, scores = dag.greedy_decode(links, emit, glen, PAD)
    assert tokens.tolist() == [[0, 1, 2, 3]]
    assert torch.allclose(scores, torch.tensor([[.97, .4, .9, .97]]).log())
    assert dag.lookahead_decode(links, emit, glen, PAD)[0].tolist() == [[0, 2, 3]]
    assert dag.viterbi_decode(links, emit, glen, PAD, length_penalty=1.0)[0].tolist() == [[0, 2, 3]]
    assert dag.viterbi_decode(links, emit, glen, PAD, length_penalty=2.0)[0].tolist() \
        == [[0, 1, 2, 3]]


def test_decoders_pad_batches_and_dedup():
    links, emit, glen = hand_graph()
    # item 2: same graph but vertex 2 emits B too -> greedy A B B E, deduplicated A B E
    emit2 = emit.clone()
    emit2[0, 2] = emit[0, 2, [1, 2, 0, 3]]
    big_links = torch.full((2, 5, 5), float("-inf"))
    big_links[:, :4, :4] = links[0]
    big_emit = torch.zeros(2, 5, 4)
    big_emit[0, :4], big_emit[1, :4] = emit[0], emit2[0]
    lengths = torch.tensor([4, 4])
    assert dag.greedy_decode(big_links, big_emit, lengths, PAD)[0].tolist() == \
        [[0, 1, 2, 3], [0, 1, 1, 3]]
    tokens, scores = dag.greedy_decode(big_links, big_emit, lengths, PAD, dedup=True)
    assert tokens.tolist() == [[0, 1, 2, 3], [0, 1, 3, PAD]]
    assert scores[1, 3].item() == 0.0
    # a one-vertex graph beside a longer one
    short = dag.lookahead_decode(big_links, big_emit, torch.tensor([4, 1]), PAD)[0]
    assert short.tolist() == [[0, 2, 3], [0, PAD, PAD]]


def test_viterbi_decode_equals_exhaustive_search():
    scores, logits, _, glen, _ = random_case(7, (6, 4, 5, 1), (1, 1, 1, 1), vocab=4)
    links = dag.log_links(scores, glen)
    lprobs = torch.log_softmax(logits, -1)
    best_lp, best_tok = lprobs.max(-1)
    for penalty in (0.0, 1.0, 1.5):
        tokens, _ = dag.viterbi_decode(links, lprobs, glen, PAD, length_penalty=penalty)
        for b, length in enumerate(glen.tolist()):
            cands = [p for m in range(1, length + 1) for p in paths(length, m)]
            value = [(sum(float(best_lp[b, v]) for v in p)
                      + sum(float(links[b, x, y]) for x, y in zip(p, p[1:]))) / len(p) ** penalty
                     for p in cands]
            want = cands[max(range(len(cands)), key=value.__getitem__)]
            got = [t for t in tokens[b].tolist() if t != PAD]
            assert got == [int(best_tok[b, v]) for v in want]


def test_greedy_and_lookahead_follow_their_rule_on_random_graphs():
    """Each step of the returned path is the rule's argmax (checked one vertex at a time)."""
    scores, logits, _, glen, _ = random_case(8, (7, 5), (1, 1), vocab=6)
    links = dag.log_links(scores, glen)
    lprobs = torch.log_softmax(logits, -1)
    best_lp, best_tok = lprobs.max(-1)
    for decode, bonus in ((dag.greedy_decode, 0), (dag.lookahead_decode, 1)):
        tokens, _ = decode(links, lprobs, glen, PAD)
        for b, length in enumerate(glen.tolist()):
            v, want = 0, [int(best_tok[b, 0])]
            while v != length - 1:
                v = max(range(v + 1, length),
                        key=lambda u: float(links[b, v, u]) + bonus * float(best_lp[b, u]))
                want.append(int(best_tok[b, v]))
            assert [t for t in tokens[b].tolist() if t != PAD] == want


def da_transformer_tokens(path, tokens, pad, dedup=True):
    """DA-Transformer's greedy/lookahead output along a path (its Python loop): the first
    vertex's token, then each later vertex's token unless it is pad or (dedup) equal to the
    previous vertex's token, pad included."""
    out, last = [tokens[path[0]]], tokens[path[0]]
    for v in path[1:]:
        if tokens[v] != pad and (not dedup or tokens[v] != last):
            out.append(tokens[v])
        last = tokens[v]
    return out


# Tokens of the hand graph below: bos A=0, B=1, C=2, eos E=3, pad P=4.
BOS, EOS, TPAD = 0, 3, 4


def pad_graph(tokens):
    """A chain of ``len(tokens)`` vertices (link to the next 0.9, the rest spread over the later
    ones), vertex v emitting ``tokens[v]`` with probability 0.9 (vocabulary of 5): every
    decoder's path is the whole chain."""
    n = len(tokens)
    probs = torch.zeros(n, n)
    for v in range(n - 1):
        later = n - 2 - v
        probs[v, v + 2:] = 0.1 / later if later else 0.0
        probs[v, v + 1] = 0.9 if later else 1.0
    emit = torch.full((n, 5), 0.025)
    for v, t in enumerate(tokens):
        emit[v, t] = 0.9
    return probs.log()[None], emit.log()[None], torch.tensor([n])


@pytest.mark.parametrize("decode", [dag.greedy_decode, dag.lookahead_decode,
                                    dag.viterbi_decode])
def test_pad_vertex_emits_nothing_and_every_real_token_is_kept(decode):
    """A B P C E (vertex 2's best token is pad) decodes to A B C E, as in DA-Transformer; it
    used to keep the pad, and the model then wrote eos over C (A B E)."""
    links, emit, glen = pad_graph([BOS, 1, TPAD, 2, EOS])
    options = {"length_penalty": 0.0} if decode is dag.viterbi_decode else {}
    for dedup in (False, True):
        tokens, scores = decode(links, emit, glen, TPAD, dedup=dedup, **options)
        assert tokens.tolist() == [[BOS, 1, 2, EOS]]
        assert torch.allclose(scores, torch.tensor([[0.9] * 4]).log())
        closed, closed_scores, eos_at = dag.close_outputs(tokens, scores, TPAD, BOS, EOS)
        assert closed.tolist() == [[BOS, 1, 2, EOS]] and eos_at.tolist() == [3]
        assert torch.equal(closed_scores, scores)


def test_dedup_merges_repeats_like_da_transformer():
    """A B B P B E: dedup merges the repeated B, and (as DA-Transformer compares with the
    previous vertex's token, pad included) keeps the B after the pad: A B B E."""
    links, emit, glen = pad_graph([BOS, 1, 1, TPAD, 1, EOS])
    assert dag.greedy_decode(links, emit, glen, TPAD, dedup=True)[0].tolist() == \
        [[BOS, 1, 1, EOS]]
    assert dag.greedy_decode(links, emit, glen, TPAD, dedup=False)[0].tolist() == \
        [[BOS, 1, 1, 1, EOS]]


@pytest.mark.parametrize("dedup", [True, False])
def test_greedy_and_lookahead_equal_da_transformer_loop_on_random_graphs(dedup):
    """Random graphs, a small vocabulary so that repeats are common, pad the best token of
    about a third of the vertices: the outputs equal DA-Transformer's loop on the same path;
    ``close_outputs`` then only adds a missing bos/eos."""
    gen = torch.Generator().manual_seed(21)
    glen = torch.tensor([9, 7, 4, 1, 9, 6])
    scores = torch.randn(6, 9, 9, generator=gen) * 2
    logits = torch.randn(6, 9, 4, generator=gen) * 2           # bos 0, eos 2, pad 3
    pad = 3
    logits[torch.rand(6, 9, generator=gen) < 0.35, pad] += 10.0
    links = dag.log_links(scores, glen)
    lprobs = torch.log_softmax(logits, -1)
    best = lprobs.argmax(-1)
    for decode, bonus in ((dag.greedy_decode, 0), (dag.lookahead_decode, 1)):
        tokens, scores_out = decode(links, lprobs, glen, pad, dedup=dedup)
        closed, _, eos_at = dag.close_outputs(tokens, scores_out, pad, 0, 2)
        step = links + bonus * lprobs.max(-1).values[:, None, :]
        for b, length in enumerate(glen.tolist()):
            path, v = [0], 0
            while v != length - 1:
                v = int(step[b, v].argmax())
                path.append(v)
            want = da_transformer_tokens(path, best[b].tolist(), pad, dedup)
            want = [t for t in want if t != pad]             # a pad first vertex emits nothing
            assert [t for t in tokens[b].tolist() if t != pad] == want
            row = closed[b, :int(eos_at[b]) + 1].tolist()
            body = want[1:] if want[:1] == [0] else want
            body = body[:-1] if body[-1:] == [2] else body
            assert row == [0] + body + [2]
            assert closed[b, int(eos_at[b]) + 1:].eq(pad).all()


def test_close_outputs_inserts_missing_bos_and_eos_only():
    pad, bos, eos = 9, 0, 1
    tokens = torch.tensor([[0, 5, 1, 9], [5, 6, 9, 9], [0, 9, 9, 9], [9, 9, 9, 9], [1, 9, 9, 9]])
    scores = torch.tensor([[-.1, -.2, -.3, 0], [-.4, -.5, 0, 0], [-.6, 0, 0, 0], [0.] * 4,
                           [-.7, 0, 0, 0]])
    out, out_scores, eos_at = dag.close_outputs(tokens, scores, pad, bos, eos)
    assert out.tolist() == [[0, 5, 1, 9], [0, 5, 6, 1], [0, 1, 9, 9], [0, 1, 9, 9],
                            [0, 1, 9, 9]]
    assert eos_at.tolist() == [2, 3, 1, 1, 1]
    assert torch.allclose(out_scores, torch.tensor(
        [[-.1, -.2, -.3, 0], [0, -.4, -.5, 0], [-.6, 0, 0, 0], [0.] * 4, [0, -.7, 0, 0]]))
