"""``--criterion multilingual_word_kd``: one student, one Word-KD teacher per target language
(Tan et al. 2019).

Each sentence's language is its source's first token, the tag ``<2L>`` (``nat-multilingual``
writes it).  A sentence of language L whose switch is on gets ``(1-a) * label-smoothed NLL +
a * T^2 KL(q_L || p_student)``, ``q_L`` teacher L's top-k distribution renormalised at
temperature T (``word_kd_loss.topk_kd_kl``); any other sentence gets the NLL alone.  The
switches are the task's (``--task translation_multilingual_kd``: off once the student beats
teacher L's validation BLEU by the margin); under another task every teacher stays on.
Teachers (``--teacher-paths xa:A.pt,xb:B.pt``) are loaded like ``--criterion word_kd``'s, run in
eval mode without gradient on their own sentences only, and are neither trained nor saved.
"""
import math
from dataclasses import dataclass, field

import torch
from fairseq.criterions import register_criterion
from fairseq.criterions.label_smoothed_cross_entropy import (
    LabelSmoothedCrossEntropyCriterion, LabelSmoothedCrossEntropyCriterionConfig)
from fairseq.logging import metrics

from fairseq_plugins.criterions.word_kd import load_teacher
from nat.distill import multilingual, word_kd_loss


@dataclass
class MultilingualWordKDConfig(LabelSmoothedCrossEntropyCriterionConfig):
    teacher_paths: str = field(default="", metadata={
        "help": "one teacher per target language, L:PATH,L:PATH (L as in the source tag <2L>; "
                "the data's dictionaries)"})
    kd_alpha: float = field(default=word_kd_loss.ALPHA,
                            metadata={"help": "weight a of the KD term"})
    kd_temperature: float = field(default=word_kd_loss.TEMPERATURE,
                                  metadata={"help": "softmax temperature T"})
    kd_topk: int = field(default=word_kd_loss.TOPK, metadata={
        "help": "teacher tokens kept per position, renormalised (0: the full distribution)"})


def parse_teacher_paths(text):
    """``{language: path}`` from ``L:PATH,L:PATH``; ValueError naming the bad entry."""
    found = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        language, _, path = entry.partition(":")
        if not language or not path or language in found:
            raise ValueError(f"--teacher-paths entry {entry!r}: expected L:PATH, each L once")
        found[language] = path
    if not found:
        raise ValueError("--criterion multilingual_word_kd needs --teacher-paths L:PATH,...")
    return found


def tag_ids(dictionary):
    """``{language: index}`` of every tag ``<2L>`` in ``dictionary``."""
    return {language: i for i, symbol in enumerate(dictionary.symbols)
            if (language := multilingual.language_of(symbol)) is not None}


def sentence_tags(src_tokens, pad, is_tag):
    """Each row's first non-pad token (left or right padding); ValueError unless it is a tag
    (``is_tag``: a bool tensor over the vocabulary)."""
    first = src_tokens.ne(pad).int().argmax(dim=1, keepdim=True)
    tags = src_tokens.gather(1, first).squeeze(1)
    bad = (~is_tag.to(tags.device)[tags]).nonzero()
    if bad.numel():
        raise ValueError(f"{bad.numel()} of {tags.numel()} sources do not start with a "
                         "language tag <2L> (binarize the corpus with nat-multilingual)")
    return tags


def rows_of(sample, rows):
    """The sub-batch of ``sample`` made of ``rows`` (its net_input, target and ids)."""
    return {key: sample[key].index_select(0, rows) for key in ("id", "target") if key in sample} \
        | {"net_input": {k: v.index_select(0, rows) for k, v in sample["net_input"].items()}}


