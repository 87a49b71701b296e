"""``nat-experiment --preset real``: its plan and sizing on a tiny real-text sample (nothing is
trained), the learning-curve parser, and the schema of ``validate_every``."""
import pytest

from data_scripts import experiment_cli
from nat import fairseq_cli
from nat.errors import UserError
from nat.experiment import config as presets
from nat.experiment import curves, schema, sizing
from nat.experiment.pipeline import Experiment

VALID_LINE = ("2026-12-03 15:04:53 | INFO | valid | epoch 003 | valid on 'valid' subset | loss "
              "{loss} | nll_loss 7.6 | ppl 409.47{bleu} | wps 12367.5 | wpb 1104.1 | bsz 70.9 | "
              "num_updates {updates} | best_loss 8.1")


def arg(command, flag):
    return command[command.index(flag) + 1]


def test_plan_distils_one_language_candidates_and_validates(user_corpus, tmp_path):
    experiment = Experiment(presets.resolve("real"), str(tmp_path / "run"), quiet=True,
                            data=user_corpus)
    jobs = {job.name: job.command for job in experiment.jobs()}
    assert list(jobs) == ["teacher", "distill", "vanilla_raw", "vanilla_distilled"]
    distill = jobs["distill"]
    assert arg(distill, "--method") == "consistent" and arg(distill, "--beam") == "5"
    assert arg(distill, "--lexicon") == str(tmp_path / "run" / "prepared" / "lexicon.json")
    for name, command in jobs.items():
        if name != "distill":
            assert "--disable-validation" not in command
            assert int(arg(command, "--validate-interval-updates")) > 0
    assert "--eval-bleu" in jobs["teacher"] and "--eval-bleu" not in jobs["vanilla_raw"]
    assert not list(tmp_path.iterdir())  # planning wrote nothing


def test_sizing_warns_on_a_budget_far_below_the_corpus(user_corpus, tmp_path, capsys):
    """The sample has 240 pairs: the real preset's budget is hundreds of epochs of it (no
    epoch warning, but the corpus is too small); the quick preset's tiny NAT at 3 updates is
    far below what it needs."""
    experiment_cli.main(["--preset", "real", "--data", user_corpus, "--out",
                         str(tmp_path / "a"), "--dry-run"])
    out = capsys.readouterr().out
    sizing_lines = out[out.index("sizing:"):].splitlines()
    assert sizing_lines[0].startswith("sizing: ") and " training pairs; pieces per line " \
        "(pieces estimated as characters / 3.3 (not yet prepared))" in sizing_lines[0]
    rows = [line for line in sizing_lines if line.startswith("  teacher ")]
    assert rows and "2000 updates x 4096 tokens" in rows[0] and "min on one core" in rows[0]
    assert any(line.startswith("warning: only ") and "training pairs (< 2000)" in line
               for line in sizing_lines)
    assert not any("epochs of this corpus" in line for line in sizing_lines)
    override = tmp_path / "small.json"
    override.write_text('{"nat": [{"name": "vanilla", "arch": "nat_vanilla_tiny", "updates": 3, '
                        '"lr": 0.002, "warmup": 1, "max_tokens": 2048}]}')
    experiment_cli.main(["--preset", "real", "--data", user_corpus, "--config", str(override),
                         "--out", str(tmp_path / "b"), "--dry-run"])
    warned = [line for line in capsys.readouterr().out.splitlines()
              if line.startswith("warning: vanilla_raw")]
    assert warned and "3 updates are" in warned[0] and "(< 5): expect an undertrained" in \
        warned[0]
    assert not list(tmp_path.glob("a/*")) and not list(tmp_path.glob("b/*"))


