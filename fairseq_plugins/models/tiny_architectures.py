"""Tiny CPU-sized architectures of fairseq's own models (2+2 layers, 128 dims, 4 heads).

``transformer_teacher_tiny``: the autoregressive teacher used by tests and the quick experiment.
``nat_vanilla_tiny``: fairseq's vanilla NAT (Gu et al. 2018) with length prediction, same size.
Only defaults are set here; any of them can be overridden on the command line.
"""
from fairseq.models import register_model_architecture
from fairseq.models.nat.nonautoregressive_transformer import base_architecture as nat_base
from fairseq.models.transformer import base_architecture as transformer_base


def tiny_defaults(args, dim=128, layers=2, heads=4, ffn=512):
    """Shared tiny sizes; only fills attributes the user did not set."""
    for side in ("encoder", "decoder"):
        setattr(args, f"{side}_embed_dim", getattr(args, f"{side}_embed_dim", dim))
        setattr(args, f"{side}_ffn_embed_dim", getattr(args, f"{side}_ffn_embed_dim", ffn))
        setattr(args, f"{side}_layers", getattr(args, f"{side}_layers", layers))
        setattr(args, f"{side}_attention_heads", getattr(args, f"{side}_attention_heads", heads))
    args.share_all_embeddings = getattr(args, "share_all_embeddings", True)
    args.dropout = getattr(args, "dropout", 0.1)


@register_model_architecture("transformer", "transformer_teacher_tiny")
def transformer_teacher_tiny(args):
    tiny_defaults(args)
    transformer_base(args)


@register_model_architecture("nonautoregressive_transformer", "nat_vanilla_tiny")
def nat_vanilla_tiny(args):
    tiny_defaults(args)
    args.pred_length_offset = getattr(args, "pred_length_offset", True)
    args.length_loss_factor = getattr(args, "length_loss_factor", 0.1)
    nat_base(args)
