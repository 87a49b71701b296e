"""Shared command-line plumbing: one-line errors instead of tracebacks, the compat layer on."""
import argparse
import dataclasses
import functools
import os
import signal
import subprocess
import sys

from nat.errors import UserError


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line too (raised as UserError inside ``command``)."""

    def error(self, message):
        raise UserError(message)


def command(name):
    """Decorate a ``main(argv=None)``: install the compat layer, map errors to one line.

    ``UserError`` (bad input) and a missing file become ``name: error: message`` on stderr with
    exit status 2; Ctrl-C exits 130. Anything else is a bug and keeps its traceback.
    """

    def wrap(main):
        @functools.wraps(main)
        def run(argv=None):
            from nat import compat

            compat.install()
            try:
                return main(argv)
            except UserError as err:
                print(f"{name}: error: {err}", file=sys.stderr)
                sys.exit(2)
            except FileNotFoundError as err:
                print(f"{name}: error: no such file: {err.filename or err}", file=sys.stderr)
                sys.exit(2)
            except KeyboardInterrupt:
                print(f"{name}: interrupted", file=sys.stderr)
                sys.exit(130)

        return run

    return wrap


def bin_path(tool):
    """Path of a console script installed next to the running interpreter (the venv's)."""
    candidate = os.path.join(os.path.dirname(sys.executable), tool)
    return candidate if os.path.exists(candidate) else tool


def _bounded_int(minimum, what):
    def parse(text):
        try:
            value = int(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _bounded_float(minimum, inclusive, what):
    def parse(text):
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value != value or value in (float("inf"), float("-inf")) or \
                (value < minimum if inclusive else value <= minimum):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value

    parse.__name__ = f"number {'>=' if inclusive else '>'} {minimum}"
    return parse


# argparse ``type=`` checks: ``--threads 0`` becomes ``argument --threads: must be ...``.
positive_int = _bounded_int(1, "a positive integer (>= 1)")
nonnegative_int = _bounded_int(0, "a non-negative integer (>= 0)")
positive_float = _bounded_float(0.0, False, "a positive number (> 0)")
nonnegative_float = _bounded_float(0.0, True, "a non-negative number (>= 0)")


def die_with_parent(parent_pid):
    """``preexec_fn`` for children: on Linux, SIGKILL the child when its parent dies (even by
    SIGKILL, when no ``finally`` runs); elsewhere a no-op."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl   # looked up before the fork
    except (OSError, AttributeError):                    # pragma: no cover - not Linux
        return lambda: None
    pr_set_pdeathsig = 1

    def preexec():
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:                   # the parent died before prctl
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def run_owned(cmd, **popen_kwargs):
    """``subprocess.run`` (stdout captured) for a child that never outlives this process: it gets
    SIGKILL when this process dies, and is killed when waiting for it is interrupted (Ctrl-C,
    any exception).  Returns ``(returncode, stdout)``."""
    popen_kwargs.setdefault("stdout", subprocess.PIPE)
    proc = subprocess.Popen(cmd, preexec_fn=die_with_parent(os.getpid()), **popen_kwargs)
    try:
        stdout, _ = proc.communicate()
    except BaseException:
        stop_child(proc)
        raise
    return proc.returncode, stdout


def stop_child(proc, grace=5.0):
    """Terminate ``proc`` (SIGTERM, then SIGKILL after ``grace`` seconds) and reap it."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    except ProcessLookupError:  # pragma: no cover - it ended meanwhile
        pass


def arg(help, default=dataclasses.MISSING, **metadata):
    """A dataclass field that is also a command-line argument (``add_dataclass_arguments``):
    ``help`` and ``metadata`` say how it reads; a list or dict default is copied per instance."""
    metadata = {"help": help, **metadata}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def field_default(f):
    """The default of dataclass field ``f`` (its factory's value), or ``dataclasses.MISSING``."""
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


def _shown(value, one_token):
    """A default as it would be typed: lists space-separated, or comma-separated where the
    argument takes one token."""
    if isinstance(value, (list, tuple)):
        value = ("," if one_token else " ").join(map(str, value))
    return str(value).replace("%", "%%")


def _argument(f, override):
    """``(names, add_argument keywords)`` of dataclass field ``f``; ``override`` wins."""
    meta, default = f.metadata, field_default(f)
    is_bool = f.type in (bool, "bool") and "action" not in meta
    kwargs = {k: meta[k] for k in ("type", "choices", "nargs", "action", "metavar") if k in meta}
    if is_bool:
        kwargs["action"] = "store_false" if default else "store_true"
    elif "type" not in meta and f.type in (int, float, "int", "float"):
        kwargs["type"] = int if f.type in (int, "int") else float
    if meta.get("positional"):
        names = [f.name]
    else:
        off = "no-" if is_bool and default else ""
        names = [meta.get("flag", "--" + off + f.name.replace("_", "-"))]
        kwargs.update(dest=f.name, required=default is dataclasses.MISSING)
    if default is not dataclasses.MISSING:
        kwargs["default"] = default
    kwargs["help"] = meta.get("help")
    kwargs.update(override)
    value = kwargs.get("default")
    if kwargs.get("action") in (None, "store") and value not in (None, "", [], ()):
        shown = f"(default: {_shown(value, 'nargs' not in kwargs)})"
        kwargs["help"] = f"{kwargs['help']} {shown}" if kwargs["help"] else shown
    return names, kwargs


def add_dataclass_arguments(parser, cls, exclude=(), **overrides):
    """Add one argument per field of the dataclass ``cls`` to ``parser`` (an ``ArgumentParser``
    or a subparser): the dataclass is the one place a default and its help live.  Returns the
    argument groups made, by title, for hand-written flags to join.

    Field metadata (see ``arg``): ``help``; ``flag`` (default ``--field-name``); ``positional``;
    ``type`` (default: ``int``/``float`` from the annotation), ``choices``, ``nargs``,
    ``action``, ``metavar``; ``group``, the title of the argument group it is listed under.
    A bool field is a switch: ``--name`` sets a False default, ``--no-name`` clears a True
    one (its help says what the switch does).  A field without a default is required; a
    default is the argument's, shown in the help as ``(default: ...)``.  Fields in ``exclude``
    are no arguments; ``overrides`` (field name -> ``add_argument`` keywords) are for a flag
    the command resolves itself, e.g. a default that depends on the environment.  Parsed
    values sit under the field names, ready for ``config_from``.
    """
    groups = {}
    for f in dataclasses.fields(cls):
        if f.name in exclude:
            continue
        names, kwargs = _argument(f, overrides.get(f.name, {}))
        title = f.metadata.get("group")
        if title is not None and title not in groups:
            groups[title] = parser.add_argument_group(title)
        (groups[title] if title is not None else parser).add_argument(*names, **kwargs)
    return groups


def add_subcommand(subparsers, name, schema, run, **parser_kwargs):
    """Subcommand ``name`` with the fields of dataclass ``schema`` as its flags; parsing sets
    ``func``, which calls ``run`` with the ``schema`` built from the parsed flags."""
    parser = subparsers.add_parser(name, **parser_kwargs)
    add_dataclass_arguments(parser, schema)

    def call(args):
        return run(config_from(schema, args))

    parser.set_defaults(func=call)
    return parser


def config_from(cls, args, **given):
    """``cls`` (a config dataclass) from parsed ``args``: every field the parser has under the
    field's own name (as ``add_dataclass_arguments`` puts them), plus ``given`` for the fields
    the command resolves itself."""
    names = {f.name for f in dataclasses.fields(cls)}
    found = {k: v for k, v in vars(args).items() if k in names and k not in given}
    return cls(**found, **given)
