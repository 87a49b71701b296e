"""nat-synth ground truth against brute-force enumeration of every output of tiny grammars."""
import itertools
import json
import math
import os
import random
from collections import defaultdict

import pytest

from nat.synth import World, SynthSettings, generate_corpus, make_settings
from nat.synth.truth import SourceTruth

TINY = dict(nouns=3, adjectives=2, verbs=2, adverbs=1, prepositions=1, min_len=3, max_len=9,
            max_adj=1, max_depth=1, synonym_rate=1.0, max_synonyms=2, adj_prob=0.4,
            pp_prob=0.4)
MIX = (0.5, 0.3, 0.2)


def h(probs):
    return -sum(p * math.log2(p) for p in probs if p > 0)


def enumerate_outputs(world, lexicon, line, pi):
    """Every target y of source ``line`` with p(y|x), from lexicon.json's realisations."""
    s = world.grammar.parse(line)
    words = line.split()
    dist = defaultdict(float)
    for lang, p_lang in zip(world.languages, pi):
        if p_lang == 0:
            continue
        choices = [list(lexicon["realisations"][w][lang.code].items()) for w in words]
        for combo in itertools.product(*choices):
            prob = p_lang * math.prod(p for _, p in combo)
            picked = {pos: tuple(key.split()) for pos, (key, _) in enumerate(combo)}
            toks, _ = lang.realise(s, lambda pos, wid: picked[pos])
            dist[tuple(toks)] += prob
    return dist


def per_position(dist):
    """sum_t H(Y_t) of a distribution over token tuples (None = no token at t)."""
    total = 0.0
    for t in range(max(len(y) for y in dist)):
        marginal = defaultdict(float)
        for y, p in dist.items():
            marginal[y[t] if t < len(y) else None] += p
        total += h(marginal.values())
    return total


def brute_force(dist, token_language):
    """(H(L|x), H(Y|x), sum_t H(Y_t|x), H(m|x), H(Y|x,m), sum_t H(Y_t|x,m)) of an explicit
    distribution over token tuples."""
    langs, by_len = defaultdict(float), defaultdict(dict)
    for y, p in dist.items():
        (code,) = {token_language[t] for t in y}
        langs[code] += p
        by_len[len(y)][y] = p
    h_tgt_len = tok_len = 0.0
    for group in by_len.values():
        mass = sum(group.values())
        cond = {y: p / mass for y, p in group.items()}
        h_tgt_len += mass * h(cond.values())
        tok_len += mass * per_position(cond)
    h_len = h(sum(g.values()) for g in by_len.values())
    return (h(langs.values()), h(dist.values()), per_position(dist), h_len, h_tgt_len, tok_len)


def pi_of(mode, line, lexicon, world):
    if mode == "random":
        return MIX
    if mode == "all":
        return (1 / 3,) * 3
    noun = next(w for w in line.split() if lexicon["source_class"][w] == "noun")
    code = lexicon["deterministic"]["language_of_noun"][noun]
    return tuple(float(c == code) for c in world.codes)


