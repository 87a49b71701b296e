"""GLAT (Qian et al. 2021): vanilla NAT with length prediction, trained with glancing.

Decoder input = source embeddings copied to the predicted target length (rank-based, so unlike
fairseq's ``--src-embedding-copy`` it is right for left-padded batches).  Training reveals
``floor(ratio x Hamming errors)`` reference tokens of a no-grad first pass and scores the rest.
Decoding is fairseq's NAT decoding (length beam, AR reranking) unchanged; ``--glat-ratio 0``
gives a vanilla NAT over copied source embeddings.
"""
from fairseq.models import register_model, register_model_architecture
from fairseq.models.nat.nonautoregressive_transformer import base_architecture as nat_base

from fairseq_plugins.models.tiny_architectures import tiny_defaults
from fairseq_plugins.models.upsampled_nat import UpsampledNATModel


@register_model("nat_glat")
class GLATModel(UpsampledNATModel):
    def forward(self, src_tokens, src_lengths, prev_output_tokens, tgt_tokens, **kwargs):
        encoder_out = self.encoder(src_tokens, src_lengths=src_lengths, **kwargs)
        length_out = self.decoder.forward_length(normalize=False, encoder_out=encoder_out)
        length_tgt = self.decoder.forward_length_prediction(length_out, encoder_out, tgt_tokens)
        mask = tgt_tokens.ne(self.pad)
        dec_in = self.placeholder(mask.sum(1))
        glance = self.glance(encoder_out, dec_in, tgt_tokens)
        word_ins_out = self.decoder(normalize=False, prev_output_tokens=dec_in,
                                    encoder_out=encoder_out, glance=glance)
        if glance is not None:
            mask = mask & ~glance[1]          # revealed tokens are inputs, not predictions
        return {
            "word_ins": {"out": word_ins_out, "tgt": tgt_tokens, "mask": mask,
                         "ls": getattr(self.args, "label_smoothing", 0.0), "nll_loss": True},
            "length": {"out": length_out, "tgt": length_tgt,
                       "factor": self.decoder.length_loss_factor},
        }


@register_model_architecture("nat_glat", "nat_glat_base")
def nat_glat_base(args):
    """Paper setting (6+6, 512): ratio 0.5 annealed to 0.3 over 300k updates."""
    args.glat_ratio = getattr(args, "glat_ratio", 0.5)
    args.glat_ratio_final = getattr(args, "glat_ratio_final", 0.3)
    args.glat_anneal_updates = getattr(args, "glat_anneal_updates", 300000)
    args.upsample_mode = getattr(args, "upsample_mode", "copy")
    args.pred_length_offset = getattr(args, "pred_length_offset", True)
    args.length_loss_factor = getattr(args, "length_loss_factor", 0.1)
    nat_base(args)


@register_model_architecture("nat_glat", "nat_glat_tiny")
def nat_glat_tiny(args):
    """2+2 layers, 128 dims; constant ratio 0.5 (short runs have nothing to anneal over)."""
    tiny_defaults(args)
    args.glat_anneal_updates = getattr(args, "glat_anneal_updates", 0)
    nat_glat_base(args)
