"""Load a NAT checkpoint for inference: the safe loader, one-line errors, its dictionaries.

The dictionaries are not inside a fairseq checkpoint: they are the ``dict.SRC.txt`` and
``dict.TGT.txt`` of the data-bin it was trained on (``data_bin``; default: the data directory
the checkpoint records, when it still exists).
"""
import os
import warnings
from dataclasses import dataclass

from nat.errors import UserError


@dataclass
class LoadedNAT:
    model: object          # the fairseq model, eval mode, float32, CPU
    kind: str              # 'length', 'ctc' or 'dag' (nat.translate.graphs.KINDS)
    name: str              # registered fairseq model name
    arch: str
    sha256: str
    source_lang: str
    target_lang: str
    src_dict: str          # paths of the two dictionaries
    tgt_dict: str
    data_bin: str
    prepend_bos: bool      # the task's sources start with bos (translation_lev does so)


def load(path, data_bin=None, flag="CHECKPOINT"):
    """The NAT at ``path`` with the dictionaries of ``data_bin``; UserError for anything else."""
    from nat import compat
    from nat.distill import teacher
    from nat.translate import graphs

    state = teacher.load_state(path, flag)
    if data_bin is None:
        data_bin = teacher.recorded_data_dir(state)
        if not data_bin or not os.path.isdir(data_bin):
            raise UserError(f"{flag} {path}: its data directory {data_bin!r} is gone; pass "
                            f"--data-bin (the directory holding dict.SRC.txt and dict.TGT.txt)")
    del state
    described = teacher.describe([path], data_bin, flag=flag)
    with compat.fairseq_logging_kept():
        import fairseq_plugins  # noqa: F401  registers our models, installs nat.compat
        from fairseq import checkpoint_utils
    overrides = {"data": data_bin, "source_lang": described.source_lang,
                 "target_lang": described.target_lang}
    try:
        with compat.fairseq_logging_kept(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            models, _, task = checkpoint_utils.load_model_ensemble_and_task(
                [path], arg_overrides=overrides)
    except Exception as err:                                # noqa: BLE001
        raise UserError(f"{flag}: cannot load {path} as a fairseq checkpoint "
                        f"({teacher.load_failure(err)})") from None
    from fairseq.tasks.translation_lev import TranslationLevenshteinTask

    model = models[0].eval().float()
    kind = graphs.kind_of(model)
    if kind is None:
        raise UserError(f"{flag} {path}: {graphs.model_name(model)} (arch "
                        f"{described.archs[0]}) is not a one-pass NAT; supported models: "
                        f"{', '.join(graphs.KINDS)}")
    return LoadedNAT(model=model, kind=kind, name=graphs.model_name(model),
                     arch=described.archs[0], sha256=described.sha256[0],
                     source_lang=described.source_lang, target_lang=described.target_lang,
                     src_dict=described.src_dict, tgt_dict=described.tgt_dict,
                     data_bin=data_bin,
                     prepend_bos=isinstance(task, TranslationLevenshteinTask))
