"""The source language: a small unambiguous probabilistic grammar with Zipf word frequencies.

    S  -> NP_subj V [NP_obj] [Adv]
    NP -> Det Adj* N [P NP]          (PP nesting up to ``max_depth``)

Word classes have disjoint vocabularies and a determiner fixes number (``a`` singular,
``some`` plural, ``the`` either), so the parse is a function of the token string
(``SourceGrammar.parse``): the target distribution p(y|x) is then a function of x alone.
"""
import bisect
import itertools

from nat.synth.words import WordMaker

# (word, number it allows, relative frequency)
DETERMINERS = (("the", "any", 0.40), ("a", "sg", 0.20), ("some", "pl", 0.10),
               ("this", "sg", 0.07), ("these", "pl", 0.05), ("that", "sg", 0.05),
               ("those", "pl", 0.04), ("every", "sg", 0.04), ("no", "any", 0.05))
ARTICLES = ("the", "a")   # dropped by languages without articles
PREPOSITIONS = ("with", "on", "in", "near", "under", "behind", "from", "over", "beside", "into",
                "across", "without", "beyond", "inside", "around", "along", "among", "past",
                "toward", "above")


class Sentence:
    """A sampled or parsed source sentence: word ids ``src`` plus the parse as positions.

    A noun phrase is the tuple ``(det, adjs, noun, pp)`` of source positions, with ``adjs`` a
    tuple and ``pp = (prep, noun phrase)`` or ``None``; ``verb``/``adv`` are positions.
    """
    __slots__ = ("src", "subj", "verb", "obj", "adv")

    def __init__(self, src, subj, verb, obj, adv):
        self.src, self.subj, self.verb, self.obj, self.adv = src, subj, verb, obj, adv


def _cumulative(weights):
    """Cumulative normalised weights, last entry exactly 1.0 (for ``bisect`` on ``random()``)."""
    total = sum(weights)
    cum = list(itertools.accumulate(w / total for w in weights))
    cum[-1] = 1.0
    return cum


def zipf_cumulative(n, exponent):
    """Cumulative Zipf probabilities over ``n`` ranks, and the probabilities themselves."""
    weights = [1.0 / (rank ** exponent) for rank in range(1, n + 1)]
    total = sum(weights)
    return _cumulative(weights), [w / total for w in weights]


