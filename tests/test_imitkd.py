"""ImitKD (``--criterion imitkd``): the beta schedules against hand values, the labels against
brute force, beta = 1 with hard labels is Word-KD with hard labels on the gold context, at
beta = 0 every context is the student's own output, fairseq's update count reaches beta, and a
real fairseq-train run writes a checkpoint that fairseq-generate decodes (every id)."""
import argparse
import contextlib
import io
import logging
import math
import os
import re

import pytest
import torch

from nat.distill import imitkd

N = 100  # decay updates of the unit tests


def test_schedules_match_hand_values():
    beta = imitkd.mixing_probability
    assert beta("exponential", 0, N) == 1.0
    assert beta("exponential", 50, N) == pytest.approx(1 / math.sqrt(200))
    assert beta("exponential", N, N) == pytest.approx(0.005)
    assert beta("exponential", 25, N, exp_base=16) == pytest.approx(0.5)
    assert (beta("linear", 0, N), beta("linear", 25, N), beta("linear", N, N)) == (1.0, 0.75, 0.0)
    assert beta("linear", 50, N, beta_end=0.2) == pytest.approx(0.6)
    assert beta("inverse_sigmoid", 50, N) == 0.5
    assert beta("inverse_sigmoid", 0, N) == pytest.approx(1 / (1 + math.exp(-10)))
    assert beta("inverse_sigmoid", N, N) == pytest.approx(1 / (1 + math.exp(10)))
    assert beta("inverse_sigmoid", 60, N, steepness=10) == pytest.approx(1 / (1 + math.e))
    for schedule in imitkd.SCHEDULES:  # past N, beta stays at its value at N
        assert beta(schedule, 3 * N, N) == beta(schedule, N, N)


def test_schedules_decay_monotonically_from_one():
    for schedule in imitkd.SCHEDULES:
        values = [imitkd.mixing_probability(schedule, t, N) for t in range(N + 1)]
        assert values[0] == pytest.approx(1.0, abs=1e-4) and values[-1] < 0.01
        assert all(a > b for a, b in zip(values, values[1:])), schedule


def test_bad_schedule_settings_are_refused():
    for args, kwargs in [(("cosine", 0, N), {}), (("linear", 0, 0), {}),
                         (("exponential", 0, N), {"exp_base": 0.5}),
                         (("linear", 0, N), {"beta_end": 1.5}),
                         (("inverse_sigmoid", 0, N), {"steepness": 0})]:
        with pytest.raises(ValueError):
            imitkd.mixing_probability(*args, **kwargs)


def test_mixing_is_one_draw_per_sentence():
    assert imitkd.gold_rows(50, 1.0).all() and not imitkd.gold_rows(50, 0.0).any()
    torch.manual_seed(0)
    assert 0.25 < imitkd.gold_rows(4000, 0.3).float().mean() < 0.35


def softmax(values, temperature=1.0):
    exps = [math.exp(v / temperature) for v in values]
    return [e / sum(exps) for e in exps]


def test_labels_match_brute_force_and_topk_of_all_is_full():
    torch.manual_seed(1)
    s, t = torch.randn(2, 3, 6), torch.randn(2, 3, 6)
    mask = torch.tensor([[True, True, False], [True, False, True]])
    hard = topk = 0.0
    for b in range(2):
        for j in range(3):
            if not mask[b, j]:
                continue
            ps, pt = softmax(s[b, j].tolist()), t[b, j].tolist()
            hard -= math.log(ps[pt.index(max(pt))])
            best = sorted(range(6), key=lambda v: -pt[v])[:2]
            q = softmax([pt[v] for v in best], 2.0)
            ps2 = softmax(s[b, j].tolist(), 2.0)
            topk += 4.0 * sum(qi * math.log(qi / ps2[v]) for qi, v in zip(q, best))
    assert imitkd.imitkd_loss(s, t, mask, "hard").item() == pytest.approx(hard, rel=1e-5)
    assert imitkd.imitkd_loss(s, t, mask, "topk", topk=2, temperature=2.0).item() == \
        pytest.approx(topk, rel=1e-5)
    for temperature in (1.0, 2.0):
        full = imitkd.imitkd_loss(s, t, mask, "full", temperature=temperature, reduce=False)
        every = imitkd.imitkd_loss(s, t, mask, "topk", topk=6, temperature=temperature,
                                   reduce=False)
        assert torch.allclose(every, full, rtol=1e-5, atol=1e-6)


