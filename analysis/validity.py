"""Valid rate of system outputs on a synthetic corpus's test split (``outputs --truth DIR``).

Exact, not a BLEU proxy: a hypothesis is valid when it is *a* realisation of its source that
the generator could have written, in any language and with any synonyms
(``nat.synth.recognise``, rebuilt from ``DIR`` alone).  ``valid_by_language`` splits the valid
rate by the language each valid hypothesis is in, so its values sum to ``valid_rate``.
"""
import os
from typing import List, NamedTuple

from nat.errors import UserError
from nat.synth.recognise import Recogniser
from nat.synth.reload import load_world
from nat.textio import read_lines

SPLIT = "test"


class Truth(NamedTuple):
    """What the hypotheses are judged against: the generator and the test sources."""
    recogniser: Recogniser
    sources: List[str]
    sources_path: str


def load(directory):
    """The ``Truth`` of a nat-synth output directory; one-line errors."""
    recogniser = Recogniser(load_world(directory))
    path = os.path.join(directory, f"{SPLIT}.src")
    if not os.path.isfile(path):
        raise UserError(f"{directory}: no {SPLIT}.src (not a nat-synth output directory)")
    return Truth(recogniser, read_lines(path), path)


def validity(hypotheses, truth):
    """The ``validity`` block of metrics.json (hypotheses line-parallel to the test sources)."""
    recogniser = truth.recogniser
    codes = [lang.code for lang in recogniser.languages]
    counts, valid = dict.fromkeys(codes, 0), 0
    pairs = zip(truth.sources, hypotheses, strict=True)
    for number, (source, hypothesis) in enumerate(pairs, start=1):
        try:
            found = recogniser.realisations(source).languages(hypothesis)
        except ValueError as err:
            raise UserError(f"{truth.sources_path}:{number}: not a sentence of its grammar "
                            f"({err})") from None
        valid += bool(found)
        for code in found:
            counts[code] += 1
    n = len(hypotheses)
    return {"valid_rate": valid / n,
            "valid_by_language": {c: k / n for c, k in counts.items()},
            "n_sentences": n, "n_valid": valid,
            "settings": {"sources": truth.sources_path,
                         "recogniser": "exact: realisation of the source in some language, any "
                                       "synonyms (nat.synth.recognise)"}}
