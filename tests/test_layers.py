"""The layers run one way: a module imports only from its own layer or lower ones.

    commands        data_scripts.*, analysis.cli, nat.bench.cli
    orchestration   nat.experiment, nat.bench
    analysis        analysis.*
    building blocks nat.ctc, nat.dag, nat.glancing, nat.upsample, nat.toy, nat.synth,
                    nat.prepare, nat.distill, nat.translate, fairseq_plugins
    core            nat.errors, nat.textio, nat.hashing, nat.cli, nat.compat, nat.console_pool,
                    nat.fairseq_cli, nat.fairseq_batch

Every import statement of every module is read with ``ast`` (imports inside functions too: a
lazy import is still a dependency).  A module missing from the table fails the test, so a new
file has to be placed in a layer.
"""
import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("nat", "analysis", "data_scripts", "fairseq_plugins")
#: (layer, module prefixes), lowest first; the longest matching prefix decides
LAYERS = [
    ("core", ("nat", "nat.errors", "nat.textio", "nat.hashing", "nat.cli", "nat.compat",
              "nat.console_pool",
              "nat.fairseq_cli", "nat.fairseq_batch")),
    ("building blocks", ("nat.ctc", "nat.dag", "nat.glancing", "nat.upsample", "nat.toy",
                         "nat.synth", "nat.prepare", "nat.distill", "nat.translate",
                         "fairseq_plugins")),
    ("analysis", ("analysis",)),
    ("orchestration", ("nat.experiment", "nat.bench")),
    ("commands", ("data_scripts", "analysis.cli", "nat.bench.cli")),
]


def layer_of(module):
    """(rank, name) of the layer owning ``module``, or None if no prefix matches."""
    best = None
    for rank, (name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), rank, name)
    return best and best[1:]


def modules():
    """{module name: path} of every .py file of the project's packages."""
    found = {}
    for package in PACKAGES:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    module = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                    found[module.removesuffix(".__init__")] = path
    return found


def imported(path, module):
    """Project modules imported anywhere in the file at ``path`` (relative imports resolved)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    return {n for n in names if n.split(".")[0] in PACKAGES}


def upward_imports(found):
    """["a.b (layer) imports c.d (higher layer)", ...] over ``found`` ({module: path})."""
    bad = []
    for module, path in sorted(found.items()):
        mine = layer_of(module)
        for target in sorted(imported(path, module)):
            theirs = layer_of(target)
            if theirs and theirs[0] > mine[0]:
                bad.append(f"{module} ({mine[1]}) imports {target} ({theirs[1]})")
    return bad


def test_every_module_has_a_layer():
    assert [m for m in modules() if layer_of(m) is None] == []


def test_no_module_imports_a_higher_layer():
    assert upward_imports(modules()) == []


def test_a_planted_upward_import_is_caught(tmp_path):
    """The check itself can fail: a core module importing the experiment is reported."""
    planted = tmp_path / "textio.py"
    planted.write_text("def f():\n    from nat.experiment import pipeline\n", encoding="utf-8")
    relative = tmp_path / "__init__.py"
    relative.write_text("from .experiment import checks\n", encoding="utf-8")
    assert upward_imports({"nat.textio": str(planted)}) == [
        "nat.textio (core) imports nat.experiment (orchestration)",
        "nat.textio (core) imports nat.experiment.pipeline (orchestration)"]
    assert upward_imports({"nat": str(relative)}) == [
        "nat (core) imports nat.experiment (orchestration)",
        "nat (core) imports nat.experiment.checks (orchestration)"]


@pytest.mark.parametrize("module, layer", [("nat.bench.cli", "commands"),
                                           ("nat.bench.dag", "orchestration"),
                                           ("nat.dag", "building blocks"),
                                           ("analysis.cli", "commands")])
def test_longest_prefix_decides(module, layer):
    assert layer_of(module)[1] == layer
