"""Make ``--iter-decode-with-external-reranker`` (noisy parallel decoding) work again.

fairseq's ``IterativeRefinementGenerator.rerank`` still reads ``encoder_out.encoder_out``, but the
transformer encoder has returned a dict since 0.10, so reranking a length beam with an AR model
(``--path nat.pt:ar.pt``) dies with AttributeError.  This replaces that one method with an
equivalent that reads the dict: each candidate's score becomes the AR model's mean token
log-probability (eos as the start symbol, as before).
"""
import torch
from fairseq import iterative_refinement_generator as irg


def rerank(self, reranker, finalized, encoder_input, beam_size):
    hyps = [f[0]["tokens"] for f in finalized]
    tokens = hyps[0].new_full((len(hyps), max(h.size(0) for h in hyps)), self.pad)
    for i, h in enumerate(hyps):
        tokens[i, :h.size(0)] = h
    tokens[:, 0] = self.eos                       # the AR decoder starts from eos
    encoder_out = reranker.encoder(*encoder_input)
    bsz = encoder_input[0].size(0)
    order = torch.arange(bsz, device=tokens.device).repeat_interleave(beam_size)
    encoder_out = reranker.encoder.reorder_encoder_out(encoder_out, order)
    lprobs = reranker.get_normalized_probs(reranker.decoder(tokens[:, :-1], encoder_out),
                                           True, None)
    scores = lprobs.gather(2, tokens[:, 1:, None])[:, :, 0]
    mask = tokens[:, 1:].ne(self.pad)
    scores = scores.masked_fill(~mask, 0).sum(1) / mask.sum(1).clamp(min=1).type_as(scores)
    for i, f in enumerate(finalized):
        f[0]["score"] = scores[i]
    return finalized


irg.IterativeRefinementGenerator.rerank = rerank
