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


@pytest.mark.parametrize("lengths", CASES)
def test_loss_equals_log_sum_over_all_paths(lengths):
    scores, logits, target, glen, tlen = random_case(1, *lengths)
    links = dag.log_links(scores, glen)
    emit = dag.gather_emissions(torch.log_softmax(logits, -1), target)
    got = dag.dag_log_likelihood(links, emit, tlen, glen)
    for b in range(len(glen)):
        want, _ = brute_force(links[b], emit[b], int(tlen[b]), int(glen[b]), "sum")
        assert got[b].item() == pytest.approx(want, rel=1e-9, abs=1e-9) or \
            (want == -math.inf and got[b].item() == -math.inf)
    assert torch.equal(dag.dag_loss(links, emit, tlen, glen), -got)


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


def test_gradients_match_finite_differences():
    scores, logits, target, glen, tlen = random_case(3, (5, 4), (3, 4), vocab=3)
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
