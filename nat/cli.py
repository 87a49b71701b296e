"""Shared command-line plumbing: one-line errors instead of tracebacks, the compat layer on."""
import argparse
import functools
import os
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
