"""Settings of one ``nat-distill`` run, with defaults in one place (CLI and API share them).

Decoding settings (what changes the n-best store) are kept apart from selection settings (cheap
passes over the store): changing only the method reuses the decoded store.
"""
import os
from dataclasses import asdict, dataclass, field
from typing import List, Optional

from nat import fairseq_cli
from nat.errors import UserError

METHODS = ("seqkd", "seqinter", "nbest", "sample", "selective")
BACKENDS = ("fairseq", "ctranslate2")
LONG_SOURCE_POLICIES = ("raw", "truncate", "error")
BINARIZABLE_SPLITS = fairseq_cli.SPLIT_FLAGS  # the splits fairseq-preprocess binarizes


@dataclass
class DistillConfig:
    paths: List[str]                       # teacher checkpoints; several = ensemble
    data_bin: str                          # holds the teacher's dict.<lang>.txt
    source: str
    target: str
    out: str
    method: str = "seqkd"
    beam: int = 5
    nbest: Optional[int] = None            # outputs per source for nbest (default beam) and
                                           # sample (default 1; = number of samples drawn)
    backend: str = "fairseq"
    num_shards: int = 1
    shard_id: Optional[int] = None         # None: run every shard, then merge
    merge_only: bool = False               # decode nothing; every shard must be finished
    launcher: Optional[dict] = None        # the launcher that gave shard_id (torchrun, Slurm
                                           # array): recorded, never part of the store key
    split: str = "train"
    source_lang: Optional[str] = None
    target_lang: Optional[str] = None
    lenpen: float = 1.0
    max_len_a: float = 0.0
    max_len_b: int = 200
    max_tokens: int = 6000
    chunk_size: int = 2000                 # unit of atomic writes and resume
    long_source: str = "raw"               # over-long sources: raw target | truncate | error
    max_source_positions: Optional[int] = None  # lower the teacher's limit (never raise it)
    sampling_topk: int = -1
    sampling_temperature: float = 1.0
    seed: int = 1
    selective_ter: float = 0.8             # selective: keep raw target when TER > this
    bleu_tokenize: str = "none"            # inputs are already tokenized
    bleu_remove_bpe: Optional[str] = None  # e.g. "@@ " (scoring only; output keeps subwords)
    valid_source: Optional[str] = None
    valid_target: Optional[str] = None
    copy_valid: bool = True                # else-branch: copy data-bin's valid/test binaries
    binarize: bool = True
    threads: Optional[int] = None
    ct2_cache: Optional[str] = None
    ct2_compute_type: str = "float32"
    user_dir: Optional[str] = None
    spm: Optional[str] = None              # sentencepiece model or nat-prepare dir: also write
                                           # detokenized text (the corpus stays subwords)
    progress: bool = True
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
