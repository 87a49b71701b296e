"""A NAT whose encoder and embeddings start from an autoregressive teacher's.

The NAT is built by fairseq for its architecture and the data-bin, with the task and criterion
it trains with (``translation_lev``, ``nat_loss``); every encoder tensor comes from the teacher
(its layers chosen as in ``nat.distill.shrink`` when the NAT's encoder is shallower), and so do
the decoder's tensors outside its layers that the teacher also has (token embeddings, output
projection, learned positions); the decoder layers and the NAT's own parts (length predictor,
CTC blank, DAG links) start fresh.  A shape or setting that differs is one line, never a partial
copy.
"""
import os
import re
import warnings

from nat import fairseq_cli
from nat.distill import shrink
from nat.distill.manifest import package_versions
from nat.distill.shrink_checkpoint import checkpoint_state, plain_config
from nat.distill.teacher import model_config, setting
from nat.errors import UserError

#: encoder settings that must be the teacher's: the sizes (checked first, for a clear line),
#: and those that change what the weights compute without changing their shapes
ENCODER_SETTINGS = ("encoder_embed_dim", "encoder_ffn_embed_dim", "encoder_attention_heads",
                    "encoder_normalize_before", "activation_fn", "no_scale_embedding",
                    "encoder_learned_pos")
_LAYER = re.compile(r"^(decoder|encoder)\.layers\.(\d+)\.")


def _shape(tensor):
    return list(getattr(tensor, "shape", []))


def nat_weights(teacher, nat, encoder_keep):
    """``(weights, copied, fresh)``: the NAT's state dict ``nat`` with the teacher's tensors
    in place (``copied``: {NAT key: teacher key}; ``fresh``: the NAT keys left as built).
    Every encoder tensor must have its teacher counterpart, of the same shape, and the other
    way round; a decoder tensor outside the layers is copied when the teacher has it."""
    renamed = shrink.renumbering({k: v for k, v in teacher.items() if k.startswith("encoder.")},
                                 {"encoder": encoder_keep})
    weights, copied, fresh = {}, {}, []
    for key, tensor in nat.items():
        source = renamed.get(key) if key.startswith("encoder.") else None
        if key.startswith("encoder.") and source is None:
            raise UserError(f"the NAT's {key} has no counterpart in the teacher (the encoders "
                            f"differ)")
        if source is None and key.startswith("decoder.") and not _LAYER.match(key) \
                and key in teacher:
            source = key
        if source is None:
            weights[key] = tensor
            fresh.append(key)
            continue
        if _shape(teacher[source]) != _shape(tensor):
            raise UserError(f"{key} is {_shape(teacher[source])} in the teacher but "
                            f"{_shape(tensor)} in the NAT (sizes or dictionaries differ)")
        weights[key], copied[key] = teacher[source], source
    extra = sorted(set(renamed) - set(nat))
    if extra:
        raise UserError(f"the teacher's {renamed[extra[0]]} has no place in the NAT's encoder "
                        f"(the encoders differ)")
    return weights, copied, fresh


def check_settings(teacher_model, nat_model, arch):
    for name in ENCODER_SETTINGS:
        mine, theirs = setting(nat_model, name), setting(teacher_model, name)
        if mine is not None and theirs is not None and mine != theirs:
            raise UserError(f"--nat {arch}: {name} is {mine!r}, the teacher's {theirs!r} (its "
                            f"encoder cannot start from the teacher's)")


def check_arch(arch):
    from fairseq.models import ARCH_MODEL_REGISTRY
    from fairseq.models.nat import FairseqNATModel

    nats = sorted(a for a, cls in ARCH_MODEL_REGISTRY.items()
                  if issubclass(cls, FairseqNATModel) and a.startswith("nat_"))
    cls = ARCH_MODEL_REGISTRY.get(arch)
    if cls is None or not issubclass(cls, FairseqNATModel):
        what = "not a registered architecture" if cls is None else "not a NAT"
        raise UserError(f"--nat {arch}: {what} (ours: {', '.join(nats)})")


