"""``--criterion word_kd``: (1-a) * label-smoothed NLL + a * KL(p_teacher || p_student).

Word-level knowledge distillation for autoregressive students (Kim & Rush 2016); on a Seq-KD
corpus this is their "Seq-KD + Word-KD".  The teacher comes from ``--teacher-path`` (read with
the safe weights_only loader via fairseq after ``compat.install()``), stays in eval mode, runs
without gradient, and is held outside the module tree: it is neither optimised nor saved in the
student's checkpoints.  The math is ``nat.distill.word_kd_loss.word_kd_kl``.
"""
import math
from dataclasses import dataclass, field

import torch
from fairseq.criterions import register_criterion
from fairseq.criterions.label_smoothed_cross_entropy import (
    LabelSmoothedCrossEntropyCriterion, LabelSmoothedCrossEntropyCriterionConfig)
from fairseq.logging import metrics

from nat import compat
from nat.distill import word_kd_loss
from nat.distill.word_kd_loss import word_kd_kl


@dataclass
class WordKDConfig(LabelSmoothedCrossEntropyCriterionConfig):
    teacher_path: str = field(default="",
                              metadata={"help": "teacher checkpoint (same dictionaries)"})
    kd_alpha: float = field(default=word_kd_loss.ALPHA,
                            metadata={"help": "weight a of the KL term"})
    kd_temperature: float = field(default=word_kd_loss.TEMPERATURE,
                                  metadata={"help": "softmax temperature T"})


def load_teacher(path, task):
    """The teacher model for ``task``'s dictionaries, in eval mode with gradients off."""
    from fairseq import checkpoint_utils

    compat.install()
    # building a model through a translation task with --eval-bleu replaces the task's
    # validation generator by one over that model: keep the student's
    generator = getattr(task, "sequence_generator", None)
    models, _ = checkpoint_utils.load_model_ensemble([path], task=task)
    if generator is not None:
        task.sequence_generator = generator
    teacher = models[0].eval()
    for param in teacher.parameters():
        param.requires_grad_(False)
    return teacher


class TeacherHolder:
    """A criterion's teacher, held outside the module tree (a tuple, not a submodule): neither
    trained nor saved; moved to the student's device and dtype on first use."""

    def hold_teacher(self, teacher):
        self._teacher = (teacher,)

    @property
    def teacher(self):
        return self._teacher[0]

    def teacher_logits(self, sample, like):
        teacher = self.teacher
        param = next(teacher.parameters())
        if param.device != like.device or param.dtype != like.dtype:
            teacher = teacher.to(device=like.device, dtype=like.dtype)
            self._teacher = (teacher,)
        teacher.eval()
        with torch.no_grad():
            return teacher(**sample["net_input"])[0]


@register_criterion("word_kd", dataclass=WordKDConfig)
class WordKDCriterion(TeacherHolder, LabelSmoothedCrossEntropyCriterion):
    def __init__(self, task, sentence_avg, label_smoothing, teacher_path="",
                 kd_alpha=word_kd_loss.ALPHA, kd_temperature=word_kd_loss.TEMPERATURE,
                 ignore_prefix_size=0, report_accuracy=False, teacher=None):
        super().__init__(task, sentence_avg, label_smoothing, ignore_prefix_size, report_accuracy)
        if not 0.0 <= kd_alpha <= 1.0:
            raise ValueError(f"--kd-alpha {kd_alpha}: must be in [0, 1]")
        if kd_temperature <= 0:
            raise ValueError(f"--kd-temperature {kd_temperature}: must be > 0")
        if teacher is None:
            if not teacher_path:
                raise ValueError("--criterion word_kd needs --teacher-path")
            teacher = load_teacher(teacher_path, task)
        self.alpha, self.temperature = kd_alpha, kd_temperature
        self.hold_teacher(teacher)

    def forward(self, model, sample, reduce=True):
        net_output = model(**sample["net_input"])
        nll_part, nll_loss = self.compute_loss(model, net_output, sample, reduce=reduce)
        student = net_output[0]
        teacher = self.teacher_logits(sample, student)
        if teacher.shape != student.shape:
            raise ValueError(f"teacher output {tuple(teacher.shape)} does not match the "
                             f"student's {tuple(student.shape)}: dictionaries differ")
        target = model.get_targets(sample, net_output)
        if self.ignore_prefix_size > 0:
            student = student[:, self.ignore_prefix_size:]
            teacher = teacher[:, self.ignore_prefix_size:]
            target = target[:, self.ignore_prefix_size:]
        kd_loss = word_kd_kl(student, teacher, target.ne(self.padding_idx), self.temperature,
                             reduce=reduce)
        if not reduce:
            kd_loss = kd_loss.reshape(nll_part.shape)
        loss = (1.0 - self.alpha) * nll_part + self.alpha * kd_loss.to(nll_part.dtype)
        sample_size = sample["target"].size(0) if self.sentence_avg else sample["ntokens"]
        logging_output = {"loss": loss.data, "nll_loss": nll_loss.data, "kd_loss": kd_loss.data,
                          "ntokens": sample["ntokens"], "nsentences": sample["target"].size(0),
                          "sample_size": sample_size}
        return loss, sample_size, logging_output

    @classmethod
    def reduce_metrics(cls, logging_outputs):
        super().reduce_metrics(logging_outputs)
        kd_sum = sum(log.get("kd_loss", 0) for log in logging_outputs)
        ntokens = sum(log.get("ntokens", 0) for log in logging_outputs)
        metrics.log_scalar("kd_loss", kd_sum / max(ntokens, 1) / math.log(2), ntokens, round=3)
