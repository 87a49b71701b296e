"""Multilingual selective distillation (Tan et al. 2019): the switch on hand-made BLEU, top-k
Word-KD against brute force, each sentence routed to its own language's teacher, the tagged
corpus, and one real 3-language fairseq-train run whose switch turns off and back on."""
import json
import math
import os
import re
from argparse import Namespace

import pytest
import torch

from nat.distill.multilingual_kd import (SelectiveSchedule, bleu_from_stats, bleu_stats, kd_on)
from nat.distill.word_kd_loss import topk_kd_kl
from nat.distill.word_kd_loss import word_kd_kl

HERE = os.path.dirname(os.path.abspath(__file__))


# -- the switch --------------------------------------------------------------------------------

def test_the_rule_is_strict_at_the_margin():
    """KD on iff student < teacher + margin: at exactly teacher + margin it is off."""
    assert kd_on(30.99, 30.0, 1.0) and not kd_on(31.0, 30.0, 1.0) and not kd_on(31.01, 30.0, 1.0)
    assert kd_on(28.9, 30.0, -1.0) and not kd_on(29.0, 30.0, -1.0)


def test_switch_turns_off_and_back_on_at_the_margin():
    schedule = SelectiveSchedule(["xa", "xb"], margin=1.0, teacher_bleu={"xa": 30.0, "xb": 20.0})
    assert schedule.active("xa") and schedule.active("xb")    # Algorithm 1 starts with KD on
    sequence = [(100, {"xa": 10.0, "xb": 25.0}, {"xa": True, "xb": False}),
                (200, {"xa": 30.9, "xb": 21.0}, {"xa": True, "xb": False}),    # 21 = 20 + 1
                (300, {"xa": 31.0, "xb": 20.99}, {"xa": False, "xb": True}),   # back on for xb
                (400, {"xa": 35.0}, {"xa": False, "xb": True}),               # xb: no data
                (500, {"xa": 30.5, "xb": 22.0}, {"xa": True, "xb": False})]
    for update, bleu, expected in sequence:
        schedule.check(update, bleu)
        assert schedule.kd == expected, update
    assert [(s["update"], s["language"], s["kd"]) for s in schedule.switches] == [
        (100, "xb", False), (300, "xa", False), (300, "xb", True), (500, "xa", True),
        (500, "xb", False)]
    assert schedule.switches[1] == {"update": 300, "language": "xa", "kd": False,
                                    "student_bleu": 31.0, "teacher_bleu": 30.0, "margin": 1.0}
    assert [c["update"] for c in schedule.checks] == [100, 200, 300, 400, 500]
    assert schedule.checks[3]["student_bleu"] == {"xa": 35.0}

    record = json.loads(json.dumps(schedule.record()))       # JSON-able, as saved
    resumed = SelectiveSchedule(["xa", "xb"], margin=2.0)
    resumed.restore(record)
    assert (resumed.kd, resumed.teacher_bleu, resumed.checks, resumed.switches) == (
        schedule.kd, schedule.teacher_bleu, schedule.checks, schedule.switches)
    assert resumed.margin == 2.0 and not resumed.missing_teacher_bleu()


def test_schedule_refuses_what_it_cannot_judge():
    schedule = SelectiveSchedule(["xa", "xb"], teacher_bleu={"xa": 30.0})
    assert schedule.missing_teacher_bleu() == ["xb"] and not schedule.active("xc")
    with pytest.raises(ValueError, match="no teacher BLEU for"):
        schedule.check(10, {"xa": 1.0, "xb": 1.0})
    with pytest.raises(ValueError, match="unknown language 'xc'"):
        schedule.set_teacher_bleu("xc", 3.0)
    with pytest.raises(ValueError, match="saved schedule is for"):
        SelectiveSchedule(["xa"]).restore(schedule.record())


def test_bleu_from_summed_stats_is_corpus_bleu():
    import sacrebleu

    hyps = ["a b c d", "e f g", "h i j k l", "a a b"]
    refs = ["a b c d e", "e f x", "h i j k l", "b a b"]
    parts = [sacrebleu.corpus_bleu(hyps[i:i + 2], [refs[i:i + 2]]) for i in (0, 2)]
    summed = [a + b for a, b in zip(*(bleu_stats(p) for p in parts))]
    whole = sacrebleu.corpus_bleu(hyps, [refs]).score
    assert bleu_from_stats(summed) == pytest.approx(whole, abs=1e-9)


