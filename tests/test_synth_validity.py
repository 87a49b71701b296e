"""The recogniser (``nat.synth.recognise``) against the generator: it accepts every line
nat-synth writes, agrees with brute-force enumeration on tiny grammars, and rejects mutations
of generated targets (a mutation that is itself a realisation, found by enumeration, must be
accepted instead, and is rare)."""
import collections
import itertools
import json
import os
import random
import shutil

import pytest

from nat.errors import UserError
from nat.synth import World, generate_corpus, make_settings
from nat.synth.recognise import Recogniser
from nat.synth.reload import load_world

MODES = ("random", "deterministic", "all")
SYNONYMS = {"off": 0.0, "preset": None, "every word": 1.0}     # synonym_rate
#: tiny grammars: A has sources of up to 5 tokens (objects, adverbs, adjectives, both numbers),
#: every word with two synonyms; B has up to 8 (prepositional phrases in subject and object)
#: and some words with three
TINY_A = dict(nouns=1, adjectives=1, verbs=1, adverbs=1, prepositions=1, min_len=3, max_len=5,
              max_adj=1, max_depth=1, synonym_rate=1.0, max_synonyms=2)
TINY_B = dict(TINY_A, max_len=8, synonym_rate=0.3, max_synonyms=3)


def read(directory, name):
    with open(os.path.join(directory, name), encoding="utf-8") as handle:
        return handle.read().splitlines()


def realisations(lang, s):
    """Every output of sentence ``s`` in ``lang``: the generator's ``realise`` under every
    combination of synonyms (brute force)."""
    choices = [range(len(lang.options[w])) for w in s.src]
    out = set()
    for combo in itertools.product(*choices):
        out.add(" ".join(lang.realise(s, lambda p, w: lang.options[w][combo[p]])[0]))
    return out


def enumerated(world, line):
    """{output line: language code} of every realisation of source ``line``."""
    s = world.grammar.parse(line)
    return {y: lang.code for lang in world.languages for y in realisations(lang, s)}


def noun_phrases(g, depth, room):
    """Token lists of every noun phrase of at most ``room`` tokens (from the grammar's tables:
    determiners with their number, up to ``max_adj`` adjectives, PPs up to ``max_depth``)."""
    st = g.settings
    for det, number in zip(g.dets, g.det_number):
        nouns = {"sg": g.noun_sg, "pl": g.noun_pl, "any": g.noun_sg + g.noun_pl}[number]
        for k in range(st.max_adj + 1):
            for adjs in itertools.product(g.adjs, repeat=k):
                for noun in nouns:
                    base = [det, *adjs, noun]
                    if len(base) > room:
                        continue
                    yield base
                    if depth < st.max_depth:
                        for prep in g.preps:
                            for inner in noun_phrases(g, depth + 1, room - len(base) - 1):
                                yield base + [prep] + inner


def all_sources(world):
    """Every source line the grammar can produce (brute force)."""
    g, st = world.grammar, world.settings
    out = set()
    for subj in noun_phrases(g, 0, st.max_len - 1):
        for verb in g.verbs:
            for obj in [[]] + list(noun_phrases(g, 0, st.max_len - len(subj) - 1)):
                for adv in [[]] + [[a] for a in g.advs]:
                    src = subj + [verb] + obj + adv
                    if st.min_len <= len(src) <= st.max_len:
                        out.add(" ".join(g.words[w] for w in src))
    return out


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    """{(preset, mode, synonyms): directory} of small nat-synth corpora."""
    out = {}
    for preset, mode, synonyms in itertools.product(("default", "small"), MODES, SYNONYMS):
        d = str(tmp_path_factory.mktemp(f"valid_{preset}_{mode}"))
        generate_corpus(d, mode=mode, seed=7, sizes=(40, 10, 30), preset=preset,
                        synonym_rate=SYNONYMS[synonyms])
        out[preset, mode, synonyms] = d
    return out


