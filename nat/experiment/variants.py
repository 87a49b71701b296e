"""What an experiment config asks for, as plain specs: corpora, born-again teachers, AR students.

Corpora (the names ``train_data`` entries use):

- ``raw``: the synthetic training set;
- one per distillation variant (config ``distill``): a dict is one Seq-KD-style variant named
  ``distilled`` (the quick preset); a list holds named variants, e.g.
  ``[{"name": "distilled", "method": "seqkd"}, {"name": "seqinter", "method": "seqinter",
  "beam": 8}, {"name": "sample", "method": "sample", "beam": 1}]``; every one is decoded by the
  teacher from the raw training sources;
- ``born_again_1`` .. ``born_again_N`` (config ``born_again: {"rounds": N, "from": V}``): teacher k
  (same settings as ``teacher``) is trained on corpus ``V`` for k = 1, else on
  ``born_again_{k-1}``, and re-distils the raw sources with variant ``V``'s settings.

AR students (config ``ar_students``): autoregressive models trained on any corpus with
label-smoothed cross-entropy (Seq-KD when the corpus is distilled) or, with ``word_kd``, with
``--criterion word_kd`` against the original teacher (Word-KD; Seq-KD + Word-KD on a distilled
corpus).  NATs train on every corpus of the global ``train_data`` unless their own entry has a
``train_data`` list.  Nothing here runs anything: ``pipeline.Experiment`` turns the specs into
jobs, and ``validate`` refuses a config whose names do not fit together (one line each).
"""
import re
from dataclasses import dataclass, field

from nat.distill.config import BACKENDS, METHODS
from nat.errors import UserError
from nat.experiment import schema

RAW = "raw"
DEFAULT = "distilled"  # the Seq-KD corpus of the quick preset (and its job name ``distill``)
BORN_AGAIN = "born_again_"

#: settings every distillation variant has (a variant may leave any of them out)
DISTILL_DEFAULTS = schema.defaults(schema.DistillSection, "method", "beam", "lenpen", "backend")
#: optional variant settings and their nat-distill flags (``extra`` passes any other flag)
DISTILL_FLAGS = {"nbest": "--nbest", "sampling_topk": "--sampling-topk",
                 "sampling_temperature": "--sampling-temperature",
                 "selective_ter": "--selective-ter", "seed": "--seed",
                 "max_tokens": "--max-tokens", "chunk_size": "--chunk-size",
                 "threads": "--threads"}
BORN_AGAIN_DEFAULTS = schema.defaults(schema.BornAgainSection)
STUDENT_REQUIRED = ("name", "arch", "train_data", "updates", "lr", "warmup", "max_tokens")
STUDENT_DEFAULTS = {**schema.defaults(schema.StudentSection, "label_smoothing", "word_kd",
                                      "beam"), "extra": []}
WORD_KD_DEFAULTS = schema.defaults(schema.WordKDSection)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Corpus:
    name: str
    settings: dict = field(default_factory=dict)  # nat-distill settings ({} for raw)
    teacher: str = ""   # job name of the teacher that decodes it ("" for raw)
    round: int = 0      # born-again round of that teacher (0: the original teacher)

    @property
    def distilled(self):
        return self.name != RAW

    @property
    def job(self):
        """Name of the nat-distill job that makes it (``distill`` for the default corpus)."""
        return "distill" if self.name == DEFAULT else f"distill_{self.name}"

    @property
    def one_per_source(self):
        """True when the corpus has one target per training source (line-aligned with raw)."""
        method, nbest = self.settings.get("method"), self.settings.get("nbest")
        if method == "nbest":
            return (nbest or self.settings.get("beam", 1)) == 1
        if method == "sample":
            return (nbest or 1) == 1
        return True

    @property
    def key_settings(self):
        """What the corpus' settings key hashes: its nat-distill settings without the name."""
        return {k: v for k, v in self.settings.items() if k != "name"}


@dataclass(frozen=True)
class Teacher:
    """An autoregressive teacher: the original (round 0, raw data) or a born-again one."""
    job: str
    round: int
    train_data: str     # corpus name it trains on
    distils: tuple = ()  # corpus names it decodes

    @property
    def system(self):
        return f"{self.job}_beam5"


