"""DAG NAT (DA-Transformer, Huang et al. 2022): one decoder pass, a graph of upsampled vertices.

The decoder runs over the source upsampled ``--upsample-scale`` times (the shared upsampled-NAT
base); its L states are vertices of a DAG.  Links ``v -> u`` (``u > v``) are scored by
query/key projections of the states (``--dag-link-heads`` heads mixed by a per-vertex gate),
emissions by the usual output layer.  Loss: ``-log sum`` over all paths from vertex 0 to L-1 that
emit the target (bos/eos included), by the dynamic program in ``nat.dag``, divided by target
length, averaged over sentences (targets longer than their graph are skipped, like CTC's
``zero_infinity``; every skipped sentence is counted in the training log as ``dag_excluded``).
Glancing reveals reference tokens at their best-path vertices.
Decoding (``--decode-strategy``): greedy, lookahead, or viterbi with ``--decode-length-penalty``;
as in DA-Transformer, vertices whose best token is pad emit nothing and consecutive repeated
tokens are merged (``--no-decode-dedup`` keeps them).
"""
import argparse
import math

import torch
import torch.nn.functional as F
from fairseq.logging import metrics
from fairseq.models import register_model, register_model_architecture
from torch import nn

from fairseq_plugins.models.nat_glat import nat_glat_base
from fairseq_plugins.models.tiny_architectures import tiny_defaults
from fairseq_plugins.models.upsampled_nat import LengthFreeNATModel, UpsampledNATDecoder
from nat import dag, glancing

DTYPES = {"float32": torch.float32, "float64": torch.float64}
DECODERS = {"greedy": dag.greedy_decode, "lookahead": dag.lookahead_decode,
            "viterbi": dag.viterbi_decode}


class DAGDecoder(UpsampledNATDecoder):
    """Upsampled NAT decoder that also scores links between its states; no length predictor."""

    def __init__(self, args, dictionary, embed_tokens, no_encoder_attn=False):
        super().__init__(args, dictionary, embed_tokens, no_encoder_attn=no_encoder_attn)
        self.embed_length = None
        dim, self.link_heads = self.output_embed_dim, getattr(args, "dag_link_heads", 1) or 1
        self.link_query = nn.Linear(dim, dim)
        self.link_key = nn.Linear(dim, dim)
        self.link_gate = nn.Linear(dim, self.link_heads) if self.link_heads > 1 else None

    def links(self, features, graph_lengths):
        """B x L x L log link probabilities (causal, ``-inf`` where no edge), in float32."""
        bsz, length, dim = features.shape
        heads, head_dim = self.link_heads, dim // self.link_heads
        q = self.link_query(features).view(bsz, length, heads, head_dim).transpose(1, 2)
        k = self.link_key(features).view(bsz, length, heads, head_dim).transpose(1, 2)
        scores = (q @ k.transpose(-1, -2)).float() / math.sqrt(head_dim)   # B x H x L x L
        if self.link_gate is None:
            return dag.log_links(scores[:, 0], graph_lengths)
        gates = F.log_softmax(self.link_gate(features).float(), -1).transpose(1, 2)
        return dag.log_links(scores, graph_lengths, gates)

    def dag_forward(self, encoder_out, prev_output_tokens, glance=None):
        """(B x L x V emission log-probs, B x L x L link log-probs), both float32."""
        features, _ = self.extract_features(prev_output_tokens, encoder_out=encoder_out,
                                            glance=glance)
        lprobs = F.log_softmax(self.output_layer(features).float(), -1)
        return lprobs, self.links(features, prev_output_tokens.ne(self.padding_idx).sum(1))