# -- top-k Word-KD -----------------------------------------------------------------------------

def test_topk_with_k_equal_to_the_vocabulary_is_full_word_kd():
    torch.manual_seed(2)
    s, t = torch.randn(2, 3, 7), torch.randn(2, 3, 7)
    mask = torch.tensor([[True, True, False], [True, False, True]])
    for temperature in (1.0, 0.6, 2.0):
        full = word_kd_kl(s, t, mask, temperature)
        assert topk_kd_kl(s, t, mask, 7, temperature).item() == pytest.approx(full.item(),
                                                                              rel=1e-5)
        assert torch.equal(topk_kd_kl(s, t, mask, 0, temperature), full)


def test_topk_renormalises_the_teacher_over_its_k_best():
    torch.manual_seed(3)
    s, t = torch.randn(4, 6), torch.randn(4, 6)
    mask = torch.tensor([True, True, False, True])
    k, temp = 2, 1.5
    total = 0.0
    for row in range(4):
        if not mask[row]:
            continue
        best = sorted(range(6), key=lambda v: -t[row, v].item())[:k]
        q = {v: math.exp(t[row, v].item() / temp) for v in best}
        norm = sum(q.values())
        log_z = math.log(sum(math.exp(x / temp) for x in s[row].tolist()))
        total += temp ** 2 * sum(q[v] / norm * (math.log(q[v] / norm)
                                                - (s[row, v].item() / temp - log_z))
                                 for v in best)
    assert topk_kd_kl(s, t, mask, k, temp).item() == pytest.approx(total, rel=1e-5)


# -- routing: each sentence against its own language's teacher ---------------------------------

LANGS = ("xa", "xb", "xc")
WORDS = [f"w{i}" for i in range(12)]


@pytest.fixture(scope="module")
def routing():
    """A plain translation task over a dictionary with tags, a student and three teachers with
    different random weights, and a batch mixing the three languages."""
    import fairseq_plugins  # noqa: F401  (registers the tiny architectures)
    from fairseq import models
    from fairseq.data import Dictionary, LanguagePairDataset
    from fairseq.tasks.translation import TranslationConfig, TranslationTask

    from nat.distill.multilingual import tag

    vocab = Dictionary()
    for symbol in [tag(lang) for lang in LANGS] + WORDS:
        vocab.add_symbol(symbol)
    task = TranslationTask(TranslationConfig(), vocab, vocab)
    built = {}
    for seed, name in enumerate(("student",) + LANGS):
        torch.manual_seed(seed)
        arch = "transformer_student_tiny" if name == "student" else "transformer_teacher_tiny"
        built[name] = models.build_model(Namespace(arch=arch), task).eval()
    generator = torch.Generator().manual_seed(5)
    languages = ["xa", "xb", "xc", "xb", "xa", "xc", "xa"]
    sources, targets = [], []
    for i, lang in enumerate(languages):
        words = torch.randint(len(vocab.symbols) - len(WORDS), len(vocab.symbols), (2 + i % 4,),
                              generator=generator)
        sources.append(torch.cat([torch.tensor([vocab.index(tag(lang))]), words,
                                  torch.tensor([vocab.eos()])]))
        targets.append(torch.cat([words.flip(0)[: 1 + i % 3], torch.tensor([vocab.eos()])]))
    data = LanguagePairDataset(sources, [len(s) for s in sources], vocab, targets,
                               [len(t) for t in targets], vocab)
    sample = data.collater([data[i] for i in range(len(sources))])
    order = sample["id"].tolist()                 # the collater sorts by length
    return task, built, sample, [languages[i] for i in order]


def mlkd(task, teachers, alpha=1.0, topk=3, temperature=2.0, eps=0.1):
    from fairseq_plugins.criterions.multilingual_kd import MultilingualWordKDCriterion
    return MultilingualWordKDCriterion(task, False, eps, kd_alpha=alpha, kd_temperature=temperature,
                                       kd_topk=topk, teachers=teachers)


