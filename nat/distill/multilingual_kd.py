"""The selective-distillation switch of Tan et al. 2019 (Algorithm 1), one flag per language.

Every language starts with distillation on.  At each check (every validation, i.e. every
``--validate-interval-updates N`` updates), language ``l``'s flag becomes

    KD on  iff  student BLEU(l) < teacher BLEU(l) + margin        (strict: at equality, off)

so distillation stops once the student beats its teacher by the margin (1 BLEU in the paper)
and starts again if the student falls back below it.  The inequality is the authors' code's
(``student_scores[l] < expert_scores[l] + threshold``).  A teacher's BLEU is measured once, on
the same validation set and with the same decoding as the student's.  Pure logic, no fairseq:
the task in fairseq_plugins/tasks/multilingual_kd.py feeds it BLEU and saves ``record()``.
"""

#: the margin tau of the paper, in BLEU
MARGIN = 1.0


def kd_on(student_bleu, teacher_bleu, margin=MARGIN):
    """The rule: distil while the student is below its teacher plus the margin."""
    return student_bleu < teacher_bleu + margin


class SelectiveSchedule:
    """Per-language KD flags, the teachers' BLEU, and every check and switch so far."""

    def __init__(self, languages, margin=MARGIN, teacher_bleu=None):
        self.languages = sorted(languages)
        if not self.languages:
            raise ValueError("selective distillation needs at least one language")
        self.margin = float(margin)
        self.kd = {language: True for language in self.languages}
        self.checks, self.switches = [], []
        self.teacher_bleu, self.teacher_bleu_source = {}, {}
        for language, bleu in (teacher_bleu or {}).items():
            self.set_teacher_bleu(language, bleu, "given")

    def set_teacher_bleu(self, language, bleu, source="measured"):
        if language not in self.kd:
            raise ValueError(f"teacher BLEU for unknown language {language!r} "
                             f"(known: {', '.join(self.languages)})")
        self.teacher_bleu[language] = float(bleu)
        self.teacher_bleu_source[language] = source

    def missing_teacher_bleu(self):
        return [language for language in self.languages if language not in self.teacher_bleu]

    def active(self, language):
        """Whether ``language`` is distilled now (a language without a teacher never is)."""
        return self.kd.get(language, False)

    def check(self, update, student_bleu):
        """Apply the rule after ``update`` updates to ``student_bleu`` ({language: BLEU}; a
        language without validation sentences keeps its flag).  Returns the switches made."""
        missing = [l for l in student_bleu if l in self.kd and l not in self.teacher_bleu]
        if missing:
            raise ValueError(f"no teacher BLEU for {missing}: measure it before the first check")
        made = []
        for language in self.languages:
            if language not in student_bleu:
                continue
            student, teacher = float(student_bleu[language]), self.teacher_bleu[language]
            on = kd_on(student, teacher, self.margin)
            if on != self.kd[language]:
                made.append({"update": update, "language": language, "kd": on,
                             "student_bleu": student, "teacher_bleu": teacher,
                             "margin": self.margin})
            self.kd[language] = on
        self.checks.append({"update": update,
                            "student_bleu": {l: float(b) for l, b in sorted(student_bleu.items())},
                            "kd": dict(self.kd)})
        self.switches += made
        return made

    def record(self):
        """Everything as JSON-able data (saved beside the checkpoints and inside them)."""
        return {"rule": "KD on for language l iff student BLEU(l) < teacher BLEU(l) + margin",
                "margin": self.margin, "languages": self.languages,
                "teacher_bleu": dict(self.teacher_bleu),
                "teacher_bleu_source": dict(self.teacher_bleu_source), "kd": dict(self.kd),
                "checks": [dict(c) for c in self.checks],
                "switches": [dict(s) for s in self.switches]}

    def restore(self, record):
        """Continue from ``record()`` of an earlier run (resumed training): flags, teachers'
        BLEU, history.  The margin stays this schedule's own (the command line's)."""
        if sorted(record["languages"]) != self.languages:
            raise ValueError(f"saved schedule is for {record['languages']}, "
                             f"this run's for {self.languages}")
        for language, bleu in record["teacher_bleu"].items():
            if self.teacher_bleu_source.get(language) != "given":
                self.set_teacher_bleu(language, bleu,
                                      record["teacher_bleu_source"].get(language, "measured"))
        self.kd = {language: bool(record["kd"][language]) for language in self.languages}
        self.checks = [dict(c) for c in record["checks"]]
        self.switches = [dict(s) for s in record["switches"]]


#: sacreBLEU's sufficient statistics of a corpus: 4 n-gram matches, 4 n-gram totals, the
#: hypothesis and reference lengths; they add up over batches and processes
BLEU_STATS = 10


def bleu_stats(score):
    """The statistics of a sacreBLEU ``BLEUScore`` as a list of ``BLEU_STATS`` numbers."""
    return [*score.counts, *score.totals, score.sys_len, score.ref_len]


def bleu_from_stats(stats):
    """Corpus BLEU from summed ``bleu_stats`` (exactly sacreBLEU's ``corpus_bleu`` of all the
    sentences together, default 'exp' smoothing)."""
    from sacrebleu.metrics import BLEU

    stats = [int(round(float(v))) for v in stats]
    return float(BLEU.compute_bleu(correct=stats[:4], total=stats[4:8], sys_len=stats[8],
                                   ref_len=stats[9], smooth_method="exp").score)
