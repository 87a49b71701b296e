"""Brute-force checks of each analysis formula on tiny hand-made or random inputs."""
import itertools
import math
import random
from collections import Counter, defaultdict

import numpy as np
import pytest
import scipy.stats

from analysis import complexity, entropy, ibm1, lextable, reordering
from analysis.links import format_pharaoh, parse_pharaoh
from analysis.tokens import encode
from nat.errors import UserError


def h_bits(counter):
    n = sum(counter.values())
    return -sum(c / n * math.log2(c / n) for c in counter.values() if c)


def random_corpus(rng, n=30, vx=6, vy=7):
    src = [" ".join(f"s{rng.randrange(vx)}" for _ in range(rng.randint(1, 5))) for _ in range(n)]
    tgt = [" ".join(f"t{rng.randrange(vy)}" for _ in range(rng.randint(1, 5))) for _ in range(n)]
    align = []
    for s, t in zip(src, tgt):
        ns, nt = len(s.split()), len(t.split())
        pairs = {(rng.randrange(ns), rng.randrange(nt)) for _ in range(rng.randint(0, 4))}
        align.append(" ".join(f"{i}-{j}" for i, j in sorted(pairs)))
    return src, tgt, align


def brute_table(src, tgt, align):
    table = defaultdict(Counter)
    for s, t, a in zip(src, tgt, align):
        s, t = s.split(), t.split()
        for link in a.split():
            i, j = map(int, link.split("-"))
            table[s[i]][t[j]] += 1
    return table


def build(src, tgt, align):
    es, et = encode(src), encode(tgt)
    return lextable.count_links(es, et, parse_pharaoh(align, es.lengths, et.lengths))


def test_entropy_formulas():
    counts = [3, 1, 0, 4]
    assert entropy.plugin_entropy(counts) == pytest.approx(h_bits(Counter({0: 3, 1: 1, 3: 4})))
    assert entropy.plugin_entropy(counts, "nats") == pytest.approx(
        h_bits(Counter({0: 3, 1: 1, 3: 4})) * math.log(2))
    assert entropy.miller_madow(counts) == pytest.approx(
        entropy.plugin_entropy(counts) + (3 - 1) / (2 * 8) / math.log(2))
    assert entropy.plugin_entropy([]) == 0.0
    assert entropy.kl_divergence([0.5, 0.5], [0.25, 0.75]) == pytest.approx(
        0.5 * math.log2(2) + 0.5 * math.log2(0.5 / 0.75))
    assert entropy.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    rows = entropy.row_entropies([[1, 1, 0], [0, 0, 0], [2, 0, 0]])
    assert rows.tolist() == pytest.approx([1.0, 0.0, 0.0])


@pytest.mark.parametrize("seed", range(5))
def test_link_counts_and_complexity_match_brute_force(seed):
    rng = random.Random(seed)
    src, tgt, align = random_corpus(rng)
    table = build(src, tgt, align)
    brute = brute_table(src, tgt, align)
    assert table.as_dict() == {x: dict(c) for x, c in brute.items()}
    per_h = {x: h_bits(c) for x, c in brute.items()}
    per_n = {x: sum(c.values()) for x, c in brute.items()}
    got = complexity.complexity(table)
    assert got["value"] == pytest.approx(np.mean(list(per_h.values())))
    assert got["n_source_types"] == len(brute)
    weighted = complexity.complexity(table, weighting="frequency")["value"]
    assert weighted == pytest.approx(sum(per_n[x] * per_h[x] for x in brute) / sum(per_n.values()))
    kept = [x for x in brute if per_n[x] >= 3]
    filtered = complexity.complexity(table, min_count=3)["value"]
    if kept:
        assert filtered == pytest.approx(np.mean([per_h[x] for x in kept]))
    mm = complexity.complexity(table, correction="miller-madow", unit="nats")["value"]
    assert mm == pytest.approx(np.mean([per_h[x] * math.log(2)
                                        + (len(brute[x]) - 1) / (2 * per_n[x]) for x in brute]))


@pytest.mark.parametrize("seed", range(3))
def test_faithfulness_matches_brute_force(seed):
    rng = random.Random(seed)
    real, dist = build(*random_corpus(rng)), build(*random_corpus(rng, vy=5))
    r, d = real.as_dict(), dist.as_dict()
    alpha, kls = 0.5, []
    for x, row in r.items():
        drow = d.get(x, {})
        support = set(row) | set(drow)
        nr, nd = sum(row.values()), sum(drow.values())
        kls.append(sum(row[y] / nr * math.log2((row[y] / nr) / ((drow.get(y, 0) + alpha)
                                                                 / (nd + alpha * len(support))))
                       for y in row))
    assert complexity.faithfulness(real, dist, alpha=alpha)["value"] == pytest.approx(np.mean(kls))
    # identical corpora with vanishing smoothing are perfectly faithful
    assert complexity.faithfulness(real, real, alpha=1e-9)["value"] == pytest.approx(0, abs=1e-6)


