"""Tiny CPU-sized architectures of two more fairseq models (issue 15, items 6 and 7).

``lstm_student_tiny``: fairseq's ``lstm`` (one layer each side, attention on, 64 dims), the
recurrent student of "distilling into another architecture" (Kim et al. 2019).  Trained like any
AR model (``AR_TRAIN``), decoded with fairseq-generate's beam search.  Its embeddings are shared
only with ``--share-all-embeddings``: the lstm parser defaults that flag to False, so an arch
function cannot tell it from the user's choice.

``cmlm_tiny``: fairseq's ``cmlm_transformer`` (mask-predict, Ghazvininejad et al. 2019) at the
size of the other tiny NATs.  Trained with ``--task translation_lev --noise random_mask
--criterion nat_loss`` (fairseq's own CMLM recipe), decoded by iterative refinement:
``--iter-decode-max-iter N`` runs up to N+1 decoder passes (fairseq's generator loops
``range(max_iter + 1)``).  Decode it with ``--iter-decode-force-max-iter``
(``nat.fairseq_cli.CMLM_DECODE``): mask-predict's fixed number of passes; fairseq's default early
stop ends a sentence once a pass leaves its re-masked tokens unchanged, which leaves ``<unk>`` in
CMLM hypotheses.  Only defaults are set here.
"""
from fairseq.models import register_model_architecture
from fairseq.models.lstm import base_architecture as lstm_base
from fairseq.models.nat.cmlm_transformer import cmlm_base_architecture

from fairseq_plugins.models.tiny_architectures import tiny_defaults


@register_model_architecture("lstm", "lstm_student_tiny")
def lstm_student_tiny(args):
    tiny_defaults(args, dim=64, layers=1)  # hidden sizes default to the embedding's (lstm_base)
    # the embedding's width, so that --share-decoder-input-output-embed works as it is
    args.decoder_out_embed_dim = getattr(args, "decoder_out_embed_dim", args.decoder_embed_dim)
    args.decoder_attention = getattr(args, "decoder_attention", "1")
    lstm_base(args)


@register_model_architecture("cmlm_transformer", "cmlm_tiny")
def cmlm_tiny(args):
    tiny_defaults(args)
    cmlm_base_architecture(args)