def test_sizing_numbers_follow_the_corpus():
    """Epochs and updates per epoch from the tokens per epoch, FILL and max_tokens."""
    class Job:
        def __init__(self, name, updates, tokens, nat):
            self.name, self.updates, self.tool = name, updates, "fairseq-train"
            self.args = ["--max-tokens", tokens] + (["--task", "translation_lev"] if nat else [])
            self.deps = ("teacher",) if nat else ()

    stats = {"pairs": 10000, "tokens_per_epoch": 16384 * sizing.FILL * 10}
    rows, warnings, wall = sizing.plan(stats, [Job("teacher", 90, 16384, False),
                                               Job("vanilla_raw", 100, 16384, True)],
                                       lambda job: 2.0, parallel=2)
    assert [round(r["updates_per_epoch"], 6) for r in rows] == [10.0, 10.0]
    assert [round(r["epochs"], 6) for r in rows] == [9.0, 10.0]
    assert wall == (90 + 100) * 2.0   # the chain teacher -> NAT, longer than the work per core
    assert len(warnings) == 1 and warnings[0].startswith("teacher: 90 updates are 9.0 epochs")


def test_real_preset_needs_data(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        experiment_cli.main(["--preset", "real", "--out", str(tmp_path / "x"), "--dry-run"])
    assert exit_info.value.code == 2
    assert "--preset real is sized for a real corpus: give --data DIR" in capsys.readouterr().err


def test_validate_every_is_checked_and_off_by_default():
    config = presets.resolve("quick")
    assert "validate_every" not in config["teacher"]   # quick's keys (and numbers) unchanged
    assert fairseq_cli.Recipe("transformer_teacher_tiny", 10).args("bin", "save")[-1] == \
        "--disable-validation"
    args = [str(a) for a in fairseq_cli.Recipe("transformer_teacher_tiny", 10,
                                               validate_every=5).args("bin", "save")]
    assert "--disable-validation" not in args and arg(args, "--validate-interval-updates") == "5"
    assert arg(args, "--save-interval-updates") == "5"   # fairseq validates at every save too
    assert args.count("--save-interval-updates") == 1
    config["teacher"]["validate_every"] = -1
    with pytest.raises(UserError, match="teacher.validate_every: must be >= 0"):
        schema.check(config, archs={"transformer_teacher_tiny", "nat_vanilla_tiny",
                                    "nat_ctc_glat_tiny"})


def test_validation_lines_become_a_curve():
    log = "\n".join([
        "2026-12-03 | INFO | train_inner | epoch 001: loss=9.5, num_updates=20",
        VALID_LINE.format(loss="8.7", bleu=" | bleu 1.16", updates=200),
        VALID_LINE.format(loss="8.4", bleu="", updates=250),
        VALID_LINE.format(loss="9.9", bleu="", updates=400),      # killed, resumed from 200:
        VALID_LINE.format(loss="8.2", bleu="", updates=400),      # the last line of 400 wins
    ])
    assert fairseq_cli.parse_validation(log) == [
        {"updates": 200, "loss": 8.7, "nll_loss": 7.6, "bleu": 1.16},
        {"updates": 250, "loss": 8.4, "nll_loss": 7.6, "bleu": None},
        {"updates": 400, "loss": 8.2, "nll_loss": 7.6, "bleu": None}]
    assert fairseq_cli.parse_validation("no validation here") == []


@pytest.mark.parametrize("losses, improving", [
    ([9.0, 8.0, 7.0], True), ([9.0, 7.0, 6.95], False),   # under 1% better: flat
    ([9.0, 7.0, 7.5], False), ([9.0], False)])
def test_still_improving(losses, improving):
    curve = [{"updates": 100 * (k + 1), "loss": v} for k, v in enumerate(losses)]
    best, at, found = curves.trend(curve)
    assert found is improving and best == min(losses)
    assert at == 100 * (losses.index(min(losses)) + 1)


def test_config_may_set_an_optional_key_its_preset_leaves_out():
    """quick's teacher has no ``validate_every``: --config may add it (the schema knows it), a
    misspelt key is still refused."""
    merged = presets.deep_merge(presets.QUICK, {"teacher": {"validate_every": 15}})
    assert merged["teacher"]["validate_every"] == 15 and "validate_every" not in \
        presets.QUICK["teacher"]
    with pytest.raises(UserError, match="unknown config key: teacher.validate_evry"):
        presets.deep_merge(presets.QUICK, {"teacher": {"validate_evry": 15}})
    with pytest.raises(UserError, match="unknown config key: prepare.vocab"):
        presets.deep_merge(presets.QUICK, {"prepare": {"vocab": 5}})