@register_criterion("multilingual_word_kd", dataclass=MultilingualWordKDConfig)
class MultilingualWordKDCriterion(LabelSmoothedCrossEntropyCriterion):
    def __init__(self, task, sentence_avg, label_smoothing, teacher_paths="",
                 kd_alpha=word_kd_loss.ALPHA, kd_temperature=word_kd_loss.TEMPERATURE,
                 kd_topk=word_kd_loss.TOPK, ignore_prefix_size=0, report_accuracy=False,
                 teachers=None):
        super().__init__(task, sentence_avg, label_smoothing, ignore_prefix_size, report_accuracy)
        if not 0.0 <= kd_alpha <= 1.0:
            raise ValueError(f"--kd-alpha {kd_alpha}: must be in [0, 1]")
        if kd_temperature <= 0:
            raise ValueError(f"--kd-temperature {kd_temperature}: must be > 0")
        if kd_topk < 0:
            raise ValueError(f"--kd-topk {kd_topk}: must be >= 0")
        self.alpha, self.temperature, self.topk = kd_alpha, kd_temperature, kd_topk
        tags = tag_ids(task.source_dictionary)
        if teachers is None:
            paths = parse_teacher_paths(teacher_paths)
            unknown = sorted(set(paths) - set(tags))
            if unknown:
                raise ValueError(f"--teacher-paths: no tag {multilingual.tag(unknown[0])} in the "
                                 "source dictionary (languages there: "
                                 f"{', '.join(sorted(tags)) or 'none'})")
            teachers = {language: load_teacher(path, task) for language, path in paths.items()}
        self._teachers = dict(teachers)  # a dict: no submodules, so neither trained nor saved
        self._tag = {language: tags[language] for language in self._teachers}
        is_tag = torch.zeros(len(task.source_dictionary), dtype=torch.bool)
        is_tag[list(tags.values())] = True
        self._is_tag = is_tag

    @property
    def languages(self):
        return sorted(self._teachers)

    def teacher(self, language, like):
        """Teacher ``language`` on ``like``'s device and dtype, in eval mode."""
        teacher = self._teachers[language]
        param = next(teacher.parameters())
        if param.device != like.device or param.dtype != like.dtype:
            teacher = self._teachers[language] = teacher.to(device=like.device, dtype=like.dtype)
        return teacher.eval()

    def distilled(self, language):
        """Whether ``language``'s switch is on (the task's schedule; always without one)."""
        schedule = getattr(self.task, "kd_schedule", None)
        return schedule is None or schedule.active(language)

    def forward(self, model, sample, reduce=True):
        net_output = model(**sample["net_input"])
        nll_part, nll_loss = self.compute_loss(model, net_output, sample, reduce=False)
        student = net_output[0]
        bsz, skip = student.size(0), self.ignore_prefix_size
        nll_part, nll_loss = nll_part.view(bsz, -1), nll_loss.view(bsz, -1)
        target = model.get_targets(sample, net_output)[:, skip:]
        tags = sentence_tags(sample["net_input"]["src_tokens"], self.padding_idx, self._is_tag)
        kd = torch.zeros(nll_part.shape, dtype=torch.float32, device=student.device)
        weight = torch.zeros(bsz, 1, dtype=nll_part.dtype, device=student.device)
        for language in self.languages:
            rows = tags.eq(self._tag[language]).nonzero().squeeze(1)
            if rows.numel() == 0 or not self.distilled(language):
                continue
            with torch.no_grad():
                teacher = self.teacher(language, student)(**rows_of(sample, rows)["net_input"])[0]
            mine = student.index_select(0, rows)
            if teacher.shape != mine.shape:
                raise ValueError(f"teacher {language} output {tuple(teacher.shape)} does not "
                                 f"match the student's {tuple(mine.shape)}: dictionaries differ")
            mask = target.index_select(0, rows).ne(self.padding_idx)
            kd = kd.index_copy(0, rows, word_kd_loss.topk_kd_kl(
                mine[:, skip:], teacher[:, skip:], mask, self.topk, self.temperature,
                reduce=False))
            weight[rows] = self.alpha
        kd = kd.to(nll_part.dtype)
        loss = (1.0 - weight) * nll_part + weight * kd
        kd_tokens = (target.ne(self.padding_idx) & weight.ne(0)).sum()
        if reduce:
            loss, nll_loss = loss.sum(), nll_loss.sum()
        else:
            loss = loss.view(-1)
        sample_size = sample["target"].size(0) if self.sentence_avg else sample["ntokens"]
        logging_output = {"loss": loss.data, "nll_loss": nll_loss.data, "kd_loss": kd.sum().data,
                          "kd_tokens": kd_tokens.data, "ntokens": sample["ntokens"],
                          "nsentences": bsz, "sample_size": sample_size}
        return loss, sample_size, logging_output

    @classmethod
    def reduce_metrics(cls, logging_outputs):
        """``kd_loss``: bits per distilled token; ``kd_frac``: share of target tokens distilled."""
        super().reduce_metrics(logging_outputs)
        kd_sum = sum(log.get("kd_loss", 0) for log in logging_outputs)
        kd_tokens = sum(log.get("kd_tokens", 0) for log in logging_outputs)
        ntokens = sum(log.get("ntokens", 0) for log in logging_outputs)
        metrics.log_scalar("kd_loss", kd_sum / max(kd_tokens, 1) / math.log(2), kd_tokens,
                           round=3)
        metrics.log_scalar("kd_frac", kd_tokens / max(ntokens, 1), ntokens, round=3)