def test_generation_stops_at_eos_or_its_cap_and_shifts_into_a_context():
    eos, pad = 2, 1
    script = torch.tensor([[5, 6, eos, 7], [5, 5, 5, 5], [eos, 4, 4, 4]])

    def step(prefix):  # row b emits script[b, t] at step t
        return torch.nn.functional.one_hot(script[:, prefix.size(1) - 1], 8).float() * 10

    tokens, lengths = imitkd.generate(step, torch.tensor([9, 3, 9]), eos, pad, greedy=True)
    assert tokens.tolist() == [[5, 6, eos], [5, 5, 5], [eos, pad, pad]]
    assert lengths.tolist() == [3, 3, 1]
    prev, mask = imitkd.context_of(tokens, lengths, eos, pad)
    assert prev.tolist() == [[eos, 5, 6], [eos, 5, 5], [eos, pad, pad]]
    assert mask.sum(dim=1).tolist() == [3, 3, 1]
    banned = imitkd.next_tokens(torch.tensor([[0.0, 9.0, 1.0]]), greedy=True, banned=(1,))
    assert banned.tolist() == [2]


@pytest.fixture(scope="module")
def kd(tiny_kd_setup):
    """conftest.py's ``tiny_kd_setup`` (its teacher and task, 12 valid sentences, a seeded tiny
    student), the student in eval mode."""
    task, teacher, student, sample = tiny_kd_setup
    return task, teacher, student.eval(), sample


def criterion(task, teacher, **settings):
    from fairseq_plugins.criterions.imitkd import ImitKDConfig, ImitKDCriterion

    cfg = ImitKDConfig(sentence_avg=False, max_update=N,
                       **{"imitkd_schedule": "linear", **settings})
    return ImitKDCriterion(task, cfg, teacher=teacher)


def seen_contexts(student):
    """The prev_output_tokens of every forward of ``student``, and the hook's handle."""
    seen = []
    handle = student.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs["prev_output_tokens"]),
        with_kwargs=True)
    return seen, handle


def test_beta_one_with_hard_labels_is_word_kd_hard_on_gold_context(kd):
    task, teacher, student, sample = kd
    crit = criterion(task, teacher, imitkd_labels="hard")
    crit.set_num_updates(0)
    assert crit.beta() == 1.0
    per_position, size, log = crit(student, sample, reduce=False)
    total, _, _ = crit(student, sample)
    with torch.no_grad():
        s, t = student(**sample["net_input"])[0], teacher(**sample["net_input"])[0]
    mask = sample["target"].ne(task.target_dictionary.pad())
    reference = torch.nn.functional.cross_entropy(
        s.transpose(1, 2), t.argmax(dim=-1), reduction="none").masked_fill(~mask, 0.0)
    # torch's fused cross_entropy rounds differently from log_softmax + gather: 1 ulp
    assert torch.allclose(per_position.detach(), reference, rtol=1e-6, atol=1e-6)
    assert torch.equal(per_position.detach().eq(0), ~mask)
    assert total.item() == pytest.approx(reference.sum().item(), rel=1e-6)
    assert size == log["labelled"] == sample["ntokens"] and log["student_contexts"] == 0


def brute_force_greedy(student, src, cap, eos, banned):
    """The student's greedy output for one unpadded source, full forward at every step."""
    out = [eos]
    with torch.no_grad():
        while len(out) <= cap and (len(out) == 1 or out[-1] != eos):
            logits = student(src[None], torch.tensor([src.numel()]),
                             torch.tensor([out]))[0][0, -1]
            logits[list(banned)] = float("-inf")
            out.append(int(logits.argmax()))
    return out[1:]


def test_beta_zero_context_is_the_students_own_output(kd):
    from fairseq import utils

    task, teacher, student, sample = kd
    pad, eos = task.target_dictionary.pad(), task.target_dictionary.eos()
    crit = criterion(task, teacher, imitkd_context="greedy")
    crit.set_num_updates(N)
    assert crit.beta() == 0.0
    seen, handle = seen_contexts(student)
    try:
        loss, size, log = crit(student, sample)
    finally:
        handle.remove()
    (prev,) = seen
    assert log["student_contexts"] == 12 and not student.training
    target_lengths = sample["target"].ne(pad).sum(dim=1)
    lengths = []
    for i in range(12):
        src = utils.strip_pad(sample["net_input"]["src_tokens"][i], pad)
        cap = int(1.5 * int(target_lengths[i])) + 5
        own = brute_force_greedy(student, src, cap, eos, crit.banned)
        assert prev[i, :len(own)].tolist() == [eos] + own[:-1]
        assert prev[i, len(own):].eq(pad).all()
        lengths.append(len(own))
    assert not torch.equal(prev[:, :sample["target"].size(1)],
                           sample["net_input"]["prev_output_tokens"])  # not the gold prefix
    # the teacher labels every position of that context, and only those
    mask = torch.arange(prev.size(1))[None, :] < torch.tensor(lengths)[:, None]
    inputs = {**sample["net_input"], "prev_output_tokens": prev}
    with torch.no_grad():
        reference = imitkd.hard_nll(student(**inputs)[0], teacher(**inputs)[0], mask)
    assert size == log["labelled"] == sum(lengths)
    assert loss.item() == pytest.approx(reference.item(), rel=1e-6)


