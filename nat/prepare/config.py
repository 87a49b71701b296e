"""Settings of one ``nat-prepare`` run, with defaults in one place (CLI and API share them).

Everything that can change the prepared files is in ``settings()`` and hence in the directory's
key; where the files go (``out``) and how loudly (``progress``) is not.
"""
import re
from dataclasses import asdict, dataclass, fields

from nat.errors import UserError

MODEL_TYPES = ("unigram", "bpe")
NORMALIZATIONS = ("nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf", "identity")
LONG_LINE_POLICIES = ("drop", "error")
STRAY_CR_POLICIES = ("error", "space")
_LANG = re.compile(r"^[A-Za-z0-9_]+$")


@dataclass
class PrepareConfig:
    raw: str                            # directory with {train,valid[,test]}.{src,tgt}
    out: str                            # the prepared directory
    source_lang: str = "src"            # file suffixes of the raw files (and of the data-bin)
    target_lang: str = "tgt"
    vocab_size: int = 8000              # sentencepiece vocabulary (per model)
    model_type: str = "unigram"
    joint: bool = True                  # one model over both sides, else one per side
    character_coverage: float = 1.0
    normalization: str = "nmt_nfkc"     # sentencepiece normalization rule, applied to all text
    byte_fallback: bool = False         # unknown characters as UTF-8 byte pieces (no <unk>)
    hard_vocab_limit: bool = False      # False: --vocab-size is a maximum (tiny corpora work)
    spm_sentences: int = 1_000_000      # sentences sampled to train sentencepiece (0 = all)
    max_sentence_length: int = 4192     # bytes; longer lines do not train sentencepiece
    seed: int = 1
    drop_empty: bool = False            # empty pairs: refuse (file:line) or drop (counted)
    dedup: bool = False                 # duplicate training pairs: count (default) or drop
    stray_cr: str = "error"             # \r inside a line: refuse (file:line) or make it a space
    max_pieces: int = 250               # subword pieces per line and side (0 = no limit)
    long_lines: str = "drop"            # lines over --max-pieces: drop (counted) | error
    binarize: bool = True               # run fairseq-preprocess into OUT/bin
    workers: int = 1                    # fairseq-preprocess workers
    overwrite: bool = False             # replace an OUT prepared with other settings
    progress: bool = True

    def __post_init__(self):
        self.validate()

    def validate(self):
        for name in ("source_lang", "target_lang"):
            value = getattr(self, name)
            if not _LANG.match(value or ""):
                raise UserError(f"--{name.replace('_', '-')} {value!r}: use letters, digits "
                                f"and '_' only (it names fairseq's files)")
        if self.source_lang == self.target_lang:
            raise UserError("--source-lang and --target-lang must differ")
        if self.model_type not in MODEL_TYPES:
            raise UserError(f"--model-type {self.model_type}: choose {', '.join(MODEL_TYPES)}")
        if self.normalization not in NORMALIZATIONS:
            raise UserError(f"--normalization {self.normalization}: choose "
                            f"{', '.join(NORMALIZATIONS)}")
        if self.long_lines not in LONG_LINE_POLICIES:
            raise UserError(f"--long-lines {self.long_lines}: choose "
                            f"{', '.join(LONG_LINE_POLICIES)}")
        if self.stray_cr not in STRAY_CR_POLICIES:
            raise UserError(f"--stray-cr {self.stray_cr}: choose {', '.join(STRAY_CR_POLICIES)}")
        if self.vocab_size < 8:
            raise UserError(f"--vocab-size {self.vocab_size}: must be >= 8")
        if not 0.0 < self.character_coverage <= 1.0:
            raise UserError("--character-coverage must be in (0, 1]")
        if self.spm_sentences != 0 and self.spm_sentences <= 100:
            raise UserError("--spm-sentences must be 0 (all) or > 100 (sentencepiece's limit)")
        if self.max_pieces < 0 or self.max_sentence_length < 1 or self.workers < 1:
            raise UserError("--max-pieces must be >= 0, --workers >= 1")

    def settings(self):
        """Every setting that changes the prepared files (part of the directory's key)."""
        skip = {"raw", "out", "workers", "overwrite", "progress"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}

    def spm_trainer_args(self):
        """Keyword arguments of ``SentencePieceTrainer.train`` (recorded in the manifest)."""
        args = dict(vocab_size=self.vocab_size, model_type=self.model_type,
                    character_coverage=self.character_coverage,
                    normalization_rule_name=self.normalization, byte_fallback=self.byte_fallback,
                    hard_vocab_limit=self.hard_vocab_limit,
                    max_sentence_length=self.max_sentence_length, num_threads=1,
                    bos_id=0, pad_id=1, eos_id=2, unk_id=3)  # = fairseq's ids of the specials
        if self.spm_sentences:
            args.update(input_sentence_size=self.spm_sentences, shuffle_input_sentence=True)
        return args

    def as_dict(self):
        return asdict(self)
