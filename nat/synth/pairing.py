"""Which target language(s) each source gets: ``random``, ``deterministic`` or ``all``.

``deterministic`` picks the language from the subject noun's lemma (a noun class every learner
can see in the source), with lemmas assigned to languages so that the Zipf mass of each
language is as close to ``mix`` as a greedy fill gets: H(L|X) = 0 but nearly the same marginal.
"""
import bisect
import itertools


def assign_classes(weights, mix):
    """Language index per item: heaviest first, each to the language furthest below its share."""
    filled = [0.0] * len(mix)
    out = [0] * len(weights)
    allowed = [k for k in range(len(mix)) if mix[k] > 0]
    for i in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        k = max(allowed, key=lambda k: (mix[k] - filled[k], -k))
        out[i] = k
        filled[k] += weights[i]
    return out


class Pairing:
    """``languages(s, r)`` -> language indices to emit for ``s``; ``pi(s)`` -> p(L | x)."""

    def __init__(self, mode, mix, grammar):
        self.mode, self.mix = mode, tuple(mix)
        n = len(self.mix)
        self.lemma, self.is_plural = grammar.lemma, grammar.is_plural
        if mode == "random":
            self.mix_cum = list(itertools.accumulate(self.mix))
            self.mix_cum[-1] = 1.0
        elif mode == "deterministic":
            self.lang_of_lemma = assign_classes(grammar.noun_prob, self.mix)
            self.onehot = [tuple(float(j == k) for j in range(n)) for k in range(n)]
        elif mode == "all":
            self.uniform = tuple(1.0 / n for _ in range(n))
        else:
            raise ValueError(f"unknown mode {mode!r}")
        # expected marginal p(L) under the source distribution (the subject noun is Zipf)
        if mode == "deterministic":
            marginal = [0.0] * n
            for lemma, k in enumerate(self.lang_of_lemma):
                marginal[k] += grammar.noun_prob[lemma]
            self.marginal = tuple(marginal)
        else:
            self.marginal = self.mix if mode == "random" else self.uniform

    def subject_language(self, s):
        return self.lang_of_lemma[self.lemma[s.src[s.subj[2]]]]

    def languages(self, s, r):
        if self.mode == "random":
            return (bisect.bisect_right(self.mix_cum, r()),)
        if self.mode == "deterministic":
            return (self.subject_language(s),)
        return tuple(range(len(self.mix)))

    def pi(self, s):
        if self.mode == "random":
            return self.mix
        if self.mode == "deterministic":
            return self.onehot[self.subject_language(s)]
        return self.uniform
