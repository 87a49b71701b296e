"""``--task translation_nat``: fairseq's ``translation_lev`` whose length-beam reranking works.

Noisy parallel decoding (``--iter-decode-with-beam K --iter-decode-with-external-reranker
--path nat.pt:ar.pt``) scores each of a NAT's K candidates with an autoregressive model.
fairseq's ``IterativeRefinementGenerator.rerank`` still reads ``encoder_out.encoder_out``, but
the transformer encoder has returned a dict since 0.10, so with ``translation_lev`` it dies with
AttributeError.  This task builds a generator whose ``rerank`` reads the dict: a candidate's
score is the AR model's mean token log-probability (eos as the start symbol, as before).
Everything else is ``translation_lev`` unchanged; nothing in fairseq is patched.
"""
from dataclasses import dataclass

import torch
from fairseq.iterative_refinement_generator import IterativeRefinementGenerator
from fairseq.tasks import register_task
from fairseq.tasks.translation_lev import (TranslationLevenshteinConfig,
                                           TranslationLevenshteinTask)


class RerankingGenerator(IterativeRefinementGenerator):
    """fairseq's NAT generator with a ``rerank`` for dict encoder outputs."""

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


@dataclass
class TranslationNATConfig(TranslationLevenshteinConfig):
    pass


@register_task("translation_nat", dataclass=TranslationNATConfig)
class TranslationNATTask(TranslationLevenshteinTask):
    def build_generator(self, models, args, **unused):
        return RerankingGenerator(
            self.target_dictionary,
            eos_penalty=getattr(args, "iter_decode_eos_penalty", 0.0),
            max_iter=getattr(args, "iter_decode_max_iter", 10),
            beam_size=getattr(args, "iter_decode_with_beam", 1),
            reranking=getattr(args, "iter_decode_with_external_reranker", False),
            decoding_format=getattr(args, "decoding_format", None),
            adaptive=not getattr(args, "iter_decode_force_max_iter", False),
            retain_history=getattr(args, "retain_iter_history", False),
        )
