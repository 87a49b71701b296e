"""Stability of a system's outputs: across a retraining with another seed, and under a
one-word source edit (``nat.synth.perturb``).

- ``seed_stability``: the share of test outputs that change when the same recipe is trained
  with another seed (the distilled-students-are-less-stable question of the seed talk).
- ``swap_stability``: each test source has one content word swapped for another of its class;
  every correct translation then differs from one of the original only in that word's tokens
  (``perturb.tokens_changed``).  An output pair further apart than that (token edit distance)
  changed beyond the edit: ``changed_beyond_edit``.  On a corpus whose sources have several
  correct languages, a translator may answer the edited source, correctly, in another language:
  ``language_switched`` counts the changes beyond the edit where both outputs are valid with no
  language in common, ``changed_beyond_edit_same_language`` the others (the two add up).  Also the
  valid rate of the swapped outputs (``nat.synth.recognise``).
"""
from nat.errors import UserError
from nat.synth import perturb


def edit_distance(a, b):
    """Levenshtein distance between two token lists (unit costs)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def seed_stability(hypotheses, other):
    """Share of lines whose output differs from the other seed's."""
    if len(hypotheses) != len(other):
        raise UserError(f"the other seed's hypotheses have {len(other)} lines, these "
                        f"{len(hypotheses)}")
    changed = sum(a.split() != b.split() for a, b in zip(hypotheses, other))
    return {"changed_share": changed / max(1, len(hypotheses)), "n_changed": changed,
            "n_sentences": len(hypotheses)}


def swapped_position(source, swapped, where):
    """The one token position where ``swapped`` differs from ``source``; one-line errors."""
    a, b = source.split(), swapped.split()
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if len(a) != len(b) or len(diff) != 1:
        raise UserError(f"{where}: not a one-word swap of its test source")
    return diff[0]


def swap_stability(truth, hypotheses, swapped_sources, swapped_hypotheses, where):
    """The ``swap_stability`` block: ``truth`` is ``analysis.validity.load``'s (the original
    test sources and the generator), the rest line-parallel to it."""
    recogniser = truth.recogniser
    n = len(truth.sources)
    for name, lines in (("swapped sources", swapped_sources),
                        ("swapped hypotheses", swapped_hypotheses)):
        if len(lines) != n:
            raise UserError(f"{name} have {len(lines)} lines, the test set {n}")
    beyond, switched, beyond_same, valid_swapped, distances = 0, 0, 0, 0, []
    for number, (src, hyp, new_src, new_hyp) in enumerate(
            zip(truth.sources, hypotheses, swapped_sources, swapped_hypotheses), start=1):
        position = swapped_position(src, new_src, f"{where}:{number}")
        allowed = perturb.tokens_changed(recogniser.grammar, recogniser.languages, new_src,
                                         position)
        distance = edit_distance(hyp.split(), new_hyp.split())
        distances.append(distance)
        try:
            before = recogniser.realisations(src).languages(hyp)
            after = recogniser.realisations(new_src).languages(new_hyp)
        except ValueError as err:
            raise UserError(f"{where}:{number}: not a sentence of the grammar ({err})") from None
        valid_swapped += bool(after)
        # both correct, in different languages: a change of mode, not a broken translation
        switch = bool(before) and bool(after) and not set(before) & set(after)
        beyond += distance > allowed
        switched += distance > allowed and switch
        beyond_same += distance > allowed and not switch
    return {"changed_beyond_edit": beyond / max(1, n), "n_changed_beyond_edit": beyond,
            "language_switched": switched / max(1, n),
            "changed_beyond_edit_same_language": beyond_same / max(1, n),
            "valid_rate_swapped": valid_swapped / max(1, n),
            "mean_edit_distance": sum(distances) / max(1, n), "n_sentences": n,
            "settings": {"edit": "one content word swapped for another of its class "
                                 "(nat.synth.perturb)",
                         "allowed": "the swapped word's realisation length (longest over "
                                    "languages), token edit distance"}}
