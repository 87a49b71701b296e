"""The two tensor-only halves of a one-pass NAT, as exported to ONNX.

A NAT translates in one decoder pass, but the decoder's length is data: predicted (vanilla,
GLAT) or ``floor(scale x source length)`` (CTC, DAG).  So a model is cut where the length is
known, and the glue between the halves (``nat.translate.search``) builds the decoder input and
reads the outputs::

    encoder(src_tokens)                 -> encoder_out (S,B,C), encoder_embedding (B,S,C),
                                           lengths (B,)   decoder length per sentence
    decoder(src_tokens, encoder_out, encoder_embedding, prev_tokens (B,L))
                                        -> tokens (B,L), scores (B,L)   best token per position
                                           [DAG: + successor (B,L), the next vertex of each]

Both halves call the fairseq modules of the checkpoint unchanged (encoder, length predictor,
decoder, output layer, DAG links), so an export computes what ``fairseq-generate`` computes;
only the length-dependent Python (placeholders, CTC collapse, the DAG walk) moves to the glue.
``src_tokens`` are right-padded with ``pad`` and end with ``eos``, as fairseq encodes them.
"""
import torch
from torch import nn

#: fairseq model name -> how its output is read
KINDS = {"nonautoregressive_transformer": "length", "nat_glat": "length", "nat_ctc": "ctc",
         "nat_dag": "dag"}
DAG_STRATEGIES = ("greedy", "lookahead")


def model_name(model):
    from fairseq.models import MODEL_REGISTRY

    for name, cls in MODEL_REGISTRY.items():
        if type(model) is cls:
            return name
    return type(model).__name__


def kind_of(model):
    """'length', 'ctc' or 'dag' for a NAT we can export; None otherwise."""
    return KINDS.get(model_name(model))


def encoder_dict(src_tokens, encoder_out, encoder_embedding, pad):
    """The encoder output as fairseq's decoders read it."""
    return {"encoder_out": [encoder_out], "encoder_padding_mask": [src_tokens.eq(pad)],
            "encoder_embedding": [encoder_embedding], "encoder_states": [], "src_tokens": [],
            "src_lengths": []}


class EncoderGraph(nn.Module):
    """``src_tokens -> (encoder_out, encoder_embedding, lengths)``; ``lengths`` is the decoder
    length of each sentence, exactly as the model's ``initialize_output_tokens`` sets it."""

    def __init__(self, model):
        super().__init__()
        self.model, self.kind = model, kind_of(model)
        self.train(False)      # the exporter restores this mode, recursively, when it is done

    def forward(self, src_tokens):
        model = self.model
        src_lengths = src_tokens.ne(model.pad).sum(1)
        out = model.encoder(src_tokens, src_lengths=src_lengths)
        if self.kind == "length":
            length_out = model.decoder.forward_length(normalize=True, encoder_out=out)
            lengths = model.decoder.forward_length_prediction(length_out, out).clamp(min=2)
        else:
            lengths = model.decoder_lengths(out)
        return out["encoder_out"][0], out["encoder_embedding"][0], lengths


class DecoderGraph(nn.Module):
    """One decoder pass over ``prev_tokens`` (its non-pad positions set the length): the best
    token and its log-probability per position; for a DAG also each vertex's successor under
    ``strategy`` (greedy: most likely link; lookahead: link x best token)."""

    def __init__(self, model, strategy="lookahead"):
        super().__init__()
        self.model, self.kind = model, kind_of(model)
        if self.kind == "dag" and strategy not in DAG_STRATEGIES:
            raise ValueError(f"DAG decode strategy {strategy!r} cannot be exported "
                             f"(one of {', '.join(DAG_STRATEGIES)})")
        self.strategy = strategy
        self.train(False)

    def forward(self, src_tokens, encoder_out, encoder_embedding, prev_tokens):
        model = self.model
        enc = encoder_dict(src_tokens, encoder_out, encoder_embedding, model.pad)
        if self.kind != "dag":
            lprobs = model.decoder(normalize=True, prev_output_tokens=prev_tokens,
                                   encoder_out=enc)
            scores, tokens = lprobs.max(-1)
            return tokens, scores
        lprobs, links = model.decoder.dag_forward(enc, prev_tokens)
        scores, tokens = lprobs.max(-1)
        if self.strategy == "greedy":
            successor = links.argmax(-1)
        else:
            successor = (links + scores[:, None, :]).argmax(-1)
        return tokens, scores, successor


@torch.no_grad()
def run_torch(model, src_tokens, strategy="lookahead"):
    """Both halves in eager torch, with the glue's placeholder: what the ONNX graphs compute."""
    from nat.translate import search

    pad, unk, bos, eos = model.pad, model.unk, model.bos, model.eos
    encoder_out, embedding, lengths = EncoderGraph(model)(src_tokens)
    prev = search.placeholder(lengths.numpy(), kind_of(model), pad, unk, bos, eos)
    outs = DecoderGraph(model, strategy)(src_tokens, encoder_out, embedding,
                                         torch.from_numpy(prev))
    return lengths.numpy(), [o.numpy() for o in outs]