def one_row(sample, row):
    from fairseq_plugins.criterions.multilingual_kd import rows_of
    sub = rows_of(sample, torch.tensor([row]))
    sub["ntokens"] = int(sub["target"].ne(1).sum())
    return sub


def test_each_sentence_is_distilled_from_its_own_languages_teacher(routing):
    task, built, sample, languages = routing
    teachers = {lang: built[lang] for lang in LANGS}
    loss, _, log = mlkd(task, teachers)(built["student"], sample)
    expected = 0.0
    for row, lang in enumerate(languages):   # one sentence at a time, through its own teacher
        net = one_row(sample, row)["net_input"]
        with torch.no_grad():
            s, t = built["student"](**net)[0], teachers[lang](**net)[0]
        mask = one_row(sample, row)["target"].ne(task.target_dictionary.pad())
        expected += topk_kd_kl(s, t, mask, 3, 2.0).item()
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    assert log["kd_tokens"] == sample["ntokens"]
    swapped = {"xa": built["xb"], "xb": built["xc"], "xc": built["xa"]}
    other, _, _ = mlkd(task, swapped)(built["student"], sample)
    # the teachers do differ: swapping them moves the loss far beyond the tolerance above
    assert abs(other.item() - expected) > 20 * 1e-4 * expected


def test_a_language_switched_off_gets_the_plain_loss(routing):
    from fairseq.criterions.label_smoothed_cross_entropy import \
        LabelSmoothedCrossEntropyCriterion
    from fairseq_plugins.criterions.multilingual_kd import rows_of

    task, built, sample, languages = routing
    teachers = {lang: built[lang] for lang in LANGS}
    task.kd_schedule = SelectiveSchedule(LANGS, teacher_bleu={l: 10.0 for l in LANGS})
    task.kd_schedule.check(7, {"xa": 0.0, "xb": 50.0, "xc": 0.0})
    try:
        loss, _, log = mlkd(task, teachers, alpha=0.5, topk=0)(built["student"], sample)
    finally:
        del task.kd_schedule
    plain = LabelSmoothedCrossEntropyCriterion(task, False, 0.1)
    expected = 0.0
    for lang in LANGS:
        rows = torch.tensor([r for r, l in enumerate(languages) if l == lang])
        sub = rows_of(sample, rows)
        sub["ntokens"] = int(sub["target"].ne(task.target_dictionary.pad()).sum())
        nll = plain(built["student"], sub)[0].item()
        if lang == "xb":
            expected += nll
            continue
        with torch.no_grad():
            s, t = built["student"](**sub["net_input"])[0], teachers[lang](**sub["net_input"])[0]
        expected += 0.5 * nll + 0.5 * word_kd_kl(s, t, sub["target"].ne(1), 2.0).item()
    assert loss.item() == pytest.approx(expected, rel=1e-4)
    n_xb = sum(int(sample["target"][r].ne(1).sum()) for r, l in enumerate(languages) if l == "xb")
    assert log["kd_tokens"] == sample["ntokens"] - n_xb


def test_untagged_sources_and_unknown_teachers_are_refused(routing):
    from fairseq_plugins.criterions.multilingual_kd import parse_teacher_paths

    from fairseq_plugins.criterions.multilingual_kd import MultilingualWordKDCriterion

    task, built, sample, _ = routing
    src = sample["net_input"]["src_tokens"].clone()
    for lang in LANGS:
        src[src == task.source_dictionary.index(f"<2{lang}>")] = task.source_dictionary.index("w0")
    untagged = dict(sample, net_input=dict(sample["net_input"], src_tokens=src))
    with pytest.raises(ValueError, match="7 of 7 sources do not start with a language tag"):
        mlkd(task, {"xa": built["xa"]})(built["student"], untagged)
    with pytest.raises(ValueError, match="no tag <2xd> in the source dictionary"):
        MultilingualWordKDCriterion(task, False, 0.1, teacher_paths="xd:/nonexistent.pt")
    assert parse_teacher_paths("xa:a.pt, xb:/b:c.pt") == {"xa": "a.pt", "xb": "/b:c.pt"}
    for bad in ("xa", "xa:a.pt,xa:b.pt", ""):
        with pytest.raises(ValueError, match="--teacher-paths|needs --teacher-paths"):
            parse_teacher_paths(bad)


