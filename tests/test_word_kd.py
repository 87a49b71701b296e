"""Word-level KD criterion on the real tiny teacher: a=0 is the plain criterion, a student equal
to the teacher has KD term 0, and gradients reach only the student."""
import argparse
import math

import pytest
import torch


def criterion(task, teacher, alpha, temperature=1.0, eps=0.1):
    from fairseq_plugins.criterions.word_kd import WordKDCriterion
    return WordKDCriterion(task, False, eps, kd_alpha=alpha, kd_temperature=temperature,
                           teacher=teacher)


def test_kl_term_matches_brute_force():
    from nat.distill.word_kd_loss import word_kd_kl

    torch.manual_seed(1)
    s, t = torch.randn(2, 3, 5), torch.randn(2, 3, 5)
    mask = torch.tensor([[True, True, False], [True, False, False]])
    for temp in (1.0, 2.5):
        total = 0.0
        for b in range(2):
            for j in range(3):
                if not mask[b, j]:
                    continue
                ps = [math.exp(v / temp) for v in s[b, j].tolist()]
                pt = [math.exp(v / temp) for v in t[b, j].tolist()]
                ps = [p / sum(ps) for p in ps]
                pt = [p / sum(pt) for p in pt]
                total += temp ** 2 * sum(q * math.log(q / p) for q, p in zip(pt, ps))
        assert word_kd_kl(s, t, mask, temp).item() == pytest.approx(total, rel=1e-5)


def test_alpha_zero_equals_label_smoothed_cross_entropy(tiny_kd_setup):
    from fairseq.criterions.label_smoothed_cross_entropy import \
        LabelSmoothedCrossEntropyCriterion
    task, teacher, student, sample = tiny_kd_setup
    student.eval()
    plain, _, _ = LabelSmoothedCrossEntropyCriterion(task, False, 0.1)(student, sample)
    loss, size, log = criterion(task, teacher, alpha=0.0)(student, sample)
    assert torch.equal(loss, plain)
    assert log["kd_loss"] > 0  # the term is there, only weighted 0
    assert size == sample["ntokens"]


def test_student_equal_to_teacher_has_zero_kd(tiny_kd_setup, tiny_teacher):
    from fairseq import checkpoint_utils
    task, teacher, student, sample = tiny_kd_setup
    copies, _ = checkpoint_utils.load_model_ensemble([tiny_teacher], task=task)
    same = copies[0].eval()
    for temperature in (1.0, 3.0):
        _, _, log = criterion(task, teacher, alpha=1.0, temperature=temperature)(same, sample)
        assert abs(log["kd_loss"].item()) < 1e-4
        _, _, log = criterion(task, teacher, alpha=1.0, temperature=temperature)(
            student.eval(), sample)
        assert log["kd_loss"].item() > 1.0


def test_gradients_flow_only_into_the_student(tiny_kd_setup):
    task, teacher, student, sample = tiny_kd_setup
    student.train()
    crit = criterion(task, teacher, alpha=0.5, temperature=2.0)
    student.zero_grad()
    loss, _, _ = crit(student, sample)
    loss.backward()
    assert all(p.grad is None for p in teacher.parameters())
    assert sum(p.grad.abs().sum().item() for p in student.parameters() if p.grad is not None) > 0
    assert list(crit.parameters()) == [] and crit.state_dict() == {}  # not trained, not saved
    assert not teacher.training


def test_registered_with_fairseq_options(tiny_kd_setup, tiny_teacher, toy_data_bin):
    from fairseq import options, tasks

    from nat import fairseq_cli
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, [
        toy_data_bin, "--user-dir", fairseq_cli.PLUGIN_DIR, "--arch", "transformer_student_tiny",
        "--criterion", "word_kd", "--teacher-path", tiny_teacher, "--kd-alpha", "0.3",
        "--kd-temperature", "2", "--label-smoothing", "0.1", "--cpu"])
    cfg = convert_namespace_to_omegaconf(args)
    task = tasks.setup_task(cfg.task)
    crit = task.build_criterion(cfg.criterion)
    assert (crit.alpha, crit.temperature, crit.eps) == (0.3, 2.0, 0.1)
    assert not crit.teacher.training