@register_model("nat_dag")
class DAGModel(LengthFreeNATModel):
    decoder_class = DAGDecoder

    @staticmethod
    def add_args(parser):
        LengthFreeNATModel.add_args(parser)
        parser.add_argument("--dag-link-heads", type=int,
                            help="link attention heads, mixed per vertex by a learned gate")
        parser.add_argument("--dag-loss-dtype", choices=sorted(DTYPES),
                            help="dtype of the path-sum dynamic program: exact in log space in "
                                 "either (to its rounding); default float64, as fast as float32 or "
                                 "faster on CPU (float32 recomputes more columns exactly)")
        parser.add_argument("--decode-strategy", choices=sorted(DECODERS),
                            help="greedy: most likely link; lookahead: link x best token; "
                                 "viterbi: best path per length, length by --decode-length-"
                                 "penalty")
        parser.add_argument("--decode-length-penalty", type=float,
                            help="viterbi: pick the length maximising score / length**penalty")
        parser.add_argument("--decode-dedup", action=argparse.BooleanOptionalAction,
                            help="merge consecutive repeated output tokens, as DA-Transformer "
                                 "does (default: on; --no-decode-dedup keeps them)")

    def graph(self, encoder_out):
        """Decoder placeholder (its non-pad length = vertices per sentence) and those lengths."""
        lengths = self.decoder_lengths(encoder_out)
        return self.placeholder(lengths), lengths

    def glance(self, encoder_out, prev_output_tokens, target):
        """Reveal ``floor(ratio x errors)`` reference tokens at their best-path vertices, errors
        counted along that path (the base's glancing, aligned through the DAG)."""
        ratio = self.glancing_ratio()
        if not self.training or ratio <= 0:
            return None
        with torch.no_grad():
            graph_lengths = prev_output_tokens.ne(self.pad).sum(1)
            lprobs, links = self.decoder.dag_forward(encoder_out, prev_output_tokens)
            tmask = target.ne(self.pad)
            path, score = dag.best_alignment(links, dag.gather_emissions(lprobs, target),
                                             tmask.sum(1), graph_lengths)
            predicted = lprobs.argmax(-1).gather(1, path)
            errors = glancing.hamming_errors(predicted, target, tmask)
            errors = errors.masked_fill(torch.isinf(score), 0)          # no path: no glance
            width = prev_output_tokens.size(1)
            index = path.masked_fill(~tmask, width)                      # padding: spare column
            reference = prev_output_tokens.new_full((target.size(0), width + 1), self.pad)
            reference = reference.scatter(1, index, target)[:, :width]   # target on its path
            reveal = glancing.glancing_mask(reference.ne(self.pad),
                                            glancing.glancing_count(errors, ratio))
        return reference, reveal

    def forward(self, src_tokens, src_lengths, prev_output_tokens, tgt_tokens, **kwargs):
        encoder_out = self.encoder(src_tokens, src_lengths=src_lengths, **kwargs)
        dec_in, graph_lengths = self.graph(encoder_out)
        glance = self.glance(encoder_out, dec_in, tgt_tokens)
        lprobs, links = self.decoder.dag_forward(encoder_out, dec_in, glance=glance)
        target_lengths = tgt_tokens.ne(self.pad).sum(1)
        dtype = DTYPES[getattr(self.args, "dag_loss_dtype", None) or "float64"]
        nll = dag.dag_loss(links, dag.gather_emissions(lprobs, tgt_tokens), target_lengths,
                           graph_lengths, dtype=dtype)
        fits = torch.isfinite(nll)
        log_excluded(fits, target_lengths <= graph_lengths)
        per_token = torch.where(fits, nll / target_lengths, 0.0)
        loss = per_token.sum() / fits.sum().clamp(min=1)
        return {"dag": {"loss": loss.type_as(lprobs), "factor": 1.0}}

    def forward_decoder(self, decoder_out, encoder_out, decoding_format=None, **kwargs):
        """One pass from the encoder output; the path's first/last tokens are bos/eos."""
        dec_in, graph_lengths = self.graph(encoder_out)
        lprobs, links = self.decoder.dag_forward(encoder_out, dec_in)
        strategy = getattr(self.args, "decode_strategy", None) or "lookahead"
        dedup = getattr(self.args, "decode_dedup", None)
        options = {"dedup": True if dedup is None else bool(dedup)}
        if strategy == "viterbi":
            penalty = getattr(self.args, "decode_length_penalty", None)
            options["length_penalty"] = 1.0 if penalty is None else penalty
        tokens, scores = DECODERS[strategy](links, lprobs, graph_lengths, self.pad, **options)
        tokens, scores, eos_at = dag.close_outputs(tokens, scores, self.pad, self.bos, self.eos)
        return self.finish_decoding(decoder_out, tokens, scores, eos_at)


def log_excluded(fits, long_enough):
    """Log, summed over the batches of each log interval, the sentences left out of the loss:
    ``dag_excluded`` (all of them) and ``dag_nonfinite`` (those whose target is not longer than
    the graph, i.e. left out for a non-finite loss: a numerical fault).  Logged straight into
    fairseq's active aggregators (train_inner/train/valid), so with several workers each
    worker's log counts its own batches."""
    excluded = ~fits
    metrics.log_scalar_sum("dag_excluded", int(excluded.sum()), priority=550)
    metrics.log_scalar_sum("dag_nonfinite", int((excluded & long_enough).sum()), priority=551)


def _dag_defaults(args, scale, heads):
    args.upsample_scale = getattr(args, "upsample_scale", scale)
    args.dag_link_heads = getattr(args, "dag_link_heads", heads)
    args.dag_loss_dtype = getattr(args, "dag_loss_dtype", "float64")
    args.decode_strategy = getattr(args, "decode_strategy", "lookahead")
    if getattr(args, "decode_dedup", None) is None:
        args.decode_dedup = True
    args.decode_length_penalty = getattr(args, "decode_length_penalty", 1.0)
    args.glat_ratio = getattr(args, "glat_ratio", 0.5)
    args.glat_ratio_final = getattr(args, "glat_ratio_final", 0.1)
    nat_glat_base(args)


@register_model_architecture("nat_dag", "nat_dag_base")
def nat_dag_base(args):
    """Paper setting (6+6, 512): 8x upsampling, 4 link heads, glancing 0.5 -> 0.1 over 200k."""
    args.glat_anneal_updates = getattr(args, "glat_anneal_updates", 200000)
    _dag_defaults(args, scale=8.0, heads=4)


@register_model_architecture("nat_dag", "nat_dag_tiny")
def nat_dag_tiny(args):
    """2+2, 128: 4x upsampling, one link head, constant glancing ratio 0.5."""
    tiny_defaults(args)
    args.glat_anneal_updates = getattr(args, "glat_anneal_updates", 0)
    _dag_defaults(args, scale=4.0, heads=1)
