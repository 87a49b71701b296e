"""``--task translation_multilingual_kd``: translation with per-language validation BLEU and the
selective-distillation switch of Tan et al. 2019 (``nat.distill.multilingual_kd``).

At each validation (fairseq's: ``--validate-interval-updates N`` sets the check interval; epoch
ends validate too unless ``--validate-interval`` is larger) the student decodes every valid
sentence greedily (``--eval-bleu-args`` JSON on top of beam 1) and sacreBLEU is computed per
target language, read from the source tag ``<2L>`` (every ``--valid-subset`` together).  The
first validation also decodes with each language's teacher (``--criterion
multilingual_word_kd``) unless ``--teacher-bleu L:B`` gives its BLEU.  Then each language's
switch is set (KD on iff student BLEU < teacher BLEU + ``--kd-margin``) and the criterion reads
it from the next update on.  Logged: ``bleu_L`` on the valid lines, one line per switch.
Saved: ``SAVE_DIR/multilingual_kd.json`` (rule, teachers' BLEU, every check, every switch) after
each check, and the same in every checkpoint's extra state (fairseq's ``get_checkpoint_dict``),
from which a resumed run continues (fairseq hands it back unless ``--reset-dataloader``).  With
another criterion only the per-language BLEU is logged.
"""
import json
import logging
import os
from argparse import Namespace
from dataclasses import dataclass, field

import torch
from fairseq.data import encoders
from fairseq.logging import metrics
from fairseq.models import BaseFairseqModel
from fairseq.tasks import register_task
from fairseq.tasks.translation import TranslationConfig, TranslationTask
from omegaconf import II

from fairseq_plugins.criterions.multilingual_kd import rows_of, sentence_tags, tag_ids
from nat.distill.multilingual_kd import (BLEU_STATS, MARGIN, SelectiveSchedule, bleu_from_stats,
                                         bleu_stats)
from nat.textio import write_json_atomic

logger = logging.getLogger(__name__)

#: the schedule's file in --save-dir, and its key in a checkpoint's extra state
HISTORY = "multilingual_kd.json"
KEY = "multilingual_kd"


def parse_teacher_bleu(text):
    """``{language: BLEU}`` from ``L:B,L:B``; ValueError naming the bad entry."""
    found = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        language, _, value = entry.partition(":")
        try:
            found[language] = float(value)
        except ValueError:
            raise ValueError(f"--teacher-bleu entry {entry!r}: expected L:BLEU") from None
    return found


@dataclass
class MultilingualKDConfig(TranslationConfig):
    kd_margin: float = field(default=MARGIN, metadata={
        "help": "KD stays on for language L while the student's validation BLEU on L is below "
                "its teacher's plus this margin (Tan et al. 2019: 1)"})
    teacher_bleu: str = field(default="", metadata={
        "help": "L:BLEU,... the teachers' validation BLEU; a language not given is measured "
                "once, at the first validation, decoded as the student is"})
    save_dir: str = II("checkpoint.save_dir")


def _unwrapped(model):
    while not isinstance(model, BaseFairseqModel) and hasattr(model, "module"):
        model = model.module
    return model


def _number(value):
    return value.item() if torch.is_tensor(value) else value


