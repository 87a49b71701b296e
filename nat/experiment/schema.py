"""The experiment config's schema: one dataclass per section, the type and range of every value.

Presets (``config.py``) hold the values; these dataclasses say what a value may be, with help
text as fairseq's own configs carry it.  ``check(config)`` runs before anything else (``--dry-run``
included), so a config that would train forever (``updates: 0`` is unlimited to fairseq), fail
after the teacher has trained (``beam: 0``, an unknown ``arch``) or crash (``"teacher": "big"``)
is refused in one line naming the key.  The names that tie sections together (corpora, students,
born-again rounds) are checked by ``variants.validate``.
"""
import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Optional

from nat.distill import word_kd_loss
from nat.distill.config import BACKENDS, METHODS, DistillConfig
from nat.errors import UserError

_TEXT = (str, int, float)  # items of ``extra`` flag lists


def _meta(help, low=None, above=None, choices=None, high=None):
    """Field metadata: ``low`` <= value (``above``: strictly), value <= ``high``, choices."""
    return {"help": help, "low": low, "above": above, "high": high, "choices": choices}


def value(help, kind, **bounds):
    """A required field of type ``kind`` (int, float, str, bool, list, Optional[...])."""
    return field(metadata={**_meta(help, **bounds), "kind": kind})


def optional(help, kind, default, **bounds):
    return field(default=default, metadata={**_meta(help, **bounds), "kind": kind})


@dataclass(kw_only=True)
class CorpusSection:
    mode: str = value("language per source: random, deterministic (a function of the source) "
                      "or all three", str, choices=("random", "deterministic", "all"))
    mix: str = value("language proportions a,b,c", str)
    preset: str = value("nat-synth grammar preset", str, choices=("small", "default"))
    train: int = value("training pairs", int, low=1)
    valid: int = value("validation pairs", int, low=1)
    test: int = value("test pairs", int, low=1)
    seed: int = value("corpus seed", int)
    extra: list = optional("more nat-synth flags", list, None)


@dataclass(kw_only=True)
class ModelSection:
    """The teacher (and every born-again teacher)."""
    name: str = value("model name", str)
    arch: str = value("a registered fairseq architecture", "arch")
    updates: int = value("fairseq-train --max-update (0 would be unlimited)", int, low=1)
    lr: float = value("peak learning rate", float, above=0)
    warmup: int = value("inverse_sqrt warm-up updates", int, low=0)
    max_tokens: int = value("tokens per batch", int, low=1)
    extra: list = optional("more fairseq-train flags", list, None)
    validate_every: int = optional("validation loss every N updates: the learning curve in the "
                                   "report (0: no validation)", int, 0, low=0)


@dataclass(kw_only=True)
class NatSection(ModelSection):
    decode: list = optional("more fairseq-generate flags", list, None)
    train_data: Optional[list] = optional("corpora to train on (default: the global "
                                          "train_data)", Optional[list], None)


_NAT_DISTILL = DistillConfig.__dataclass_fields__  # nat-distill's own defaults


@dataclass(kw_only=True)
class DistillSection:
    """One distillation variant: nat-distill's settings and defaults, but one: the experiment
    decodes with CTranslate2 (~7x faster than fairseq here, ``nat-bench distill``), while
    nat-distill itself defaults to fairseq, the backend that can also ensemble."""
    name: str = optional("corpus name", str, "distilled")
    method: str = optional("selection", str, _NAT_DISTILL["method"].default, choices=METHODS)
    beam: int = optional("beam size", int, _NAT_DISTILL["beam"].default, low=1)
    lenpen: float = optional("length penalty", float, _NAT_DISTILL["lenpen"].default)
    backend: str = optional("decoder (the experiment's choice; nat-distill's default is "
                            "fairseq)", str, "ctranslate2", choices=BACKENDS)
    nbest: int = optional("hypotheses kept per source", int, None, low=1)
    sampling_topk: int = optional("sample from the top k (-1: all)", int, None, low=-1)
    sampling_temperature: float = optional("sampling temperature", float, None, above=0)
    selective_ter: float = optional("selective: keep gold above this TER", float, None, low=0)
    seed: int = optional("sampling seed", int, None)
    max_tokens: int = optional("tokens per decoding batch", int, None, low=1)
    chunk_size: int = optional("sources per resumable chunk", int, None, low=1)
    threads: int = optional("decoder threads", int, None, low=1)
    extra: list = optional("more nat-distill flags", list, None)


@dataclass(kw_only=True)
class WordKDSection:
    alpha: float = optional("weight of the KL term", float, word_kd_loss.ALPHA, low=0, high=1)
    temperature: float = optional("softmax temperature", float, word_kd_loss.TEMPERATURE,
                                  above=0)


