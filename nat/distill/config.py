"""Settings of one ``nat-distill`` run, with defaults and help in one place: the API's config
and the command's flags (``nat.cli.add_dataclass_arguments``).

Decoding settings (what changes the n-best store) are kept apart from selection settings (cheap
passes over the store): changing only the method reuses the decoded store.
"""
import os
from dataclasses import asdict, dataclass, field
from typing import List, Optional

from nat import fairseq_cli
from nat.cli import arg, nonnegative_float, nonnegative_int, positive_float, positive_int
from nat.errors import UserError
from nat.hashing import file_sha256

METHODS = ("seqkd", "seqinter", "nbest", "sample", "selective", "consistent")
#: methods that score against the gold target (refused without --target)
GOLD_METHODS = ("seqinter", "selective")
#: methods a black-box teacher (one answer per source, no scores) can serve
BLACK_BOX_METHODS = ("seqkd", "selective")
#: backends that decode teacher checkpoints (what nat.experiment offers)
BACKENDS = ("fairseq", "ctranslate2")
#: nat-distill's backends: those, and a black-box teacher (a shell command or, through the API,
#: a Python callable; nat/distill/backend_command.py)
COMMAND = "command"
ALL_BACKENDS = BACKENDS + (COMMAND,)
LONG_SOURCE_POLICIES = ("raw", "truncate", "error")
BINARIZABLE_SPLITS = fairseq_cli.SPLIT_FLAGS  # the splits fairseq-preprocess binarizes
#: the groups of nat-distill's --help
IO, SELECTION, DECODING, SHARDING, BLACK_BOX = (
    "inputs and outputs", "selection", "decoding", "sharding and resume",
    "black-box teacher (--backend command)")


