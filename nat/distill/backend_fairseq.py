"""In-process fairseq decoding: the teacher (or an ensemble, via fairseq's EnsembleModel inside
SequenceGenerator) loaded once; batches by tokens, length-sorted, results returned in input order.
"""
import os

import torch

from nat.errors import UserError


def token_batches(lengths, max_tokens, same_length=False):
    """Index batches, longest first, each with ``n * longest <= max_tokens`` (at least one item).

    Sorted by (length, index) so the batches depend only on the lengths, never on timing.
    ``same_length``: one source length per batch.  fairseq's SequenceGenerator computes
    ``max_len_a * (longest source in the batch) + max_len_b``, so with ``max_len_a != 0`` a
    sentence's length limit (and output) would otherwise depend on its batch neighbours.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches, current, longest = [], [], 0
    for i in order:
        new_longest = max(longest, lengths[i])
        full = new_longest * (len(current) + 1) > max_tokens
        if current and (full or (same_length and lengths[i] != longest)):
            batches.append(current)
            current, new_longest = [], lengths[i]
        current.append(i)
        longest = new_longest
    if current:
        batches.append(current)
    return batches


class FairseqBackend:
    name = "fairseq"

    def __init__(self, cfg, teacher):
        import fairseq_plugins  # noqa: F401  registers our architectures, installs compat
        from fairseq import checkpoint_utils, search, utils
        from fairseq.sequence_generator import SequenceGenerator

        if cfg.user_dir:
            import argparse
            utils.import_user_module(argparse.Namespace(user_dir=cfg.user_dir))
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        overrides = {"data": os.path.dirname(os.path.abspath(teacher.src_dict)),
                     "source_lang": teacher.source_lang,
                     "target_lang": teacher.target_lang}
        try:
            models, _, task = checkpoint_utils.load_model_ensemble_and_task(
                teacher.paths, arg_overrides=overrides)
        except UserError:
            raise
        except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as err:
            from nat.distill.teacher import load_failure
            raise UserError(f"cannot load teacher {':'.join(teacher.paths)}: "
                            f"{load_failure(err)}") from None
        for model in models:
            model.eval()
        self.models = models
        self.src_dict, self.tgt_dict = task.source_dictionary, task.target_dictionary
        self.left_pad = bool(getattr(task.cfg, "left_pad_source", True))
        self.cfg = cfg
        strategy = None
        if cfg.sampling:
            strategy = search.Sampling(self.tgt_dict, sampling_topk=cfg.sampling_topk)
        beam = cfg.store_nbest if cfg.sampling else cfg.beam  # sampling: one sample per slot
        self.generator = SequenceGenerator(
            models, self.tgt_dict, beam_size=beam, max_len_a=cfg.max_len_a,
            max_len_b=cfg.max_len_b, len_penalty=cfg.lenpen, search_strategy=strategy,
            temperature=cfg.sampling_temperature if cfg.sampling else 1.0)
        self.decoder_limit = self.generator.max_len - 1

    def max_len(self, src_len):
        """Longest hypothesis the generator allows for a source of ``src_len`` tokens (+eos)."""
        return min(int(self.cfg.max_len_a * src_len + self.cfg.max_len_b), self.decoder_limit)

    def decode(self, token_lists, seed, on_batch=None):
        """n-best ``[(text, score), ...]`` for each token list, in input order."""
        from fairseq.data import data_utils

        encoded = [self.src_dict.encode_line(" ".join(t), add_if_not_exist=False,
                                             append_eos=True).long() for t in token_lists]
        results = [None] * len(encoded)
        eos, pad = self.src_dict.eos(), self.src_dict.pad()
        if self.cfg.sampling:
            torch.manual_seed(seed)
        keep = self.cfg.store_nbest
        lengths = [len(e) for e in encoded]
        for batch in token_batches(lengths, self.cfg.max_tokens, self.cfg.max_len_a != 0):
            items = [encoded[i] for i in batch]
            sample = {"net_input": {
                "src_tokens": data_utils.collate_tokens(items, pad, eos, left_pad=self.left_pad),
                "src_lengths": torch.tensor([len(e) for e in items])}}
            with torch.no_grad():
                hypos = self.generator.generate(self.models, sample)
            for i, nbest in zip(batch, hypos):
                results[i] = [(self._text(h["tokens"]), round(float(h["score"]), 6))
                              for h in nbest[:keep]]
            if on_batch:
                on_batch(len(batch))
        return results

    def _text(self, tokens):
        eos = self.tgt_dict.eos()
        return " ".join(self.tgt_dict[int(t)] for t in tokens if int(t) != eos)

    def info(self):
        return {"backend": self.name, "threads": torch.get_num_threads(),
                "decoder_max_len": self.decoder_limit}