class SourceGrammar:
    """Source vocabulary (word id <-> string, class, number) and the sentence sampler."""

    def __init__(self, settings, maker: WordMaker):
        self.settings = settings
        self.words, self.kind = [], []
        self.is_plural, self.lemma = [], []     # per word id; lemma = noun index or -1
        maker.reserve(w for w, _, _ in DETERMINERS)
        maker.reserve(PREPOSITIONS)

        def add(word, kind, plural=False, lemma=-1):
            self.words.append(word)
            self.kind.append(kind)
            self.is_plural.append(plural)
            self.lemma.append(lemma)
            return len(self.words) - 1

        self.dets = [add(w, "det", plural=(n == "pl")) for w, n, _ in DETERMINERS]
        self.det_number = [n for _, n, _ in DETERMINERS]
        self.det_cum = _cumulative([f for _, _, f in DETERMINERS])
        self.noun_sg, self.noun_pl = [], []
        for lemma in range(settings.nouns):
            singular, plural = maker.word("src", suffix="s")
            self.noun_sg.append(add(singular, "noun", False, lemma))
            self.noun_pl.append(add(plural, "noun", True, lemma))
        self.adjs = [add(maker.word("src"), "adj") for _ in range(settings.adjectives)]
        self.verbs = [add(maker.word("src"), "verb") for _ in range(settings.verbs)]
        self.advs = [add(maker.word("src", suffix="ly")[1], "adv") for _ in range(settings.adverbs)]
        preps = list(PREPOSITIONS[:settings.prepositions])
        preps += [maker.word("src") for _ in range(settings.prepositions - len(preps))]
        self.preps = [add(w, "prep") for w in preps]
        zipf = settings.zipf
        self.noun_cum, self.noun_prob = zipf_cumulative(settings.nouns, zipf)
        self.adj_cum = zipf_cumulative(settings.adjectives, zipf)[0]
        self.verb_cum = zipf_cumulative(settings.verbs, zipf)[0]
        self.adv_cum = zipf_cumulative(settings.adverbs, zipf)[0]
        self.prep_cum = zipf_cumulative(settings.prepositions, zipf)[0]
        self.ids = {w: i for i, w in enumerate(self.words)}
        self._sample = self._sampler()

    # -- sampling ---------------------------------------------------------------------------
    def _sampler(self):
        """The sampling function, with every table bound to a local (it is the hot loop)."""
        s, bisect_right = self.settings, bisect.bisect_right
        det_cum, dets = self.det_cum, self.dets
        det_number = [{"sg": 0, "pl": 1, "any": 2}[n] for n in self.det_number]
        adj_cum, adjs_ = self.adj_cum, self.adjs
        noun_cum, noun_sg, noun_pl = self.noun_cum, self.noun_sg, self.noun_pl
        prep_cum, preps = self.prep_cum, self.preps
        verb_cum, verbs, adv_cum, advs = self.verb_cum, self.verbs, self.adv_cum, self.advs
        adj_prob, max_adj, pp_prob, max_depth = s.adj_prob, s.max_adj, s.pp_prob, s.max_depth
        plural_prob, object_prob, adverb_prob = s.plural_prob, s.object_prob, s.adverb_prob
        min_len, max_len = s.min_len, s.max_len

        def np(r, src, depth):
            k = bisect_right(det_cum, r())
            det = len(src)
            src.append(dets[k])
            number = det_number[k]
            plural = number == 1 or (number == 2 and r() < plural_prob)
            adjs = ()
            if max_adj and r() < adj_prob:
                adjs = [len(src)]
                src.append(adjs_[bisect_right(adj_cum, r())])
                while len(adjs) < max_adj and r() < adj_prob:
                    adjs.append(len(src))
                    src.append(adjs_[bisect_right(adj_cum, r())])
                adjs = tuple(adjs)
            noun = len(src)
            lemma = bisect_right(noun_cum, r())
            src.append(noun_pl[lemma] if plural else noun_sg[lemma])
            pp = None
            if depth < max_depth and r() < pp_prob:
                prep = len(src)
                src.append(preps[bisect_right(prep_cum, r())])
                pp = (prep, np(r, src, depth + 1))
            return (det, adjs, noun, pp)

        def sample(r):
            while True:
                src = []
                subj = np(r, src, 0)
                verb = len(src)
                src.append(verbs[bisect_right(verb_cum, r())])
                obj = np(r, src, 0) if r() < object_prob else None
                adv = None
                if r() < adverb_prob:
                    adv = len(src)
                    src.append(advs[bisect_right(adv_cum, r())])
                if min_len <= len(src) <= max_len:
                    return Sentence(src, subj, verb, obj, adv)

        return sample

    def sample(self, r):
        """Draw a sentence with ``r`` (a ``random.Random().random``); rejects lengths off range."""
        return self._sample(r)

    def text(self, sentence):
        return " ".join(map(self.words.__getitem__, sentence.src))

    # -- parsing (proves the parse is recoverable from the string) -------------------------
    def parse(self, line):
        """Sentence of a source line; ``ValueError`` if the grammar cannot produce it."""
        try:
            src = [self.ids[w] for w in line.split()]
        except KeyError as err:
            raise ValueError(f"unknown source word {err.args[0]!r}") from None
        kind = self.kind
        pos = 0

        def expect(k):
            nonlocal pos
            if pos >= len(src) or kind[src[pos]] != k:
                raise ValueError(f"expected {k} at token {pos}")
            pos += 1
            return pos - 1

        def np(depth):
            det = expect("det")
            adjs = []
            while pos < len(src) and kind[src[pos]] == "adj" and len(adjs) < self.settings.max_adj:
                adjs.append(expect("adj"))
            noun = expect("noun")
            number = self.det_number[self.dets.index(src[det])]
            if number != "any" and (number == "pl") != self.is_plural[src[noun]]:
                raise ValueError(f"determiner and noun disagree in number at token {noun}")
            pp = None
            if depth < self.settings.max_depth and pos < len(src) and kind[src[pos]] == "prep":
                pp = (expect("prep"), np(depth + 1))
            return (det, tuple(adjs), noun, pp)

        subj = np(0)
        verb = expect("verb")
        obj = np(0) if pos < len(src) and kind[src[pos]] == "det" else None
        adv = expect("adv") if pos < len(src) and kind[src[pos]] == "adv" else None
        if pos != len(src):
            raise ValueError(f"unexpected token at {pos}")
        return Sentence(src, subj, verb, obj, adv)