def _check_name(name, what):
    if not isinstance(name, str) or not _NAME.match(name):
        raise UserError(f"{what}: name {name!r} must be letters, digits, '_', '.', '-'")
    return name


def distill_variants(config):
    """The distillation variants as dicts with ``name`` and every default filled in."""
    raw = config.get("distill", [])
    entries = [dict(raw, name=raw.get("name", DEFAULT))] if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise UserError("distill: expected a mapping (one variant) or a list of variants")
    variants, allowed = [], {"name", "extra", *DISTILL_DEFAULTS, *DISTILL_FLAGS}
    for number, entry in enumerate(entries):
        where = f"distill[{number}]"
        if not isinstance(entry, dict) or "name" not in entry:
            raise UserError(f"{where}: each variant needs a name (e.g. {{'name': 'seqinter', "
                            f"'method': 'seqinter'}})")
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise UserError(f"unknown config key: {where}.{unknown[0]} (allowed: "
                            f"{', '.join(sorted(allowed))})")
        name = _check_name(entry["name"], where)
        if name == RAW or name.startswith(BORN_AGAIN):
            raise UserError(f"{where}: name {name!r} is reserved (raw, {BORN_AGAIN}N)")
        variant = {**DISTILL_DEFAULTS, **entry}
        if variant["method"] not in METHODS:
            raise UserError(f"{where}.method {variant['method']!r}: choose one of "
                            f"{', '.join(METHODS)}")
        if variant["backend"] not in BACKENDS:
            raise UserError(f"{where}.backend {variant['backend']!r}: choose one of "
                            f"{', '.join(BACKENDS)}")
        variants.append(variant)
    return variants


def born_again(config):
    settings = {**BORN_AGAIN_DEFAULTS, **(config.get("born_again") or {})}
    unknown = sorted(set(settings) - set(BORN_AGAIN_DEFAULTS))
    if unknown:
        raise UserError(f"unknown config key: born_again.{unknown[0]}")
    rounds = settings["rounds"]
    if not isinstance(rounds, int) or isinstance(rounds, bool) or rounds < 0:
        raise UserError(f"born_again.rounds: expected an integer >= 0, got {rounds!r}")
    return settings


def corpora(config):
    """Every corpus, raw first, then the variants, then the born-again rounds in order."""
    variants = distill_variants(config)
    found = [Corpus(RAW)] + [Corpus(v["name"], v, "teacher") for v in variants]
    again = born_again(config)
    if again["rounds"]:
        source = {v["name"]: v for v in variants}.get(again["from"])
        if source is None:
            raise UserError(f"born_again.from {again['from']!r}: name one of the distill "
                            f"variants ({', '.join(v['name'] for v in variants)})")
        settings = {k: v for k, v in source.items() if k != "name"}
        for k in range(1, again["rounds"] + 1):
            found.append(Corpus(f"{BORN_AGAIN}{k}", {**settings, "name": f"{BORN_AGAIN}{k}"},
                                f"teacher_{BORN_AGAIN}{k}", k))
    names = [corpus.name for corpus in found]
    duplicate = sorted({n for n in names if names.count(n) > 1})
    if duplicate:
        raise UserError(f"distill: corpus name {duplicate[0]!r} is used twice")
    return found


def teachers(config):
    """The original teacher, then one born-again teacher per round."""
    found = corpora(config)
    made_by = {}
    for corpus in found:
        if corpus.teacher:
            made_by.setdefault(corpus.teacher, []).append(corpus.name)
    result = [Teacher("teacher", 0, RAW, tuple(made_by.get("teacher", ())))]
    again = born_again(config)
    for k in range(1, again["rounds"] + 1):
        job = f"teacher_{BORN_AGAIN}{k}"
        result.append(Teacher(job, k, again["from"] if k == 1 else f"{BORN_AGAIN}{k - 1}",
                              tuple(made_by.get(job, ()))))
    return result


