"""``nat-experiment --data DIR``: the experiment on a user's corpus instead of the synthetic one.

DIR is either a raw corpus directory (what ``nat-prepare --raw`` reads: ``{train,valid,test}.
{SRC,TGT}``, optional ``{split}.lang`` labels and ``test.ref.*`` references), which the
experiment prepares into ``OUT/prepared`` with the recorded command
``nat-prepare --raw DIR --out OUT/prepared ...`` (settings: the config's ``prepare`` section),
or a directory nat-prepare already made (used as it is; the ``prepare`` section is ignored).

What changes against the synthetic corpus (everything else is the same pipeline):

- the ``corpus`` and ``binarize`` stages become one ``prepare`` stage; its settings key is the
  prepared directory's own key (nat-prepare settings + sha256 of every input file), so a changed
  corpus or setting re-runs everything downstream;
- models train on ``OUT/prepared/bin`` (sentencepiece pieces); nat-distill gets the piece files
  and ``--spm``; hypotheses are decoded to words with the same sentencepiece model;
- BLEU is sacreBLEU on detokenized text against the cleaned references (every ``test.ref.*``,
  else the test target); nat-analyze gets ``--spm`` and, when the corpus has labels
  (``train.lang``), the label-derived ``lexicon.json`` for the language-mixing measures.
  Without labels those measures are absent (None): "not measured (no language labels)";
- synthetic-only items (truth.json, the generator's ground truth, per-language BLEU) do not
  exist and are left out.

Nothing here runs at construction: the paths follow nat-prepare's layout, so ``--dry-run``
shows the whole plan before the corpus is prepared.  Bad input is a one-line UserError.
"""
import os

from nat import fairseq_cli
from nat.errors import UserError
from nat.hashing import settings_key
from nat.prepare import layout
from nat.prepare.layout import is_prepared, load_prepared

PREPARED = "prepared"  # OUT/prepared: where a raw DIR is prepared
#: config ``prepare`` key -> nat-prepare flag (booleans are switches; ``extra`` passes others)
VALUE_FLAGS = {"vocab_size": "--vocab-size", "model_type": "--model-type",
               "source_lang": "--source-lang", "target_lang": "--target-lang",
               "max_pieces": "--max-pieces", "long_lines": "--long-lines",
               "stray_cr": "--stray-cr", "spm_sentences": "--spm-sentences", "seed": "--seed"}
SWITCHES = {"drop_empty": "--drop-empty", "dedup": "--dedup"}
LEVEL = ("word level: hypotheses decoded with the corpus' sentencepiece model; sacreBLEU 13a "
         "on detokenized text; corpus measures on whitespace words of the decoded text")


def prepare_flags(settings):
    """nat-prepare flags for the config's ``prepare`` section (unknown keys refused)."""
    flags = []
    for key, value in settings.items():
        if key in VALUE_FLAGS:
            if value is not None:
                flags += [VALUE_FLAGS[key], str(value)]
        elif key in SWITCHES:
            if not isinstance(value, bool):
                raise UserError(f"prepare.{key}: expected true or false, got {value!r}")
            flags += [SWITCHES[key]] if value else []
        elif key == "extra":
            if not isinstance(value, list):
                raise UserError("prepare.extra: expected a list of nat-prepare flags")
            flags += [str(v) for v in value]
        else:
            allowed = ", ".join(sorted([*VALUE_FLAGS, *SWITCHES, "extra"]))
            raise UserError(f"unknown config key: prepare.{key} (allowed: {allowed})")
    return flags


