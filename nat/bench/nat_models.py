"""``nat-bench nat-models``: every tiny NAT vs the AR teacher (beam 5), side by side in one run.

Writes a corpus (``--corpus toy``: the reverse-and-relabel reordering task, one reference;
``--corpus synth``: the synthetic three-language corpus with a random language per source, the
multimodal case, scored against all three references with the share of outputs mixing
languages), trains the AR teacher and each NAT for the same wall-clock budget (and update cap)
with one recipe, decodes the test set with the real fairseq-generate at batch 1 and batch 128,
and prints BLEU (sacreBLEU on the tokens, no extra tokenization) and translation speed
(fairseq's own "sentences/s", model time only) as ratios to the teacher.  One thread per process
on a shared machine: absolute numbers are noise, ratios are what the table is for.
"""
import glob
import os
import re
from dataclasses import dataclass
from typing import List

from nat import fairseq_cli
from nat.cli import add_subcommand, arg
from nat.errors import UserError
from nat.textio import read_lines
from nat.toy import write_toy_corpus

TEACHER = "transformer_teacher_tiny"
NATS = ["nat_vanilla_tiny", "nat_glat_tiny", "nat_ctc_tiny", "nat_ctc_glat_tiny"]
#: the DAG is opt-in (``--models ... nat_dag_tiny``): an update costs ~3.5x a vanilla one on CPU
CHOICES = NATS + ["nat_dag_tiny"]
BATCHES = (1, 128)


@dataclass
class NatModelsOptions:
    """``nat-bench nat-models``'s flags."""
    out: str = arg("work directory", "nat-bench-nat-models")
    minutes: float = arg("training wall-clock budget per model", 2.0)
    max_update: int = arg("update cap per model", 100000)
    corpus: str = arg("toy reverse-and-relabel task, or the synthetic three-language corpus "
                      "(small preset, random language per source)", "toy",
                      choices=("toy", "synth"))
    train_size: int = arg("training sentences", 4000)
    test_size: int = arg("test sentences", 500)
    threads: int = arg("OMP threads per fairseq process", 1)
    max_tokens: int = arg("tokens per batch", 2000)
    models: List[str] = arg("NATs to compare", NATS, nargs="+", choices=CHOICES)


def register(subparsers):
    add_subcommand(subparsers, "nat-models", NatModelsOptions, run,
                   help="tiny NATs (vanilla, GLAT, CTC, CTC+GLAT) vs the AR teacher: BLEU and "
                        "speed at batch 1 and 128")


def _train(data_bin, arch, save_dir, args, env):
    ar = arch == TEACHER
    recipe = fairseq_cli.Recipe(arch, args.max_update, max_tokens=args.max_tokens, nat=not ar,
                                extra=(fairseq_cli.AR_TRAIN if ar else []) + [
                                    "--stop-time-hours", args.minutes / 60,
                                    "--log-interval", "50", "--save-interval", "100000",
                                    "--required-batch-size-multiple", "1"])
    out = fairseq_cli.train(data_bin, save_dir, recipe, env=env)
    updates = re.findall(r"num_updates[ =]+(\d+)", out)
    return os.path.join(save_dir, "checkpoint_last.pt"), int(updates[-1]) if updates else 0


def _decode(data_bin, checkpoint, arch, batch, n, log_dir):
    ar = arch == TEACHER
    extra = [] if ar else ["--iter-decode-max-iter", "0"]
    result = fairseq_cli.generate(
        data_bin, checkpoint, n, task="translation" if ar else "translation_lev",
        beam=5 if ar else 1, batch_size=batch, extra=extra,
        log_path=os.path.join(log_dir, f"generate.b{batch}.log"))
    speed = fairseq_cli.parse_speed(result.stdout, f"fairseq-generate output ({log_dir})")
    return result.best(), speed["sentences_per_second"]