@dataclass(kw_only=True)
class DistillConfig:
    paths: List[str] = arg("teacher checkpoint(s); T1.pt:T2.pt[:...] = an ensemble (fairseq "
                           "backend: the members' probabilities averaged at each step)", [],
                           flag="--path", metavar="PATH", group=IO)
    data_bin: Optional[str] = arg("directory with the teacher's dictionaries (--backend "
                                  "command: the dictionaries to binarize with; without it pass "
                                  "--no-binarize)", None, group=IO)
    source: str = arg("tokenized source text, one sentence a line", group=IO)
    target: Optional[str] = arg("gold target text, line-aligned; omit it to distill "
                                "monolingual source text (then no seqinter/selective)", None,
                                group=IO)
    out: str = arg("output directory", group=IO)
    method: str = arg("seqkd: the teacher's top-1; seqinter: the hypothesis of best sentence "
                      "BLEU; nbest: K pairs per source; sample: K samples; selective: the raw "
                      "target where TER(top-1, gold) > --selective-ter, else the top-1; consistent: "
                      "the best-ranked candidate whose words are all of one language "
                      "(--lexicon; else the least mixed)", "seqkd",
                      choices=METHODS, group=SELECTION)
    beam: int = arg("beam size", 5, type=positive_int, group=DECODING)
    nbest: Optional[int] = arg("outputs per source: nbest (default --beam) and sample (default "
                               "1 = samples drawn); the store always keeps the whole beam",
                               None, type=positive_int, group=SELECTION)
    backend: str = arg("teacher decoder (ctranslate2: one checkpoint; command: a black box, "
                       "see --teacher-cmd)", "fairseq", choices=ALL_BACKENDS, group=DECODING)
    num_shards: int = arg("shards the source is cut into", 1, type=positive_int, group=SHARDING)
    shard_id: Optional[int] = arg(
        "decode only this shard (no merge); default: the launcher's (torchrun RANK, Slurm array "
        "task - SLURM_ARRAY_TASK_MIN); without a launcher every shard is run, then merged", None,
        type=nonnegative_int, group=SHARDING)
    merge_only: bool = arg("decode nothing: merge the finished shards (an unfinished one is an "
                           "error naming it)", False, group=SHARDING)
    launcher: Optional[dict] = None        # the launcher that gave shard_id (torchrun, Slurm
                                           # array): recorded, never part of the store key
    split: str = arg("name of the output split", "train", group=IO)
    source_lang: Optional[str] = arg("default: from the checkpoint or the data-bin", None,
                                     group=IO)
    target_lang: Optional[str] = arg("default: from the checkpoint or the data-bin", None,
                                     group=IO)
    lenpen: float = arg("length penalty", 1.0, group=DECODING)
    max_len_a: float = arg("output length cap: a * source length + b", 0.0,
                           type=nonnegative_float, group=DECODING)
    max_len_b: int = arg("output length cap: a * source length + b", 200, type=positive_int,
                         group=DECODING)
    max_tokens: int = arg("source tokens per batch", 6000, type=positive_int, group=DECODING)
    chunk_size: int = arg("sentences per atomically written chunk (the unit of resume)", 2000,
                          type=positive_int, group=SHARDING)
    long_source: str = arg("sources longer than the teacher's positions: keep the raw target "
                           "(counted), decode a truncated source (counted), or stop", "raw",
                           choices=LONG_SOURCE_POLICIES, group=DECODING)
    max_source_positions: Optional[int] = arg("lower the teacher's limit (never raise it)", None,
                                              type=positive_int, group=DECODING)
    sampling_topk: int = arg("sample from the top k (-1: all)", -1, group=DECODING)
    sampling_temperature: float = arg("sampling temperature", 1.0, type=positive_float,
                                      group=DECODING)
    seed: int = arg("sampling seed", 1, group=DECODING)
    selective_ter: float = arg("selective: keep the raw target when TER(teacher, gold) > this",
                               0.8, type=nonnegative_float, group=SELECTION)
    bleu_tokenize: str = arg("sacreBLEU tokenizer of seqinter (inputs are already tokenized)",
                             "none", group=SELECTION)
    bleu_remove_bpe: Optional[str] = arg("undo subwords for scoring: '@@ ' or sentencepiece "
                                         "(the output keeps subwords)", None, group=SELECTION)
    lexicon: Optional[str] = arg("consistent: a lexicon.json (word -> language; nat-prepare "
                                 "writes OUT/lexicon.json from train.lang)", None,
                                 group=SELECTION)
    valid_source: Optional[str] = arg("raw valid source to binarize next to the output", None,
                                      group=IO)
    valid_target: Optional[str] = arg("raw valid target (with --valid-source)", None, group=IO)
    copy_valid: bool = arg("do not copy valid/test binaries from --data-bin", True, group=IO)
    binarize: bool = arg("write text and manifest only", True, group=IO)
    threads: Optional[int] = arg("CPU threads (default: OMP_NUM_THREADS if set, else all cores)",
                                 None, type=positive_int, group=DECODING)
    ct2_cache: Optional[str] = arg("converted-model cache (default ~/.cache/nat-kd/ct2)", None,
                                   group=DECODING)
    ct2_compute_type: str = arg("CTranslate2 compute type", "float32", group=DECODING)
    user_dir: Optional[str] = arg("extra fairseq plugin directory", None, group=DECODING)
    spm: Optional[str] = arg("sentencepiece model, or a nat-prepare directory (its models): also "
                             "write OUT/SPLIT.detok.LANG, the corpus decoded to words (SPLIT.LANG "
                             "stays subwords for binarization); seqinter/selective then score "
                             "words", None, group=IO)
    teacher_cmd: Optional[str] = arg(
        "shell command (/bin/sh -c) that reads source lines on stdin and writes exactly one "
        "answer line per line on stdout, in order; no scores, so only --method seqkd, or "
        "selective with --target", None, group=BLACK_BOX)
    teacher_batch: int = arg("source lines per call of the command (a call never spans two "
                             "--chunk-size chunks)", 500, type=positive_int, group=BLACK_BOX)
    teacher_timeout: float = arg("seconds one call may take before it is killed and reported",
                                 600.0, type=positive_float, group=BLACK_BOX)
    echo_probes: int = arg("lines of each call sent twice at seeded positions; the two answers "
                           "must agree, so a command that reorders lines (sorts, shuffles, "
                           "reverses, shifts) or is not deterministic is reported. It misses a "
                           "reordering that leaves every probe's copies on answers of one line "
                           "(e.g. two other lines swapped); 0: no check", 4,
                           type=nonnegative_int, group=BLACK_BOX)
    progress: bool = arg("no progress bar", True, flag="--quiet")
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if isinstance(self.paths, str):
            self.paths = [p for p in self.paths.split(":") if p]
        if self.spm and self.bleu_remove_bpe is None:
            self.bleu_remove_bpe = "sentencepiece"   # seqinter/selective score words
        self.validate()

    @property
    def sampling(self):
        return self.method == "sample"

    @property
    def store_nbest(self):
        """Hypotheses per source in the store: the whole beam (so any beam-based method reuses
        it without re-decoding), or the number of samples."""
        return (self.nbest or 1) if self.sampling else self.beam

    @property
    def output_nbest(self):
        """Output pairs per source (K for nbest/sample, 1 otherwise)."""
        if self.method == "nbest":
            return self.nbest or self.beam
        return self.store_nbest if self.sampling else 1

    @property
    def black_box(self):
        return self.backend == COMMAND

    def validate(self):
        if self.method not in METHODS:
            raise UserError(f"--method {self.method}: choose one of {', '.join(METHODS)}")
        if self.backend not in ALL_BACKENDS:
            raise UserError(f"--backend {self.backend}: choose one of "
                            f"{', '.join(ALL_BACKENDS)}")
        if self.black_box:
            self._validate_black_box()
        else:
            if not self.paths:
                raise UserError("--path: give at least one teacher checkpoint")
            if self.data_bin is None:
                raise UserError(f"--backend {self.backend}: give --data-bin, the directory "
                                f"with the teacher's dictionaries")
            if self.teacher_cmd is not None:
                raise UserError("--teacher-cmd is a black-box teacher: add --backend command")
        if self.target is None and self.method in GOLD_METHODS:
            raise UserError(f"--method {self.method} scores against the gold target: give "
                            f"--target (monolingual source text: seqkd, nbest or sample)")
        if self.method == "consistent" and not self.lexicon:
            raise UserError("--method consistent needs --lexicon (a lexicon.json: word -> "
                            "language)")
        if self.long_source not in LONG_SOURCE_POLICIES:
            raise UserError(f"--long-source {self.long_source}: choose one of "
                            f"{', '.join(LONG_SOURCE_POLICIES)}")
        if self.beam < 1:
            raise UserError("--beam must be >= 1")
        if self.nbest is not None and self.nbest < 1:
            raise UserError("--nbest must be >= 1")
        if not self.sampling and (self.nbest or 1) > self.beam:
            raise UserError(f"--nbest {self.nbest} exceeds --beam {self.beam}")
        if self.num_shards < 1:
            raise UserError(f"--num-shards {self.num_shards}: must be >= 1")
        if self.shard_id is not None and not 0 <= self.shard_id < self.num_shards:
            raise UserError(f"--shard-id {self.shard_id}: must be in 0..{self.num_shards - 1}")
        if self.merge_only and self.shard_id is not None:
            raise UserError("--merge-only merges every shard; it takes no --shard-id")
        if self.chunk_size < 1 or self.max_tokens < 1:
            raise UserError("--chunk-size and --max-tokens must be >= 1")
        if self.threads is not None and self.threads < 1:
            raise UserError(f"--threads {self.threads}: must be >= 1 (omit it for the default)")
        if self.max_len_b < 1:
            raise UserError(f"--max-len-b {self.max_len_b}: must be >= 1 (hypotheses need at "
                            f"least one token)")
        if not self.max_len_a >= 0:
            raise UserError(f"--max-len-a {self.max_len_a}: must be >= 0")
        if self.max_source_positions is not None and self.max_source_positions < 2:
            raise UserError(f"--max-source-positions {self.max_source_positions}: must be >= 2 "
                            f"(a token and </s>)")
        if not self.sampling_temperature > 0:
            raise UserError(f"--sampling-temperature {self.sampling_temperature}: must be > 0")
        if (self.valid_source is None) != (self.valid_target is None):
            raise UserError("--valid-source and --valid-target go together")
        if self.binarize and self.split not in BINARIZABLE_SPLITS:
            raise UserError(f"--split {self.split}: fairseq-preprocess binarizes only "
                            f"{', '.join(BINARIZABLE_SPLITS)} (or pass --no-binarize)")
        if not self.teacher_timeout > 0:
            raise UserError(f"--teacher-timeout {self.teacher_timeout}: must be > 0")
        if self.teacher_batch < 1 or self.echo_probes < 0:
            raise UserError("--teacher-batch must be >= 1 and --echo-probes >= 0")
        if self.backend == "ctranslate2":
            if len(self.paths) > 1:
                raise UserError("--backend ctranslate2 decodes one checkpoint; use --backend "
                                "fairseq for an ensemble")
            if self.max_len_a != 0:
                raise UserError("--backend ctranslate2 supports only --max-len-a 0")

    def _validate_black_box(self):
        """A black box answers one line per source, with no scores and no checkpoint."""
        if self.paths:
            what = "an ensemble" if len(self.paths) > 1 else "checkpoints"
            raise UserError(f"--backend command cannot decode {what} (--path): its teacher is "
                            f"--teacher-cmd; use --backend fairseq for checkpoints")
        if self.method not in BLACK_BOX_METHODS:
            raise UserError(f"--backend command gives one answer per source and no scores: "
                            f"--method {self.method} needs the teacher's K-best list or "
                            f"samples (use seqkd, or selective with --target)")
        if self.binarize and self.data_bin is None:
            raise UserError("--backend command has no teacher dictionaries: binarizing needs "
                            "--data-bin DIR with dict.SRC.txt and dict.TGT.txt (the student's), "
                            "or pass --no-binarize")

    def decoding(self, teacher_hashes, source_sha256, source_positions):
        """Everything that can change the decoded n-best store (its cache key).  For a black
        box, ``teacher_hashes`` is its identity (command string and executable hash)."""
        if self.black_box:
            return {"teacher": teacher_hashes, "source_sha256": source_sha256,
                    "backend": self.backend, "chunk_size": self.chunk_size,
                    "teacher_batch": self.teacher_batch, "echo_probes": self.echo_probes,
                    "seed": self.seed, "long_source": self.long_source,
                    "max_source_positions": source_positions}
        settings = {"teachers": list(teacher_hashes), "source_sha256": source_sha256,
                    "backend": self.backend, "beam": self.beam, "kept": self.store_nbest,
                    "sampling": self.sampling, "lenpen": self.lenpen,
                    "max_len_a": self.max_len_a, "max_len_b": self.max_len_b,
                    "max_tokens": self.max_tokens, "chunk_size": self.chunk_size,
                    "long_source": self.long_source, "max_source_positions": source_positions}
        if self.sampling:
            settings.update(sampling_topk=self.sampling_topk, seed=self.seed,
                            sampling_temperature=self.sampling_temperature)
        if self.backend == "ctranslate2":
            settings["ct2_compute_type"] = self.ct2_compute_type
        return settings

    def selection(self):
        """Settings of the selection pass (recorded in the manifest)."""
        settings = {"method": self.method, "output_nbest": self.output_nbest}
        if self.method == "seqinter":
            settings.update(bleu_tokenize=self.bleu_tokenize, bleu_remove_bpe=self.bleu_remove_bpe)
        if self.method == "selective":
            settings.update(selective_ter=self.selective_ter, bleu_remove_bpe=self.bleu_remove_bpe)
        if self.method == "consistent":
            settings.update(lexicon=os.path.abspath(self.lexicon),
                            lexicon_sha256=file_sha256(self.lexicon),
                            bleu_remove_bpe=self.bleu_remove_bpe)
        return settings

    def as_dict(self):
        data = asdict(self)
        data["paths"] = [os.path.abspath(p) for p in self.paths]
        return data
