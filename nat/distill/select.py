"""Selection methods: cheap passes over the n-best store (changing the method never re-decodes).

Each returns output pairs ``(id, source_line, target_line)`` in id order and a counter of
fallbacks to the raw target.  A source id always yields output (1 line, or K for nbest/sample).
"""
from collections import Counter


def strip_bpe(text, symbol):
    """Undo subword segmentation for scoring only ("@@ " style or "sentencepiece")."""
    if not symbol:
        return text
    if symbol == "sentencepiece":
        return text.replace(" ", "").replace("\u2581", " ").strip()
    return (text + " ").replace(symbol, "").rstrip()


class SentenceScorer:
    """Sentence-level BLEU and TER from sacrebleu, with the signature recorded in the manifest."""

    def __init__(self, tokenize="none", remove_bpe=None):
        from sacrebleu.metrics import BLEU, TER

        self.bleu = BLEU(tokenize=tokenize, effective_order=True)
        self.ter = TER()
        self.remove_bpe = remove_bpe

    def sentence_bleu(self, hyp, ref):
        return self.bleu.sentence_score(strip_bpe(hyp, self.remove_bpe),
                                        [strip_bpe(ref, self.remove_bpe)]).score

    def sentence_ter(self, hyp, ref):
        """TER as a rate (0 = identical; may exceed 1)."""
        return self.ter.sentence_score(strip_bpe(hyp, self.remove_bpe),
                                       [strip_bpe(ref, self.remove_bpe)]).score / 100.0

    def signatures(self):
        """sacrebleu signatures of the metrics that were used (sacrebleu knows them after use)."""
        found = {}
        for name, metric in (("bleu", self.bleu), ("ter", self.ter)):
            try:
                found[f"{name}_signature"] = str(metric.get_signature())
            except ValueError:  # metric not used in this run
                pass
        return found


class LanguageChecker:
    """The language consistency of a candidate, from a ``lexicon.json`` (word -> language of the
    words seen under one language only; ``nat-prepare`` derives it from ``train.lang``)."""

    def __init__(self, lexicon, remove_bpe=None):
        self.token_language = lexicon["token_language"]
        self.remove_bpe = remove_bpe

    def majority_share(self, text):
        """Share of the candidate's identifying words in its most frequent language (1.0 when
        it has none: nothing mixes)."""
        langs = Counter(self.token_language[w] for w in strip_bpe(text, self.remove_bpe).split()
                        if w in self.token_language)
        total = sum(langs.values())
        return max(langs.values()) / total if total else 1.0


def consistent_rank(hyps, checker):
    """Rank of the best-ranked candidate whose identifying words are all of one language; when
    none is, the one with the largest majority share (ties: best rank).  Returns (rank, found)."""
    shares = [checker.majority_share(text) for text, _ in hyps]
    for rank, share in enumerate(shares):
        if share == 1.0:
            return rank, True
    return max(range(len(shares)), key=lambda r: (shares[r], -r)), False


def best_bleu_rank(hyps, ref, scorer):
    """Rank of the candidate with the highest sentence BLEU against ``ref`` (ties: best rank)."""
    scores = [scorer.sentence_bleu(text, ref) for text, _ in hyps]
    return max(range(len(scores)), key=lambda r: (scores[r], -r))


def select(records, sources, targets, method, output_nbest=1, scorer=None, selective_ter=0.8,
           checker=None):
    """Apply ``method`` to merged records; returns ``(pairs, fallbacks)`` (``consistent`` also
    counts ``consistent_below_top1`` and ``no_consistent_candidate``; ``checker``: its
    ``LanguageChecker``)."""
    fallbacks = Counter()
    pairs = []

    def emit(idx, text):
        if sources[idx].strip() and not text.strip():
            fallbacks["empty_hypothesis"] += 1
            text = targets[idx]
        pairs.append((idx, sources[idx], text))

    for record in records:
        idx, hyps = record["id"], record["hyps"]
        if not hyps:  # not decoded (over-long source under the "raw" policy)
            fallbacks[record["status"]] += 1
            for _ in range(output_nbest):
                pairs.append((idx, sources[idx], targets[idx]))
            continue
        if method in ("nbest", "sample"):
            texts = [text for text, _ in hyps[:output_nbest]]
            if len(texts) < output_nbest:  # the backend returned fewer than K candidates
                fallbacks["repeated_to_k"] += 1
                texts += [texts[-1]] * (output_nbest - len(texts))
            for text in texts:
                emit(idx, text)
        elif method == "seqinter":
            emit(idx, hyps[best_bleu_rank(hyps, targets[idx], scorer)][0])
        elif method == "selective":
            text = hyps[0][0]
            if scorer.sentence_ter(text, targets[idx]) > selective_ter:
                fallbacks["selective_raw"] += 1
                pairs.append((idx, sources[idx], targets[idx]))
            else:
                emit(idx, text)
        elif method == "consistent":
            rank, found = consistent_rank(hyps, checker)
            if rank:
                fallbacks["consistent_below_top1"] += 1
            if not found:
                fallbacks["no_consistent_candidate"] += 1
            emit(idx, hyps[rank][0])
        elif method == "seqkd":
            emit(idx, hyps[0][0])
        else:
            raise ValueError(f"unknown method {method}")
    return pairs, dict(fallbacks)