def model_flags(config):
    """The fairseq-train flags, beyond ``--arch``, that the NAT is built with (and that
    fine-tuning must repeat)."""
    flags = []
    layers = config.encoder_layers or (len(config.encoder_keep) if config.encoder_keep else None)
    if layers:
        flags += ["--encoder-layers", str(layers)]
    if config.decoder_layers:
        flags += ["--decoder-layers", str(config.decoder_layers)]
    return flags


def nat_config(arch, data_bin, langs, flags, seed):
    """fairseq-train's config of ``arch`` in the NAT task on ``data_bin`` (no model built)."""
    from fairseq import options
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    check_arch(arch)
    argv = [data_bin, "--user-dir", fairseq_cli.PLUGIN_DIR, "--arch", arch, "--cpu",
            "--source-lang", langs[0], "--target-lang", langs[1], "--seed", str(seed),
            *fairseq_cli.NAT_TRAIN, *flags]
    with warnings.catch_warnings():          # hydra's version notice
        warnings.simplefilter("ignore")
        args = options.parse_args_and_arch(options.get_training_parser(), argv)
        return convert_namespace_to_omegaconf(args)


def build_nat(cfg, seed):
    """The model of ``cfg``, its fresh parameters drawn from ``seed`` (the caller's random
    state is left alone)."""
    import torch
    from fairseq import tasks

    task = tasks.setup_task(cfg.task)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return task.build_model(cfg.model)


def nat_student(config, state, teacher, langs):
    """``(checkpoint state, record)`` of the NAT of ``config.nat`` initialised from the teacher
    (``state``, read by ``shrink_checkpoint.load_teacher``; ``langs`` of the data-bin)."""
    flags = model_flags(config)
    cfg = nat_config(config.nat, config.data_bin, langs, flags, config.seed)
    check_settings(model_config(state), cfg.model, config.nat)
    model = build_nat(cfg, config.seed)
    built = model.state_dict()
    counts = shrink.layer_counts(built)
    if counts["encoder"] > teacher["encoder_layers"] and config.encoder_layers is None \
            and config.encoder_keep is None:
        raise UserError(f"--nat {config.nat} has {counts['encoder']} encoder layers, the teacher "
                        f"{teacher['encoder_layers']}: pass --encoder-layers (at most "
                        f"{teacher['encoder_layers']})")
    keep, how = shrink.choose_layers("encoder", teacher["encoder_layers"], counts["encoder"],
                                     config.encoder_keep)
    weights, copied, fresh = nat_weights(state["model"], built, keep)
    model.load_state_dict(weights, strict=True)
    loaded = model.state_dict()
    for key, source in copied.items():          # tied parameters keep one of several values
        if not loaded[key].equal(state["model"][source]):
            raise UserError(f"the NAT ties {key} to another tensor whose teacher value differs "
                            f"(the teacher does not share its embeddings the way {config.nat} "
                            f"does)")
    record = {
        "created_by": "nat-shrink", "method": "NAT initialised from the teacher",
        "teacher": teacher,
        "student": {"arch": config.nat, "encoder_layers": counts["encoder"],
                    "decoder_layers": counts["decoder"], "seed": config.seed},
        "kept_layers": {"encoder": keep, "decoder": None},
        "layer_choice": {"encoder": how, "decoder": "fresh"},
        "tensors": {"copied": len(copied), "fresh": fresh},
        "fine_tune": ["fairseq-train", config.data_bin, "--user-dir", "fairseq_plugins",
                      "--finetune-from-model", os.path.abspath(config.out), "--arch",
                      config.nat, *flags, *fairseq_cli.NAT_TRAIN],
        "versions": package_versions()}
    return checkpoint_state(plain_config(cfg), loaded, record), record
