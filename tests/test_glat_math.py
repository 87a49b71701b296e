"""Glancing and upsampling math against brute force on tiny cases."""
import math

import pytest
import torch

from nat import glancing, upsample


def test_glancing_count_is_floor_of_ratio_times_errors():
    errors = torch.arange(0, 41)
    for ratio in (0.0, 0.1, 0.3, 0.5, 1 / 3, 0.75, 1.0):
        got = glancing.glancing_count(errors, ratio).tolist()
        assert got == [math.floor(ratio * e) for e in range(41)]


def test_hamming_errors_count_only_valid_positions():
    gen = torch.Generator().manual_seed(0)
    pred = torch.randint(0, 3, (20, 7), generator=gen)
    tgt = torch.randint(0, 3, (20, 7), generator=gen)
    mask = torch.rand(20, 7, generator=gen) < 0.7
    got = glancing.hamming_errors(pred, tgt, mask).tolist()
    want = [sum(1 for j in range(7) if mask[b, j] and pred[b, j] != tgt[b, j]) for b in range(20)]
    assert got == want


def test_glancing_mask_reveals_exactly_count_valid_positions():
    gen = torch.Generator().manual_seed(1)
    lengths = torch.tensor([0, 1, 3, 5, 8, 8])
    mask = torch.arange(8)[None, :] < lengths[:, None]
    for count in (0, 3, 6, 9):
        c = torch.full((6,), count)
        for _ in range(5):
            reveal = glancing.glancing_mask(mask, c, generator=gen)
            assert not (reveal & ~mask).any()
            assert reveal.sum(1).tolist() == torch.minimum(c, lengths).tolist()


def test_glancing_mask_positions_are_uniform():
    gen = torch.Generator().manual_seed(2)
    mask = torch.ones(4000, 4, dtype=torch.bool)
    reveal = glancing.glancing_mask(mask, torch.full((4000,), 1), generator=gen)
    share = reveal.float().mean(0)
    assert torch.all((share - 0.25).abs() < 0.03), share


def test_annealed_ratio_is_linear_then_constant():
    assert glancing.annealed_ratio(0.5, 0.3, 0, 100) == 0.5
    assert glancing.annealed_ratio(0.5, 0.3, 50, 100) == pytest.approx(0.4)
    assert glancing.annealed_ratio(0.5, 0.3, 500, 100) == pytest.approx(0.3)
    assert glancing.annealed_ratio(0.5, None, 50, 100) == 0.5
    assert glancing.annealed_ratio(0.5, 0.3, 50, 0) == 0.5


def ref_copy(tokens, L):
    n = len(tokens)
    return [tokens[(j * n) // L] for j in range(L)]


def ref_interpolate(values, L):
    n = len(values)
    out = []
    for j in range(L):
        pos = j * (n - 1) / (L - 1) if L > 1 else 0.0
        lo = min(int(math.floor(pos)), n - 1)
        hi = min(lo + 1, n - 1)
        w = pos - lo
        out.append((1 - w) * values[lo] + w * values[hi])
    return out


@pytest.mark.parametrize("left_pad", [True, False])
@pytest.mark.parametrize("mode", ["copy", "interpolate"])
def test_upsample_matches_per_sentence_reference(left_pad, mode):
    gen = torch.Generator().manual_seed(3)
    src_lens, out_lens = [1, 2, 3, 5, 4], [1, 7, 6, 10, 4]
    T, L = max(src_lens), max(out_lens)
    vals = [torch.randn(n, generator=gen, dtype=torch.float64) for n in src_lens]
    src = torch.full((5, T, 1), 99.0, dtype=torch.float64)
    src_mask = torch.zeros(5, T, dtype=torch.bool)
    for b, v in enumerate(vals):
        sl = slice(T - len(v), T) if left_pad else slice(0, len(v))
        src[b, sl, 0] = v
        src_mask[b, sl] = True
    out_mask = torch.arange(L)[None, :] < torch.tensor(out_lens)[:, None]
    out = upsample.upsample(src, src_mask, out_mask, mode=mode)[:, :, 0]
    ref = ref_copy if mode == "copy" else ref_interpolate
    for b, v in enumerate(vals):
        want = ref(v.tolist(), out_lens[b])
        assert out[b, :out_lens[b]].tolist() == pytest.approx(want)
        assert out[b, out_lens[b]:].abs().sum() == 0


def test_integer_scale_copies_each_token_scale_times():
    lengths = upsample.upsampled_lengths(torch.tensor([1, 4, 7]), 3)
    assert lengths.tolist() == [3, 12, 21]
    src = torch.arange(7, dtype=torch.float32)[None, :, None]
    out = upsample.upsample(src, torch.ones(1, 7, dtype=torch.bool),
                            torch.ones(1, 21, dtype=torch.bool))
    assert out[0, :, 0].tolist() == [float(i // 3) for i in range(21)]