@pytest.mark.parametrize("preset", ["default", "small"])
def test_accepts_every_generated_line_in_its_language(corpora, preset):
    picked = 0         # lines whose synonyms differ from the most likely ones
    for mode, synonyms in itertools.product(MODES, SYNONYMS):
        d = corpora[preset, mode, synonyms]
        rec = Recogniser(load_world(d))            # from the written directory alone
        for split in ("train", "valid", "test"):
            for x, y, code in zip(read(d, f"{split}.src"), read(d, f"{split}.tgt"),
                                  read(d, f"{split}.lang")):
                assert rec.recognise(x, y) == (True, {code}), (d, split, x, y)
        refs = {code: read(d, f"test.ref.{code}") for code in ("xa", "xb", "xc")}
        for i, (x, code) in enumerate(zip(read(d, "test.src"), read(d, "test.lang"))):
            for ref_code, lines in refs.items():
                assert rec.recognise(x, lines[i]) == (True, {ref_code})
            picked += read(d, "test.tgt")[i] != refs[code][i]
            if synonyms == "off":
                assert read(d, "test.tgt")[i] == refs[code][i]
    assert picked > 10


@pytest.mark.parametrize("tiny", [TINY_A, TINY_B], ids=["A", "B"])
def test_agrees_with_enumeration_of_a_tiny_grammar(tiny):
    """Every realisation of every source is accepted in its language, and no other realisation
    of any source is (A: all pairs; B: sampled sources against every realisation of a length
    one of their languages has)."""
    world = World(make_settings("small", **tiny))
    rec = Recogniser(world)
    assert max(len(o) for lang in world.languages for o in lang.options) == tiny["max_synonyms"]
    sources = sorted(all_sources(world))
    r = random.Random(3).random
    sampled = {world.grammar.text(world.grammar.sample(r)) for _ in range(3000)}
    assert sampled <= set(sources)                   # the enumeration covers the grammar
    outputs = {x: enumerated(world, x) for x in sources}
    owners = collections.Counter(y for ys in outputs.values() for y in ys)
    assert max(owners.values()) > 1        # xc drops articles: "the N" and "a N" share outputs
    by_length = collections.defaultdict(list)
    for y in sorted(owners):
        by_length[len(y.split())].append(y)
    for x in sources:
        compiled = rec.realisations(x)
        for y, code in outputs[x].items():
            assert compiled.languages(y) == {code}, (x, y)
    checked = sources if tiny is TINY_A else random.Random(4).sample(sources, 40)
    for x in checked:
        compiled = rec.realisations(x)
        for n in set(compiled.lengths.values()):
            for y in by_length[n]:
                expected = {outputs[x][y]} if y in outputs[x] else set()
                assert compiled.languages(y) == expected, (x, y)
    parses = [world.grammar.parse(x) for x in sources]
    assert len(sources) > 150 and any(s.obj is not None for s in parses)
    if tiny is TINY_B:
        assert any(s.obj is not None and s.obj[3] is not None for s in parses)


def mutations(tokens, alignment, s, world, code, same_kind):
    """(kind, tokens) of every swap of two adjacent different tokens, drop, repeat, replacement
    by a word of another language (the aligned word's own translation there) and substitution
    of another token of the same language (another function token, or the token at the same
    offset of another word of the aligned word's class)."""
    n, source_of = len(tokens), {j: i for i, j in alignment}
    for i in range(n - 1):
        if tokens[i] != tokens[i + 1]:
            yield "swap", tokens[:i] + [tokens[i + 1], tokens[i]] + tokens[i + 2:]
    for i in range(n):
        yield "drop", tokens[:i] + tokens[i + 1:]
        yield "repeat", tokens[:i + 1] + tokens[i:]
    for lang in world.languages:
        if lang.code != code:
            for j in range(n):
                wid = s.src[source_of.get(j, s.verb)]
                if not lang.options[wid][0]:              # unrealised there: use the verb
                    wid = s.src[s.verb]
                yield "replace", tokens[:j] + [lang.options[wid][0][0]] + tokens[j + 1:]
    lang = world.languages[world.codes.index(code)]
    start = {}
    for j in sorted(source_of):
        start.setdefault(source_of[j], j)
    for j in range(n):
        if j not in source_of:
            others = lang.function_tokens
        else:
            wid, offset = s.src[source_of[j]], j - start[source_of[j]]
            others = [opt[offset] for w in same_kind[wid] if w != wid
                      for opt in lang.options[w][:1] if len(opt) > offset][:2]
        for tok in others:
            if tok != tokens[j]:
                yield "substitute", tokens[:j] + [tok] + tokens[j + 1:]


