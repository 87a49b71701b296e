"""CTC math against brute force: collapse, Viterbi best alignment, greedy and beam decoding."""
import itertools
import math

import pytest
import torch

from nat import ctc

BLANK = 0


def ref_collapse(seq, blank=BLANK):
    return [k for k, _ in itertools.groupby(seq) if k != blank]


def test_collapse_matches_groupby_on_every_short_sequence():
    seqs = [list(s) for n in range(0, 6) for s in itertools.product(range(3), repeat=n)]
    width = 6
    batch = torch.tensor([s + [BLANK] * (width - len(s)) for s in seqs])
    lengths = torch.tensor([len(s) for s in seqs])
    out, out_len = ctc.collapse(batch, BLANK, lengths=lengths, pad=-1)
    for s, row, n in zip(seqs, out.tolist(), out_len.tolist()):
        assert row[:n] == ref_collapse(s)
        assert all(x == -1 for x in row[n:])


def test_collapse_keeps_repeats_separated_by_blank():
    out, n = ctc.collapse(torch.tensor([[5, 5, 0, 5, 7, 7, 0, 0, 7]]), BLANK)
    assert out[0, :n[0]].tolist() == [5, 5, 7, 7]


def brute_best(lp, target):
    """Best path over every frame labelling that collapses to ``target``."""
    T, V = lp.shape
    best, arg = -math.inf, None
    for path in itertools.product(range(V), repeat=T):
        if ref_collapse(path) == target:
            score = sum(lp[t, v].item() for t, v in enumerate(path))
            if score > best:
                best, arg = score, list(path)
    return best, arg


@pytest.mark.parametrize("seed", range(6))
def test_viterbi_equals_exhaustive_search(seed):
    gen = torch.Generator().manual_seed(seed)
    V, T = 4, 6
    cases = [[1], [1, 2], [2, 2], [1, 1, 1], [3, 1, 3], [1, 2, 3, 2], [2, 3, 3], []]
    lp = torch.randn(len(cases), T, V, generator=gen, dtype=torch.float64).log_softmax(-1)
    in_len = torch.tensor([T, T - 1, T, 5, T, T, 4, 3])
    width = max(len(c) for c in cases)
    tgt = torch.tensor([c + [BLANK] * (width - len(c)) for c in cases])
    tgt_len = torch.tensor([len(c) for c in cases])
    labels, scores = ctc.best_alignment(lp, tgt, in_len, tgt_len, BLANK)
    for b, case in enumerate(cases):
        n = int(in_len[b])
        best, path = brute_best(lp[b, :n], case)
        if path is None:
            assert scores[b].item() == -math.inf, case
            continue
        assert scores[b].item() == pytest.approx(best, abs=1e-9)
        assert labels[b, :n].tolist() == path
        assert ref_collapse(labels[b, :n].tolist()) == case
        assert all(x == BLANK for x in labels[b, n:].tolist())


def test_viterbi_bounded_by_ctc_loss_and_batch_independent():
    gen = torch.Generator().manual_seed(7)
    lp = torch.randn(3, 9, 5, generator=gen, dtype=torch.float64).log_softmax(-1)
    tgt = torch.tensor([[1, 2, 3, 4], [2, 2, 0, 0], [4, 0, 0, 0]])
    tgt_len, in_len = torch.tensor([4, 2, 1]), torch.tensor([9, 7, 3])
    labels, scores = ctc.best_alignment(lp, tgt, in_len, tgt_len, BLANK)
    nll = torch.nn.functional.ctc_loss(lp.transpose(0, 1), tgt, in_len, tgt_len, blank=BLANK,
                                       reduction="none")
    assert torch.all(scores <= -nll + 1e-9)
    for b in range(3):
        one_l, one_s = ctc.best_alignment(lp[b:b + 1, :in_len[b]], tgt[b:b + 1, :tgt_len[b]],
                                          in_len[b:b + 1], tgt_len[b:b + 1], BLANK)
        assert one_l[0].tolist() == labels[b, :in_len[b]].tolist()
        assert one_s.item() == pytest.approx(scores[b].item())


def test_greedy_decode_is_argmax_then_collapse():
    gen = torch.Generator().manual_seed(3)
    lp = torch.randn(4, 8, 4, generator=gen).log_softmax(-1)
    lengths = torch.tensor([8, 5, 1, 6])
    tokens, n, token_scores = ctc.greedy_decode(lp, lengths, BLANK, pad=-1)
    for b in range(4):
        frames = lp[b, :lengths[b]].argmax(-1).tolist()
        assert tokens[b, :n[b]].tolist() == ref_collapse(frames)
        assert all(x == -1 for x in tokens[b, n[b]:].tolist())
    assert token_scores.shape == tokens.shape


def test_prefix_beam_search_finds_most_probable_output():
    gen = torch.Generator().manual_seed(11)
    T, V = 4, 3
    lp = torch.randn(T, V, generator=gen, dtype=torch.float64).log_softmax(-1)
    totals = {}
    for path in itertools.product(range(V), repeat=T):
        key = tuple(ref_collapse(path))
        score = sum(lp[t, v].item() for t, v in enumerate(path))
        totals[key] = math.log(math.exp(totals.get(key, -math.inf)) + math.exp(score))
    best = max(totals, key=totals.get)
    hyps = ctc.prefix_beam_search(lp, T, BLANK, beam=V ** T)
    assert tuple(hyps[0][0]) == best
    assert hyps[0][1] == pytest.approx(totals[best])
