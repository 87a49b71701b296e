"""``nat-analyze``: corpus measures, system-output measures and side-by-side comparisons.

    nat-analyze corpus --source F --target F [--lexicon J] [--align F] [--reference-target F]
                       [--truth truth.json] [--extra-aligners eflomal,ibm1]
                       [--nat-checkpoint NAT.pt --at-checkpoint AT.pt --data-bin BIN] --out D
    nat-analyze outputs --hyp F [--ref F ...] [--ref-dir D] [--lexicon J] [--lang F]
                        [--truth SYNTH_DIR [--train-source F] [--rare-buckets 2,10,100]]
                        [--confidences F [--entropies F] [--calibration-bins 10]] --out D
    nat-analyze compare D1 D2 ... --out D
    nat-analyze lexicon --target F --labels F --out lexicon.json [--min-count N]

Numbers are at word level by default: with --spm MODEL|PREPARED_DIR, sentencepiece piece files
are decoded first (``corpus --level subword`` analyses pieces instead); metrics.json records
"level".  BLEU is always sacreBLEU on detokenized text.  A nat-synth lexicon.json (corpus) or
--truth SYNTH_DIR (outputs) adds the synonym diversity against the generator; --truth also the
rare-word recall (frequencies from --train-source, default SYNTH_DIR/train.src).
--confidences adds ECE/MCE, tokens labelled exactly against --truth, else against the references.
"""
import glob
import json
import os
import sys

from analysis import (alignment, api, calibration, levels, lexicon as lexicon_io, nll_gap,
                      options, rare_words, report, validation, validity)
from nat import textio
from nat.cli import ArgumentParser, add_dataclass_arguments, command, config_from
from nat.errors import UserError
from nat.synth.recognise import Recogniser
from nat.synth.reload import lexicon_world
from nat.textio import read_lines, write_lines_atomic


def _read(path, what):
    lines = read_lines(path)
    if not lines:
        raise UserError(f"{what} file is empty: {path}")
    return lines


def corpus(args):
    source_in, target_in = _read(args.source, "source"), _read(args.target, "target")
    conv = levels.LevelConverter(args.level, args.spm)       # pieces -> words (or back)
    source, target = conv(source_in, "src", args.source), conv(target_in, "tgt", args.target)
    align = read_lines(args.align) if args.align else None
    ref = (conv(_read(args.reference_target, "reference target"), "tgt", args.reference_target)
           if args.reference_target else None)
    lex = lexicon_io.load(args.lexicon) if args.lexicon else None
    if lex is not None and lex.get("level", args.level) != args.level:
        raise UserError(f"{args.lexicon} maps {lex['level']}s to languages; analyse at --level "
                        f"{lex['level']}")
    modes = [m.strip() or None for m in read_lines(args.modes)] if args.modes else None
    recogniser = None              # a nat-synth lexicon: the generator, for synonym diversity
    if lex is not None and "realisations" in lex and args.level == "word":
        recogniser = Recogniser(lexicon_world(lex, args.lexicon))
    if args.truth:
        validation.load_truth(args.truth, args.split)        # fail before the slow part
        if args.nll_split:
            validation.load_truth(args.truth, args.nll_split)
    gap = per_sentence = None
    nll_pairs = _nll_pairs(args, source_in, target_in)      # as given: the models' tokens
    if args.nll_nat:
        gap = nll_gap.nll_gap(nll_gap.parse_scores(read_lines(args.nll_nat), args.nll_nat),
                              nll_gap.parse_scores(read_lines(args.nll_at), args.nll_at),
                              args.nll_unit)
        if gap["n_sentences"] != len(nll_pairs[0]):
            raise UserError(f"{args.nll_nat} has {gap['n_sentences']} scores for "
                            f"{len(nll_pairs[0])} pairs")
    extra = [a for a in (args.extra_aligners or "").split(",") if a]
    for name in extra + [args.aligner or "eflomal", args.faithfulness_aligner]:
        if name not in alignment.ALIGNERS:
            choices = ", ".join(alignment.ALIGNERS)
            raise UserError(f"unknown aligner {name!r} (choose from {choices})")
    if args.nat_checkpoint:                   # models fail fast, before the slow aligners
        from analysis import model_nll
        gap, per_sentence = model_nll.checkpoint_gap(
            args.at_checkpoint, args.nat_checkpoint, args.data_bin, nll_pairs[0], nll_pairs[1],
            batch_size=args.nll_batch_size, progress=not args.quiet, pairs_name=nll_pairs[2])
    metrics = api.analyze_corpus(
        source, target, lexicon=lex, align=align, aligner=args.aligner, extra_aligners=extra,
        reference_target=ref, faithfulness_aligner=args.faithfulness_aligner, modes=modes,
        unit="bits", min_count=args.min_count, ibm1_iterations=args.ibm1_iterations,
        seed=args.seed, name=args.name or os.path.basename(os.path.normpath(args.out)),
        progress=not args.quiet, recogniser=recogniser)
    metrics["inputs"] = {k: getattr(args, k) for k in (
        "source", "target", "align", "lexicon", "reference_target", "modes", "nll_source",
        "nll_target", "nat_checkpoint", "at_checkpoint", "data_bin")}
    if gap is not None:
        if args.truth:
            gap["settings"]["truth_split"] = args.nll_split or args.split
        metrics["measures"].setdefault("sentence_level", {})["nll_gap"] = gap
        metrics["total_correlation_estimate_bits"] = gap["value"]
    if per_sentence is not None:
        os.makedirs(args.out, exist_ok=True)
        write_lines_atomic(os.path.join(args.out, "nll.tsv"), per_sentence)
        gap["per_sentence_file"] = "nll.tsv"
    if args.truth:
        metrics["validation"] = validation.against_truth(
            metrics, args.truth, args.split, lex, source, target, align,
            nll_split=args.nll_split or args.split)
    return conv.annotate(metrics)


