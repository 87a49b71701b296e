"""Shared base of NATs whose decoder reads the source stretched to the decoder's length.

GLAT (decoder length = predicted target length), CTC and DAG (decoder length = ``scale`` x source
length) differ only in that length, the output layer and the loss.  The base supplies:

* the decoder input: source token embeddings upsampled to the decoder length (``--upsample-mode``
  copy or interpolate; rank-based, so left/right padding and batch size do not change it), with
  optional glanced target embeddings in place of some positions;
* glancing training: ``glance()`` runs a gradient-free first pass, asks the subclass's
  ``glancing_reference()`` for the reference and error count, and reveals ``floor(ratio x errors)``
  reference tokens (``--glat-ratio``, optionally annealed to ``--glat-ratio-final``);
* ``placeholder()``/``decoder_lengths()`` to build decoder inputs of given lengths.

Subclasses override ``forward`` (loss), ``forward_decoder``/``initialize_output_tokens``
(decoding) and, on the decoder, ``output_layer``/``embed_glance``; ``LengthFreeNATModel`` (CTC,
DAG) supplies the decoding start of a NAT without a length predictor.  Nothing here is
device-specific.
"""
import torch
import torch.nn.functional as F
from fairseq.iterative_refinement_generator import DecoderOut
from fairseq.models.nat import ensemble_decoder
from fairseq.models.nat.nonautoregressive_transformer import (
    NATransformerDecoder,
    NATransformerModel,
)
from fairseq.modules.transformer_sentence_encoder import init_bert_params

from nat import glancing, upsample


class UpsampledNATDecoder(NATransformerDecoder):
    """NAT decoder over upsampled source embeddings; token identities of its input are unused.

    Only the non-pad pattern of ``prev_output_tokens`` matters: it sets the decoder length
    (and positions), so any placeholder of the right shape works.
    """

    def __init__(self, args, dictionary, embed_tokens, no_encoder_attn=False):
        super().__init__(args, dictionary, embed_tokens, no_encoder_attn=no_encoder_attn)
        self.upsample_mode = getattr(args, "upsample_mode", "copy") or "copy"

    @ensemble_decoder
    def forward(self, normalize, encoder_out, prev_output_tokens, step=0, glance=None, **unused):
        features, _ = self.extract_features(prev_output_tokens, encoder_out=encoder_out,
                                            glance=glance)
        out = self.output_layer(features)
        return F.log_softmax(out.float(), -1) if normalize else out

    def upsampled_source(self, encoder_out, out_mask):
        """Source token embeddings ``(B, L, C)`` stretched to the valid length of ``out_mask``."""
        src = encoder_out["encoder_embedding"][0]
        if len(encoder_out["encoder_padding_mask"]) > 0:
            src_mask = ~encoder_out["encoder_padding_mask"][0]
        else:
            src_mask = torch.ones(src.shape[:2], dtype=torch.bool, device=src.device)
        return upsample.upsample(src, src_mask, out_mask, mode=self.upsample_mode)

    def embed_glance(self, tokens):
        """Embeddings of revealed reference tokens (override to embed extra symbols)."""
        x = self.embed_scale * self.embed_tokens(tokens)
        return self.project_in_dim(x) if self.project_in_dim is not None else x

    def extract_features(self, prev_output_tokens, encoder_out=None, glance=None, **unused):
        """``glance``: None or ``(tokens, reveal)``, both ``(B, L)``; revealed positions read
        ``embed_glance(tokens)`` instead of the upsampled source."""
        x = self.upsampled_source(encoder_out, prev_output_tokens.ne(self.padding_idx))
        if glance is not None:
            tokens, reveal = glance
            x = torch.where(reveal[:, :, None], self.embed_glance(tokens).type_as(x), x)
        x, padding_mask = self.forward_embedding(prev_output_tokens, x)
        x = x.transpose(0, 1)
        enc = encoder_out["encoder_out"][0] if len(encoder_out["encoder_out"]) > 0 else None
        enc_mask = (encoder_out["encoder_padding_mask"][0]
                    if len(encoder_out["encoder_padding_mask"]) > 0 else None)
        attn, inner_states = None, [x]
        for layer in self.layers:
            x, attn, _ = layer(x, enc, enc_mask, self_attn_mask=None,
                               self_attn_padding_mask=padding_mask)
            inner_states.append(x)
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        x = x.transpose(0, 1)
        if self.project_out_dim is not None:
            x = self.project_out_dim(x)
        return x, {"attn": attn, "inner_states": inner_states}