# -- the tagged corpus -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synth_corpus(tmp_path_factory):
    from nat.synth import generate_corpus

    out = str(tmp_path_factory.mktemp("ml_synth"))
    generate_corpus(out, mode="all", seed=4, sizes=(40, 4, 2), preset="small")
    return out


def test_nat_multilingual_flags_are_its_config():
    from data_scripts.multilingual_cli import build_parser
    from nat.distill.multilingual import MultilingualConfig

    args = build_parser().parse_args(["--raw", "r", "--out", "o"])
    assert vars(args) == {"raw": "r", "out": "o", "teacher_bins": True, "overwrite": False}
    assert MultilingualConfig(raw="r", out="o") == MultilingualConfig(**vars(args))
    assert build_parser().parse_args(["--raw", "r", "--out", "o", "--no-teacher-bins"]) \
        .teacher_bins is False


def test_bad_corpora_are_one_line_errors(synth_corpus, tmp_path, capsys):
    from data_scripts.multilingual_cli import main

    raw = tmp_path / "raw"
    raw.mkdir()
    for name in os.listdir(synth_corpus):
        if name.split(".")[-1] in ("src", "tgt", "lang"):
            (raw / name).write_text(open(os.path.join(synth_corpus, name)).read())
    lines = (raw / "valid.lang").read_text().splitlines()
    (raw / "valid.lang").write_text("\n".join("xa" if l == "xc" else l for l in lines) + "\n")
    cases = [("valid.lang has no line of xc", None)]
    src = (raw / "train.src").read_text().splitlines()
    cases.append(("train.src:2: token <2xa> reads as a language tag",
                  ("train.src", "\n".join([src[0], "<2xa> " + src[1]] + src[2:]) + "\n")))
    cases.append(("line counts differ", ("train.lang", "xa\n")))
    for message, change in cases:
        if change:
            (raw / change[0]).write_text(change[1])
        with pytest.raises(SystemExit) as exc:
            main(["--raw", str(raw), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1, err
        assert err.startswith("nat-multilingual: error: ") and message in err
        assert not os.path.exists(tmp_path / "out" / "manifest.json")


# -- the real run ------------------------------------------------------------------------------

TRAIN_LINE = re.compile(r"train_inner \|.*kd_frac=([\d.]+),.*num_updates=(\d+),")


def student_args(data_bin, save_dir, teacher, margin, updates):
    from nat import fairseq_cli

    return [data_bin, "--user-dir", fairseq_cli.PLUGIN_DIR, "--task", "translation_multilingual_kd",
            "--arch", "transformer_student_tiny", "--criterion", "multilingual_word_kd",
            "--teacher-paths", ",".join(f"{lang}:{teacher}" for lang in LANGS),
            "--label-smoothing", "0.1", "--kd-margin", margin, "--kd-topk", "4",
            "--eval-bleu-args", '{"max_len_a": 1.2, "max_len_b": 5}', "--optimizer", "adam",
            "--lr", "2e-3", "--max-tokens", "600", "--max-update", updates,
            "--validate-interval-updates", "2", "--validate-interval", "1000",
            "--save-dir", save_dir, "--no-epoch-checkpoints", "--num-workers", "0",
            "--log-format", "simple", "--log-interval", "1", "--required-batch-size-multiple", "1",
            *([] if fairseq_cli.cuda_available() else ["--cpu"])]


@pytest.fixture(scope="module")
def real_run(synth_corpus, tmp_path_factory):
    """nat-multilingual, then in one process (tests/ddp_runner.py: fairseq-train's own
    ``cli_main`` per run): a 2-update teacher (copied to all three languages), the student for
    4 updates with margin -101 (KD must switch off at the first check), then resumed to 6
    updates with margin +101 (KD must switch back on)."""
    from data_scripts.multilingual_cli import main
    from nat import fairseq_cli

    base = str(tmp_path_factory.mktemp("ml_run"))
    corpus = os.path.join(base, "ml")
    main(["--raw", synth_corpus, "--out", corpus, "--no-teacher-bins"])
    data_bin = os.path.join(corpus, "bin")
    teacher_dir, student_dir = os.path.join(base, "teacher"), os.path.join(base, "student")
    teacher = os.path.join(teacher_dir, "checkpoint_last.pt")
    recipe = fairseq_cli.Recipe("transformer_teacher_tiny", 2, warmup=1, max_tokens=2000,
                                extra=fairseq_cli.AR_TRAIN)
    logs = [os.path.join(base, f"{name}.log") for name in ("teacher", "student1", "student2")]
    runs = [recipe.args(data_bin, teacher_dir),
            student_args(data_bin, student_dir, teacher, "-101", "4"),
            student_args(data_bin, student_dir, teacher, "101", "6")]
    spec = os.path.join(base, "runs.json")
    with open(spec, "w", encoding="utf-8") as handle:
        json.dump([{"args": [str(a) for a in args], "log": log}
                   for args, log in zip(runs, logs)], handle)
    fairseq_cli.run_command("python", [os.path.join(HERE, "ddp_runner.py"), spec],
                            log_path=os.path.join(base, "runner.log"))
    return corpus, student_dir, [open(log, encoding="utf-8").read() for log in logs[1:]]


def test_tagged_corpus_has_every_pair_once_with_its_tag(real_run, synth_corpus):
    corpus, _, _ = real_run
    manifest = json.load(open(os.path.join(corpus, "manifest.json")))
    assert manifest["languages"] == list(LANGS) and manifest["teacher_bins"] == {}
    assert manifest["counts"]["train"] == {lang: 40 for lang in LANGS}
    for split in ("train", "valid", "test"):
        raw = {ext: open(os.path.join(synth_corpus, f"{split}.{ext}")).read().splitlines()
               for ext in ("src", "tgt", "lang")}
        tagged = open(os.path.join(corpus, "text", f"{split}.src")).read().splitlines()
        assert tagged == [f"<2{l}> {s}" for s, l in zip(raw["src"], raw["lang"])]
        for lang in LANGS:
            mine = [i for i, l in enumerate(raw["lang"]) if l == lang]
            sub = {ext: open(os.path.join(corpus, "text", lang, f"{split}.{ext}")).read()
                   .splitlines() for ext in ("src", "tgt")}
            assert sub == {"src": [tagged[i] for i in mine], "tgt": [raw["tgt"][i] for i in mine]}
    symbols = [line.split()[0] for line in open(os.path.join(corpus, "bin", "dict.src.txt"))]
    assert {"<2xa>", "<2xb>", "<2xc>"} <= set(symbols)


def test_real_run_switches_kd_off_and_back_on(real_run):
    from nat import compat

    _, student_dir, (first, second) = real_run
    history = json.load(open(os.path.join(student_dir, "multilingual_kd.json")))
    assert [c["update"] for c in history["checks"]] == [2, 4, 6]
    assert [c["kd"] for c in history["checks"]] == [dict.fromkeys(LANGS, False)] * 2 + [
        dict.fromkeys(LANGS, True)]
    assert [(s["update"], s["language"], s["kd"]) for s in history["switches"]] == [
        (2, lang, False) for lang in LANGS] + [(6, lang, True) for lang in LANGS]
    assert history["teacher_bleu_source"] == dict.fromkeys(LANGS, "measured")
    assert "bleu_xc" in first and "bleu_xc" in second                # per-language valid BLEU
    assert "teacher_bleu_xa" in first and "teacher_bleu_xa" not in second  # measured once
    assert "multilingual KD: xb switched off at update 2" in first
    assert "schedule restored (2 checks" in second
    # the criterion follows the switch from the next update on
    frac = {int(u): float(f) for log in (first, second) for f, u in TRAIN_LINE.findall(log)}
    assert frac == {1: 1.0, 2: 1.0, 3: 0.0, 4: 0.0, 5: 0.0, 6: 0.0}
    state = compat.load_checkpoint_safely(os.path.join(student_dir, "checkpoint_last.pt"))
    assert state["extra_state"]["MultilingualKDTask"]["multilingual_kd"] == history