def _write_corpus(args):
    """``(corpus dir, reference sets, lexicon or None)``."""
    out = os.path.join(args.out, "corpus")
    if args.corpus == "toy":
        write_toy_corpus(out, train=args.train_size, valid=100, test=args.test_size)
        return out, [read_lines(os.path.join(out, "test.tgt"))], None
    from analysis import lexicon as lexicon_io
    from nat.synth.corpus import generate_corpus

    generate_corpus(out, mode="random", seed=1, preset="small",
                    sizes=(args.train_size, 100, args.test_size))
    refs = [read_lines(path) for path in sorted(glob.glob(os.path.join(out, "test.ref.*")))]
    return out, refs, lexicon_io.load(os.path.join(out, "lexicon.json"))


def _score(hyps, refs, lexicon):
    """(sacreBLEU on the tokens against every reference set, mixed-sentence rate or None)."""
    import sacrebleu

    bleu = sacrebleu.corpus_bleu(hyps, refs, tokenize="none").score
    if lexicon is None:
        return bleu, None
    from analysis.api import language_mixing

    return bleu, language_mixing(hyps, lexicon)["mixed_sentence_rate"]


def run(args):
    from tqdm import tqdm

    os.makedirs(args.out, exist_ok=True)
    corpus, refs, lexicon = _write_corpus(args)
    data_bin = os.path.join(args.out, "bin")
    splits = {s: os.path.join(corpus, s) for s in ("train", "valid", "test")}
    fairseq_cli.preprocess(data_bin, splits, joined=True,
                           log_path=os.path.join(args.out, "logs", "preprocess.log"))
    env = {"OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    os.environ.update(env)                # also for fairseq_cli.generate's subprocesses
    rows = []
    for arch in tqdm([TEACHER] + list(args.models), desc="models"):
        work = os.path.join(args.out, arch)
        os.makedirs(work, exist_ok=True)
        checkpoint, updates = _train(data_bin, arch, work, args, env)
        speeds, hyps = {}, None
        for batch in BATCHES:
            best, speed = _decode(data_bin, checkpoint, arch, batch, len(refs[0]), work)
            if hyps is not None and best != hyps:
                raise UserError(f"{arch}: hypotheses differ between batch 1 and {batch}")
            hyps, speeds[batch] = best, speed
        rows.append((arch, updates, *_score(hyps, refs, lexicon), speeds))
    teacher = rows[0]
    task = ("toy reverse-and-relabel task" if args.corpus == "toy" else
            "synthetic three-language corpus (random language per source; BLEU against all "
            "three references)")
    print(f"\n{task}: {args.train_size} training / {len(refs[0])} test sentences, "
          f"{args.minutes:g} min (at most {args.max_update} updates) training per model, "
          f"{args.max_tokens} tokens per batch, {args.threads} thread(s); NATs one pass "
          f"(--iter-decode-max-iter 0), teacher beam 5.")
    print("Hypotheses checked identical at batch 1 and batch 128 for every model.\n")
    mixed_head = " mixed |" if lexicon is not None else ""
    head = (f"| {'model':<34} | updates | BLEU  | BLEU vs AR |{mixed_head} sent/s b1 | x AR b1 "
            f"| sent/s b128 | x AR b128 |")
    print(head)
    print("|" + "|".join("-" * (len(c)) for c in head.split("|")[1:-1]) + "|")
    for arch, updates, bleu, mixed, speeds in rows:
        label = arch + (" (beam 5)" if arch == TEACHER else "")
        mixed_cell = f" {mixed:5.3f} |" if lexicon is not None else ""
        print(f"| {label:<34} | {updates:>7} | {bleu:5.1f} | {bleu - teacher[2]:+10.1f} "
              f"|{mixed_cell} {speeds[1]:9.1f} | {speeds[1] / teacher[4][1]:7.2f} "
              f"| {speeds[128]:11.1f} | {speeds[128] / teacher[4][128]:9.2f} |")
    return 0