def _nll_pairs(args, source, target):
    """Checks the NLL options; returns (sources, targets, name) of the pairs to score."""
    if bool(args.nll_nat) != bool(args.nll_at):
        raise UserError("--nll-nat and --nll-at go together")
    models = {"--nat-checkpoint": args.nat_checkpoint, "--at-checkpoint": args.at_checkpoint,
              "--data-bin": args.data_bin}
    if any(models.values()) and not all(models.values()):
        missing = ", ".join(k for k, v in models.items() if not v)
        raise UserError(f"--nat-checkpoint, --at-checkpoint and --data-bin go together "
                        f"(missing {missing})")
    if args.nll_nat and args.nat_checkpoint:
        raise UserError("give either NLL files (--nll-nat/--nll-at) or checkpoints "
                        "(--nat-checkpoint/--at-checkpoint), not both")
    if bool(args.nll_source) != bool(args.nll_target):
        raise UserError("--nll-source and --nll-target go together")
    if args.nll_source and not (args.nll_nat or args.nat_checkpoint):
        raise UserError("--nll-source/--nll-target need --nat-checkpoint/--at-checkpoint or "
                        "--nll-nat/--nll-at")
    if not args.nll_source:
        return source, target, "--source/--target"
    src, tgt = _read(args.nll_source, "NLL source"), _read(args.nll_target, "NLL target")
    if len(src) != len(tgt):
        raise UserError(f"line counts differ: {args.nll_source} has {len(src)}, "
                        f"{args.nll_target} has {len(tgt)}")
    return src, tgt, f"{args.nll_source} / {args.nll_target}"


