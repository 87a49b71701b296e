"""The experiment's default data source: the synthetic three-language corpus.

A data source is what the experiment trains and scores on; ``SyntheticData`` and
``user_data.UserData`` (``--data DIR``) have the same interface, so the pipeline has no branch
on which one it has:

- ``data_key()``: the settings key of the data every later stage reads (no files written);
  ``words_key()``: what turning hypotheses into words depends on;
- ``stages(runner)``: run the stages that make the data (nat-synth + fairseq-preprocess
  here; nat-prepare there), resumable through the stage runner;
- paths: ``data_bin``, ``text(split, side)`` (words: what BLEU and the analysis read),
  ``pieces(split, side)`` (what the data-bin holds, what nat-distill reads), ``lexicon``;
- ``distill_flags()``, ``corpus_analysis_args(...)``, ``outputs_analysis_args(...)``,
  ``decode_note(...)``, ``to_words(...)``: what each later stage passes on or does to the text;
- ``plan()``, ``results(records)``, ``estimates()``, ``train_pairs()``: for the plan,
  results.json and the ETA.
"""
import glob
import json
import os
import shutil

from nat import fairseq_cli
from nat.hashing import settings_key
from nat.synth import perturb
from nat.synth.reload import load_world
from nat.textio import read_lines, write_lines_atomic

SPLITS = ("train", "valid", "test")
SWAP_SEED = 1  # the one-word swaps of the stability measure


def synth_command(out, corpus):
    return ["nat-synth", "--out", out, "--mode", corpus["mode"], "--mix", corpus["mix"],
            "--seed", corpus["seed"], "--train", corpus["train"], "--valid", corpus["valid"],
            "--test", corpus["test"], "--preset", corpus["preset"], "--quiet", "--overwrite",
            *(corpus.get("extra") or [])]


class SyntheticData:
    """``OUT/data`` from nat-synth (gold text, lexicon, truth.json), ``OUT/bin/raw`` from
    fairseq-preprocess with one joined dictionary."""

    src, tgt = "src", "tgt"

    def __init__(self, config, out):
        self.settings = config["corpus"]
        self.root = os.path.join(out, "data")
        self.data_bin = os.path.join(out, "bin", "raw")
        self.swap_bin = os.path.join(out, "bin", "swap")
        self.swap = config["lost"]["swap"]
        self.logs = os.path.join(out, "logs")

    # ---- keys and stages ----------------------------------------------------------------
    def _corpus_key(self):
        return settings_key("corpus", self.settings)

    def data_key(self):
        """The key of the binarized corpus (the corpus settings, through both stages)."""
        return settings_key("binarize", self._corpus_key())

    def words_key(self):
        """What turning hypotheses into words depends on (nothing: they are words)."""
        return []

    def stages(self, runner):
        def corpus(ctx):
            command = synth_command(self.root, self.settings)
            ctx.record(command)
            fairseq_cli.run_command("nat-synth", command[1:],
                                 log_path=os.path.join(self.logs, "synth.log"))
            with open(os.path.join(self.root, "truth.json"), encoding="utf-8") as handle:
                return {"truth": json.load(handle)}

        def binarize(ctx):
            prefix = {s: os.path.join(self.root, s) for s in SPLITS}
            ctx.record(["fairseq-preprocess"] + fairseq_cli.preprocess_args(
                self.data_bin, prefix, joined=True))
            fairseq_cli.preprocess(self.data_bin, prefix, joined=True,
                                   log_path=os.path.join(self.logs, "preprocess_raw.log"))
            return {"data_bin": self.data_bin}

        def swapped(ctx):
            source = self.text("test", "src")
            grammar = load_world(self.root).grammar
            lines, _ = perturb.swap_lines(grammar, read_lines(source), SWAP_SEED)
            prefix = os.path.join(self.root, "test.swap")
            write_lines_atomic(f"{prefix}.src", lines)
            shutil.copyfile(self.text("test", "tgt"), f"{prefix}.tgt")  # unused by the measure
            ctx.commands.append(f"# {prefix}.src: {source} with one word swapped in each line "
                                f"(nat.synth.perturb.swap_lines, seed {SWAP_SEED}); {prefix}.tgt"
                                " is test.tgt, only for binarizing")
            dicts = [os.path.join(self.data_bin, f"dict.{side}.txt") for side in ("src", "tgt")]
            ctx.record(["fairseq-preprocess"] + fairseq_cli.preprocess_args(
                self.swap_bin, {"test": prefix}, srcdict=dicts[0], tgtdict=dicts[1]))
            fairseq_cli.preprocess(self.swap_bin, {"test": prefix}, srcdict=dicts[0],
                                   tgtdict=dicts[1],
                                   log_path=os.path.join(self.logs, "preprocess_swap.log"))
            return {"data_bin": self.swap_bin, "source": f"{prefix}.src"}

        runner.run("corpus", self._corpus_key(), corpus)
        runner.run("binarize", self.data_key(), binarize)
        if self.swap:
            runner.run("swap", settings_key("swap", self.data_key(), SWAP_SEED), swapped)

    def swapped_test(self):
        """The test set with one word swapped per line (``nat.synth.perturb``): its data-bin
        and source text, or None (``lost.swap: false``)."""
        if not self.swap:
            return None
        return {"data_bin": self.swap_bin, "source": os.path.join(self.root, "test.swap.src")}

    # ---- paths --------------------------------------------------------------------------
    def text(self, split, side):
        return os.path.join(self.root, f"{split}.{side}")

    pieces = text  # no subwords: the data-bin holds the words

    def references(self):
        """The three per-language test references (what the analysis scores BLEU against)."""
        return sorted(glob.glob(os.path.join(self.root, "test.ref.*")))

    @property
    def lexicon(self):
        return os.path.join(self.root, "lexicon.json")

    # ---- what later stages pass on ------------------------------------------------------
    def corpus_stats(self):
        """None: the synthetic corpus does not exist before the run (its size is the config's;
        the presets' budgets were measured on it)."""
        return None

    def distill_flags(self):
        return []

    def corpus_analysis_args(self, source, target, reference):
        """nat-analyze corpus arguments for a corpus at word level (``reference``: the gold
        targets line-aligned with ``target``, or None)."""
        return ["corpus", "--source", source, "--target", target, "--lexicon", self.lexicon,
                "--aligner", "eflomal",
                *(["--reference-target", reference] if reference else [])]

    def outputs_analysis_args(self, hyp, swapped_hyp=None):
        """References, gold lexicon and the generator itself (``--truth``: validity, synonym
        diversity, rare words, exact token labels for calibration; with ``swapped_hyp``, the
        outputs of ``swapped_test()``: stability under a one-word swap)."""
        swap = (["--swapped-source", self.swapped_test()["source"], "--swapped-hyp", swapped_hyp]
                if swapped_hyp else [])
        return ["outputs", "--hyp", hyp, "--ref-dir", self.root, "--lexicon", self.lexicon,
                "--truth", self.root, *swap]

    def decode_note(self, hyp_dir):
        return None

    def to_words(self, name, hyps, hyp_dir):
        return hyps

    def word_confidences(self, pieces, probabilities, words):
        """Per-word confidences of a hypothesis (the text is words already)."""
        return probabilities

    # ---- plan, results, ETA -------------------------------------------------------------
    def plan(self):
        return {}

    def results(self, records):
        """What results.json says of the corpus: the generator's exact ground truth."""
        return {"truth": records["corpus"]["result"]["truth"]}

    def train_pairs(self):
        return self.settings["train"]

    def estimates(self):
        return {"corpus": 5, "binarize": 5}
