"""Repetition rate: consecutive identical tokens, the classic symptom of NAT's independence."""


def repeat_counts(lines):
    """(repeated tokens, total tokens): repeats are positions t > 1 with y_t = y_(t-1)."""
    repeats = total = 0
    for line in lines:
        toks = line.split()
        total += len(toks)
        repeats += sum(1 for a, b in zip(toks, toks[1:]) if a == b)
    return repeats, total


def repetition_rate(lines):
    repeats, total = repeat_counts(lines)
    return repeats / total if total else 0.0


def repetition(hypotheses, references=None):
    """Rate of the hypotheses, and minus the references' rate when references are given."""
    out = {"repetition_rate": repetition_rate(hypotheses),
           "settings": {"unit": "fraction of tokens", "tokens": "whitespace"}}
    if references is not None:
        out["reference_repetition_rate"] = repetition_rate(references)
        out["repetition_excess"] = out["repetition_rate"] - out["reference_repetition_rate"]
    return out
