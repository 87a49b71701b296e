"""Settings of one ``nat-prepare`` run, with defaults and help in one place: the API's config
and the command's flags (``nat.prepare.options``).

Everything that can change the prepared files is in ``settings()`` and hence in the directory's
key; where the files go (``out``) and how loudly (``progress``) is not.
"""
import re
from dataclasses import asdict, dataclass, fields

from nat.cli import arg, nonnegative_int, positive_int
from nat.errors import UserError

MODEL_TYPES = ("unigram", "bpe")
NORMALIZATIONS = ("nmt_nfkc", "nfkc", "nmt_nfkc_cf", "nfkc_cf", "identity")
LONG_LINE_POLICIES = ("drop", "error")
STRAY_CR_POLICIES = ("error", "space")
_LANG = re.compile(r"^[A-Za-z0-9_]+$")
#: the groups of nat-prepare's --help
IO, SENTENCEPIECE, POLICIES = "inputs and outputs", "sentencepiece", "policies"


@dataclass
class PrepareConfig:
    raw: str = arg("directory with the raw text files ({train,valid[,test]}.{SRC,TGT})",
                   group=IO)
    out: str = arg("the prepared directory", group=IO)
    source_lang: str = arg("suffix of the source files (train.SRC ...)", "src", group=IO)
    target_lang: str = arg("suffix of the target files", "tgt", group=IO)
    vocab_size: int = arg("pieces per model (a maximum unless --hard-vocab-limit)", 8000,
                          type=positive_int, group=SENTENCEPIECE)
    model_type: str = arg("sentencepiece model type", "unigram", choices=MODEL_TYPES,
                          group=SENTENCEPIECE)
    joint: bool = arg("one model per side (default: one joint model; tiny transformer "
                      "architectures share all embeddings and need the joint one)", True,
                      flag="--separate", group=SENTENCEPIECE)
    character_coverage: float = arg("share of characters the model covers", 1.0,
                                    group=SENTENCEPIECE)
    normalization: str = arg("Unicode normalization rule, applied to every line before "
                             "anything", "nmt_nfkc", choices=NORMALIZATIONS, group=SENTENCEPIECE)
    byte_fallback: bool = arg("unknown characters as UTF-8 byte pieces instead of <unk> (needs "
                              "--vocab-size > 260)", False, group=SENTENCEPIECE)
    hard_vocab_limit: bool = arg("fail unless exactly --vocab-size pieces can be made", False,
                                 group=SENTENCEPIECE)
    spm_sentences: int = arg("training lines sampled for sentencepiece (0 = all)", 1_000_000,
                             type=nonnegative_int, group=SENTENCEPIECE)
    max_sentence_length: int = 4192     # bytes; longer lines do not train sentencepiece
    seed: int = arg("sentencepiece sampling seed", 1, group=SENTENCEPIECE)
    drop_empty: bool = arg("drop pairs with an empty side (counted) instead of refusing them",
                           False, group=POLICIES)
    dedup: bool = arg("drop repeated training pairs (always counted)", False, group=POLICIES)
    stray_cr: str = arg("a carriage return inside a line (CRLF endings are always fine): refuse "
                        "with file:line, or replace it by a space (counted)", "error",
                        choices=STRAY_CR_POLICIES, group=POLICIES)
    max_pieces: int = arg("subword pieces per line and side (0 = no limit)", 250,
                          type=nonnegative_int, group=POLICIES)
    long_lines: str = arg("pairs over --max-pieces: drop (counted) or refuse", "drop",
                          choices=LONG_LINE_POLICIES, group=POLICIES)
    binarize: bool = arg("skip fairseq-preprocess (into OUT/bin)", True, group=IO)
    workers: int = arg("fairseq-preprocess workers", 1, type=positive_int, group=IO)
    overwrite: bool = arg("replace an OUT prepared with other settings or inputs", False,
                          group=IO)
    progress: bool = arg("no progress messages", True, flag="--quiet")

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