def outputs(args):
    if not (args.ref or args.ref_dir or args.lexicon or args.truth):
        raise UserError("outputs needs --ref, --ref-dir, --lexicon or --truth (nothing to "
                        "compare with)")
    bounds = rare_words.check_bounds(args.rare_buckets)
    _check_calibration_options(args)
    _check_stability_options(args)
    if args.train_source and not args.truth:
        raise UserError("--train-source needs --truth (the test set whose words it buckets)")
    truth = validity.load(args.truth) if args.truth else None
    train_source = args.train_source or (os.path.join(args.truth, "train.src") if truth else None)
    rare = _rare_word_inputs(args.truth, truth, train_source, bounds) if truth else None
    conv = levels.LevelConverter("word", args.spm)
    hyps = conv(_read(args.hyp, "hypothesis"), "tgt", args.hyp)
    refs = [conv(read_lines(p), "tgt", p) for p in args.ref or []]
    by_lang = {}
    if args.ref_dir:
        for path in sorted(glob.glob(os.path.join(args.ref_dir, "test.ref.*"))):
            by_lang[path.rsplit(".", 1)[1]] = conv(read_lines(path), "tgt", path)
        if not by_lang:
            raise UserError(f"no test.ref.<lang> files in {args.ref_dir}")
    lex = lexicon_io.load(args.lexicon) if args.lexicon else None
    gold = read_lines(args.lang) if args.lang else None
    conf = ent = None
    if args.confidences:
        conf = calibration.parse_per_token(read_lines(args.confidences), hyps, args.confidences)
    if args.entropies:
        ent = calibration.parse_per_token(read_lines(args.entropies), hyps, args.entropies,
                                          "entropy", float("inf"))
    other_seed = _read(args.other_seed, "other seed's hypothesis") if args.other_seed else None
    swapped = None
    if args.swapped_source:
        swapped = (read_lines(args.swapped_source),
                   _read(args.swapped_hyp, "swapped hypothesis"), args.swapped_source)
    metrics = api.analyze_outputs(hyps, refs, lex, gold, by_lang, seed=args.seed,
                                  name=args.name or os.path.basename(os.path.normpath(args.out)),
                                  truth=truth, rare_words=rare, confidences=conf, entropies=ent,
                                  bins=args.calibration_bins, other_seed=other_seed,
                                  swapped=swapped)
    metrics["inputs"] = {"hyp": args.hyp, "ref": args.ref, "ref_dir": args.ref_dir,
                         "lexicon": args.lexicon, "lang": args.lang, "truth": args.truth,
                         "train_source": train_source, "confidences": args.confidences,
                         "entropies": args.entropies, "other_seed": args.other_seed,
                         "swapped_source": args.swapped_source,
                         "swapped_hyp": args.swapped_hyp}
    return conv.annotate(metrics)


def _check_stability_options(args):
    if bool(args.swapped_source) != bool(args.swapped_hyp):
        raise UserError("--swapped-source and --swapped-hyp go together")
    if args.swapped_source and not args.truth:
        raise UserError("--swapped-source needs --truth (what a correct translation may change)")


def _check_calibration_options(args):
    """--confidences needs token labels (--truth or references) and word-level hypotheses."""
    if args.entropies and not args.confidences:
        raise UserError("--entropies needs --confidences")
    if args.confidences and not (args.truth or args.ref or args.ref_dir):
        raise UserError("--confidences needs --truth, --ref or --ref-dir (which tokens are "
                        "correct)")
    if args.confidences and args.spm:
        raise UserError("--confidences gives one number per hypothesis token; with --spm the "
                        "pieces become words and no longer line up (give word-level files)")


def _rare_word_inputs(directory, truth, train_source, bounds):
    """Rare-word recall inputs of a nat-synth directory: its gold test references and links,
    the training sources' frequencies, the generator's realisations."""
    for path in (train_source, *(os.path.join(directory, f"test.{e}") for e in ("tgt", "align"))):
        if not os.path.isfile(path):       # a given --train-source is checked with the inputs
            raise UserError(f"{directory}: no {os.path.basename(path)} (not a nat-synth output "
                            f"directory)")
    align = os.path.join(directory, "test.align")
    return rare_words.Inputs(read_lines(train_source), truth.sources,
                             read_lines(os.path.join(directory, "test.tgt")), read_lines(align),
                             rare_words.realisations_of(truth.recogniser), bounds, align)


