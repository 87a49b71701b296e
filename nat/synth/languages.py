"""Three target languages: deterministic transductions of the source parse.

Each language has its own vocabulary, word order and agreement morphology; the only randomness
inside a language is the choice among a content word's synonyms (known probabilities, drawn
independently per occurrence).  Synonyms of one word have equal token length, so given the
language every target position holds either a fixed token or one synonym slot.

    xa  SVO, Det Adj? N -> Det N Adj (mirrored), prepositions, fused plural nouns
    xb  SOV, [NP P] Adj N Det (head-final), postpositions, plural particle after the noun,
        case particles after subject and object, adverb before the verb, verb followed by a
        subject-number agreement token
    xc  VSO, no articles (``the``/``a`` unrealised), N Adj, prepositions, fused plurals,
        object-case particle before the object, plural-subject prefix token before the verb

Function tokens (case, agreement) are unaligned in the gold alignments; plural particles are
part of the noun's realisation and aligned to it.
"""
import bisect
import itertools
import math

from nat.synth.grammar import ARTICLES

SPECS = {
    "xa": dict(order="SVO", adj="post", pp="post", det="pre", plural="fused", suffix="i",
               drop_articles=False, case={}, agree={}, adverb="end"),
    "xb": dict(order="SOV", adj="pre", pp="pre", det="post", plural="particle", suffix=None,
               drop_articles=False, case={"subj": "after", "obj": "after"},
               agree={"sg": "after", "pl": "after"}, adverb="before_verb"),
    "xc": dict(order="VSO", adj="post", pp="post", det="pre", plural="fused", suffix="u",
               drop_articles=True, case={"obj": "before"}, agree={"pl": "before"},
               adverb="end"),
}


class _Links(dict):
    """Pharaoh ``i-j`` strings of packed links ``i << 20 | j``, formatted once each."""

    def __missing__(self, key):
        text = self[key] = f"{key >> 20}-{key & 0xFFFFF}"
        return text


LINKS = _Links()


def entropy_bits(probs):
    return -sum(p * math.log2(p) for p in probs if p > 0)


def synonym_probs(rng, settings):
    """Probabilities of one word's synonyms, most likely first (a single 1.0 if none)."""
    if settings.max_synonyms < 2 or rng.random() >= settings.synonym_rate:
        return [1.0]
    k = rng.randint(2, settings.max_synonyms)
    gammas = [rng.gammavariate(1.0, 1.0) for _ in range(k)]
    total = sum(gammas)
    return sorted((0.6 * g / total + 0.4 / k for g in gammas), reverse=True)


