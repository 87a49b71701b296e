"""nat-bench methods: the plan (--dry-run) lists real commands for every method; nothing runs."""
import pytest

from nat import fairseq_cli
from nat.bench import methods
from nat.errors import UserError


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(fairseq_cli, "cuda_available", lambda: False)


def plan(tmp_path, **kw):
    opts = methods.MethodsOptions(experiment=str(tmp_path / "exp"), out=str(tmp_path / "out"),
                                  **kw)
    return methods.Plan(opts)


def test_plan_covers_every_method_with_real_commands(tmp_path, no_cuda):
    p = plan(tmp_path)
    names = [s.name for s in p.steps]
    assert len(names) == len(set(names))
    for method in methods.METHODS:
        assert any(n.startswith(method + "/generate") for n in names), method
        assert any(s.method == method for s in p.systems), method
    known = set()
    for step in p.steps:       # every dependency is an earlier step
        assert set(step.deps) <= known, step.name
        known.add(step.name)
        assert step.command_lines(), step.name
    lines = [l for s in p.steps for l in s.command_lines()]
    text = "\n".join(lines)
    teacher = str(tmp_path / "exp" / "checkpoints" / "teacher" / "checkpoint_last.pt")
    assert f"--path {teacher}:" in text                        # ensemble distillation
    assert any("--backend command" in l and "--teacher-cmd" in l and " --target " not in l
               for l in lines)                               # black box, monolingual
    assert "--criterion imitkd" in text and "--criterion word_kd" in text
    assert any(l.startswith("nat-shrink ") for l in lines) and "--finetune-from-model" in text
    assert "--arch lstm_student_tiny" in text and "--arch cmlm_tiny" in text
    for passes in methods.CMLM_PASSES:
        assert f"--iter-decode-max-iter {passes - 1} --iter-decode-force-max-iter" in text
    # every system is scored by the real nat-analyze, one analysis directory each
    analyses = [s.analysis for s in p.systems]
    assert len(set(analyses)) == len(analyses)
    assert sum(l.startswith("nat-analyze outputs") for l in lines) == len(p.systems)
    assert all(f"--max-update {p.o.updates} " in l for l in lines
               if l.startswith("fairseq-train") and "teacher_seed" not in l)


def test_subset_and_dry_run_print(tmp_path, no_cuda, capsys):
    p = plan(tmp_path, methods="lstm,cmlm")
    assert {s.method for s in p.systems} == {"lstm", "cmlm"}
    opts = methods.MethodsOptions(experiment=str(tmp_path / "exp"), out=str(tmp_path / "o"),
                                  methods="shrink", dry_run=True)
    assert methods.main(opts) == 0
    out = capsys.readouterr().out
    assert "nat-shrink" in out and not (tmp_path / "o").exists()


def test_bad_options_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="--methods"):
        plan(tmp_path, methods="lstm,bogus")
    with pytest.raises(UserError, match="--experiment"):
        methods.Plan(methods.MethodsOptions())
