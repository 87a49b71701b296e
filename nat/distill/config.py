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

METHODS = ("seqkd", "seqinter", "nbest", "sample", "selective")
BACKENDS = ("fairseq", "ctranslate2")
LONG_SOURCE_POLICIES = ("raw", "truncate", "error")
BINARIZABLE_SPLITS = fairseq_cli.SPLIT_FLAGS  # the splits fairseq-preprocess binarizes
#: the groups of nat-distill's --help
IO, SELECTION, DECODING, SHARDING = ("inputs and outputs", "selection", "decoding",
                                     "sharding and resume")


@dataclass
class DistillConfig:
    paths: List[str] = arg("teacher checkpoint(s), T1.pt[:T2.pt] = ensemble", flag="--path",
                           metavar="PATH", group=IO)
    data_bin: str = arg("directory with the teacher's dictionaries", group=IO)
    source: str = arg("tokenized source text, one sentence a line", group=IO)
    target: str = arg("gold target text, line-aligned", group=IO)
    out: str = arg("output directory", group=IO)
    method: str = arg("seqkd: the teacher's top-1; seqinter: the hypothesis of best sentence "
                      "BLEU; nbest: K pairs per source; sample: K samples; selective: the raw "
                      "target where TER(top-1, gold) > --selective-ter, else the top-1", "seqkd",
                      choices=METHODS, group=SELECTION)
    beam: int = arg("beam size", 5, type=positive_int, group=DECODING)
    nbest: Optional[int] = arg("outputs per source: nbest (default --beam) and sample (default "
                               "1 = samples drawn); the store always keeps the whole beam",
                               None, type=positive_int, group=SELECTION)
    backend: str = arg("teacher decoder (ctranslate2: one checkpoint)", "fairseq",
                       choices=BACKENDS, group=DECODING)
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

    def validate(self):
        if not self.paths:
            raise UserError("--path: give at least one teacher checkpoint")
        if self.method not in METHODS:
            raise UserError(f"--method {self.method}: choose one of {', '.join(METHODS)}")
        if self.backend not in BACKENDS:
            raise UserError(f"--backend {self.backend}: choose one of {', '.join(BACKENDS)}")
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
        if self.backend == "ctranslate2":
            if len(self.paths) > 1:
                raise UserError("--backend ctranslate2 decodes one checkpoint; use --backend "
                                "fairseq for an ensemble")
            if self.max_len_a != 0:
                raise UserError("--backend ctranslate2 supports only --max-len-a 0")

    def decoding(self, teacher_hashes, source_sha256, source_positions):
        """Everything that can change the decoded n-best store (its cache key)."""
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
        return settings

    def as_dict(self):
        data = asdict(self)
        data["paths"] = [os.path.abspath(p) for p in self.paths]
        return data
