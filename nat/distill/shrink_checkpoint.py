"""``nat-shrink``'s checkpoints: the teacher read with the safe loader, the student written as
fairseq writes checkpoints, with the record of how it was made inside it and beside it.

The student is a checkpoint that ``fairseq-train --finetune-from-model`` loads (weights only,
strictly; optimizer, schedule and data position start fresh) and fairseq-generate decodes: the
teacher's config with the new depths, no optimizer state, a fresh ``train_iterator``, and the
record under ``extra_state["nat_shrink"]`` (also ``OUT.json``, with the student's sha256).
"""
import copy
import os

from nat import textio
from nat.distill import shrink
from nat.distill.manifest import package_versions
from nat.distill.teacher import (check_dictionaries, dictionary_paths, dictionary_symbols,
                                 infer_langs, model_config, recorded_data_dir, setting,
                                 task_config)
from nat.errors import UserError
from nat.hashing import file_sha256

#: where the record sits in the checkpoint's ``extra_state``
RECORD_KEY = "nat_shrink"
#: the teacher is named by its positional argument in messages
TEACHER = "TEACHER"


def _fairseq():
    from nat import compat

    with compat.fairseq_logging_kept():
        import fairseq_plugins  # noqa: F401  our architectures, and the safe loader's patches
        from fairseq import checkpoint_utils
    compat.install()
    return checkpoint_utils


def load_teacher(path):
    """The teacher's checkpoint through fairseq's loader (weights_only with the project's
    allowlist, upgrades of old checkpoints); a bad file is one line."""
    from nat.compat import CheckpointError

    textio.input_file(path, TEACHER)
    checkpoint_utils = _fairseq()
    try:
        state = checkpoint_utils.load_checkpoint_to_cpu(path)
    except CheckpointError as err:
        raise UserError(f"{TEACHER}: {err}") from None
    except (KeyError, TypeError, AttributeError, ValueError, RuntimeError):
        state = None                     # a PyTorch file that fairseq cannot upgrade
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict) or \
            model_config(state) is None:
        raise UserError(f"{TEACHER} {path}: a PyTorch file but not a fairseq checkpoint (no "
                        f"model weights and config)")
    return state


def with_settings(config, **values):
    """A copy of a model config (Namespace, omegaconf config or dict) with ``values`` set."""
    from omegaconf import OmegaConf, open_dict

    if OmegaConf.is_config(config):
        config = copy.deepcopy(config)
        with open_dict(config):
            for name, value in values.items():
                config[name] = value
        return config
    config = copy.copy(config)
    for name, value in values.items():
        if isinstance(config, dict):
            config[name] = value
        else:
            setattr(config, name, value)
    return config