class UpsampledNATModel(NATransformerModel):
    """Abstract: a NAT over upsampled source embeddings, with glancing training built in."""

    decoder_class = UpsampledNATDecoder

    def __init__(self, args, encoder, decoder):
        super().__init__(args, encoder, decoder)
        self.num_updates = 0

    @staticmethod
    def add_args(parser):
        NATransformerModel.add_args(parser)
        parser.add_argument("--upsample-mode", choices=["copy", "interpolate"],
                            help="how source embeddings are stretched to the decoder length")
        parser.add_argument("--upsample-scale", type=float,
                            help="decoder length = floor(scale x source length) (CTC, DAG)")
        parser.add_argument("--glat-ratio", type=float,
                            help="glancing: reveal floor(ratio x errors) reference tokens "
                                 "(0 = no glancing)")
        parser.add_argument("--glat-ratio-final", type=float,
                            help="anneal the glancing ratio linearly to this value")
        parser.add_argument("--glat-anneal-updates", type=int,
                            help="number of updates over which the ratio is annealed")

    @classmethod
    def build_decoder(cls, args, tgt_dict, embed_tokens):
        decoder = cls.decoder_class(args, tgt_dict, embed_tokens)
        if getattr(args, "apply_bert_init", False):
            decoder.apply(init_bert_params)
        return decoder

    def set_num_updates(self, num_updates):
        super().set_num_updates(num_updates)
        self.num_updates = num_updates

    # ---- decoder inputs -------------------------------------------------------------------
    def source_lengths(self, encoder_out):
        """Non-pad source lengths (eos included) from the encoder output."""
        pad_mask = encoder_out["encoder_padding_mask"]
        if len(pad_mask) > 0:
            return (~pad_mask[0]).sum(1)
        src = encoder_out["encoder_embedding"][0]
        return torch.full((src.size(0),), src.size(1), dtype=torch.long, device=src.device)

    def decoder_lengths(self, encoder_out):
        """``floor(--upsample-scale x source length)``, capped at the decoder's max positions."""
        scale = getattr(self.args, "upsample_scale", None) or 2.0
        lengths = upsample.upsampled_lengths(self.source_lengths(encoder_out), scale)
        return lengths.clamp(max=self.decoder.max_positions())

    def placeholder(self, lengths):
        """``(B, max L)`` decoder input: ``unk`` on the first ``lengths[b]`` positions, then pad."""
        width = int(lengths.max()) if lengths.numel() else 0
        idx = torch.arange(width, device=lengths.device)[None, :]
        tokens = lengths.new_full((lengths.size(0), width), self.pad)
        return tokens.masked_fill(idx < lengths[:, None], self.unk)

    # ---- glancing -------------------------------------------------------------------------
    def finish_decoding(self, decoder_out, tokens, scores, eos_positions):
        """Close one-pass outputs: a pad column, eos at ``eos_positions``, history, DecoderOut."""
        tokens = torch.cat([tokens, tokens.new_full((tokens.size(0), 1), self.pad)], 1)
        scores = torch.cat([scores, scores.new_zeros(scores.size(0), 1)], 1)
        tokens.scatter_(1, eos_positions[:, None], self.eos)
        history = decoder_out.history
        if history is not None:
            history.append(tokens.clone())
        return decoder_out._replace(output_tokens=tokens, output_scores=scores.type_as(
            decoder_out.output_scores), attn=None, history=history)

    def glancing_ratio(self):
        return glancing.annealed_ratio(
            getattr(self.args, "glat_ratio", 0.0) or 0.0,
            getattr(self.args, "glat_ratio_final", None),
            self.num_updates, getattr(self.args, "glat_anneal_updates", 0) or 0)

    def glancing_reference(self, logits, target, decoder_mask):
        """``(reference (B, L), errors (B,))`` for a first pass; default: Hamming distance to the
        target, which must then be as long as the decoder (vanilla/GLAT)."""
        errors = glancing.hamming_errors(logits.argmax(-1), target, decoder_mask)
        return target, errors

    def glance(self, encoder_out, prev_output_tokens, target):
        """Training only: ``(reference, reveal)`` to pass as the decoder's ``glance``, or None."""
        ratio = self.glancing_ratio()
        if not self.training or ratio <= 0:
            return None
        with torch.no_grad():
            logits = self.decoder(normalize=False, prev_output_tokens=prev_output_tokens,
                                  encoder_out=encoder_out)
            mask = prev_output_tokens.ne(self.pad)
            reference, errors = self.glancing_reference(logits, target, mask)
            reveal = glancing.glancing_mask(mask, glancing.glancing_count(errors, ratio))
        return reference, reveal


class LengthFreeNATModel(UpsampledNATModel):
    """A NAT without a length predictor (CTC, DAG): its decoder has ``decoder_lengths()``
    positions, decoding is one pass from placeholders of that length, and a length beam has
    nothing to vary."""

    @property
    def allow_length_beam(self):
        return False

    def initialize_output_tokens(self, encoder_out, src_tokens):
        tokens = self.placeholder(self.decoder_lengths(encoder_out))
        scores = tokens.new_zeros(*tokens.size()).type_as(encoder_out["encoder_out"][0])
        return DecoderOut(output_tokens=tokens, output_scores=scores, attn=None, step=0,
                          max_step=0, history=None)
