"""nat-analyze's options: one dataclass per mode, its flags generated from it
(``nat.cli.add_dataclass_arguments``).  A dataclass's docstring is its mode's help line."""
from dataclasses import dataclass
from typing import List, Optional

from analysis import alignment, calibration, levels, rare_words
from nat.cli import arg, positive_int


def _spm():
    return arg("sentencepiece model, or a nat-prepare directory (its models): piece files are "
               "decoded to words", None)


def _out():
    return arg("output directory")


def _name():
    return arg("label in reports (default: the --out folder name)", None)


def _seed():
    return arg("random seed of the sampled measures", 0)


@dataclass(kw_only=True)
class Corpus:
    """complexity, faithfulness, reordering, mixing, diversity of a corpus"""
    source: str = arg("source text, one sentence a line")
    target: str = arg("target text, line-aligned")
    lexicon: Optional[str] = arg("lexicon.json of the synthetic corpus (language mixing; a "
                                 "nat-synth one also gives synonym diversity against the "
                                 "generator)", None)
    align: Optional[str] = arg("gold Pharaoh links (then the default aligner is 'gold')", None)
    aligner: Optional[str] = arg("default: gold with --align, else eflomal", None,
                                 choices=alignment.ALIGNERS)
    extra_aligners: str = arg("comma list, e.g. eflomal,ibm1: also report their estimates "
                              "(aligner bias)", "")
    reference_target: Optional[str] = arg("targets of the reference (e.g. raw) corpus for F(d)",
                                          None)
    faithfulness_aligner: str = arg("aligner of the faithfulness measure", "eflomal",
                                    choices=("eflomal", "ibm1"))
    modes: Optional[str] = arg("a mode label per line (e.g. train.lang) for the classifier", None)
    truth: Optional[str] = arg("truth.json of the synthetic corpus: compare estimates", None)
    split: str = arg("split of truth.json", "train")
    nll_nat: Optional[str] = arg("per-sentence NLL of the pairs under a NAT model (gold length), "
                                 "one per line: with --nll-at estimates the total correlation",
                                 None)
    nll_at: Optional[str] = arg("per-sentence NLL of the same pairs under an AR model", None)
    nll_unit: str = arg("unit of the numbers in --nll-nat/--nll-at", "bits",
                        choices=("bits", "nats"))
    nat_checkpoint: Optional[str] = arg(
        "NAT checkpoint (nonautoregressive_transformer, nat_glat, nat_ctc, nat_dag): with "
        "--at-checkpoint and --data-bin, score the pairs in-process (CPU, float64) and estimate "
        "the total correlation as the NAT-minus-AT NLL gap in bits per sentence; per-sentence "
        "NLLs go to OUT/nll.tsv. NAT NLL: tokens given the reference length + the length NLL "
        "(vanilla/GLAT), the CTC or DAG marginal NLL otherwise", None)
    at_checkpoint: Optional[str] = arg("autoregressive (teacher) checkpoint: teacher-forced NLL "
                                       "of the target tokens + eos", None)
    data_bin: Optional[str] = arg("fairseq data-bin of both checkpoints (dictionaries; the pairs "
                                  "must be in its tokenisation)", None)
    nll_source: Optional[str] = arg("source side of the pairs to score (default --source; "
                                    "held-out pairs, e.g. valid.src, avoid the models' training "
                                    "fit)", None)
    nll_target: Optional[str] = arg("target side of the pairs to score (default --target)", None)
    nll_split: Optional[str] = arg("truth.json split of the scored pairs (default --split)", None)
    nll_batch_size: int = arg("sentences per scoring batch (results do not depend on it)", 64,
                              type=positive_int)
    quiet: bool = arg("no progress bars", False)
    min_count: int = arg("occurrences a source word needs for the min_count complexity variant",
                         5, type=positive_int)
    level: str = arg("word (piece files decoded with --spm) or subword (word files encoded with "
                     "--spm)", "word", choices=levels.LEVELS)
    ibm1_iterations: int = arg("EM iterations of the IBM1 aligner", 5, type=positive_int)
    spm: Optional[str] = _spm()
    out: str = _out()
    name: Optional[str] = _name()
    seed: int = _seed()


@dataclass(kw_only=True)
class Outputs:
    """a system's hypotheses vs references"""
    hyp: str = arg("hypotheses, one per line")
    ref: Optional[List[str]] = arg("reference file (repeat for multi-reference)", None,
                                   action="append")
    ref_dir: Optional[str] = arg("directory with test.ref.<lang> (per-language BLEU)", None)
    lexicon: Optional[str] = arg("lexicon.json (language mixing of the hypotheses)", None)
    lang: Optional[str] = arg("gold language per line (e.g. test.lang)", None)
    truth: Optional[str] = arg("nat-synth output directory whose test.src the hypotheses "
                               "translate: exact valid rate (any language, any synonyms), "
                               "synonym diversity and rare-word recall", None)
    train_source: Optional[str] = arg("training sources whose word frequencies bucket the "
                                      "rare-word recall (default: DIR/train.src of --truth)",
                                      None)
    rare_buckets: str = arg("upper bounds of the training-frequency buckets of the rare-word "
                            "recall (the last bucket is above the last bound)",
                            ",".join(map(str, rare_words.BOUNDS)))
    confidences: Optional[str] = arg(
        "per-token probabilities of the hypotheses, one line each (space-separated, in [0, 1], "
        "one per hypothesis token): ECE, MCE and a reliability diagram, tokens judged exactly "
        "against --truth, else by clipped matches with the references", None)
    entropies: Optional[str] = arg("per-token output entropies in bits, laid out like "
                                   "--confidences: their mean", None)
    calibration_bins: int = arg("equal-width confidence bins of the ECE", calibration.BINS,
                                type=positive_int)
    other_seed: Optional[str] = arg("the same system retrained with another seed, its "
                                    "hypotheses: the share of outputs that change", None)
    swapped_source: Optional[str] = arg(
        "the test sources with one word swapped (nat.synth.perturb; needs --truth and "
        "--swapped-hyp): the share of outputs that change beyond the swapped word", None)
    swapped_hyp: Optional[str] = arg("the system's hypotheses of --swapped-source", None)
    spm: Optional[str] = _spm()
    out: str = _out()
    name: Optional[str] = _name()
    seed: int = _seed()


@dataclass(kw_only=True)
class Lexicon:
    """lexicon.json from labelled targets (train.tgt + train.lang): words seen under one label
    identify it, others are neutral"""
    target: str = arg("target text (pieces need --spm)")
    labels: str = arg("one label per line (e.g. train.lang)")
    min_count: int = arg("occurrences a one-label word needs to be identifying", 1,
                         type=positive_int)
    out: str = arg("path of the lexicon.json to write")
    spm: Optional[str] = _spm()


@dataclass(kw_only=True)
class Compare:
    """several analyses side by side"""
    dirs: List[str] = arg("analysis directories (with metrics.json)", positional=True, nargs="+")
    out: str = _out()