@register_task("translation_multilingual_kd", dataclass=MultilingualKDConfig)
class MultilingualKDTask(TranslationTask):
    def __init__(self, cfg, src_dict, tgt_dict):
        super().__init__(cfg, src_dict, tgt_dict)
        self.tags = tag_ids(src_dict)
        if not self.tags:
            raise ValueError("no language tag <2L> in the source dictionary: binarize the "
                             "corpus with nat-multilingual")
        self.languages = sorted(self.tags)
        self._is_tag = torch.zeros(len(src_dict), dtype=torch.bool)
        self._is_tag[list(self.tags.values())] = True
        self.kd_schedule = None          # made with the criterion, if it has teachers
        self._pending, self._measure, self._updates, self._generators = None, [], 0, {}
        self.tokenizer = encoders.build_tokenizer(Namespace(
            tokenizer=cfg.eval_bleu_detok, **json.loads(cfg.eval_bleu_detok_args or "{}")))
        self._generation = {"beam": 1, **json.loads(cfg.eval_bleu_args or "{}")}

    def build_criterion(self, cfg, from_checkpoint=False):
        criterion = super().build_criterion(cfg, from_checkpoint)
        languages = getattr(criterion, "languages", None)
        if languages:
            self.kd_schedule = SelectiveSchedule(languages, self.cfg.kd_margin,
                                                 parse_teacher_bleu(self.cfg.teacher_bleu))
        return criterion

    # -- validation: per-language BLEU of the student (and, once, of the teachers) --

    def begin_valid_epoch(self, epoch, model):
        super().begin_valid_epoch(epoch, model)
        self._finish_check()
        self._pending = {}
        self._measure = self.kd_schedule.missing_teacher_bleu() if self.kd_schedule else []

    def _generator(self, role, language, model):
        key = (role, language if role == "teacher" else None)
        cached = self._generators.get(key)
        if cached is None or cached[1] is not model:
            cached = self._generators[key] = (
                self.build_generator([model], Namespace(**self._generation)), model)
        return cached[0]

    def valid_step(self, sample, model, criterion):
        loss, sample_size, logging_output = super().valid_step(sample, model, criterion)
        student = _unwrapped(model)
        tags = sentence_tags(sample["net_input"]["src_tokens"], self.src_dict.pad(), self._is_tag)
        for language in self.languages:
            rows = tags.eq(self.tags[language]).nonzero().squeeze(1)
            for role in ("student", "teacher") if language in self._measure else ("student",):
                stats = [0] * BLEU_STATS
                if rows.numel():
                    decoder = student if role == "student" else criterion.teacher(
                        language, next(student.parameters()))
                    stats = bleu_stats(self._inference_with_bleu(
                        self._generator(role, language, decoder), rows_of(sample, rows),
                        decoder))
                prefix = f"_mlkd_{role}_{language}_"
                logging_output.update({f"{prefix}{i}": v for i, v in enumerate(stats)})
                logging_output[f"{prefix}n"] = rows.numel()
        return loss, sample_size, logging_output

    def reduce_metrics(self, logging_outputs, criterion):
        super().reduce_metrics(logging_outputs, criterion)
        for role in ("student", "teacher"):
            for language in self.languages:
                prefix = f"_mlkd_{role}_{language}_"
                if not any(f"{prefix}n" in log for log in logging_outputs):
                    continue
                stats = [sum(_number(log.get(f"{prefix}{i}", 0)) for log in logging_outputs)
                         for i in range(BLEU_STATS)]
                count = sum(_number(log.get(f"{prefix}n", 0)) for log in logging_outputs)
                if self._pending is not None:
                    seen = self._pending.setdefault((role, language), [[0] * BLEU_STATS, 0])
                    seen[0] = [a + b for a, b in zip(seen[0], stats)]
                    seen[1] += count
                if count:
                    for i, value in enumerate(stats):
                        metrics.log_scalar(f"{prefix}{i}", value)
                    metrics.log_derived(
                        ("bleu_" if role == "student" else "teacher_bleu_") + language,
                        lambda meters, p=prefix: round(bleu_from_stats(
                            [meters[f"{p}{i}"].sum for i in range(BLEU_STATS)]), 2))

    # -- the check: after a validation pass, before the next update or checkpoint --

    def _finish_check(self):
        pending, self._pending = self._pending, None
        if not pending:
            return
        bleu = {(role, language): bleu_from_stats(stats)
                for (role, language), (stats, count) in pending.items() if count}
        if self.kd_schedule is None:
            return
        for (role, language), value in sorted(bleu.items()):
            if role == "teacher":
                self.kd_schedule.set_teacher_bleu(language, value)
                logger.info(f"multilingual KD: teacher {language} validation BLEU {value:.2f}")
        student = {language: value for (role, language), value in bleu.items()
                   if role == "student" and language in self.kd_schedule.kd}
        for switch in self.kd_schedule.check(self._updates, student):
            relation = "<" if switch["kd"] else ">="
            logger.info(f"multilingual KD: {switch['language']} switched "
                        f"{'on' if switch['kd'] else 'off'} at update {switch['update']} "
                        f"(student BLEU {switch['student_bleu']:.2f} {relation} teacher "
                        f"{switch['teacher_bleu']:.2f} + margin {switch['margin']:g})")
        self._write_history()

    def _write_history(self):
        if torch.distributed.is_available() and torch.distributed.is_initialized() \
                and torch.distributed.get_rank() != 0:
            return
        write_json_atomic(os.path.join(self.cfg.save_dir, HISTORY), self.kd_schedule.record())

    def train_step(self, sample, model, criterion, optimizer, update_num, ignore_grad=False):
        self._finish_check()
        self._updates = update_num + 1
        return super().train_step(sample, model, criterion, optimizer, update_num, ignore_grad)

    # -- checkpoints: fairseq merges this into extra_state and hands it back on resume --

    def get_checkpoint_dict(self):
        self._finish_check()
        if self.kd_schedule is None:
            return {}
        return {type(self).__name__: {KEY: self.kd_schedule.record()}}

    def set_checkpoint_dict(self, state):
        if self.kd_schedule is not None and KEY in state:
            self.kd_schedule.restore(state[KEY])
            logger.info(f"multilingual KD: schedule restored ({len(self.kd_schedule.checks)} "
                        f"checks, KD {self.kd_schedule.kd})")