class TargetLanguage:
    """One language's lexicon (per source word id: realisations, probabilities) and word order."""

    def __init__(self, code, grammar, settings, rng, maker):
        self.code, self.spec, self.grammar = code, SPECS[code], grammar
        spec = self.spec
        n = len(grammar.words)
        self.options = [None] * n     # tuple of realisations (each a tuple of tokens)
        self.probs = [None] * n
        self.cum = [None] * n         # cumulative probabilities, None when there is one option

        def word(suffix=None):
            return maker.word(code, suffix)

        self.case = {role: (side, word()) for role, side in spec["case"].items()}
        self.agree = {num: (side, word()) for num, side in spec["agree"].items()}
        self.plural_particle = word() if spec["plural"] == "particle" else None
        self.function_tokens = [t for _, t in self.case.values()] + \
            [t for _, t in self.agree.values()] + \
            ([self.plural_particle] if self.plural_particle else [])
        self._marker_index = {t: ~i for i, t in enumerate(self.function_tokens)}
        self._orders = {}

        def set_word(wid, options, probs):
            self.options[wid], self.probs[wid] = tuple(options), tuple(probs)
            if len(options) > 1:
                cum = list(itertools.accumulate(probs))
                cum[-1] = 1.0
                self.cum[wid] = cum

        for wid in grammar.dets:
            drop = spec["drop_articles"] and grammar.words[wid] in ARTICLES
            set_word(wid, [() if drop else (word(),)], [1.0])
        for wid in grammar.preps:
            set_word(wid, [(word(),)], [1.0])
        for lemma in range(settings.nouns):
            probs = synonym_probs(rng, settings)
            sing, plur = [], []
            for _ in probs:
                if spec["plural"] == "fused":
                    stem, plural = word(spec["suffix"])
                    plur.append((plural,))
                else:
                    stem = word()
                    plur.append((stem, self.plural_particle))
                sing.append((stem,))
            set_word(grammar.noun_sg[lemma], sing, probs)
            set_word(grammar.noun_pl[lemma], plur, probs)
        for wid in grammar.adjs + grammar.verbs + grammar.advs:
            probs = synonym_probs(rng, settings)
            set_word(wid, [(word(),) for _ in probs], probs)
        # per-word tables for the exact truth: token count and synonym entropy (bits)
        self.length = [len(opts[0]) for opts in self.options]
        self.entropy = [entropy_bits(p) for p in self.probs]

    # -- realisation ------------------------------------------------------------------------
    def order(self, s):
        """Target order of ``s``: source positions (ints >= 0) and function tokens (``~i``)."""
        spec, out = self.spec, []
        case, agree, marker = self.case, self.agree, self._marker_index

        def np(n, role):
            det, adjs, noun, pp = n
            side, tok = case.get(role, (None, None))
            if side == "before":
                out.append(marker[tok])
            if pp is not None and spec["pp"] == "pre":
                np(pp[1], None)
                out.append(pp[0])
            if spec["det"] == "pre":
                out.append(det)
            if spec["adj"] == "pre":
                out.extend(adjs)
            out.append(noun)
            if spec["adj"] == "post":
                out.extend(reversed(adjs))
            if spec["det"] == "post":
                out.append(det)
            if pp is not None and spec["pp"] == "post":
                out.append(pp[0])
                np(pp[1], None)
            if side == "after":
                out.append(marker[tok])

        def verb():
            if s.adv is not None and spec["adverb"] == "before_verb":
                out.append(s.adv)
            side, tok = agree.get(self._number(s), (None, None))
            if side == "before":
                out.append(marker[tok])
            out.append(s.verb)
            if side == "after":
                out.append(marker[tok])

        order = spec["order"]
        if order == "VSO":
            verb()
        np(s.subj, "subj")
        if order == "SVO":
            verb()
        if s.obj is not None:
            np(s.obj, "obj")
        if order == "SOV":
            verb()
        if s.adv is not None and spec["adverb"] == "end":
            out.append(s.adv)
        return out

    def cached_order(self, s):
        """``order(s)``, memoised on the parse shape (positions fix it, up to subject number)."""
        key = (s.subj, s.obj, s.adv, self.grammar.is_plural[s.src[s.subj[2]]])
        hit = self._orders.get(key)
        if hit is None:
            if len(self._orders) > 50000:
                self._orders.clear()
            hit = self._orders[key] = self.order(s)
        return hit

    def realise(self, s, pick):
        """Target tokens and sorted gold links ``(src_pos, tgt_pos)`` of sentence ``s``.

        ``pick(pos, wid)`` returns the chosen realisation (a tuple of tokens) of source word
        ``wid`` at position ``pos``: the most likely option (``best``) or a brute-force choice.
        """
        src, markers, toks, links = s.src, self.function_tokens, [], []
        for p in self.order(s):
            if p < 0:
                toks.append(markers[~p])
                continue
            for tok in pick(p, src[p]):
                links.append((p, len(toks)))
                toks.append(tok)
        return toks, sorted(links)

    def sample(self, s, r):
        """``(target line, Pharaoh alignment line, target length)``, synonyms drawn by ``r()``.

        The fast path of ``realise`` with a sampling ``pick`` (same order, same draws per word).
        """
        src, markers, options, cum = s.src, self.function_tokens, self.options, self.cum
        bisect_right = bisect.bisect_right
        toks, links = [], []
        for p in self.cached_order(s):
            if p < 0:
                toks.append(markers[~p])
                continue
            wid = src[p]
            c = cum[wid]
            for tok in options[wid][0] if c is None else options[wid][bisect_right(c, r())]:
                links.append((p << 20) | len(toks))
                toks.append(tok)
        links.sort()
        return " ".join(toks), " ".join(map(LINKS.__getitem__, links)), len(toks)

    def _number(self, s):
        return "pl" if self.grammar.is_plural[s.src[s.subj[2]]] else "sg"

    def extra_tokens(self, has_object, plural_subject):
        """Function tokens (case, agreement) a clause gets in this language."""
        return ("subj" in self.case) + (has_object and "obj" in self.case) + \
            (("pl" if plural_subject else "sg") in self.agree)

    def target_length(self, s):
        """Number of target tokens of ``s`` in this language (same for every synonym choice)."""
        return sum(map(self.length.__getitem__, s.src)) + \
            self.extra_tokens(s.obj is not None, self._number(s) == "pl")

    # -- pickers ----------------------------------------------------------------------------
    def best(self, pos, wid):
        """``pick`` choosing the most likely synonym: the mode of p(y | x, language)."""
        return self.options[wid][0]
