"""Experiment presets and overrides: all defaults live here, as plain nested dicts.

A preset is a nested dict; ``--config FILE`` (JSON or YAML) is deep-merged over it.  Unknown keys
are refused so a typo never silently falls back to a default.
"""
import copy
import json
import os

from nat.errors import UserError
from nat.experiment import schema, variants

QUICK = {
    "seed": 1,
    "jobs": 2,  # fairseq-train processes run side by side (one thread each)
    # processes per fairseq-train job (torchrun; the global batch is N x max_tokens):
    # 0 = one per visible GPU, one process on a CPU
    "train_processes": 0,
    "corpus": {"mode": "random", "mix": "0.34,0.33,0.33", "preset": "small",
               "train": 10000, "valid": 300, "test": 300, "seed": 1, "extra": []},
    # 2048-token batches: per update about half the cost of 4096 (CPU time is linear in
    # tokens here), and the effect shows as clearly (measured: see README)
    "teacher": {"name": "teacher", "arch": "transformer_teacher_tiny", "updates": 600,
                "lr": 2e-3, "warmup": 100, "max_tokens": 2048,
                "extra": ["--criterion", "label_smoothed_cross_entropy",
                          "--label-smoothing", "0.1"]},
    # CTranslate2 decodes the teacher ~7x faster than fairseq here (nat-bench distill); its
    # threads follow OMP_NUM_THREADS=1 set by the job runner (it runs next to a training job)
    "distill": {"method": "seqkd", "beam": 5, "lenpen": 1.0, "backend": "ctranslate2"},
    # the vanilla NAT (most sensitive to multimodality) and CTC + glancing (alignment-
    # marginalising); an update of the latter costs ~2x a vanilla one (two decoder passes), a
    # DAG update ~3.5x, so the DAG, plain CTC and GLAT are in the full preset
    "nat": [
        {"name": "vanilla", "arch": "nat_vanilla_tiny", "updates": 500, "lr": 2e-3,
         "warmup": 100, "max_tokens": 2048, "extra": [], "decode": []},
        {"name": "ctc_glat", "arch": "nat_ctc_glat_tiny", "updates": 200, "lr": 2e-3,
         "warmup": 100, "max_tokens": 2048, "extra": [], "decode": []},
    ],
    "train_data": ["raw", "distilled"],
    "speed": {"throughput_batch": 128},
    # autoregressive decoding stops at max_len_a * source length + max_len_b tokens
    # (max_len_a 0: a fixed cap, the same for every batch and for CTranslate2)
    "decode": {"max_len_a": 0, "max_len_b": 64},
}

# Off in the quick preset, on in the full one (schema: nat/experiment/variants.py): teachers
# retrained on their predecessor's distilled data, autoregressive Seq-KD / Word-KD students.
QUICK.update({"born_again": {"rounds": 0, "from": "distilled"}, "ar_students": []})

# ``nat-experiment --data DIR`` only (a raw corpus directory): nat-prepare settings for
# OUT/prepared (nat/experiment/user_data.py; ``extra`` passes any other nat-prepare flag).
# max_pieces = decode.max_len_b: a longer pair could not be decoded in full, so it is dropped
# (counted in the manifest); empty pairs and stray CRs are dropped / made spaces, counted.
QUICK["prepare"] = {"vocab_size": 2000, "model_type": "unigram", "source_lang": "src",
                    "target_lang": "tgt", "drop_empty": True, "dedup": False,
                    "stray_cr": "space", "max_pieces": 64, "extra": []}

# What distillation lost (nat/experiment/schema.py LostSection): the one-word-swap stability
# costs one decode per system; retraining with another seed and the compression axis cost
# training, so they are off here (the full preset has them; any config can switch them on).
QUICK["lost"] = {"retrain_seed": 0, "swap": True, "compression_model": None, "compression": []}
#: smaller tiny NATs for the compression axis (the tiny default is 128 dims, 2+2 layers)
TINY_SIZES = [
    {"name": "d64", "extra": ["--encoder-embed-dim", "64", "--decoder-embed-dim", "64",
                              "--encoder-ffn-embed-dim", "256", "--decoder-ffn-embed-dim", "256"]},
    {"name": "d32", "extra": ["--encoder-embed-dim", "32", "--decoder-embed-dim", "32",
                              "--encoder-ffn-embed-dim", "128", "--decoder-ffn-embed-dim", "128",
                              "--encoder-layers", "1", "--decoder-layers", "1"]},
]

#: transformer-base size (6+6 layers, 512 dims, 8 heads) over a tiny architecture's defaults
BASE_SIZE = ["--encoder-layers", "6", "--decoder-layers", "6", "--encoder-embed-dim", "512",
             "--decoder-embed-dim", "512", "--encoder-ffn-embed-dim", "2048",
             "--decoder-ffn-embed-dim", "2048", "--encoder-attention-heads", "8",
             "--decoder-attention-heads", "8"]

