"""``transformer_student_tiny``: a smaller autoregressive student (64 dims, 2+1 layers) for
Word-KD / Seq-KD tests on CPU; same dictionaries as ``transformer_teacher_tiny``."""
from fairseq.models import register_model_architecture
from fairseq.models.transformer import base_architecture as transformer_base

from fairseq_plugins.models.tiny_architectures import tiny_defaults


@register_model_architecture("transformer", "transformer_student_tiny")
def transformer_student_tiny(args):
    args.decoder_layers = getattr(args, "decoder_layers", 1)
    tiny_defaults(args, dim=64, layers=2, heads=4, ffn=256)
    transformer_base(args)
