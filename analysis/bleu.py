"""BLEU with sacreBLEU signatures: detokenized (13a), tokenized (none) and per-language scores."""
import sacrebleu

from nat.errors import UserError


def _score(hypotheses, reference_sets, tokenize):
    for k, refs in enumerate(reference_sets):
        if len(refs) != len(hypotheses):
            raise UserError(f"reference set {k + 1} has {len(refs)} lines but there are "
                            f"{len(hypotheses)} hypotheses")
    metric = sacrebleu.BLEU(tokenize=tokenize)
    result = metric.corpus_score(hypotheses, reference_sets)
    return {"score": round(result.score, 4), "signature": str(metric.get_signature()),
            "n_references": len(reference_sets)}


def bleu(hypotheses, reference_sets):
    """sacreBLEU (13a) and tokenized BLEU (tok:none, on our space tokens), multi-reference."""
    if not reference_sets:
        raise UserError("BLEU needs at least one reference file")
    return {"sacrebleu": _score(hypotheses, reference_sets, "13a"),
            "tokenized": _score(hypotheses, reference_sets, "none")}


def per_language_bleu(hypotheses, references_by_language, choices=None):
    """Tokenized BLEU against each language's reference; with per-sentence language choices also
    the score against the reference in the language each hypothesis chose ('chosen_language')."""
    out = {lang: _score(hypotheses, [refs], "none")
           for lang, refs in references_by_language.items()}
    if choices is not None:
        fallback = next(iter(references_by_language))
        chosen = [references_by_language.get(c, references_by_language[fallback])[s]
                  for s, c in enumerate(choices)]
        out["chosen_language"] = _score(hypotheses, [chosen], "none")
        out["chosen_language"]["note"] = (f"reference in each hypothesis's majority language; "
                                          f"tie/unknown/empty use {fallback}")
    return out
