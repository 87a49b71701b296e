"""CTC NAT (Libovicky & Helcl 2018), optionally with glancing (Gu & Kong 2021).

No length predictor: the decoder runs over the source upsampled ``--upsample-scale`` times and
emits the vocabulary plus one blank (an extra output row, so the dictionary is untouched);
``torch.nn.functional.ctc_loss`` marginalises over all alignments to the target (bos/eos removed).
Decoding: argmax per position, merge repeats, drop blanks, append eos.  Glancing compares the
first pass with the Viterbi best alignment (``nat.ctc.best_alignment``, pure torch) and reveals
aligned tokens (blanks included) as decoder input.
"""
import torch
import torch.nn.functional as F
from fairseq.models import register_model, register_model_architecture
from torch import nn

from fairseq_plugins.models.nat_glat import nat_glat_base
from fairseq_plugins.models.tiny_architectures import tiny_defaults
from fairseq_plugins.models.upsampled_nat import LengthFreeNATModel, UpsampledNATDecoder
from nat import ctc


class CTCDecoder(UpsampledNATDecoder):
    """Output vocabulary + blank (index ``len(dictionary)``); no length predictor."""

    def __init__(self, args, dictionary, embed_tokens, no_encoder_attn=False):
        super().__init__(args, dictionary, embed_tokens, no_encoder_attn=no_encoder_attn)
        self.embed_length = None
        self.blank = len(dictionary)
        dim = self.output_embed_dim
        self.blank_out = nn.Parameter(torch.randn(dim) * dim ** -0.5)
        # the blank's input embedding is read only by glancing: without glancing it would be a
        # parameter no loss uses, which multi-process (DDP) training refuses
        if glancing_configured(args):
            self.blank_embed = nn.Parameter(torch.randn(self.embed_dim) * self.embed_dim ** -0.5)
        else:
            self.register_parameter("blank_embed", None)

    def upgrade_state_dict_named(self, state_dict, name):
        """Checkpoints written before ``blank_embed`` became glancing-only still load."""
        if self.blank_embed is None:
            state_dict.pop(f"{name}.blank_embed" if name else "blank_embed", None)
        return super().upgrade_state_dict_named(state_dict, name)

    def output_layer(self, features):
        logits = super().output_layer(features)
        blank = (features @ self.blank_out.type_as(features))[:, :, None]
        return torch.cat([logits, blank.type_as(logits)], -1)

    def embed_glance(self, tokens):
        is_blank = tokens.eq(self.blank)
        x = super().embed_glance(tokens.masked_fill(is_blank, self.dictionary.unk()))
        return torch.where(is_blank[:, :, None], self.embed_scale * self.blank_embed.type_as(x), x)


def glancing_configured(args):
    """Whether the glancing schedule (``nat.glancing.annealed_ratio``) is ever above 0:
    ``--glat-ratio`` > 0, or annealing (``--glat-anneal-updates`` > 0) to a ratio > 0."""
    start = getattr(args, "glat_ratio", 0.0) or 0.0
    end = getattr(args, "glat_ratio_final", None)
    anneal = getattr(args, "glat_anneal_updates", 0) or 0
    return start > 0 or (anneal > 0 and end is not None and end > 0)


@register_model("nat_ctc")
class CTCModel(LengthFreeNATModel):
    decoder_class = CTCDecoder

    def ctc_target(self, tgt_tokens):
        """Targets without bos/eos, right-padded with pad: ``(tokens, lengths)``."""
        keep = tgt_tokens.ne(self.pad) & tgt_tokens.ne(self.bos) & tgt_tokens.ne(self.eos)
        return ctc.compact(tgt_tokens, keep, self.pad)

    def glancing_reference(self, logits, target, decoder_mask):
        tokens, lengths = target
        aligned, score = ctc.best_alignment(logits.float().log_softmax(-1), tokens,
                                            decoder_mask.sum(1), lengths, self.decoder.blank)
        errors = (logits.argmax(-1).ne(aligned) & decoder_mask).sum(1)
        return aligned, errors.masked_fill(torch.isinf(score), 0)   # no alignment: no glance

    def forward(self, src_tokens, src_lengths, prev_output_tokens, tgt_tokens, **kwargs):
        encoder_out = self.encoder(src_tokens, src_lengths=src_lengths, **kwargs)
        dec_in = self.placeholder(self.decoder_lengths(encoder_out))
        target, target_lengths = self.ctc_target(tgt_tokens)
        glance = self.glance(encoder_out, dec_in, (target, target_lengths))
        logits = self.decoder(normalize=False, prev_output_tokens=dec_in,
                              encoder_out=encoder_out, glance=glance)
        lprobs = F.log_softmax(logits.float(), -1).transpose(0, 1)
        loss = F.ctc_loss(lprobs, target, dec_in.ne(self.pad).sum(1), target_lengths,
                          blank=self.decoder.blank, reduction="mean", zero_infinity=True)
        return {"ctc": {"loss": loss, "factor": 1.0}}

    def forward_decoder(self, decoder_out, encoder_out, decoding_format=None, **kwargs):
        """One pass from the encoder output (so extra iterations change nothing)."""
        dec_in = self.placeholder(self.decoder_lengths(encoder_out))
        lprobs = self.decoder(normalize=True, prev_output_tokens=dec_in, encoder_out=encoder_out)
        tokens, lengths, scores = ctc.greedy_decode(lprobs, dec_in.ne(self.pad).sum(1),
                                                    self.decoder.blank, self.pad)
        return self.finish_decoding(decoder_out, tokens, scores, lengths)


def _ctc_defaults(args, scale, glat_ratio):
    args.upsample_scale = getattr(args, "upsample_scale", scale)
    args.glat_ratio = getattr(args, "glat_ratio", glat_ratio)
    args.glat_ratio_final = getattr(args, "glat_ratio_final", None if not glat_ratio else 0.3)
    nat_glat_base(args)


@register_model_architecture("nat_ctc", "nat_ctc_base")
def nat_ctc_base(args):
    """6+6, 512; upsampling x3, no glancing."""
    _ctc_defaults(args, scale=3.0, glat_ratio=0.0)


@register_model_architecture("nat_ctc", "nat_ctc_glat_base")
def nat_ctc_glat_base(args):
    """6+6, 512; upsampling x3, glancing 0.5 annealed to 0.3 over 300k updates."""
    _ctc_defaults(args, scale=3.0, glat_ratio=0.5)


@register_model_architecture("nat_ctc", "nat_ctc_tiny")
def nat_ctc_tiny(args):
    """2+2, 128; upsampling x2."""
    tiny_defaults(args)
    _ctc_defaults(args, scale=2.0, glat_ratio=0.0)


@register_model_architecture("nat_ctc", "nat_ctc_glat_tiny")
def nat_ctc_glat_tiny(args):
    """2+2, 128; upsampling x2, constant glancing ratio 0.5."""
    tiny_defaults(args)
    args.glat_anneal_updates = getattr(args, "glat_anneal_updates", 0)
    _ctc_defaults(args, scale=2.0, glat_ratio=0.5)