def brute_ibm1(src, tgt, iterations):
    pairs = [(["<null>"] + s.split(), t.split()) for s, t in zip(src, tgt)]
    t = defaultdict(lambda: 1.0)
    for _ in range(iterations):
        count, total = defaultdict(float), defaultdict(float)
        for s, g in pairs:
            for y in g:
                z = sum(t[(x, y)] for x in s)
                for x in s:
                    count[(x, y)] += t[(x, y)] / z
                    total[x] += t[(x, y)] / z
        t = defaultdict(float, {(x, y): c / total[x] for (x, y), c in count.items()})
    links = []
    for n, (s, g) in enumerate(pairs):
        for j, y in enumerate(g):
            scores = [t[(x, y)] for x in s]
            best = max(range(len(s)), key=lambda i: (scores[i], -i))
            if best > 0:
                links.append((n, best - 1, j))
    return t, links


def test_ibm1_matches_brute_force_em():
    rng = random.Random(7)
    src, tgt, _ = random_corpus(rng, n=12, vx=4, vy=4)
    table, links = ibm1.train(encode(src), encode(tgt), iterations=4)
    t, brute_links = brute_ibm1(src, tgt, 4)
    got = table.as_dict()
    for x, row in got.items():
        for y, p in row.items():
            assert p == pytest.approx(t[(x, y)])
    assert sum(len(r) for r in got.values()) == sum(1 for (x, _), v in t.items() if x != "<null>")
    assert sorted(zip(links.sent.tolist(), links.src.tolist(), links.tgt.tolist())) == \
        sorted(brute_links)


def test_ibm1_recovers_a_one_to_one_lexicon():
    words = [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]
    rng = random.Random(1)
    src, tgt = [], []
    for _ in range(200):
        sent = rng.sample(words, 3)
        src.append(" ".join(w for w, _ in sent))
        tgt.append(" ".join(v for _, v in sent))
    table, links = ibm1.train(encode(src), encode(tgt), iterations=30)
    assert complexity.complexity(table)["value"] < 0.05
    assert np.array_equal(links.src, links.tgt)


def brute_frs(pi):
    n = len(pi)
    position = {r: k for k, r in enumerate(pi)}
    steps = sum(1 for r in range(n - 1) if position[r + 1] == position[r] + 1)
    return (steps + (n > 0 and pi[0] == 0) + (n > 0 and pi[-1] == n - 1)) / (n + 1)


def test_reordering_scores_against_brute_force():
    for n in range(1, 6):
        for pi in itertools.permutations(range(n)):
            assert reordering.fuzzy_reordering_score(pi) == pytest.approx(brute_frs(pi))
            if n > 1:
                assert reordering.kendall_tau(pi) == pytest.approx(
                    scipy.stats.kendalltau(range(n), pi).statistic)
    assert reordering.fuzzy_reordering_score([0, 1, 2]) == 1.0
    assert reordering.kendall_tau([2, 1, 0]) == -1.0


def test_permutation_from_many_to_one_links():
    # source 0 -> targets 2,3 (mean 2.5); 1 unaligned; 2 -> 0; 3 -> targets 1 and 4 (mean 2.5)
    links = parse_pharaoh(["0-2 0-3 2-0 3-1 3-4", ""], np.array([4, 1]), np.array([5, 1]))
    perms = reordering.permutations(links, 2)
    # aligned source words 0, 2, 3 have ranks 0, 1, 2; by mean target: 2 (0.0), 0 (2.5), 3 (2.5)
    assert perms == [[1, 0, 2], []]
    got = reordering.reordering(links, 2)
    assert got["n_sentences"] == 1
    assert got["kendall_tau"] == pytest.approx(1 / 3)
    assert got["fuzzy_reordering_score"] == pytest.approx(brute_frs([1, 0, 2]))


def test_pharaoh_round_trip_and_errors():
    lengths = np.array([3, 2])
    lines = ["0-0 2-1", "1-1"]
    links = parse_pharaoh(lines, lengths, lengths)
    assert format_pharaoh(links, 2) == lines
    for bad in (["0-0 3-1", ""], ["0-0-1", ""], ["x-y", ""], ["0 1", ""]):
        with pytest.raises(UserError, match=r"alignment:1"):
            parse_pharaoh(bad, lengths, lengths)
    with pytest.raises(UserError, match="has 1 lines"):
        parse_pharaoh(["0-0"], lengths, lengths)


def test_vectorised_reordering_matches_the_scalar_formulas():
    rng = random.Random(3)
    src, tgt, align = random_corpus(rng, n=60)
    es, et = encode(src), encode(tgt)
    links = parse_pharaoh(align, es.lengths, et.lengths)
    perms = [p for p in reordering.permutations(links, len(src)) if p]
    frs, tau = reordering.sentence_scores(links)
    assert frs.tolist() == pytest.approx([reordering.fuzzy_reordering_score(p) for p in perms])
    assert tau.tolist() == pytest.approx([reordering.kendall_tau(p) for p in perms])


def test_nll_gap_by_hand():
    from analysis import nll_gap
    got = nll_gap.nll_gap([3.0, 5.0, 4.0], [1.0, 2.0, 3.0])
    assert got["value"] == pytest.approx(2.0)
    assert got["standard_error"] == pytest.approx(1.0 / math.sqrt(3))
    assert nll_gap.nll_gap([math.log(2)], [0.0], unit="nats")["value"] == pytest.approx(1.0)
    with pytest.raises(UserError, match="scores:2"):
        nll_gap.parse_scores(["1.5", "x"], "scores")
    with pytest.raises(UserError, match="differ in length"):
        nll_gap.nll_gap([1.0], [1.0, 2.0])