def lexicon(args):
    """lexicon.json (word -> language) from labelled targets; returns the lexicon."""
    from nat.prepare import lexicon as label_lexicon

    conv = levels.LevelConverter("word", args.spm)
    target = conv(_read(args.target, "target"), "tgt", args.target)
    labels = read_lines(args.labels)
    if len(labels) != len(target):
        raise UserError(f"line counts differ: {args.target} has {len(target)}, {args.labels} "
                        f"has {len(labels)}")
    for number, label in enumerate(labels, start=1):
        if len(label.split()) != 1:
            raise UserError(f"{args.labels}:{number}: one label without spaces per line")
    lex = label_lexicon.derive(target, labels, min_count=args.min_count)
    lex["inputs"] = {"target": args.target, "labels": args.labels,
                     "level_inputs": dict(conv.converted)}
    return lex


def compare(args):
    analyses = []
    for d in args.dirs:
        path = os.path.join(d, "metrics.json")
        if not os.path.isfile(path):
            raise UserError(f"no metrics.json in {d} (run nat-analyze corpus/outputs first)")
        with open(path, encoding="utf-8") as handle:
            try:
                analyses.append(json.load(handle))
            except ValueError as err:
                raise UserError(f"{path}: not valid JSON ({err})") from None
    return api.compare(analyses), analyses


MODES = (("corpus", options.Corpus, ()), ("outputs", options.Outputs, ("system",)),
         ("lexicon", options.Lexicon, ()), ("compare", options.Compare, ()))


def build_parser():
    """One subcommand per mode, its flags from the mode's dataclass (its docstring: the help)."""
    parser = ArgumentParser(prog="nat-analyze", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    for name, schema, aliases in MODES:
        mode = sub.add_parser(name, aliases=aliases, help=" ".join(schema.__doc__.split()))
        add_dataclass_arguments(mode, schema)
        mode.set_defaults(schema=schema)
    return parser


INPUT_FILES = {"corpus": ("source", "target", "align", "lexicon", "reference_target", "modes",
                          "truth", "nll_nat", "nll_at", "nll_source", "nll_target"),
               "outputs": ("hyp", "lexicon", "lang", "train_source", "confidences", "entropies"),
               "system": ("hyp", "lexicon", "lang", "train_source", "confidences", "entropies"),
               "lexicon": ("target", "labels")}
INPUT_DIRS = {"corpus": ("data_bin",), "outputs": ("ref_dir", "truth"),
              "system": ("ref_dir", "truth")}


def check_paths(mode, args):
    """Every input named on the command line exists as a file (or directory), and the output
    can be written, before anything is read or computed."""
    for name in INPUT_FILES.get(mode, ()):
        if getattr(args, name, None):
            textio.input_file(getattr(args, name), "--" + name.replace("_", "-"))
    for path in getattr(args, "ref", None) or []:
        textio.input_file(path, "--ref")
    for name in INPUT_DIRS.get(mode, ()):
        if getattr(args, name, None):
            textio.input_dir(getattr(args, name), "--" + name.replace("_", "-"))
    for name in ("nat_checkpoint", "at_checkpoint"):       # directories: one line, not a
        path = getattr(args, name, None)                  # misleading "no such checkpoint"
        if path and os.path.isdir(path):
            raise UserError(f"--{name.replace('_', '-')} {path}: is a directory, not a "
                            f"checkpoint file")
    for d in getattr(args, "dirs", None) or []:
        textio.input_dir(d, "compare")
    if mode == "lexicon":
        textio.output_file(args.out, "--out")
    else:
        textio.output_dir(args.out, "--out")


@command("nat-analyze")
def main(argv=None):
    parsed = build_parser().parse_args(argv)
    args = config_from(parsed.schema, parsed)
    check_paths(parsed.mode, args)
    if parsed.mode == "compare":
        table, analyses = compare(args)
        path = report.write_comparison(table, analyses, args.out)
    elif parsed.mode == "lexicon":
        from nat.prepare import lexicon as label_lexicon

        lex = lexicon(args)
        report.write_json(args.out, lex)
        print(f"{args.out}: {label_lexicon.summary(lex)}", file=sys.stderr)
        return 0
    else:
        metrics = corpus(args) if parsed.mode == "corpus" else outputs(args)
        path = report.write_analysis(metrics, args.out)
    print(path, file=sys.stderr)
    return 0
