"""In-process NLL scoring for the total-correlation estimate (``nat-analyze corpus
--nat-checkpoint --at-checkpoint --data-bin``): against brute force, fairseq's own scoring and the
models' own losses, at batch sizes 1 and 16, and through the command line.

The AT is the session's ``tiny_teacher`` (real fairseq-train).  NAT checkpoints are built by
fairseq's own parser, task and ``build_model`` in this process (no fairseq-train start-up); the
vanilla NAT is then trained for a few updates with the task's own ``train_step`` (nat_loss,
full-mask noise, fairseq's Adam), the GLAT, CTC and DAG ones keep their seeded initial weights:
these checks are about scoring, not about fit.
"""
import json
import math
import os

import numpy as np
import pytest

from nat import fairseq_cli
from nat.textio import read_lines

NAT_UPDATES = 20
SMALL = ["--encoder-embed-dim", "64", "--decoder-embed-dim", "64",
         "--encoder-ffn-embed-dim", "128", "--decoder-ffn-embed-dim", "128",
         "--encoder-layers", "1", "--decoder-layers", "1"]
N_PAIRS = 40                     # scored pairs of the toy test split (all 60 for the CLI)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread (shared 2-core machine); results do not depend on it."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pairs(toy_corpus):
    return (read_lines(os.path.join(toy_corpus, "test.src"))[:N_PAIRS],
            read_lines(os.path.join(toy_corpus, "test.tgt"))[:N_PAIRS])


def nat_checkpoint(data_bin, arch, path, updates=0, seed=1):
    """A fairseq checkpoint of ``arch`` built as fairseq-train builds it (its parser, task,
    ``build_model``, criterion and optimizer), after ``updates`` steps of ``task.train_step``
    on the train split."""
    import torch
    from fairseq import optim, options, tasks
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf
    from omegaconf import OmegaConf

    import fairseq_plugins  # noqa: F401

    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [
        data_bin, "--user-dir", fairseq_cli.PLUGIN_DIR, "--task", "translation_lev",
        "--criterion", "nat_loss", "--noise", "full_mask", "--arch", arch, *SMALL, "--cpu",
        "--optimizer", "adam", "--lr", "2e-3", "--seed", str(seed)])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    torch.manual_seed(seed)
    model = task.build_model(cfg.model)
    if updates:
        criterion = task.build_criterion(cfg.criterion)
        optimizer = optim.build_optimizer(cfg.optimizer, list(model.parameters()))
        task.load_dataset("train")
        batches = task.get_batch_iterator(
            task.dataset("train"), max_tokens=1000, seed=seed, required_batch_size_multiple=1,
            disable_iterator_cache=True).next_epoch_itr(shuffle=True)
        for update, sample in zip(range(updates), batches):
            optimizer.zero_grad()
            task.train_step(sample, model, criterion, optimizer, update)
            optimizer.step()
    torch.save({"args": None, "cfg": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
                "model": model.state_dict(), "criterion": None,
                "optimizer_history": [{"criterion_name": "LabelSmoothedDualImitationCriterion",
                                       "optimizer_name": "FairseqAdam",
                                       "lr_scheduler_state": {}, "num_updates": updates}],
                "task_state": {}, "extra_state": {}, "last_optimizer_state": {}}, path)
    return path