@dataclass(kw_only=True)
class StudentSection(ModelSection):
    train_data: str = value("corpus it trains on", str)
    label_smoothing: float = optional("label smoothing", float, 0.1, low=0, high=1)
    word_kd: Optional[dict] = optional("Word-KD against the teacher (null: plain CE)",
                                       Optional[WordKDSection], None)
    beam: int = optional("beam size at test time", int, 5, low=1)


@dataclass(kw_only=True)
class DecodeSection:
    max_len_a: float = value("output length cap: a * source length + b", float, low=0)
    max_len_b: int = value("output length cap: a * source length + b", int, low=1)


@dataclass(kw_only=True)
class SpeedSection:
    throughput_batch: int = value("the large batch of the speed measurement", int, low=1)
    deploy: bool = optional("export every one-pass NAT (ONNX fp32/int8) and time it against "
                            "the teacher in CTranslate2", bool, True)
    latency_sentences: int = optional("deploy: test sentences timed one at a time", int, 100,
                                      low=1)


@dataclass(kw_only=True)
class BornAgainSection:
    rounds: int = optional("born-again rounds", int, 0, low=0)
    # "from" is a keyword: checked by name below
    from_: str = optional("the distill variant the first round trains on", str, "distilled")


@dataclass(kw_only=True)
class SizeSection:
    name: str = value("size name (the runs are NAT_NAME_SIZE_CORPUS)", str)
    extra: list = value("fairseq-train flags of this size (e.g. --encoder-embed-dim 64 ...)",
                        list)


@dataclass(kw_only=True)
class LostSection:
    """What distillation lost: stability and the compression axis (``nat.experiment`` report
    section; the measures are ``nat-analyze outputs``')."""
    retrain_seed: int = optional("retrain every NAT with this seed too and count the outputs "
                                 "that change (0: off)", int, 0, low=0)
    swap: bool = optional("decode a one-word-swapped test set: outputs changing beyond the "
                          "swapped word (synthetic corpus only)", bool, True)
    compression_model: Optional[str] = optional("the NAT (a nat entry's name) trained again at "
                                                "each of compression's sizes", Optional[str],
                                                None)
    compression: list = optional("smaller sizes of compression_model", [SizeSection], None)


@dataclass(kw_only=True)
class SeedTablesSection:
    """The seed talk's tables (``--preset seed``; nat/experiment/seed_plan.py)."""
    sections: list = value("the tables to build: kimrush, ensemble, stealing, multilingual, "
                           "shleifer, natdecode, unimodality, born_again, rnn", [str])
    updates: int = value("fairseq-train updates of every student the seed stage trains", int,
                         low=1)
    teacher_updates: int = value("updates of the extra teachers (ensemble seeds 2 and 3, the "
                                 "per-language teachers)", int, low=1)
    subset: int = value("sentences the ensemble distils and black-box queries", int, low=1)
    query_zipf: float = value("Zipf exponent of the black-box query corpus", float, above=0)
    lstm_lr: float = value("learning rate of the LSTM students", float, above=0)
    multilingual_train: int = value("sources of the multilingual corpus (each in 3 languages)",
                                    int, low=1)
    multilingual_updates: int = value("updates of each multilingual student", int, low=1)
    check_interval: int = value("updates between multilingual KD switch checks", int, low=1)


@dataclass(kw_only=True)
class ExperimentSection:
    seed: int = value("training seed", int)
    jobs: int = value("training jobs side by side", int, low=1)
    train_processes: int = value("processes per fairseq-train job (torchrun, data-parallel; "
                                 "each reads max_tokens); 0: one per visible GPU, 1 without",
                                 int, low=0)
    preset: str = optional("preset name", str, None)
    corpus: dict = value("the synthetic corpus", CorpusSection)
    teacher: dict = value("the AR teacher", ModelSection)
    nat: list = value("the NATs", [NatSection])
    distill: object = value("one distillation variant or a list of named ones",
                            (DistillSection, [DistillSection]))
    train_data: list = value("corpora every NAT trains on", [str])
    speed: dict = value("speed measurement", SpeedSection)
    decode: dict = value("decoding limits", DecodeSection)
    born_again: dict = value("born-again teachers", BornAgainSection)
    ar_students: list = value("autoregressive students", [StudentSection])
    prepare: dict = value("nat-prepare settings (--data DIR only; checked by nat-prepare)", dict)
    lost: dict = value("what distillation lost: stability, compression", LostSection)
    seed_tables: Optional[dict] = optional("the seed talk's tables (null: off)",
                                           Optional[SeedTablesSection], None)


def _is(kind, v):
    if kind is int:
        return isinstance(v, int) and not isinstance(v, bool)
    if kind is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, kind)


def _name(kind):
    if isinstance(kind, list):
        return "a list of mappings" if dataclasses.is_dataclass(kind[0]) else \
            f"a list of {_name(kind[0])}"
    if isinstance(kind, tuple):
        return " or ".join(_name(k) for k in kind)
    if dataclasses.is_dataclass(kind):
        return "a mapping"
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false",
            list: "a list", dict: "a mapping"}.get(kind, str(kind))


