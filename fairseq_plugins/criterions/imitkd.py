"""``--criterion imitkd``: imitation-learning distillation (ImitKD, Lin et al. 2020) for
autoregressive students (fairseq ``transformer``).

Per batch, each sentence keeps its gold decoder context with probability beta (one draw per
sentence), else the student's own output (sampled or greedy, generated in eval mode without
gradient, with incremental decoding) becomes its context; the teacher labels every position of
the resulting contexts and the loss is ``nat.distill.imitkd.imitkd_loss`` (schedules and labels
are documented there).  beta follows the update count fairseq hands the model before every
forward (``model.set_num_updates``, which reaches a parameter-free child this criterion adds
to the student; nothing is added to the student's state dict).  After a resume from a
checkpoint the first update still uses beta(0), later ones the resumed count.  Validation
(criterion in eval mode) always uses gold contexts: a deterministic loss.  The teacher is read
with word_kd's ``load_teacher`` and held as word_kd holds it: outside the module tree, neither
trained nor saved.
"""
import math
import weakref
from dataclasses import dataclass, field

import torch
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.dataclass import ChoiceEnum, FairseqDataclass
from fairseq.logging import metrics
from omegaconf import II

from fairseq_plugins.criterions.word_kd import TeacherHolder, load_teacher
from nat.distill import imitkd


@dataclass
class ImitKDConfig(FairseqDataclass):
    teacher_path: str = field(default="",
                              metadata={"help": "teacher checkpoint (same dictionaries)"})
    imitkd_schedule: ChoiceEnum(imitkd.SCHEDULES) = field(
        default=imitkd.SCHEDULE, metadata={"help": "decay of beta, the probability that a "
                                                   "sentence keeps its gold context"})
    imitkd_decay_updates: int = field(
        default=0, metadata={"help": "updates N over which beta decays (0: --max-update)"})
    imitkd_exp_base: float = field(default=imitkd.EXP_BASE,
                                   metadata={"help": "exponential schedule: beta = b^(-t/N)"})
    imitkd_sigmoid_steepness: float = field(
        default=imitkd.SIGMOID_STEEPNESS,
        metadata={"help": "inverse sigmoid schedule: beta = 1 / (1 + exp(k (t/N - 0.5)))"})
    imitkd_beta_end: float = field(
        default=imitkd.BETA_END, metadata={"help": "linear schedule: beta at update N"})
    imitkd_labels: ChoiceEnum(imitkd.LABELS) = field(
        default="hard", metadata={"help": "teacher labels: argmax (cross-entropy), its full "
                                          "distribution or its top-k renormalised (KL)"})
    imitkd_topk: int = field(default=imitkd.TOPK, metadata={"help": "k of --imitkd-labels topk"})
    imitkd_temperature: float = field(
        default=imitkd.TEMPERATURE,
        metadata={"help": "softmax temperature of full/topk labels (loss times T^2)"})
    imitkd_context: ChoiceEnum(imitkd.CONTEXTS) = field(
        default=imitkd.CONTEXT, metadata={"help": "how the student generates its own context"})
    imitkd_sample_topk: int = field(
        default=imitkd.SAMPLE_TOPK,
        metadata={"help": "sample the student's context from its k best tokens (0: all)"})
    imitkd_max_len_a: float = field(
        default=imitkd.MAX_LEN_A,
        metadata={"help": "a student context has at most a * target length + b tokens"})
    imitkd_max_len_b: int = field(default=imitkd.MAX_LEN_B,
                                  metadata={"help": "b of --imitkd-max-len-a"})
    sentence_avg: bool = II("optimization.sentence_avg")
    max_update: int = II("optimization.max_update")


class _UpdateClock(torch.nn.Module):
    """Parameter-free child of the student: fairseq's ``task.train_step`` calls
    ``model.set_num_updates(n)`` before each forward, which reaches every submodule with that
    method; this one passes ``n`` on to the criterion (held by a weak reference, so the
    student never keeps the criterion or its teacher alive, and copies of it stay small)."""

    def __init__(self, criterion):
        super().__init__()
        self.criterion = weakref.ref(criterion)

    def set_num_updates(self, num_updates):
        criterion = self.criterion()
        if criterion is not None:
            criterion.set_num_updates(num_updates)


