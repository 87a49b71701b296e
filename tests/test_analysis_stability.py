"""Stability of outputs: one-word source swaps (``nat.synth.perturb``) checked against the
generator, and ``nat-analyze outputs --other-seed / --swapped-source``."""
import itertools
import json
import os

import pytest

from analysis import stability
from analysis.cli import main
from nat.synth import generate_corpus, perturb
from nat.synth.reload import load_world


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("stability_synth"))
    generate_corpus(d, mode="random", seed=5, sizes=(40, 5, 120), preset="small",
                    progress=False)
    return d


def lines(d, name):
    with open(os.path.join(d, name), encoding="utf-8") as handle:
        return handle.read().splitlines()


def test_edit_distance_against_brute_force():
    """Levenshtein distance = the fewest unit edits; brute force over all short pairs."""
    def brute(a, b):  # shortest edit script by breadth-first search over strings
        frontier, seen, steps = {a}, {a}, 0
        while b not in frontier:
            nxt = set()
            for s in frontier:
                for i in range(len(s) + 1):
                    nxt.update(s[:i] + c + s[i:] for c in "xy")
                    if i < len(s):
                        nxt.add(s[:i] + s[i + 1:])
                        nxt.update(s[:i] + c + s[i + 1:] for c in "xy")
            frontier, steps = nxt - seen, steps + 1
            seen |= nxt
        return steps

    words = ["".join(p) for n in range(4) for p in itertools.product("xy", repeat=n)]
    for a, b in itertools.product(words, repeat=2):
        assert stability.edit_distance(list(a), list(b)) == brute(a, b), (a, b)


def test_swaps_keep_the_parse_and_change_only_the_swapped_word(synth):
    """Each swap replaces one content word by another of its class and number; every
    language's most likely translation then changes in at most ``tokens_changed`` tokens, and
    only by substitution (same length)."""
    world = load_world(synth)
    grammar = world.grammar
    sources = lines(synth, "test.src")
    swapped, positions = perturb.swap_lines(grammar, sources, seed=1)
    assert swapped != sources
    for src, new, pos in zip(sources, swapped, positions):
        a, b = src.split(), new.split()
        assert stability.swapped_position(src, new, "x") == pos and a[pos] != b[pos]
        old_id, new_id = grammar.ids[a[pos]], grammar.ids[b[pos]]
        assert grammar.kind[old_id] == grammar.kind[new_id] in perturb.CONTENT
        assert grammar.is_plural[old_id] == grammar.is_plural[new_id]
        allowed = perturb.tokens_changed(grammar, world.languages, new, pos)
        for language in world.languages:
            before, _ = language.realise(grammar.parse(src), language.best)
            after, _ = language.realise(grammar.parse(new), language.best)
            assert len(before) == len(after)
            assert sum(x != y for x, y in zip(before, after)) <= allowed
    assert perturb.swap_lines(grammar, sources, seed=1) == (swapped, positions)  # seeded


def test_swap_stability_of_the_generator_and_of_a_broken_system(synth, tmp_path):
    """The generator's own translations are stable and valid; a system that answers the
    swapped source with its first word repeated changes beyond the edit everywhere."""
    world = load_world(synth)
    grammar, language = world.grammar, world.languages[0]
    sources = lines(synth, "test.src")
    swapped, _ = perturb.swap_lines(grammar, sources, seed=2)
    best = lambda line: " ".join(language.realise(grammar.parse(line), language.best)[0])  # noqa
    hyps, good = [best(s) for s in sources], [best(s) for s in swapped]
    broken = [" ".join([h.split()[0]] * (len(h.split()) + 3)) for h in hyps]
    files = {}
    for name, data in (("hyp", hyps), ("swap_src", swapped), ("good", good),
                       ("broken", broken)):
        files[name] = tmp_path / f"{name}.txt"
        files[name].write_text("\n".join(data) + "\n", encoding="utf-8")
    results = {}
    for name in ("good", "broken"):
        out = tmp_path / f"out_{name}"
        assert main(["outputs", "--hyp", str(files["hyp"]), "--truth", synth,
                     "--swapped-source", str(files["swap_src"]), "--swapped-hyp",
                     str(files[name]), "--other-seed", str(files[name]),
                     "--out", str(out)]) == 0
        results[name] = json.loads((out / "metrics.json").read_text())
    good_m, broken_m = results["good"], results["broken"]
    assert good_m["swap_changed_beyond_edit"] == 0 and good_m["valid_rate_swapped"] == 1
    assert broken_m["swap_changed_beyond_edit"] == 1 and broken_m["valid_rate_swapped"] == 0
    n_changed = sum(a != b for a, b in zip(hyps, good))
    assert good_m["seed_changed_share"] == n_changed / len(hyps)
    assert broken_m["seed_changed_share"] == 1


def test_stability_option_errors(synth, tmp_path, capsys):
    def fails(*argv):
        with pytest.raises(SystemExit) as exit_info:
            main(["outputs", "--hyp", str(hyp), *argv, "--out", str(tmp_path / "o")])
        assert exit_info.value.code == 2
        return capsys.readouterr().err

    hyp = tmp_path / "h.txt"
    hyp.write_text("\n".join(lines(synth, "test.tgt")) + "\n", encoding="utf-8")
    assert "--swapped-source needs --truth" in fails(
        "--ref-dir", synth, "--swapped-source", str(hyp), "--swapped-hyp", str(hyp))
    assert "go together" in fails("--truth", synth, "--swapped-source", str(hyp))
    # the "swapped" sources are the targets: not one-word swaps of the test sources
    assert "not a one-word swap" in fails("--truth", synth, "--swapped-source", str(hyp),
                                          "--swapped-hyp", str(hyp))
    short = tmp_path / "short.txt"
    short.write_text("a\n" * 3, encoding="utf-8")
    assert "other seed" in fails("--truth", synth, "--other-seed", str(short))


def test_a_correct_answer_in_another_language_is_a_language_switch(synth):
    """Answering the swapped source correctly in another language changes beyond the edit,
    and is counted as a language switch, not as a same-language change."""
    from analysis import validity

    world = load_world(synth)
    grammar = world.grammar
    truth = validity.load(synth)
    swapped, _ = perturb.swap_lines(grammar, truth.sources, seed=3)
    realise = lambda lang, line: " ".join(  # noqa: E731
        lang.realise(grammar.parse(line), lang.best)[0])
    first, second = world.languages[0], world.languages[1]
    hyps = [realise(first, s) for s in truth.sources]
    block = stability.swap_stability(truth, hyps, swapped,
                                     [realise(second, s) for s in swapped], "x")
    assert block["valid_rate_swapped"] == 1
    assert block["language_switched"] == block["changed_beyond_edit"] > 0.9
    assert block["changed_beyond_edit_same_language"] == 0
    same = stability.swap_stability(truth, hyps, swapped, [realise(first, s) for s in swapped],
                                    "x")
    assert same["changed_beyond_edit"] == same["language_switched"] == 0
