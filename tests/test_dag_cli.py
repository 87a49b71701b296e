"""nat_dag_tiny through the real fairseq-train / fairseq-generate (translation_lev, nat_loss)."""
import os
import re

import pytest

from nat import fairseq_cli
from nat.textio import count_lines

from background_runs import DAG_UPDATES as UPDATES


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch/OpenMP thread per process: on a shared 2-core machine, more threads make every
    small op wait on the others (10x slower here); results do not depend on it."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def dag_run(one_thread, dag_model):
    """(checkpoint, train log text) of nat_dag_tiny trained for a few updates with glancing
    (fairseq-train with a ``Recipe``; ``dag_model`` in conftest.py, trained in one process
    with the other NATs)."""
    checkpoint, log = dag_model
    assert "--arch nat_dag_tiny" in log.splitlines()[0]
    return checkpoint, log


def test_training_loss_decreases(dag_run):
    losses = [float(x) for x in re.findall(r"train_inner .*? loss=([0-9.]+)", dag_run[1])]
    assert len(losses) == UPDATES
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3


def test_generate_every_id_batch_invariant(dag_run, toy_data_bin, toy_corpus, tmp_path,
                                           fairseq_worker):
    """fairseq-generate at batch 1 and 64, both in one worker (``generate_many``: fairseq's
    generate per run, every id 0..N-1 checked)."""
    n = count_lines(os.path.join(toy_corpus, "test.src"))
    batches = ((1, "viterbi"), (64, "viterbi"))
    results = fairseq_cli.generate_many([dict(
        data_bin=toy_data_bin, checkpoint=dag_run[0], expected=n, task="translation_lev",
        beam=1, batch_size=batch_size,
        extra=["--iter-decode-max-iter", "0", "--model-overrides",
               repr({"decode_strategy": strategy, "decode_length_penalty": 1.0})])
        for batch_size, strategy in batches], str(tmp_path), pool=fairseq_worker)
    outputs = {batch_size: result.best() for (batch_size, _), result in zip(batches, results)}
    assert outputs[1] == outputs[64]
    assert sum(1 for h in outputs[1] if h.strip()) >= n // 2      # mostly non-empty outputs


@pytest.fixture(scope="module")
def loaded(dag_run, toy_data_bin):
    """(model, task, test dataset) loaded in this process from the trained checkpoint."""
    import fairseq_plugins  # noqa: F401  (registers nat_dag, installs the compat layer)
    from fairseq import checkpoint_utils

    models, _, task = checkpoint_utils.load_model_ensemble_and_task(
        [dag_run[0]], arg_overrides={"data": toy_data_bin})
    task.load_dataset("test")
    return models[0].eval(), task, task.dataset("test")


def batches(task, data, batch_size):
    return task.get_batch_iterator(data, max_sentences=batch_size, required_batch_size_multiple=1,
                                   disable_iterator_cache=True).next_epoch_itr(shuffle=False)


def test_every_strategy_batch_invariant_in_process(loaded):
    """Each decoding strategy on the test set at batch 1 and batch 60 (one batch)."""
    import torch

    model, task, data = loaded

    def decode(batch_size):
        out, sizes = {}, set()
        with torch.no_grad():
            for sample in batches(task, data, batch_size):
                net = sample["net_input"]
                sizes.add(len(sample["id"]))
                enc = model.forward_encoder([net["src_tokens"], net["src_lengths"]])
                dec = model.forward_decoder(
                    model.initialize_output_tokens(enc, net["src_tokens"]), enc)
                for i, idx in enumerate(sample["id"].tolist()):
                    toks = dec.output_tokens[i]
                    out[idx] = toks[toks.ne(model.pad)].tolist()
        assert sizes == {batch_size}
        return out

    for strategy in ("greedy", "lookahead", "viterbi"):
        model.args.decode_strategy = strategy
        one, many = decode(1), decode(len(data))
        assert sorted(one) == list(range(len(data)))
        assert one == many, strategy
        assert all(t[0] == model.bos and t[-1] == model.eos for t in one.values())
    model.args.decode_strategy = "lookahead"


