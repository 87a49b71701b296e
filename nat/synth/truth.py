"""Exact conditional entropies of the generator, in bits (see shared/notes/analysis-metrics.md).

For one source x with language distribution pi(L|x), per-language target length m_L and
synonym entropy H_L = sum of the independent synonym entropies of x's words in L:

    H(L|x)            = H(pi)
    H(Y|x)            = H(pi) + sum_L pi_L H_L              (y reveals L: disjoint vocabularies)
    sum_t H(Y_t|x)    = sum_L pi_L H_L + sum_t H(w_t)        (position t mixes the languages)

where w_t holds pi_L for every language still running at t (t < m_L) and, merged into one
"no token here" event, the mass of the languages that have ended.  Because the vocabularies
are disjoint, H(Y_t|x) = H(w_t) + sum_{L running} pi_L H(slot_{L,t}).  TC = the difference.

Given the target length m as well (what a NAT with gold length sees; m is a function of y),
the languages of length m keep pi'_m = pi restricted to them, renormalised:

    H(Y|x,m)          = H(Y|x) - H(m|x)
    sum_t H(Y_t|x,m)  = sum_L pi_L H_L + E_m[ m H(pi'_m) ]
"""
from nat.synth.languages import entropy_bits


def position_entropy(pi, lengths):
    """sum_t H(w_t): the language/end uncertainty summed over target positions (bits)."""
    order = sorted(range(len(pi)), key=lambda k: lengths[k])
    total, prev, ended = 0.0, 0, 0.0
    for i, k in enumerate(order):
        if lengths[k] > prev:
            running = [pi[j] for j in order[i:]]
            total += (lengths[k] - prev) * entropy_bits(running + [ended])
            prev = lengths[k]
        ended += pi[k]
    return total


def length_entropy(pi, lengths):
    """``(H(m|x), E_m[m H(pi'_m)])``: length uncertainty and the per-position language
    uncertainty left once the target length is known (bits)."""
    groups = {}
    for p, m in zip(pi, lengths):
        if p > 0:
            groups.setdefault(m, []).append(p)
    masses = {m: sum(ps) for m, ps in groups.items()}
    return (entropy_bits(masses.values()),
            sum(masses[m] * m * entropy_bits([p / masses[m] for p in ps])
                for m, ps in groups.items()))


class SourceTruth:
    """Per-source exact values from the languages' per-word tables.

    Fast path for streaming: the three target lengths are summed at once as one packed integer
    (16 bits per language) and the synonym entropies through one table per ``pi``.
    """

    def __init__(self, languages):
        self.languages = languages
        self.is_plural = languages[0].grammar.is_plural
        self.packed = [sum(lang.length[w] << (16 * k) for k, lang in enumerate(languages))
                       for w in range(len(languages[0].length))]
        self.extra = {(obj, pl): sum(lang.extra_tokens(obj, pl) << (16 * k)
                                     for k, lang in enumerate(languages))
                      for obj in (False, True) for pl in (False, True)}
        self._tables, self._cache = {}, {}

    def lengths(self, s):
        """Target length of ``s`` in each language."""
        packed = sum(map(self.packed.__getitem__, s.src)) + \
            self.extra[s.obj is not None, self.is_plural[s.src[s.subj[2]]]]
        return tuple((packed >> (16 * k)) & 0xFFFF for k in range(len(self.languages)))

    def __call__(self, s, pi):
        """Bits for sentence ``s`` under ``pi``: ``(H(L|x), H(Y|x), sum_t H(Y_t|x), H(m|x),
        sum_t H(Y_t|x,m))``."""
        table = self._tables.get(pi)
        if table is None:
            table = self._tables[pi] = [
                sum(p * lang.entropy[w] for p, lang in zip(pi, self.languages))
                for w in range(len(self.packed))]
        h_syn = sum(map(table.__getitem__, s.src))
        key = (pi, sum(map(self.packed.__getitem__, s.src)),
               s.obj is not None, self.is_plural[s.src[s.subj[2]]])
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) > 100000:
                self._cache.clear()
            lengths = self.lengths(s)
            hit = self._cache[key] = (entropy_bits(pi), position_entropy(pi, lengths),
                                      *length_entropy(pi, lengths))
        h_lang, h_pos, h_len, h_pos_given_len = hit
        return h_lang, h_lang + h_syn, h_syn + h_pos, h_len, h_syn + h_pos_given_len


class TruthTotals:
    """Running sums for one split; ``result()`` gives the corpus averages."""

    def __init__(self, n_languages):
        self.n = 0
        self.sums = [0.0] * 5
        self.src_tokens = self.tgt_tokens = 0
        self.prior = [0.0] * n_languages
        self.counts = [0] * n_languages

    def add(self, values, pi, lang, src_len, tgt_len):
        self.n += 1
        self.sums = [a + b for a, b in zip(self.sums, values)]
        self.counts[lang] += 1
        self.src_tokens += src_len
        self.tgt_tokens += tgt_len
        self.prior = [a + b for a, b in zip(self.prior, pi)]

    def result(self, codes):
        n = self.n
        avg = (lambda v: v / n) if n else (lambda v: None)
        h_lang, h_tgt, h_tok, h_len, h_tok_len = self.sums
        return {"pairs": n,
                "h_lang_given_src": avg(h_lang),
                "h_tgt_given_src": avg(h_tgt),
                "sum_token_entropy": avg(h_tok),
                "total_correlation": avg(h_tok - h_tgt),
                "h_len_given_src": avg(h_len),
                "h_tgt_given_src_len": avg(h_tgt - h_len),
                "sum_token_entropy_given_len": avg(h_tok_len),
                "total_correlation_given_len": avg(h_tok_len - h_tgt + h_len),
                "lang_prior": {c: avg(p) for c, p in zip(codes, self.prior)},
                "lang_counts": dict(zip(codes, self.counts)),
                "mean_src_tokens": avg(self.src_tokens),
                "mean_tgt_tokens": avg(self.tgt_tokens)}