class UserData:
    """The user's corpus: where its prepared files are (before and after preparing), the
    nat-prepare command, the settings key, and what each later stage passes on (the data
    source interface of ``synthetic_data``)."""

    def __init__(self, path, out_dir, settings):
        self._sp = None
        if not os.path.exists(path):
            raise UserError(f"--data {path}: no such directory")
        if not os.path.isdir(path):
            raise UserError(f"--data {path}: not a directory (give the directory holding "
                            f"train.src, train.tgt, ...)")
        self.path = os.path.abspath(path)
        self._key = None
        if is_prepared(self.path):
            self.raw = None
            self.root = self.path
            self.corpus = load_prepared(self.path)  # one-line error if a listed file is missing
            self.src, self.tgt = self.corpus.source_lang, self.corpus.target_lang
            self.args = None
            self._check_prepared(self.corpus)
            refs = self.corpus.manifest["files"]["splits"]["test"].get("refs") or {}
            self.ref_names = sorted(refs)
            self.has_labels = self.corpus.lexicon is not None
            self.has_test_labels = self.corpus.labels("test") is not None
        else:
            from nat.prepare.options import build_parser, config_from_args
            from nat.prepare import raw

            self.raw = self.path
            self.root = os.path.join(os.path.abspath(out_dir), PREPARED)
            self.corpus = None
            flags = prepare_flags(settings or {})
            self.args = ["--raw", self.raw, "--out", self.root, *flags, "--overwrite"]
            try:  # nat-prepare's own parser: the same defaults, checks and messages
                self.cfg = config_from_args(build_parser().parse_args(self.args))
            except UserError as err:
                raise UserError(f"prepare settings: {err}") from None
            self.src, self.tgt = self.cfg.source_lang, self.cfg.target_lang
            try:
                self.found = raw.find_inputs(self.raw, self.src, self.tgt)
            except UserError as err:  # e.g. missing corpus file: DIR/train.src
                raise UserError(f"--data {path}: {err} (expected {{train,valid,test}}."
                                f"{{{self.src},{self.tgt}}}, optional {{split}}.lang and "
                                f"test.ref.NAME)") from None
            if "test" not in self.found:
                raise UserError(f"--data {path}: no test split (test.{self.src}, "
                                f"test.{self.tgt}): the experiment decodes and scores it")
            if not self.cfg.joint or not self.cfg.binarize:
                raise UserError("prepare.extra: --separate and --no-binarize do not fit the "
                                "experiment (its tiny models share one joint vocabulary and "
                                "train on OUT/prepared/bin)")
            self.ref_names = self.found["test"].refs
            self.has_labels = "lang" in self.found["train"].columns
            self.has_test_labels = "lang" in self.found["test"].columns

    def _check_prepared(self, corpus):
        where = f"--data {self.path}"
        if "test" not in corpus.splits:
            raise UserError(f"{where}: prepared without a test split: the experiment decodes "
                            f"and scores it")
        if corpus.data_bin is None:
            raise UserError(f"{where}: prepared with --no-binarize (no bin/); run nat-prepare "
                            f"again without it")
        models = corpus.spm_models
        if models["src"] != models["tgt"]:
            raise UserError(f"{where}: prepared with --separate; the experiment's tiny models "
                            f"share all embeddings and need one joint sentencepiece model")

    # ---- paths (nat-prepare's layout; valid before the raw corpus is prepared) --------------
    def lang(self, side):
        return self.src if side == "src" else self.tgt

    def text(self, split, side):
        return os.path.join(self.root, layout.text_path(split, self.lang(side)))

    def pieces(self, split, side):
        return os.path.join(self.root, layout.pieces_path(split, self.lang(side)))

    @property
    def data_bin(self):
        return os.path.join(self.root, "bin")

    @property
    def lexicon(self):
        return os.path.join(self.root, "lexicon.json") if self.has_labels else None

    @property
    def test_labels(self):
        return os.path.join(self.root, layout.text_path("test", "lang")) \
            if self.has_test_labels else None

    def references(self):
        """The cleaned ``test.ref.*`` files (sorted by name), else the cleaned test target."""
        if self.ref_names:
            return [os.path.join(self.root, layout.text_path("test", f"ref.{name}"))
                    for name in self.ref_names]
        return [self.text("test", "tgt")]

    def command(self):
        """The recorded nat-prepare command (None for a directory given already prepared)."""
        return None if self.raw is None else ["nat-prepare", *self.args]

    # ---- the data source interface (see synthetic_data) ------------------------------------
    def _prepare_key(self):
        return settings_key("prepare", self.key())

    def data_key(self):
        """The key every later stage's key includes (the prepared directory's key)."""
        return settings_key("binarize", self._prepare_key())

    def words_key(self):
        return ["sentencepiece-decode", self._prepare_key()]

    def stages(self, runner):
        """nat-prepare into OUT/prepared (recorded), or the prepared directory as given."""
        def run(ctx):
            if self.command():
                ctx.record(self.command())
                fairseq_cli.run_command("nat-prepare", self.command()[1:], log_path=os.path.join(
                    os.path.dirname(self.root), "logs", "prepare.log"))
            return self.summary()

        runner.run("prepare", self._prepare_key(), run)
        self.loaded()  # checked also when the stage was skipped (files still there)

    def distill_flags(self):
        return ["--spm", self.root]  # pieces in, pieces + detokenized text out

    def corpus_analysis_args(self, source, target, reference):
        """nat-analyze corpus arguments at word level (``--spm`` decodes pieces); language
        mixing only with a label-derived lexicon."""
        lexicon = ["--lexicon", self.lexicon] if self.lexicon else []
        return ["corpus", "--source", source, "--target", target, *lexicon,
                "--aligner", "eflomal",
                *(["--reference-target", reference] if reference else []),
                "--spm", self.root]

    def swapped_test(self):
        """None: a one-word swap needs the generator's grammar (the synthetic corpus only)."""
        return None

    def outputs_analysis_args(self, hyp, swapped_hyp=None):
        """Every reference (multi-reference BLEU), words (``--spm``: the level)."""
        refs = [part for path in self.references() for part in ("--ref", path)]
        lexicon = ["--lexicon", self.lexicon] if self.lexicon else []
        gold = ["--lang", self.test_labels] if self.lexicon and self.test_labels else []
        return ["outputs", "--hyp", hyp, *refs, *lexicon, *gold, "--spm", self.root]

    def decode_note(self, hyp_dir):
        return (f"# user corpus: fairseq-generate prints sentencepiece pieces (H- lines, kept "
                f"in {hyp_dir}/pieces/); {hyp_dir}/NAME.txt is each line decoded with "
                f"{self.spm_model()}")

    def to_words(self, name, hyps, hyp_dir):
        """The pieces kept beside the words; the words for BLEU and the analysis."""
        from nat.prepare import subwords
        from nat.textio import write_lines_atomic

        if self._sp is None:
            self._sp = subwords.load(self.spm_model())
        write_lines_atomic(os.path.join(hyp_dir, "pieces", f"{name}.txt"), hyps)
        return subwords.decode(self._sp, hyps)

    def word_confidences(self, pieces, probabilities, words):
        """None: nat-analyze reads a user corpus' outputs with ``--spm``, and per-token
        confidences would not line up with its words (its calibration needs word-level
        numbers)."""
        return None

    def plan(self):
        return {"data": {"path": self.path, "given": "raw" if self.raw else "prepared",
                         "prepared": self.root, "command": self.command()}}

    def results(self, records):
        """What results.json says of the corpus: no ground truth; how it was prepared."""
        return {"truth": None, "data": records["prepare"]["result"]}

    def corpus_stats(self):
        """Pairs and piece lengths for ``--dry-run``'s sizing (reads the training text)."""
        from nat.experiment import sizing

        return sizing.corpus_stats(self)

    def estimates(self):
        return {"prepare": 10 + 0.002 * self.train_pairs()}

    # ---- keys and results -------------------------------------------------------------------
    def key(self):
        """The prepared directory's key: nat-prepare settings + sha256 of every input file (what
        nat-prepare itself writes into manifest.json; computed here without preparing)."""
        if self._key is None:
            if self.raw is None:
                self._key = self.corpus.manifest["key"]
            else:
                from nat.prepare.pipeline import directory_key, input_hashes

                self._key = directory_key(self.cfg, input_hashes(self.found))
        return self._key

    def train_pairs(self):
        """Training pairs (the prepared count, else the raw line count: for the ETA only)."""
        if self.corpus is not None:
            return self.corpus.manifest["counts"]["train"]["pairs"]
        from nat.textio import count_lines

        return count_lines(self.found["train"].columns["src"])

    def loaded(self):
        """The prepared corpus, checked (after the prepare stage)."""
        corpus = load_prepared(self.root)
        self._check_prepared(corpus)
        if self.raw is not None and corpus.manifest.get("key") != self.key():
            raise UserError(f"{self.root}: its manifest key {corpus.manifest.get('key')} is not "
                            f"the expected {self.key()} (prepared by another command?)")
        self.corpus = corpus
        return corpus

    def spm_model(self):
        return self.loaded().spm_models["tgt"]

    def summary(self):
        """What results.json and the report say about the corpus (after the prepare stage)."""
        m = self.loaded().manifest
        counts = {split: {k: c.get(k) for k in ("lines", "pairs", "dropped_empty",
                                                   "duplicate_pairs", "dropped_duplicates",
                                                   "dropped_long", "stray_cr_lines")}
                  for split, c in m["counts"].items()}
        lexicon = m.get("lexicon") or {}
        return {
            "source": "user", "path": self.path,
            "given": "raw" if self.raw is not None else "prepared",
            "prepared": self.root, "prepare_command": self.command(),
            "manifest_key": m["key"], "settings": m["settings"],
            "languages": m["languages"], "counts": counts,
            "vocab_size": {side: info.get("vocab_size") for side, info in
                           m["sentencepiece"]["models"].items()},
            "unk_rate_test": {side: m["coverage"]["test"][side]["unk_rate"]
                              for side in ("src", "tgt")},
            "references": [os.path.basename(p) for p in self.references()],
            "labels": lexicon.get("languages") if self.has_labels else None,
            "lexicon": ({k: lexicon.get(k) for k in ("identifying_types", "neutral_types",
                                                     "identifying_tokens", "tokens",
                                                     "identifying_token_rate")}
                        if self.has_labels else None),
            "level": LEVEL,
        }