@pytest.mark.parametrize("mode", ["random", "deterministic", "all"])
def test_truth_equals_brute_force(tmp_path, mode):
    out = str(tmp_path)
    generate_corpus(out, mode=mode, mix=MIX, seed=3, sizes=(5, 12, 25), preset="small", **TINY)
    truth = json.load(open(os.path.join(out, "truth.json")))
    lexicon = json.load(open(os.path.join(out, "lexicon.json")))
    world = World(SynthSettings(**truth["settings"]))   # settings alone rebuild the lexicon
    assert truth["settings"]["synonym_rate"] == 1.0
    for split in ("valid", "test"):
        src = open(os.path.join(out, f"{split}.src")).read().splitlines()
        tgt = open(os.path.join(out, f"{split}.tgt")).read().splitlines()
        lang = open(os.path.join(out, f"{split}.lang")).read().splitlines()
        refs = {c: open(os.path.join(out, f"test.ref.{c}")).read().splitlines()
                for c in world.codes} if split == "test" else None
        sums = [0.0] * 6
        for i, line in enumerate(src):
            pi = pi_of(mode, line, lexicon, world)
            dist = enumerate_outputs(world, lexicon, line, pi)
            assert sum(dist.values()) == pytest.approx(1.0, abs=1e-12)
            # the sampled target is a possible output, in the language its .lang line names
            y = tuple(tgt[i].split())
            assert dist.get(y, 0) > 0
            assert {lexicon["token_language"][t] for t in y} == {lang[i]}
            if refs:
                for code in world.codes:   # reference = most likely output in that language
                    in_lang = {z: p for z, p in
                               enumerate_outputs(world, lexicon, line, [float(c == code)
                                                 for c in world.codes]).items()}
                    assert tuple(refs[code][i].split()) == max(in_lang, key=in_lang.get)
            for k, v in enumerate(brute_force(dist, lexicon["token_language"])):
                sums[k] += v
        n = len(src)
        assert truth[split]["pairs"] == n
        got = truth[split]
        assert got["h_lang_given_src"] == pytest.approx(sums[0] / n, abs=1e-9)
        assert got["h_tgt_given_src"] == pytest.approx(sums[1] / n, abs=1e-9)
        assert got["sum_token_entropy"] == pytest.approx(sums[2] / n, abs=1e-9)
        assert got["total_correlation"] == pytest.approx((sums[2] - sums[1]) / n, abs=1e-9)
        assert got["total_correlation"] >= -1e-9
        assert got["h_len_given_src"] == pytest.approx(sums[3] / n, abs=1e-9)
        assert got["h_tgt_given_src_len"] == pytest.approx(sums[4] / n, abs=1e-9)
        assert got["sum_token_entropy_given_len"] == pytest.approx(sums[5] / n, abs=1e-9)
        assert got["total_correlation_given_len"] == pytest.approx((sums[5] - sums[4]) / n,
                                                                   abs=1e-9)
    if mode == "deterministic":
        assert truth["test"]["h_lang_given_src"] == 0.0
        assert truth["test"]["total_correlation"] == pytest.approx(0.0, abs=1e-12)
    else:
        assert truth["test"]["total_correlation"] > 1.0   # orders differ: TC is far from 0


def test_lengths_and_sampled_realisations_match_the_generic_path():
    """Rich grammar (nested PPs, every word with synonyms): the streaming fast paths (packed
    lengths, cached orders, sampled synonyms) agree with the plain realisation."""
    world = World(make_settings("default", synonym_rate=1.0, pp_prob=0.6, max_depth=2))
    truth = SourceTruth(world.languages)
    r = random.Random(5).random
    for _ in range(300):
        s = world.grammar.sample(r)
        lengths = truth.lengths(s)
        for k, lang in enumerate(world.languages):
            best, links = lang.realise(s, lang.best)
            line, align, n = lang.sample(s, r)
            toks = line.split()
            assert n == len(toks) == len(best) == lang.target_length(s) == lengths[k]
            assert align == " ".join(f"{i}-{j}" for i, j in links)
            for i, j in links:   # a sampled token is one of its source word's options
                wid = s.src[i]
                assert any(toks[j] in opt for opt in lang.options[wid])
            aligned = {j for _, j in links}
            assert all(toks[j] == best[j] for j in range(n) if j not in aligned)


def test_parse_recovers_every_sampled_parse():
    world = World(make_settings("default", pp_prob=0.6))
    g = world.grammar
    r = random.Random(7).random
    for _ in range(500):
        s = g.sample(r)
        back = g.parse(g.text(s))
        assert (back.src, back.subj, back.verb, back.obj, back.adv) == \
            (s.src, s.subj, s.verb, s.obj, s.adv)
    with pytest.raises(ValueError):
        g.parse("the the")
    with pytest.raises(ValueError):
        g.parse(g.text(s) + " extra")