@pytest.fixture(scope="module")
def nats(toy_data_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("nll_nats")
    return {arch: nat_checkpoint(toy_data_bin, arch, str(d / f"{arch}.pt"),
                                 NAT_UPDATES if arch == "nat_vanilla_tiny" else 0)
            for arch in ("nat_vanilla_tiny", "nat_glat_tiny", "nat_ctc_tiny", "nat_dag_tiny")}


@pytest.fixture(scope="module")
def at_scores(tiny_teacher, toy_data_bin, pairs):
    from analysis import model_nll

    model, task, kind, _ = model_nll.load(tiny_teacher, toy_data_bin, "at", "--at-checkpoint")
    return model, task, {bs: model_nll.score(model, task, kind, *pairs, batch_size=bs)
                         for bs in (1, 16)}


def test_at_nll_is_brute_force_and_batch_invariant(at_scores, pairs):
    """Teacher-forced sums at batch 1 and 16 against a prefix-by-prefix forward per token."""
    import torch

    model, task, scores = at_scores
    np.testing.assert_allclose(scores[1]["nll"], scores[16]["nll"], rtol=0, atol=1e-9)
    d = task.target_dictionary
    for k in (0, 7):
        src = task.source_dictionary.encode_line(pairs[0][k], add_if_not_exist=False).long()
        tgt = d.encode_line(pairs[1][k], add_if_not_exist=False).long()     # tokens + eos
        prev = torch.cat([tgt.new_tensor([d.eos()]), tgt[:-1]])
        total = 0.0
        with torch.no_grad():
            for t in range(len(tgt)):                # y_t from the prefix y_<t only
                logits = model(src[None], torch.tensor([len(src)]), prev[None, :t + 1])[0]
                total -= torch.log_softmax(logits[0, -1].double(), -1)[tgt[t]].item()
        assert scores[1]["nll"][k] == pytest.approx(total, rel=1e-9)
        assert scores[1]["target_tokens"][k] == len(tgt)


def test_at_nll_matches_fairseq_sequence_scorer(at_scores, pairs):
    """fairseq's SequenceScorer (what ``fairseq-generate --score-reference`` runs; float32) on
    the binarized test split of the data-bin: same NLL, so the text pairs were binarized as
    fairseq-preprocess did."""
    from fairseq.sequence_scorer import SequenceScorer

    model, task, scores = at_scores
    model = model.float()
    try:
        task.load_dataset("test")
        data = task.dataset("test")
        scorer = SequenceScorer(task.target_dictionary)
        sample = data.collater([data[i] for i in range(N_PAIRS)])
        hypos = scorer.generate([model], sample)
    finally:
        model.double()
    for row, k in enumerate(sample["id"].tolist()):
        h = hypos[row][0]
        assert len(h["tokens"]) == scores[1]["target_tokens"][k]
        assert scores[1]["nll"][k] == pytest.approx(-h["positional_scores"].sum().item(),
                                                    rel=1e-5)


@pytest.mark.parametrize("arch", ["nat_vanilla_tiny", "nat_glat_tiny", "nat_ctc_tiny",
                                  "nat_dag_tiny"])
def test_nat_nll_matches_the_model_and_batch_size(nats, toy_data_bin, pairs, arch):
    """Batch 1 vs 16; vanilla/GLAT against a manual single-sentence forward (bos-prepended
    source, decoder input bos/unk/eos, length class with offset); CTC/DAG against the model's
    own training loss on one sentence (eval mode: no glancing)."""
    import torch

    from analysis import model_nll

    model, task, kind, info = model_nll.load(nats[arch], toy_data_bin, "nat", "--nat-checkpoint")
    assert kind == {"nat_ctc_tiny": "ctc", "nat_dag_tiny": "dag"}.get(arch, "length")
    scores = {bs: model_nll.score(model, task, kind, *pairs, batch_size=bs) for bs in (1, 16)}
    for key in scores[1]:
        if key != "unknown_target_tokens":   # float32 sums: equal up to its rounding (a CPU
            # may block a batch-16 matmul differently from batch 1: 7e-9 relative seen on an
            # AMD EPYC); a padding or masking bug moves them by whole nats
            np.testing.assert_allclose(scores[1][key], scores[16][key], rtol=1e-6, atol=1e-9)
    assert np.isfinite(scores[1]["nll"]).all() and (scores[1]["nll"] > 0).all()
    d = task.target_dictionary
    with torch.no_grad():
        for k in (0, 5):
            src = torch.cat([torch.tensor([d.bos()]), task.source_dictionary.encode_line(
                pairs[0][k], add_if_not_exist=False).long()])
            tgt = torch.cat([torch.tensor([d.bos()]), d.encode_line(
                pairs[1][k], add_if_not_exist=False).long()])
            n = torch.tensor([len(src)])
            if kind == "length":
                enc = model.encoder(src[None], src_lengths=n)
                dec_in = torch.full((1, len(tgt)), d.unk())
                dec_in[0, 0], dec_in[0, -1] = d.bos(), d.eos()
                lp = torch.log_softmax(model.decoder(normalize=False, prev_output_tokens=dec_in,
                                                     encoder_out=enc)[0].double(), -1)
                tokens = -lp[torch.arange(len(tgt)), tgt].sum().item()
                length_lp = model.decoder.forward_length(normalize=True, encoder_out=enc)[0]
                length = -length_lp[len(tgt) - len(src) + 128].item()
                assert scores[1]["length_nll"][k] == pytest.approx(length, rel=1e-9)
            else:
                out = model(src[None], n, None, tgt[None])
                loss = out["ctc" if kind == "ctc" else "dag"]["loss"].item()
                tokens = loss * (len(tgt) - 2 if kind == "ctc" else len(tgt))
            assert scores[1]["nll"][k] == pytest.approx(tokens, rel=1e-6)


def test_vanilla_input_is_what_training_feeds(nats, toy_data_bin, pairs):
    """At gold length, the inference decoder input equals translation_lev's full-mask noise."""
    from analysis import model_nll

    model, task, _, _ = model_nll.load(nats["nat_vanilla_tiny"], toy_data_bin, "nat", "--x")
    data = model_nll.pairs_dataset(task, *pairs)
    sample = data.collater([data[i] for i in range(8)])
    target = sample["target"]
    assert (target[:, 0] == model.bos).all()
    assert model_nll.nat_inference_input(model, target).equal(task.inject_noise(target))


def test_wrong_roles_and_archs_are_one_line_errors(nats, tiny_teacher, toy_data_bin, tmp_path):
    from analysis import model_nll
    from nat.errors import UserError

    garbage = tmp_path / "garbage.pt"
    garbage.write_text("not a checkpoint\n")
    with pytest.raises(UserError, match=r"--nat-checkpoint: .*garbage.pt is not a PyTorch "
                                        r"checkpoint \(a text file\)"):
        model_nll.load(str(garbage), toy_data_bin, "nat", "--nat-checkpoint")

    with pytest.raises(UserError, match="supported AR model"):
        model_nll.load(nats["nat_ctc_tiny"], toy_data_bin, "at", "--at-checkpoint")
    with pytest.raises(UserError, match="supported NAT model.*nat_glat, nat_ctc, nat_dag"):
        model_nll.load(tiny_teacher, toy_data_bin, "nat", "--nat-checkpoint")
    with pytest.raises(UserError, match="--nat-checkpoint: no such checkpoint"):
        model_nll.load(tiny_teacher + ".missing", toy_data_bin, "nat", "--nat-checkpoint")


def test_cli_gap_report_and_truth(nats, tiny_teacher, toy_data_bin, toy_corpus, tmp_path,
                                  capsys):
    """End to end: metrics.json gap with units and settings, nll.tsv the same at batch 1 and
    16 (up to float32 rounding), the report line, and the comparison with truth.json (the toy task is deterministic:
    every total correlation is exactly 0)."""
    from analysis.cli import main

    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"mode": "deterministic", "test": {
        "total_correlation": 0.0, "total_correlation_given_len": 0.0, "h_len_given_src": 0.0}}))
    src, tgt = os.path.join(toy_corpus, "test.src"), os.path.join(toy_corpus, "test.tgt")
    runs = {}
    for bs in (1, 16):
        out = tmp_path / f"bs{bs}"
        assert main(["corpus", "--source", src, "--target", tgt, "--aligner", "ibm1",
                     "--nat-checkpoint", nats["nat_vanilla_tiny"], "--at-checkpoint",
                     tiny_teacher, "--data-bin", toy_data_bin, "--nll-batch-size", str(bs),
                     "--truth", str(truth), "--split", "test", "--quiet",
                     "--out", str(out)]) == 0
        runs[bs] = out
    tables = {bs: [line.split("\t") for line in (runs[bs] / "nll.tsv").read_text().splitlines()]
              for bs in runs}
    assert tables[1][0] == tables[16][0] and len(tables[1]) == len(tables[16])
    for a, b in zip(tables[1][1:], tables[16][1:]):   # equal up to float32 rounding (above)
        assert len(a) == len(b) and a[0] == b[0]
        for x, y in zip(a[1:], b[1:]):
            assert (x == y) if "." not in x + y else float(x) == pytest.approx(float(y),
                                                                               rel=1e-6)
    m = json.loads((runs[16] / "metrics.json").read_text())
    gap = m["measures"]["sentence_level"]["nll_gap"]
    rows = [l.split("\t") for l in (runs[16] / "nll.tsv").read_text().splitlines()[1:]]
    at, nat = np.array([[float(r[1]), float(r[2])] for r in rows]).T
    assert len(rows) == gap["n_sentences"] == 60
    assert gap["value"] == pytest.approx((nat - at).mean(), abs=1e-5)
    assert m["total_correlation_estimate_bits"] == gap["value"]
    assert gap["standard_error"] == pytest.approx((nat - at).std(ddof=1) / math.sqrt(60),
                                                  abs=1e-5)
    means = gap["mean_nll_bits"]
    assert means["nat"] == pytest.approx(means["nat_tokens"] + means["nat_length"])
    assert gap["without_length_nll"]["value"] == pytest.approx(gap["value"]
                                                               - means["nat_length"])
    st = gap["settings"]
    assert st["unit"] == "bits per sentence" and st["source"] == "checkpoints"
    assert st["at"]["model"] == "transformer"
    assert st["nat"]["model"] == "nonautoregressive_transformer"
    v = m["validation"]
    assert v["nll_gap_minus_total_correlation_given_len_bits"] == pytest.approx(gap["value"])
    assert v["nll_gap_matched_truth"] == "total_correlation_given_len"
    md = (runs[16] / "report.md").read_text()
    assert "| total_correlation_estimate_bits |" in md
    assert "total correlation estimate (NLL_NAT - NLL_AT)" in md and "bits per sentence" in md


