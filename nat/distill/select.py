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


def best_bleu_rank(hyps, ref, scorer):
    """Rank of the candidate with the highest sentence BLEU against ``ref`` (ties: best rank)."""
    scores = [scorer.sentence_bleu(text, ref) for text, _ in hyps]
    return max(range(len(scores)), key=lambda r: (scores[r], -r))


def select(records, sources, targets, method, output_nbest=1, scorer=None, selective_ter=0.8):
    """Apply ``method`` to merged records; returns ``(pairs, fallbacks)``."""
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
        elif method == "seqkd":
            emit(idx, hyps[0][0])
        else:
            raise ValueError(f"unknown method {method}")
    return pairs, dict(fallbacks)
