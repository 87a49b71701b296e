"""Synonym diversity of a synthetic corpus's targets against the generator's known synonyms.

The generator draws, for each occurrence of a source word w in a line of language L, one of
the word's k synonyms with known probabilities p.  For any target file line-parallel with its
sources (raw, distilled, a system's outputs), the recogniser's slot matching
(``Realisations.choices``) says which synonym each valid line used for every word; an invalid
line says nothing and is only counted.  Over every (w, L) with k >= 2 that occurs n_wL times,
weighted by n_wL (so measure and truth weigh the same occurrences):

    value                  plug-in entropy (bits) of the observed synonym counts
    truth.value            H(p), the generator's synonym entropy
    truth.expected_plugin  E[plug-in] of n_wL draws from p: what a corpus that keeps the
                           generator's variation measures (below H(p): the plug-in's bias,
                           large for rare words), so ``kept`` = value / expected_plugin is 1
                           for such a corpus and 0 for one that always takes one synonym
    truth.sampling_sd      standard deviation of ``value`` under the generator: words are
                           independent, so sqrt(sum n_wL^2 Var_wL) / N, with the exact
                           moments of ``analysis.plugin_entropy``

Target types per word: distinct synonyms observed per (w, L), against the number expected
after n_wL draws from p, sum_i 1 - (1 - p_i)^n.
"""
import numpy as np

from analysis.plugin_entropy import entropy_bits, plugin_moments
from nat.errors import UserError


def synonym_counts(sources, targets, recogniser, sources_name="sources"):
    """``({(word id, language index): synonym counts}, valid lines)`` over the (word, language)
    pairs with several synonyms."""
    index = {lang.code: k for k, lang in enumerate(recogniser.languages)}
    several = [[len(opts) > 1 for opts in lang.options] for lang in recogniser.languages]
    counts, valid = {}, 0
    for number, (source, target) in enumerate(zip(sources, targets, strict=True), start=1):
        try:
            found = recogniser.realisations(source).choices(target)
        except ValueError as err:
            raise UserError(f"{sources_name}:{number}: not a sentence of the generator's "
                            f"grammar ({err})") from None
        if found is None:
            continue
        valid += 1
        k = index[found[0]]
        for word, synonym in found[1]:
            if several[k][word]:
                row = counts.get((word, k))
                if row is None:
                    row = counts[word, k] = [0] * len(recogniser.languages[k].options[word])
                row[synonym] += 1
    return counts, valid


def _word_stats(counts, recogniser):
    """Per (word, language): ``(language index, n, plug-in, H(p), E plug-in, Var plug-in)``."""
    stats = []
    for (word, k), c in counts.items():
        n, probs = sum(c), recogniser.languages[k].probs[word]
        stats.append((k, n, float(entropy_bits(c)[0]), float(entropy_bits(probs)[0]),
                      *plugin_moments(probs, n)))
    return stats


def _average(stats):
    """Occurrence-weighted averages over some ``_word_stats`` rows."""
    total = sum(row[1] for row in stats)
    if not total:
        return {"value": None, "kept": None, "occurrences": 0, "words": 0,
                "truth": {"value": None, "expected_plugin": None, "sampling_sd": None}}
    measured = sum(n * h for _, n, h, _, _, _ in stats)
    expected = sum(n * mean for _, n, _, _, mean, _ in stats)
    return {"value": measured / total, "kept": measured / expected if expected else None,
            "occurrences": total, "words": len(stats),
            "truth": {"value": sum(n * h for _, n, _, h, _, _ in stats) / total,
                      "expected_plugin": expected / total,
                      "sampling_sd": sum(n * n * v for _, n, _, _, _, v in stats) ** 0.5 / total}}


def _types(counts, recogniser):
    """Mean distinct synonyms observed per (word, language), expected and available."""
    if not counts:
        return {"value": None, "truth_expected": None, "synonyms_available": None}
    observed, expected, available = [], [], []
    for (word, k), c in counts.items():
        n, probs = sum(c), recogniser.languages[k].probs[word]
        observed.append(sum(x > 0 for x in c))
        expected.append(sum(1 - (1 - p) ** n for p in probs))
        available.append(len(c))
    return {"value": float(np.mean(observed)), "truth_expected": float(np.mean(expected)),
            "synonyms_available": float(np.mean(available))}


def synonym_diversity(sources, targets, recogniser, sources_name="sources"):
    """The ``synonym_diversity`` block of metrics.json (see the module doc)."""
    counts, valid = synonym_counts(sources, targets, recogniser, sources_name)
    stats = _word_stats(counts, recogniser)
    out = _average(stats)
    out["by_language"] = {lang.code: _average([row for row in stats if row[0] == k])
                          for k, lang in enumerate(recogniser.languages)}
    out["target_types_per_word"] = _types(counts, recogniser)
    n = len(targets)
    out.update(n_lines=n, n_invalid=n - valid, invalid_rate=(n - valid) / n if n else None)
    out["settings"] = {
        "unit": "bits", "estimator": "plug-in",
        "weighting": "occurrences of each (source word, language) with several synonyms",
        "matching": "exact slot matching of valid lines (nat.synth.recognise); invalid lines "
                    "left out",
        "sampling_sd": "exact moments of the plug-in under the generator (enumerated up to "
                       "analysis.plugin_entropy.MAX_OUTCOMES count vectors, delta method above)"}
    return out