def _fits(kind, v):
    """Whether ``v`` has the shape of ``kind`` (deep checks happen in ``_check``)."""
    if isinstance(kind, tuple):
        return any(_fits(k, v) for k in kind)
    if isinstance(kind, list):
        return isinstance(v, list)
    if dataclasses.is_dataclass(kind):
        return isinstance(v, dict)
    return _is(kind, v)


def _check(kind, v, where, archs):
    if kind == "arch":
        if not isinstance(v, str):
            raise UserError(f"{where}: expected an architecture name, got {v!r}")
        if archs is not None and v not in archs:
            close = difflib.get_close_matches(v, sorted(archs), n=4, cutoff=0.6)
            raise UserError(f"{where}: unknown architecture {v!r}"
                            + (f" (e.g. {', '.join(close)})" if close else ""))
        return
    if getattr(kind, "__origin__", None) is not None:  # Optional[X]
        if v is None:
            return
        kind = next(k for k in kind.__args__ if k is not type(None))
    if isinstance(kind, tuple):  # the first alternative that fits
        kind = next((k for k in kind if _fits(k, v)), kind[0])
    if not _fits(kind, v):
        raise UserError(f"{where}: expected {_name(kind)}, got {v!r}")
    if isinstance(kind, list):
        for i, item in enumerate(v):
            _check(kind[0], item, f"{where}[{i}]", archs)
    elif dataclasses.is_dataclass(kind):
        _section(kind, v, where, archs)


def _bounds(meta, v, where):
    if meta["choices"] and v not in meta["choices"]:
        raise UserError(f"{where}: {v!r} is not one of {', '.join(meta['choices'])}")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return
    if meta["low"] is not None and v < meta["low"]:
        raise UserError(f"{where}: must be >= {meta['low']}, got {v!r} ({meta['help']})")
    if meta["above"] is not None and v <= meta["above"]:
        raise UserError(f"{where}: must be > {meta['above']}, got {v!r} ({meta['help']})")
    if meta["high"] is not None and v > meta["high"]:
        raise UserError(f"{where}: must be <= {meta['high']}, got {v!r} ({meta['help']})")


def _section(schema, data, where, archs):
    fields = {("from" if f.name == "from_" else f.name): f for f in dataclasses.fields(schema)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UserError(f"unknown config key: {_join(where, unknown[0])} (allowed: "
                        f"{', '.join(sorted(fields))})")
    for key, f in fields.items():
        here = _join(where, key)
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        if key not in data:
            if required:
                raise UserError(f"{here}: missing ({f.metadata['help']})")
            continue
        v, kind = data[key], f.metadata["kind"]
        if v is None and not required:
            continue  # an optional setting left at its default
        _check(kind, v, here, archs)
        if kind is list and not all(isinstance(x, _TEXT) for x in v):
            raise UserError(f"{here}: expected a list of flags (strings or numbers)")
        _bounds(f.metadata, v, here)


def _join(where, key):
    return f"{where}.{key}" if where else key


def defaults(schema, *names):
    """{name: default} of ``schema``'s optional fields (all, or those named): the one place
    a default lives."""
    found = {("from" if f.name == "from_" else f.name): f.default
             for f in dataclasses.fields(schema) if f.default is not dataclasses.MISSING}
    return {n: found[n] for n in names} if names else found


def known_keys(path):
    """The keys the section at dotted ``path`` may hold (its dataclass' fields, optional ones
    included), or an empty set where ``path`` is no mapping section: what ``--config`` may add
    to a preset that leaves an optional key out."""
    kind = ExperimentSection
    for part in path.split(".") if path else []:
        fields = {("from" if f.name == "from_" else f.name): f for f in dataclasses.fields(kind)}
        if part not in fields:
            return set()
        kind = fields[part].metadata["kind"]
        if getattr(kind, "__origin__", None) is not None:  # Optional[X]
            kind = next(k for k in kind.__args__ if k is not type(None))
        if not dataclasses.is_dataclass(kind):
            return set()
    return {("from" if f.name == "from_" else f.name) for f in dataclasses.fields(kind)}


def registered_archs():
    """Every fairseq architecture name, ours included (imports fairseq once)."""
    from nat import compat

    with compat.fairseq_logging_kept():
        import fairseq_plugins  # noqa: F401
        from fairseq.models import ARCH_MODEL_REGISTRY
    return set(ARCH_MODEL_REGISTRY)


def check(config, archs=None):
    """Raise UserError (one line naming the key) unless every value has its type and range;
    ``archs``: the architecture names to accept (default: fairseq's registry)."""
    if not isinstance(config, dict):
        raise UserError(f"config: expected a mapping, got {config!r}")
    _section(ExperimentSection, config, "", registered_archs() if archs is None else archs)
    return config