def test_rejects_every_mutation(corpora):
    counts, collisions = {}, 0
    for key in (("default", "all", "preset"), ("small", "random", "every word")):
        d = corpora[key]
        world = load_world(d)
        rec, kinds = Recogniser(world), world.grammar.kind
        first = {k: [w for w in range(len(kinds)) if kinds[w] == k][:3] for k in set(kinds)}
        same_kind = [first[k] for k in kinds]
        refs = {code: read(d, f"test.ref.{code}") for code in world.codes}
        rows = zip(read(d, "test.src"), read(d, "test.tgt"), read(d, "test.lang"),
                   read(d, "test.align"))
        for i, (x, y, code, align) in enumerate(rows):
            s, valid, compiled = world.grammar.parse(x), enumerated(world, x), rec.realisations(x)
            links = [tuple(map(int, link.split("-"))) for link in align.split()]
            mixed = [("mix", a.split()[:len(a.split()) // 2] + b.split()[len(b.split()) // 2:])
                     for a, b in itertools.permutations([refs[c][i] for c in world.codes], 2)]
            mutated = mutations(y.split(), links, s, world, code, same_kind)
            for kind, tokens in itertools.chain(mutated, mixed):
                line = " ".join(tokens)
                counts[kind] = counts.get(kind, 0) + 1
                if line in valid:            # the mutation is itself a realisation
                    collisions += 1
                    assert compiled.languages(line) == {valid[line]}
                else:
                    assert not compiled.languages(line), (kind, x, y, line)
    assert min(counts.values()) > 100, counts
    assert collisions <= 0.002 * sum(counts.values()), (collisions, counts)


def edit_json(path, change):
    with open(path, encoding="utf-8") as handle:
        obj = json.load(handle)
    change(obj)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(obj, handle)


def test_refuses_a_foreign_source_or_directory(corpora, tmp_path):
    d = corpora["small", "random", "preset"]
    rec = Recogniser(load_world(d))
    with pytest.raises(ValueError):
        rec.recognise("the the", "x")
    with pytest.raises(UserError, match="no truth.json"):
        load_world(str(tmp_path))
    copy = shutil.copytree(d, str(tmp_path / "copy"))
    edit_json(os.path.join(copy, "lexicon.json"),
              lambda lex: lex["realisations"]["the"].update(xa={"zzz": 1.0}))
    with pytest.raises(UserError, match="differs from the lexicon its settings give"):
        load_world(copy)
    edit_json(os.path.join(copy, "truth.json"), lambda truth: truth["settings"].pop("nouns"))
    with pytest.raises(UserError, match="no complete 'settings'"):
        load_world(copy)


def test_a_swap_of_two_synonyms_of_one_repeated_word_is_a_realisation():
    """Why mutations are checked against the enumeration: "the A A N V" has A's two synonyms
    side by side in xa, in either order."""
    world = World(make_settings("default", synonym_rate=1.0))
    g, xa = world.grammar, world.languages[0]
    adj = next(w for w in g.adjs if len(xa.options[w]) > 1)
    x = " ".join(g.words[w] for w in (g.dets[0], adj, adj, g.noun_sg[0], g.verbs[0]))
    y = xa.realise(g.parse(x), lambda p, w: xa.options[w][p == 1])[0]
    assert y[2] != y[3]
    swapped = " ".join(y[:2] + [y[3], y[2]] + y[4:])
    assert swapped in enumerated(world, x)
    assert Recogniser(world).recognise(x, swapped) == (True, {"xa"})