def test_cli_refuses_half_given_models(tiny_teacher, toy_corpus, tmp_path, capsys):
    from analysis.cli import main

    src, tgt = os.path.join(toy_corpus, "test.src"), os.path.join(toy_corpus, "test.tgt")
    with pytest.raises(SystemExit) as err:
        main(["corpus", "--source", src, "--target", tgt, "--at-checkpoint", tiny_teacher,
              "--out", str(tmp_path / "x")])
    assert err.value.code == 2
    msg = capsys.readouterr().err
    assert "go together (missing --nat-checkpoint, --data-bin)" in msg and msg.count("\n") == 1


class _Terminal:
    """A stderr that says it is a terminal, so tqdm draws (it stays off on a pipe)."""

    def __init__(self, tty):
        self.text, self.tty = [], tty

    def write(self, s):
        self.text.append(s)

    def flush(self):
        pass

    def isatty(self):
        return self.tty


@pytest.mark.parametrize("tty,progress,drawn", [(True, True, True), (True, False, False),
                                                (False, True, False)])
def test_corpus_progress_bars_on_a_terminal_only(monkeypatch, tty, progress, drawn):
    import sys

    from analysis import api

    err = _Terminal(tty)
    monkeypatch.setattr(sys, "stderr", err)
    src = ["the cat sleeps", "a dog runs", "the dog sleeps", "a cat runs"] * 5
    tgt = ["le chat dort", "un chien court", "le chien dort", "un chat court"] * 5
    m = api.analyze_corpus(src, tgt, aligner="ibm1", extra_aligners=("eflomal",),
                           progress=progress)
    text = "".join(err.text)
    assert ("nat-analyze" in text and "IBM1 EM" in text and "align eflomal" in text) == drawn
    assert bool(text) == drawn
    eflomal = m["measures"]["alignments"]["eflomal"]["settings"]
    assert eflomal["seeded"] is False and "no seed option" in eflomal["seed_source"]
