"""``nat-bench dag``: the DAG path-sum loss vs ``ctc_loss``, and nat_dag_tiny vs the other NATs.

Part 1 (always): forward+backward time of each loss on the same random batch, interleaved
repetitions, medians and the ratio DAG/CTC.  Both sides include what their loss needs beyond the
decoder: log-softmax over the vocabulary; DAG also normalises its B x L x L links.  Rows: equal
numbers of vertices/frames, then each model's own upsampling (tiny: DAG x4 vs CTC x2; base: x8 vs
x3), the DAG dynamic program in float32 and float64.

Part 2 (``--train-updates N``): trains each ``--archs`` on the toy task with identical settings
through the real fairseq-train, decodes the test set with fairseq-generate at batch 1 and 60,
and prints BLEU (sacreBLEU, tokenize none) and sentences/s (fairseq's own timer, start-up
excluded).  A few minutes per architecture on CPU.
"""
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from typing import List

from nat.cli import add_subcommand, arg


def _batch(torch, gen, bsz, src_len):
    """Source lengths in [src_len/2, src_len]; targets as long as the source (toy-like)."""
    lengths = torch.randint(src_len // 2, src_len + 1, (bsz,), generator=gen)
    lengths[0] = src_len
    return lengths


def loss_steps(bsz, src_len, vocab, dag_scale, ctc_scale, seed=1):
    """Closures doing one forward+backward on fixed random inputs: ``dag(dtype, full)`` and
    ``ctc(full)``; ``full`` adds the log-softmax over the vocabulary (else inputs are already
    log-probabilities)."""
    import torch
    import torch.nn.functional as F

    from nat import dag

    gen = torch.Generator().manual_seed(seed)
    src = _batch(torch, gen, bsz, src_len)
    tgt_len = src.clone()
    target = torch.randint(1, vocab, (bsz, int(tgt_len.max()) + 2), generator=gen)
    glen = (src * dag_scale).long()
    frames = (src * ctc_scale).long()
    dag_logits = torch.randn(bsz, int(glen.max()), vocab, generator=gen).requires_grad_(True)
    dag_lprobs = F.log_softmax(dag_logits.detach(), -1).requires_grad_(True)
    link_scores = torch.randn(bsz, int(glen.max()), int(glen.max()), generator=gen)
    link_scores.requires_grad_(True)
    ctc_logits = torch.randn(int(frames.max()), bsz, vocab + 1, generator=gen).requires_grad_(True)
    ctc_lprobs = F.log_softmax(ctc_logits.detach(), -1).requires_grad_(True)

    def dag_step(dtype, full):
        for leaf in (dag_logits, dag_lprobs, link_scores):
            leaf.grad = None
        lprobs = F.log_softmax(dag_logits, -1) if full else dag_lprobs
        links = dag.log_links(link_scores, glen)
        emit = dag.gather_emissions(lprobs, target)
        nll = dag.dag_loss(links, emit, tgt_len + 2, glen, dtype=dtype)
        (nll / (tgt_len + 2)).mean().backward()

    def ctc_step(full):
        ctc_logits.grad = ctc_lprobs.grad = None
        lprobs = F.log_softmax(ctc_logits, -1) if full else ctc_lprobs
        F.ctc_loss(lprobs, target[:, 1:], frames, tgt_len, blank=vocab, reduction="mean",
                   zero_infinity=True).backward()

    return dag_step, ctc_step, int(glen.max()), int(frames.max())


def time_side_by_side(fns, reps, warmup=2):
    """Median seconds of each closure, repetitions interleaved (A B C A B C ...)."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(reps):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def run_loss(args):
    import torch

    torch.set_num_threads(args.threads)
    rows = [("equal vertices", args.equal_scale, args.equal_scale),
            ("tiny defaults", 4, 2), ("base defaults", 8, 3)]
    print(f"DAG loss vs CTC loss, forward+backward, batch {args.batch}, source length <= "
          f"{args.src_len}, vocab {args.vocab}, {args.threads} thread(s), median of {args.reps}")
    print("  loss: log-probs given (DAG: link softmax + path sum; CTC: ctc_loss);"
          " +softmax: also the vocabulary log-softmax")
    print(f"  {'setting':<16}{'part':<10}{'DAG L':>6}{'CTC T':>6}{'DAG fp32 ms':>12}"
          f"{'DAG fp64 ms':>12}{'CTC ms':>8}{'fp32/CTC':>9}{'fp64/CTC':>9}")
    for name, dag_scale, ctc_scale in rows:
        dag_step, ctc_step, L, T = loss_steps(args.batch, args.src_len, args.vocab, dag_scale,
                                              ctc_scale)
        for part, full in (("loss", False), ("+softmax", True)):
            d32, d64, ctc = time_side_by_side(
                [lambda: dag_step(torch.float32, full), lambda: dag_step(torch.float64, full),
                 lambda: ctc_step(full)], args.reps)
            print(f"  {name:<16}{part:<10}{L:>6}{T:>6}{d32 * 1e3:>12.1f}{d64 * 1e3:>12.1f}"
                  f"{ctc * 1e3:>8.1f}{d32 / ctc:>9.2f}{d64 / ctc:>9.2f}", flush=True)


def _train_and_decode(arch, data_bin, corpus, work, updates, extra_decode):
    from nat import fairseq_cli
    from nat.textio import count_lines

    save = os.path.join(work, arch)
    start = time.perf_counter()
    fairseq_cli.train(data_bin, save, fairseq_cli.Recipe(
        arch, updates, warmup=50, max_tokens=2000, nat=True,
        extra=["--required-batch-size-multiple", "1"]))
    train_s = time.perf_counter() - start
    n = count_lines(os.path.join(corpus, "test.src"))
    row = {"arch": arch, "train_s": train_s}
    for batch in (1, 60):
        result = fairseq_cli.generate(data_bin, os.path.join(save, "checkpoint_last.pt"), n,
                                      task="translation_lev", beam=1, batch_size=batch,
                                      extra=["--iter-decode-max-iter", "0"] + extra_decode)
        row[f"sent_s_b{batch}"] = fairseq_cli.parse_speed(result.stdout)["sentences_per_second"]
        row["hyps"] = result.best()
    return row


def run_models(args):
    import sacrebleu

    from nat.textio import read_lines
    from nat.toy import write_toy_corpus

    with tempfile.TemporaryDirectory(prefix="nat-bench-dag-") as work:
        from nat import fairseq_cli

        corpus = write_toy_corpus(os.path.join(work, "corpus"))
        data_bin = os.path.join(work, "bin")
        fairseq_cli.preprocess(data_bin, {s: os.path.join(corpus, s)
                                          for s in ("train", "valid", "test")}, joined=True)
        refs = read_lines(os.path.join(corpus, "test.tgt"))
        print(f"\nToy task (reverse + relabel), {args.train_updates} updates each, same settings;"
              " decode one pass (--iter-decode-max-iter 0)")
        print(f"  {'arch':<22}{'BLEU':>7}{'sent/s b1':>11}{'sent/s b60':>12}{'train s':>9}")
        for arch in args.archs:
            extra = (["--model-overrides", repr({"decode_strategy": args.decode_strategy})]
                     if arch.startswith("nat_dag") else [])
            row = _train_and_decode(arch, data_bin, corpus, work, args.train_updates, extra)
            score = sacrebleu.corpus_bleu(row["hyps"], [refs], tokenize="none").score
            print(f"  {arch:<22}{score:>7.1f}{row['sent_s_b1']:>11.1f}{row['sent_s_b60']:>12.1f}"
                  f"{row['train_s']:>9.0f}", flush=True)


def run(args):
    run_loss(args)
    if args.train_updates > 0:
        run_models(args)
    return 0


ARCHS = ["nat_dag_tiny", "nat_ctc_tiny", "nat_ctc_glat_tiny", "nat_glat_tiny", "nat_vanilla_tiny"]


@dataclass
class DagOptions:
    """``nat-bench dag``'s flags."""
    batch: int = arg("sentences per batch", 32)
    src_len: int = arg("longest source length", 24)
    vocab: int = arg("output vocabulary size", 1000)
    equal_scale: int = arg("upsampling of both models in the 'equal vertices' row", 4)
    reps: int = arg("timed repetitions (median)", 10)
    threads: int = arg("torch threads", 1)
    train_updates: int = arg("also train and compare --archs on the toy task (0: skip)", 0)
    archs: List[str] = arg("architectures of part 2", ARCHS, nargs="+")
    decode_strategy: str = arg("for nat_dag archs", "lookahead",
                               choices=("greedy", "lookahead", "viterbi"))


def register(subparsers):
    add_subcommand(subparsers, "dag", DagOptions, run,
                   help="DAG loss vs CTC loss; nat_dag_tiny vs other NATs")
