"""Is the teacher fit to distil from?  Its validation curve, its test BLEU, how many of its
outputs stop at the length cap, how often it mixes languages, measured before anything that
depends on it is believed.

A *degenerate* teacher (test BLEU below ``checks.MIN_TEACHER_BLEU``, or more than
``MAX_AT_CAP`` of its distilled or test outputs cut at the length cap, the signature of an
undertrained model that repeats until stopped) is named at the top of the report, and every
prediction that depends on it is "not measurable", never ✓ or ✗.
"""
from nat.experiment import checks

MAX_AT_CAP = 0.5


def at_cap(decode):
    """``tokens -> bool``: whether a hypothesis (space-separated tokens) reached the length cap
    of a fixed ``max_len_b`` (``max_len_a`` 0): fairseq-generate stops at ``max_len_b`` - 1
    tokens and its end of sentence, CTranslate2 (nat-distill) at ``max_len_b`` tokens; both
    count."""
    cap = decode["max_len_b"] - 1 if not decode["max_len_a"] else None
    return lambda tokens: cap is not None and len(tokens.split()) >= cap


def corpus_at_cap(path, decode):
    """Lines of a distilled target file (tokens the data-bin holds) at the length cap."""
    check = at_cap(decode)
    with open(path, encoding="utf-8") as handle:
        return sum(check(line) for line in handle)


def summary(results, at_cap_counts):
    """The teacher check of ``results`` (models and curves collected); ``at_cap_counts``:
    {corpus name: (lines at the cap, lines)} of every distilled corpus."""
    models = {m["name"]: m for m in results["models"]}
    teacher = models.get("teacher_beam5") or {}
    curve = (results.get("curves") or {}).get("teacher") or []
    with_bleu = [p for p in curve if p.get("bleu") is not None]
    n_test = teacher.get("test_lines")
    found = {
        "test_bleu": teacher.get("bleu"),
        "test_mixed_sentence_rate": teacher.get("mixed_sentence_rate"),
        "test_at_length_cap": teacher.get("at_length_cap"), "test_lines": n_test,
        "valid_loss": curve[-1]["loss"] if curve else None,
        "valid_bleu": with_bleu[-1]["bleu"] if with_bleu else None,
        "best_valid_bleu": max((p["bleu"] for p in with_bleu), default=None),
        "validated_at": curve[-1]["updates"] if curve else None,
        "distilled_at_length_cap": {name: {"lines": n, "at_cap": k}
                                    for name, (k, n) in at_cap_counts.items()},
    }
    found["degenerate"] = degenerate(found)
    return found


def degenerate(found):
    """Why the teacher is degenerate, or None."""
    if found["test_bleu"] is not None and found["test_bleu"] < checks.MIN_TEACHER_BLEU:
        return (f"test BLEU {found['test_bleu']:.1f} < {checks.MIN_TEACHER_BLEU:g}: a broken "
                f"teacher distils noise")
    shares = [(f"{c['at_cap']} of {c['lines']} outputs of corpus {name}", c["at_cap"] / c["lines"])
              for name, c in found["distilled_at_length_cap"].items() if c["lines"]]
    if found["test_at_length_cap"] is not None and found["test_lines"]:
        shares.append((f"{found['test_at_length_cap']} of {found['test_lines']} test outputs",
                       found["test_at_length_cap"] / found["test_lines"]))
    for what, share in shares:
        if share > MAX_AT_CAP:
            return f"{what} stop at the length cap (over {100 * MAX_AT_CAP:g}%)"
    return None


def _pct(value):
    return "–" if value is None else f"{100 * value:.1f}%"


def section(results):
    """The report's lines on the teacher, right after the corpus (before any claim)."""
    found = results.get("teacher_check")
    if not found:
        return []
    parts = []
    if found["validated_at"] is not None:
        valid = f"validation loss {found['valid_loss']:.3f}"
        if found["valid_bleu"] is not None:
            valid += (f", BLEU {found['valid_bleu']:.1f} (greedy, one reference; best "
                      f"{found['best_valid_bleu']:.1f})")
        parts.append(f"{valid} after {found['validated_at']} updates")
    if found["test_bleu"] is not None:
        parts.append(f"test BLEU {found['test_bleu']:.1f} (beam 5)")
    if found["test_mixed_sentence_rate"] is not None:
        parts.append(f"mixes languages in {_pct(found['test_mixed_sentence_rate'])} of its test "
                     f"outputs")
    if found["test_at_length_cap"] is not None and found["test_lines"]:
        parts.append(f"{found['test_at_length_cap']} of {found['test_lines']} test outputs at "
                     f"the length cap")
    for name, c in found["distilled_at_length_cap"].items():
        parts.append(f"{c['at_cap']} of {c['lines']} lines of `{name}` at the length cap")
    lines = ["Teacher check (before distillation is believed): " + "; ".join(parts) + "."]
    if found["degenerate"]:
        lines += ["", f"**The teacher is degenerate: {found['degenerate']}.** Every prediction "
                      f"that depends on it below is *not measurable*; train it longer (more "
                      f"updates or a larger batch) before reading anything into its students."]
    return lines + [""]