FULL = copy.deepcopy(QUICK)
FULL.update({
    "corpus": {"mode": "random", "mix": "0.34,0.33,0.33", "preset": "default",
               "train": 200000, "valid": 1000, "test": 1000, "seed": 1, "extra": []},
    "teacher": {"name": "teacher", "arch": "transformer_teacher_tiny", "updates": 20000,
                "lr": 1e-3, "warmup": 1000, "max_tokens": 8192,
                "extra": ["--criterion", "label_smoothed_cross_entropy",
                          "--label-smoothing", "0.1", *BASE_SIZE]},
    # base-size NATs (6+6 layers, 512 dims: fairseq's vanilla NAT and our *_base archs)
    "nat": [
        # the vanilla NAT (the most mode-sensitive) also on every other distilled corpus
        {"name": "vanilla", "arch": "nonautoregressive_transformer", "updates": 20000,
         "lr": 5e-4,
         "warmup": 1000, "max_tokens": 8192, "extra": [], "decode": [],
         "train_data": ["raw", "distilled", "seqinter", "sample", "born_again_2"]},
        {"name": "glat", "arch": "nat_glat_base", "updates": 20000, "lr": 5e-4,
         "warmup": 1000, "max_tokens": 8192, "extra": [], "decode": []},
        {"name": "ctc", "arch": "nat_ctc_base", "updates": 20000, "lr": 5e-4,
         "warmup": 1000, "max_tokens": 8192, "extra": [], "decode": []},
        {"name": "ctc_glat", "arch": "nat_ctc_glat_base", "updates": 20000, "lr": 5e-4,
         "warmup": 1000, "max_tokens": 8192, "extra": [], "decode": []},
        {"name": "dag", "arch": "nat_dag_base", "updates": 20000, "lr": 5e-4,
         "warmup": 1000, "max_tokens": 8192, "extra": [], "decode": []},
    ],
    # named corpora decoded by the teacher; ``distilled`` is the quick preset's Seq-KD corpus
    "distill": [
        {"name": "distilled", "method": "seqkd", "beam": 5, "lenpen": 1.0,
         "backend": "ctranslate2"},
        # Seq-Inter: the candidate of the 8-best list with the best sentence BLEU vs the gold
        {"name": "seqinter", "method": "seqinter", "beam": 8, "lenpen": 1.0,
         "backend": "ctranslate2"},
        # one unrestricted sample per source: keeps the teacher's multimodality (a control)
        {"name": "sample", "method": "sample", "beam": 1, "lenpen": 1.0,
         "backend": "ctranslate2", "sampling_topk": -1, "sampling_temperature": 1.0},
    ],
    "born_again": {"rounds": 2, "from": "distilled"},  # corpora born_again_1, born_again_2
    "prepare": dict(QUICK["prepare"], vocab_size=8000),  # --data DIR only
    "lost": {"retrain_seed": 2, "swap": True, "compression_model": "vanilla",
             "compression": [
                 {"name": "d256", "extra": ["--encoder-embed-dim", "256", "--decoder-embed-dim",
                                            "256", "--encoder-ffn-embed-dim", "1024",
                                            "--decoder-ffn-embed-dim", "1024"]},
                 {"name": "d128", "extra": ["--encoder-embed-dim", "128", "--decoder-embed-dim",
                                            "128", "--encoder-ffn-embed-dim", "512",
                                            "--decoder-ffn-embed-dim", "512"]}]},
    "ar_students": [
        # Seq-KD (Kim & Rush 2016): plain label-smoothed CE on the teacher's beam outputs
        {"name": "student_seqkd", "arch": "transformer_student_tiny", "train_data": "distilled",
         "word_kd": None, "updates": 20000, "lr": 1e-3, "warmup": 1000, "max_tokens": 8192,
         "label_smoothing": 0.1, "extra": list(BASE_SIZE), "beam": 5},
        # Word-KD: (1-a) NLL(gold) + a KL(teacher || student) on the raw data
        {"name": "student_wordkd", "arch": "transformer_student_tiny", "train_data": "raw",
         "word_kd": {"alpha": 0.5, "temperature": 1.0}, "updates": 20000, "lr": 1e-3,
         "warmup": 1000, "max_tokens": 8192, "label_smoothing": 0.1, "extra": list(BASE_SIZE),
         "beam": 5},
    ],
})

# The seed talk's tables (nat/experiment/seed.py): off in quick and full
QUICK["seed_tables"] = None
FULL["seed_tables"] = None

#: ``--preset seed``: the quick experiment plus what the seed talk's tables need (Seq-Inter,
#: two born-again generations, five AR students), then the seed stage (nat/experiment/
#: seed_plan.py) over it; sized for 2 CPU cores in about 45 minutes (README)
SEED = copy.deepcopy(QUICK)
_STUDENT = {"arch": "transformer_student_tiny", "updates": 300, "lr": 2e-3, "warmup": 100,
            "max_tokens": 2048, "label_smoothing": 0.1, "extra": [], "beam": 5}