def test_glancing_reveals_target_tokens_along_a_path(loaded):
    """Training-mode glance: revealed vertices carry target tokens in target order (a path),
    at most ratio x target length of them, and some are revealed by a barely trained model."""
    import torch

    model, task, data = loaded
    sample = next(iter(batches(task, data, len(data))))
    net, target = sample["net_input"], sample["target"]
    model.train()
    try:
        with torch.no_grad():
            enc = model.encoder(net["src_tokens"], src_lengths=net["src_lengths"])
            dec_in, graph_lengths = model.graph(enc)
            reference, reveal = model.glance(enc, dec_in, target)
    finally:
        model.eval()
    ratio, total = model.glancing_ratio(), 0
    assert ratio > 0
    for b in range(target.size(0)):
        tgt = target[b][target[b].ne(model.pad)].tolist()
        shown = reference[b][reveal[b]].tolist()
        assert reveal[b, graph_lengths[b]:].sum() == 0
        assert len(shown) <= int(ratio * len(tgt))
        it = iter(tgt)
        assert all(tok in it for tok in shown), (shown, tgt)       # a subsequence of the target
        total += len(shown)
    assert total > 0


def test_train_log_counts_excluded_sentences(dag_run):
    """Every train_inner line reports the sentences left out of the loss (none here: toy
    targets fit their 4x graphs) and the numerical faults among them."""
    lines = [line for line in dag_run[1].splitlines() if "train_inner" in line]
    assert len(lines) == UPDATES
    assert all(re.search(r"\bdag_excluded=0\b", line) for line in lines), lines[0]
    assert all(re.search(r"\bdag_nonfinite=0\b", line) for line in lines), lines[0]


def test_excluded_sentences_are_counted_in_the_log(loaded):
    """Targets made longer than their graph are left out of the loss and counted, in whatever
    fairseq aggregator is active (train_inner/train/valid); the others still give the loss."""
    import torch
    from fairseq.logging import metrics

    model, task, data = loaded
    sample = next(iter(batches(task, data, 8)))
    net, target = sample["net_input"], sample["target"]
    graph = model.graph(model.encoder(net["src_tokens"], src_lengths=net["src_lengths"]))[1]
    too_long = torch.zeros(len(target), dtype=torch.bool)
    too_long[[1, 4]] = True
    width = int(graph.max()) + 1
    longer = target.new_full((len(target), width), model.pad)
    for b in range(len(target)):
        tgt = target[b][target[b].ne(model.pad)]
        if too_long[b]:                         # repeat the body until it outgrows the graph
            body = tgt[:-1].repeat(width)[:width - 1]
            tgt = torch.cat([body, tgt[-1:]])
        longer[b, :len(tgt)] = tgt
    assert (longer.ne(model.pad).sum(1) > graph).tolist() == too_long.tolist()
    with torch.no_grad(), metrics.aggregate(new_root=True) as agg:
        out = model(net["src_tokens"], net["src_lengths"], None, longer)
        model(net["src_tokens"], net["src_lengths"], None, target)
    assert torch.isfinite(out["dag"]["loss"])
    assert agg["dag_excluded"].sum == 2 and agg["dag_nonfinite"].sum == 0

    from fairseq_plugins.models.nat_dag import log_excluded
    with metrics.aggregate(new_root=True) as agg:              # a fitting target, loss nan/inf
        log_excluded(torch.tensor([True, False, False, True, False]),
                     torch.tensor([True, True, False, True, True]))
    assert agg["dag_excluded"].sum == 3 and agg["dag_nonfinite"].sum == 2


def test_decode_dedup_is_on_by_default_and_can_be_turned_off(loaded):
    import argparse

    import torch
    from fairseq_plugins.models.nat_dag import DAGModel, nat_dag_tiny

    parser = argparse.ArgumentParser()
    DAGModel.add_args(parser)
    for argv, want in (([], True), (["--no-decode-dedup"], False), (["--decode-dedup"], True)):
        args = parser.parse_args(argv)
        nat_dag_tiny(args)
        assert args.decode_dedup is want, argv
    assert "default: on" in parser._option_string_actions["--decode-dedup"].help
    model, task, data = loaded
    assert model.args.decode_dedup is True                      # trained with the defaults
    sample = next(iter(batches(task, data, len(data))))
    net = sample["net_input"]

    def decode():
        with torch.no_grad():
            enc = model.forward_encoder([net["src_tokens"], net["src_lengths"]])
            out = model.forward_decoder(model.initialize_output_tokens(enc, net["src_tokens"]),
                                        enc).output_tokens
        return [row[row.ne(model.pad)].tolist() for row in out]

    try:
        merged = decode()
        model.args.decode_dedup = False
        kept = decode()
    finally:
        model.args.decode_dedup = True

    def runs(row):
        return [t for i, t in enumerate(row) if i == 0 or t != row[i - 1]]

    assert any(a == b for row in kept for a, b in zip(row, row[1:]))   # barely trained: repeats
    assert sum(map(len, merged)) < sum(map(len, kept))
    for m, k in zip(merged, kept):      # dedup only merges runs (a pad vertex may split one)
        it = iter(k)
        assert all(t in it for t in m) and runs(m) == runs(k)
