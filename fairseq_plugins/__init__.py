"""nat-kd's fairseq plugins: pass this directory to ``fairseq-* --user-dir``.

Importing it installs the compatibility layer (safe checkpoint loading on torch >= 2.6, numpy
alias fixes) and registers every model, criterion and task module found in the subpackages.
Each module is one concept; the math lives in the ``nat`` library.
"""
import importlib
import pathlib

from nat import compat

with compat.fairseq_logging_kept():
    import fairseq  # noqa: F401  (the compat layer patches fairseq modules, so load it first)

compat.install()

_HERE = pathlib.Path(__file__).resolve().parent
for _sub in ("models", "criterions", "tasks"):
    for _file in sorted((_HERE / _sub).glob("*.py")):
        if not _file.name.startswith("_"):
            importlib.import_module(f"{__name__}.{_sub}.{_file.stem}")