@register_criterion("imitkd", dataclass=ImitKDConfig)
class ImitKDCriterion(TeacherHolder, FairseqCriterion):

    def __init__(self, task, cfg, teacher=None):
        super().__init__(task)
        self.cfg = cfg
        self.labels, self.context = str(cfg.imitkd_labels), str(cfg.imitkd_context)
        self.schedule = str(cfg.imitkd_schedule)
        self.decay_updates = cfg.imitkd_decay_updates or cfg.max_update
        if self.labels not in imitkd.LABELS or self.context not in imitkd.CONTEXTS:
            raise ValueError(f"--imitkd-labels {self.labels} / --imitkd-context {self.context}: "
                             f"expected one of {imitkd.LABELS} / {imitkd.CONTEXTS}")
        if not self.decay_updates:
            raise ValueError("--criterion imitkd needs --max-update or --imitkd-decay-updates "
                             "(the updates over which beta decays)")
        if cfg.imitkd_temperature <= 0 or cfg.imitkd_topk < 1 or cfg.imitkd_sample_topk < 0:
            raise ValueError("--imitkd-temperature must be > 0, --imitkd-topk >= 1, "
                             "--imitkd-sample-topk >= 0")
        if cfg.imitkd_max_len_a < 0 or cfg.imitkd_max_len_b < 0 or \
                cfg.imitkd_max_len_a == 0 and cfg.imitkd_max_len_b == 0:
            raise ValueError("--imitkd-max-len-a/-b: must be >= 0, not both 0")
        self.num_updates = 0
        self.beta()  # checks the schedule's parameters now, not at the first update
        if teacher is None:
            if not cfg.teacher_path:
                raise ValueError("--criterion imitkd needs --teacher-path")
            teacher = load_teacher(cfg.teacher_path, task)
        self.hold_teacher(teacher)
        dictionary = task.target_dictionary
        self.eos, self.banned = dictionary.eos(), (dictionary.pad(), dictionary.bos())

    def set_num_updates(self, num_updates):
        self.num_updates = num_updates

    def beta(self):
        """The probability that a sentence keeps its gold context at this update."""
        return imitkd.mixing_probability(
            self.schedule, self.num_updates, self.decay_updates, self.cfg.imitkd_exp_base,
            self.cfg.imitkd_sigmoid_steepness, self.cfg.imitkd_beta_end)

    def attach_clock(self, model):
        """Make fairseq's ``model.set_num_updates`` reach this criterion (see _UpdateClock)."""
        from fairseq.models import BaseFairseqModel

        inner = next((m for m in model.modules() if isinstance(m, BaseFairseqModel)), None)
        if inner is None:
            return
        clock = getattr(inner, "_imitkd_clock", None)
        if clock is None or clock.criterion() is not self:
            inner.add_module("_imitkd_clock", _UpdateClock(self))

    def student_contexts(self, model, net_input, rows, target_lengths):
        """``(prev_output_tokens, mask)`` of the student's own outputs for the sentences of
        ``rows``: generated in eval mode, without gradient, with incremental decoding."""
        cap = self.cfg.imitkd_max_len_a * target_lengths.float() + self.cfg.imitkd_max_len_b
        max_lens = cap.floor().long().clamp(1, model.max_decoder_positions())
        training = model.training
        model.eval()
        try:
            with torch.no_grad():
                encoder_out = model.encoder(net_input["src_tokens"][rows],
                                            src_lengths=net_input["src_lengths"][rows])
                state = {}

                def step(prefix):
                    logits, _ = model.decoder(prefix, encoder_out=encoder_out,
                                              incremental_state=state)
                    return logits[:, -1, :]

                tokens, lengths = imitkd.generate(
                    step, max_lens, self.eos, self.padding_idx, self.context == "greedy",
                    self.cfg.imitkd_sample_topk, self.banned)
        finally:
            model.train(training)
        return imitkd.context_of(tokens, lengths, self.eos, self.padding_idx)

    def forward(self, model, sample, reduce=True):
        self.attach_clock(model)
        net_input, target = sample["net_input"], sample["target"]
        gold_mask = target.ne(self.padding_idx)
        beta = self.beta() if self.training else 1.0
        keep_gold = imitkd.gold_rows(target.size(0), beta, target.device)
        if bool(keep_gold.all()):
            prev, mask = net_input["prev_output_tokens"], gold_mask
        else:
            rows = ~keep_gold
            student_prev, student_mask = self.student_contexts(
                model, net_input, rows, gold_mask[rows].sum(dim=1))
            prev, mask = imitkd.merge_contexts(net_input["prev_output_tokens"], gold_mask,
                                               keep_gold, student_prev, student_mask,
                                               self.padding_idx)
        inputs = {**net_input, "prev_output_tokens": prev}
        student = model(**inputs)[0]
        teacher = self.teacher_logits({"net_input": inputs}, student)
        if teacher.shape != student.shape:
            raise ValueError(f"teacher output {tuple(teacher.shape)} does not match the "
                             f"student's {tuple(student.shape)}: dictionaries differ")
        loss = imitkd.imitkd_loss(student, teacher, mask, self.labels, self.cfg.imitkd_topk,
                                  self.cfg.imitkd_temperature, reduce=reduce)
        labelled = int(mask.sum())
        sample_size = target.size(0) if self.cfg.sentence_avg else labelled
        logging_output = {"loss": loss.data, "ntokens": sample["ntokens"],
                          "nsentences": target.size(0), "sample_size": sample_size,
                          "labelled": labelled, "beta": beta,
                          "student_contexts": int((~keep_gold).sum())}
        return loss, sample_size, logging_output

    @classmethod
    def reduce_metrics(cls, logging_outputs):
        total = sum(log.get("loss", 0) for log in logging_outputs)
        sample_size = sum(log.get("sample_size", 0) for log in logging_outputs)
        sentences = sum(log.get("nsentences", 0) for log in logging_outputs)
        metrics.log_scalar("loss", total / max(sample_size, 1) / math.log(2), sample_size,
                           round=3)
        if logging_outputs:
            metrics.log_scalar("beta", sum(log.get("beta", 0) for log in logging_outputs)
                               / len(logging_outputs), round=3)
        metrics.log_scalar("student_ctx", sum(log.get("student_contexts", 0)
                                              for log in logging_outputs) / max(sentences, 1),
                           sentences, round=3)