def plain_config(cfg):
    """The config as fairseq's trainer saves it (containers, not omegaconf objects)."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(cfg):
        return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)
    return dict(cfg)


def fresh_extra_state(record):
    """``extra_state`` of a model that has not trained: epoch 1, nothing consumed (fairseq's
    ``load_checkpoint`` reads ``train_iterator``), and the record."""
    return {"train_iterator": {"version": 2, "epoch": 1, "iterations_in_epoch": 0,
                               "shuffle": True},
            RECORD_KEY: record}


#: the one ``optimizer_history`` entry of an untrained model (fairseq's loader reads the last
#: one; without optimizer state it restores nothing from it but ``num_updates``)
UNTRAINED = {"criterion_name": "none", "optimizer_name": "none",
             "lr_scheduler_state": {"best": None}, "num_updates": 0}


def checkpoint_state(cfg, weights, record):
    """A fairseq checkpoint dict (``trainer.state_dict``'s keys) without optimizer state."""
    return {"args": None, "cfg": cfg, "model": weights, "criterion": None,
            "optimizer_history": [dict(UNTRAINED)], "task_state": {},
            "extra_state": fresh_extra_state(record)}


def teacher_record(path, state, sha256):
    model = model_config(state)
    counts = shrink.layer_counts(state["model"])
    return {"path": os.path.abspath(path), "sha256": sha256,
            "arch": str(setting(model, "arch", setting(model, "_name", "?"))),
            "encoder_layers": counts["encoder"], "decoder_layers": counts["decoder"]}


def data_bin_languages(state, data_bin):
    """``(src, tgt)``: the teacher's languages, else the data-bin's only pair."""
    task = task_config(state)
    src, tgt = setting(task, "source_lang"), setting(task, "target_lang")
    if src is None or tgt is None:
        inferred = infer_langs(data_bin)
        if inferred is None:
            raise UserError(f"--data-bin {data_bin}: cannot tell its language pair (no single "
                            f"<split>.<src>-<tgt>.<lang>.idx pair)")
        src, tgt = src or inferred[0], tgt or inferred[1]
    return src, tgt


def check_data_bin(path, state, data_bin):
    """Raise one line unless ``data_bin``'s dictionaries fit the teacher: the sizes of its
    embedding tables, and the very symbols when the teacher's own data-bin is still there.
    Returns ``(src, tgt)``."""
    textio.input_dir(data_bin, "--data-bin")
    src, tgt = data_bin_languages(state, data_bin)
    dicts = dictionary_paths(data_bin, src, tgt)
    check_dictionaries(path, state, dicts, data_bin, flag=TEACHER)
    own = recorded_data_dir(state)
    for dict_path in dicts:
        theirs = os.path.join(own, os.path.basename(dict_path)) if own else ""
        if not theirs or not os.path.isfile(theirs) or os.path.samefile(theirs, dict_path):
            continue
        mine, known = dictionary_symbols(dict_path), dictionary_symbols(theirs)
        if mine != known:
            at = next(i for i, (a, b) in enumerate(zip(mine, known)) if a != b)
            raise UserError(f"--data-bin {data_bin}: {os.path.basename(dict_path)} is not the "
                            f"teacher's dictionary ({theirs}): symbol {at} is {mine[at]!r}, the "
                            f"teacher's {known[at]!r}")
    return src, tgt


def shrunk_student(config, state, teacher):
    """``(checkpoint state, record)`` of the shrunk student (Shleifer & Rush's SFT)."""
    weights, model = state["model"], model_config(state)
    counts = shrink.layer_counts(weights)
    for side in shrink.SIDES:
        said = setting(model, f"{side}_layers")
        if said is not None and int(said) != counts[side]:
            raise UserError(f"{TEACHER} {config.teacher}: its config says {said} {side} layers, "
                            f"its weights have {counts[side]}")
    keep, how = {}, {}
    for side in shrink.SIDES:
        keep[side], how[side] = shrink.choose_layers(
            side, counts[side], getattr(config, f"{side}_layers"), getattr(config, f"{side}_keep"))
    student, _ = shrink.shrink_weights(weights, keep)
    depths = {f"{side}_layers": len(keep[side]) for side in shrink.SIDES}
    dropped = {f"{side}_layers_to_keep": None for side in shrink.SIDES
               if setting(model, f"{side}_layers_to_keep") is not None}
    cfg = plain_config(state["cfg"])
    cfg["model"] = with_settings(model, **depths, **dropped)
    arch = teacher["arch"]
    record = {
        "created_by": "nat-shrink", "method": "shrink (Shleifer & Rush 2020)",
        "teacher": teacher, "student": {"arch": arch, **depths},
        "kept_layers": keep, "layer_choice": how,
        "tensors": {"copied": len(student), "fresh": []},
        "fine_tune": ["fairseq-train", config.data_bin or "DATA_BIN", "--user-dir",
                      "fairseq_plugins", "--finetune-from-model", os.path.abspath(config.out),
                      "--arch", arch, "--encoder-layers", str(depths["encoder_layers"]),
                      "--decoder-layers", str(depths["decoder_layers"])],
        "versions": package_versions()}
    return checkpoint_state(cfg, student, record), record


def save(path, state):
    """The checkpoint (fairseq's atomic save: ``path.tmp``, then a rename), then ``path.json``:
    the record plus the checkpoint's sha256 (written last: no record names a half-written
    checkpoint)."""
    checkpoint_utils = _fairseq()
    sidecar = path + ".json"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if os.path.exists(sidecar):
        os.unlink(sidecar)
    checkpoint_utils.torch_persistent_save(state, path)
    record = dict(state["extra_state"][RECORD_KEY], sha256=file_sha256(path))
    textio.write_json_atomic(sidecar, record, sort_keys=True)
    return record


def check_output(config):
    textio.output_file(config.out, "--out")
    if os.path.exists(config.out) and not config.overwrite:
        raise UserError(f"--out {config.out}: exists (pass --overwrite to replace it)")
    if os.path.abspath(config.out) == os.path.abspath(config.teacher):
        raise UserError(f"--out {config.out}: is the teacher")


def run(config):
    """Write the student of ``config`` (a ``ShrinkConfig``); returns its record."""
    check_output(config)
    state = load_teacher(config.teacher)
    teacher = teacher_record(config.teacher, state, file_sha256(config.teacher))
    langs = check_data_bin(config.teacher, state, config.data_bin) if config.data_bin else None
    if config.nat:
        from nat.distill.shrink_nat import nat_student

        student, _ = nat_student(config, state, teacher, langs)
    else:
        student, _ = shrunk_student(config, state, teacher)
    del state
    return save(config.out, student)