_WORD_KD = {"alpha": 0.5, "temperature": 1.0}
SEED.update({
    "distill": [
        {"name": "distilled", "method": "seqkd", "beam": 5, "lenpen": 1.0,
         "backend": "ctranslate2"},
        {"name": "seqinter", "method": "seqinter", "beam": 8, "lenpen": 1.0,
         "backend": "ctranslate2"},
    ],
    "born_again": {"rounds": 2, "from": "distilled"},
    "ar_students": [
        dict(_STUDENT, name="student_raw", train_data="raw", word_kd=None),
        dict(_STUDENT, name="student_wordkd", train_data="raw", word_kd=dict(_WORD_KD)),
        dict(_STUDENT, name="student_seqkd", train_data="distilled", word_kd=None),
        dict(_STUDENT, name="student_seqinter", train_data="seqinter", word_kd=None),
        dict(_STUDENT, name="student_seqkd_wordkd", train_data="distilled",
             word_kd=dict(_WORD_KD)),
    ],
    "seed_tables": {
        "sections": ["kimrush", "ensemble", "stealing", "multilingual", "shleifer",
                     "natdecode", "unimodality", "born_again", "rnn"],
        "updates": 300, "teacher_updates": 300, "subset": 3000, "query_zipf": 0.7,
        "lstm_lr": 5e-3, "multilingual_train": 1500, "multilingual_updates": 600,
        "check_interval": 100},
})

#: ``--preset real`` (``--data DIR`` only): a real corpus of ~20-30k short pairs on 2 CPU cores in
#: about an hour (docs/real.md: how each number was measured).  Per update on one core, here:
#: teacher 4096 tokens ~1.0-1.15 s, vanilla NAT 2048 tokens 0.37-0.54 s (alone / beside another
#: job).
#: The teacher's validation BLEU (greedy, one reference) and every model's validation loss are
#: logged every few hundred updates (the report's learning curves); distillation keeps the
#: best-ranked candidate of one language from the teacher's 5-best list (``consistent``).
REAL = copy.deepcopy(QUICK)
_EVAL_BLEU = ["--eval-bleu", "--eval-bleu-args", '{"beam": 1, "max_len_a": 0, "max_len_b": 64}',
              "--eval-bleu-remove-bpe", "sentencepiece"]
REAL.update({
    "teacher": {"name": "teacher", "arch": "transformer_teacher_tiny", "updates": 2000,
                "lr": 2e-3, "warmup": 200, "max_tokens": 4096, "validate_every": 400,
                "extra": ["--criterion", "label_smoothed_cross_entropy",
                          "--label-smoothing", "0.1", *_EVAL_BLEU]},
    "distill": {"method": "consistent", "beam": 5, "lenpen": 1.0, "backend": "ctranslate2"},
    # the vanilla NAT only: the model the claims are about; two CTC+GLAT NATs of 600 updates
    # cost another ~28 core-minutes and took the run to 67 minutes (docs/real.md: --config)
    "nat": [
        {"name": "vanilla", "arch": "nat_vanilla_tiny", "updates": 2500, "lr": 2e-3,
         "warmup": 200, "max_tokens": 2048, "validate_every": 500, "extra": [], "decode": []},
    ],
    # a real vocabulary: four languages' words in one joint model
    "prepare": dict(QUICK["prepare"], vocab_size=4000),
})
#: presets that need ``--data DIR`` (they are sized for a real corpus)
NEEDS_DATA = ("real",)

PRESETS = {"quick": QUICK, "full": FULL, "seed": SEED, "real": REAL}


def deep_merge(base, override, path=""):
    """``override`` merged into a copy of ``base``; a key neither in ``base`` nor in the
    schema's section (an optional setting the preset leaves out) raises UserError."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        where = f"{path}.{key}" if path else key
        if key not in merged and key not in schema.known_keys(path):
            raise UserError(f"unknown config key: {where}")
        if key not in merged:
            merged[key] = value
            continue
        if isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = deep_merge(merged[key], value, where)
        else:
            merged[key] = value
    return merged


def load_override(path):
    if not os.path.isfile(path):
        raise UserError(f"config file not found: {path}")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise UserError(f"cannot read config file {path}: {err.strerror}") from None
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except Exception as err:  # json/yaml error types differ; report one line
        raise UserError(f"cannot parse {path}: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    return data


def resolve(preset, config_path=None):
    """The preset's settings with the optional config file merged over them."""
    if preset not in PRESETS:
        raise UserError(f"unknown preset {preset!r} (choose from {', '.join(PRESETS)})")
    config = copy.deepcopy(PRESETS[preset])
    if config_path:
        config = deep_merge(config, load_override(config_path))
    config["preset"] = preset
    schema.check(config)       # every value's type and range, before anything runs
    tables = config.get("seed_tables")
    if tables:
        from nat.experiment.seed import SECTIONS

        unknown = [name for name in tables["sections"] if name not in SECTIONS]
        if unknown:
            raise UserError(f"seed_tables.sections: unknown table {unknown[0]!r} (choose from "
                            f"{', '.join(SECTIONS)})")
    variants.validate(config)  # every corpus / model name resolves (one-line errors)
    return config