def test_top1_sampling_gives_the_greedy_context(kd):
    task, teacher, student, sample = kd
    contexts = []
    for settings in ({"imitkd_context": "greedy"},
                     {"imitkd_context": "sample", "imitkd_sample_topk": 1}):
        crit = criterion(task, teacher, imitkd_labels="topk", imitkd_topk=3, **settings)
        crit.set_num_updates(N)
        seen, handle = seen_contexts(student)
        try:
            crit(student, sample)
        finally:
            handle.remove()
        contexts += seen
    assert torch.equal(*contexts)


def test_update_count_reaches_beta_through_the_model(kd):
    task, teacher, student, sample = kd
    keys = set(student.state_dict())
    crit = criterion(task, teacher, imitkd_schedule="exponential")
    crit.set_num_updates(N)
    crit.eval()  # validation: gold contexts whatever beta is
    _, _, log = crit(student, sample)
    assert log["beta"] == 1.0 and log["student_contexts"] == 0
    student.set_num_updates(N // 2)  # what fairseq's task.train_step does before a forward
    assert crit.num_updates == N // 2 and crit.beta() == pytest.approx(200 ** -0.5)
    assert set(student.state_dict()) == keys
    assert list(crit.parameters()) == [] and crit.state_dict() == {}


def test_student_contexts_keep_the_training_mode_and_only_the_student_learns(kd):
    task, teacher, student, sample = kd
    crit = criterion(task, teacher, imitkd_labels="full", imitkd_temperature=2.0)
    crit.set_num_updates(N // 2)
    torch.manual_seed(3)  # the per-sentence draws
    student.train()
    try:
        student.zero_grad()
        loss, _, log = crit(student, sample)
        loss.backward()
        assert student.training and not teacher.training
    finally:
        student.eval()
    assert 0 < log["student_contexts"] < 12  # beta 0.5: some of each (this seed)
    assert all(p.grad is None for p in teacher.parameters())
    assert sum(p.grad.abs().sum().item() for p in student.parameters()
               if p.grad is not None) > 0


def test_fairseq_train_and_generate(tiny_teacher, toy_data_bin, toy_corpus, tmp_path, caplog,
                                   monkeypatch):
    """fairseq-train's console script (``cli_main``) and fairseq-generate's ``main`` with the
    arguments of ``nat.fairseq_cli.generate`` (every id checked), run in this process as
    tests/ddp_runner.py and nat/fairseq_batch.py run them: fairseq is imported already, and a
    process of each would add seconds of imports to a test of seconds."""
    import fairseq_plugins  # noqa: F401
    from fairseq import options

    from nat import compat, fairseq_cli
    from nat.textio import count_lines

    with compat.fairseq_logging_kept():
        from fairseq_cli import generate, train
    updates, save_dir = 3, str(tmp_path / "student")
    recipe = fairseq_cli.Recipe("transformer_student_tiny", updates, warmup=1, max_tokens=500,
                                extra=["--criterion", "imitkd", "--teacher-path", tiny_teacher,
                                       "--imitkd-labels", "topk", "--imitkd-topk", "4",
                                       "--log-interval", "1"])
    monkeypatch.setattr("sys.argv", ["fairseq-train"] + [
        str(a) for a in recipe.args(toy_data_bin, save_dir)])
    with caplog.at_level(logging.INFO):
        train.cli_main()
    log = caplog.text
    betas = [float(b) for b in re.findall(r"[ ,|]beta=([\d.]+)", log)]
    assert betas == [round(200 ** (-u / updates), 3) for u in range(updates)], log[-3000:]
    assert re.search(r"[ ,|]student_ctx=0[ ,]", log)  # update 1: beta 1, every context gold

    n = count_lines(os.path.join(toy_corpus, "test.src"))
    args = fairseq_cli.generate_args(toy_data_bin, os.path.join(save_dir, "checkpoint_last.pt"),
                                     beam=1, batch_size=50,
                                     extra=["--max-len-a", "0", "--max-len-b", "30"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        generate.main(options.parse_args_and_arch(options.get_generation_parser(), args))
    assert len(fairseq_cli.parse_generate_output(out.getvalue(), expected=n)) == n