def ar_students(config):
    """AR students with defaults filled in (``word_kd`` None or {alpha, temperature})."""
    students = []
    for number, entry in enumerate(config.get("ar_students") or []):
        where = f"ar_students[{number}]"
        if not isinstance(entry, dict):
            raise UserError(f"{where}: expected a mapping")
        missing = [k for k in STUDENT_REQUIRED if k not in entry]
        if missing:
            raise UserError(f"{where}: missing {', '.join(missing)}")
        unknown = sorted(set(entry) - set(STUDENT_REQUIRED) - set(STUDENT_DEFAULTS))
        if unknown:
            raise UserError(f"unknown config key: {where}.{unknown[0]}")
        _check_name(entry["name"], where)
        student = {**STUDENT_DEFAULTS, **entry}
        if student["word_kd"] is not None:
            if not isinstance(student["word_kd"], dict):
                raise UserError(f"{where}.word_kd: expected null or {{alpha, temperature}}")
            bad = sorted(set(student["word_kd"]) - set(WORD_KD_DEFAULTS))
            if bad:
                raise UserError(f"unknown config key: {where}.word_kd.{bad[0]}")
            student["word_kd"] = {**WORD_KD_DEFAULTS, **student["word_kd"]}
        students.append(student)
    return students


def nat_models(config):
    """Every NAT config: the ``nat`` entries, then ``lost.compression_model`` again at each
    ``lost.compression`` size (named ``MODEL_SIZE``, its flags after the model's own, on the
    global ``train_data``)."""
    models = list(config["nat"])
    lost = config.get("lost") or {}
    if lost.get("compression_model"):
        base = next(m for m in config["nat"] if m["name"] == lost["compression_model"])
        models += [dict(base, name=f"{base['name']}_{size['name']}",
                        extra=list(base.get("extra") or []) + list(size["extra"]),
                        train_data=list(config["train_data"]),
                        compression_of=base["name"], size=size["name"])
                   for size in lost.get("compression") or []]
    return models


def nat_runs(config):
    """(run name, NAT config, corpus name) of every NAT to train, grouped by corpus in the
    order of the global ``train_data`` (raw first in the presets), then the corpora only some
    NATs name in their own ``train_data``."""
    models = nat_models(config)
    order = list(config["train_data"])
    for model in models:
        order += [d for d in model.get("train_data", ()) if d not in order]
    return [(f"{m['name']}_{data}", m, data) for data in order for m in models
            if data in m.get("train_data", config["train_data"])]


def validate(config):
    """Raise UserError (one line) unless every name in the config resolves; returns corpora."""
    found = corpora(config)
    known = [corpus.name for corpus in found]
    choices = ", ".join(known)

    def check(entries, where):
        if isinstance(entries, str) or not isinstance(entries, (list, tuple)):
            raise UserError(f"{where} must be a list of corpus names ({choices})")
        for entry in entries:
            if entry not in known:
                raise UserError(f"{where} entries must name a corpus ({choices}), "
                                f"got {entry!r}")

    check(config["train_data"], "train_data")
    lost = config.get("lost") or {}
    if lost.get("compression_model") and not any(
            m["name"] == lost["compression_model"] for m in config["nat"]):
        raise UserError(f"lost.compression_model {lost['compression_model']!r} is not a nat "
                        f"entry ({', '.join(m['name'] for m in config['nat'])})")
    if lost.get("compression") and not lost.get("compression_model"):
        raise UserError("lost.compression needs lost.compression_model (the NAT to shrink)")
    for size in lost.get("compression") or []:
        _check_name(size["name"], "lost.compression size")
    for model in config["nat"]:
        _check_name(model["name"], f"nat {model['name']!r}")
        if "train_data" in model:
            check(model["train_data"], f"nat {model['name']!r} train_data")
    students = ar_students(config)
    for student in students:
        check([student["train_data"]], f"ar_students {student['name']!r} train_data")
    models = [name for name, _, _ in nat_runs(config)] + [s["name"] for s in students]
    jobs = ([t.job for t in teachers(config)] + [c.job for c in found if c.distilled]
            + models + [t.system for t in teachers(config)] + ["teacher_greedy"])
    duplicate = sorted({j for j in jobs if jobs.count(j) > 1})
    if duplicate:
        raise UserError(f"two models or jobs are both named {duplicate[0]!r} (NAT runs are "
                        f"named <nat>_<corpus>; rename an AR student or a NAT)")
    return found
