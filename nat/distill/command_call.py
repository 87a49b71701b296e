"""One call of a black-box teacher command: lines on stdin, answer lines on stdout.

The command runs under ``/bin/sh -c`` in a session of its own, so a timeout kills it with every
process it started; it also dies with this process (``nat.cli.die_with_parent``).
"""
import os
import shlex
import shutil
import signal
import subprocess

from nat.cli import die_with_parent
from nat.hashing import file_sha256


class CallFailed(Exception):
    """Why a call gave no answer to use (one line; the caller names the lines it held)."""


def call(command, lines, timeout):
    """The command's stdout lines for ``lines``; CallFailed on a timeout, a non-zero exit or an
    answer that is not UTF-8.  The count is the caller's to check."""
    payload = "".join(line + "\n" for line in lines).encode("utf-8")
    proc = subprocess.Popen(["/bin/sh", "-c", command], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=die_with_parent(os.getpid()))
    try:
        out, err = proc.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise CallFailed(f"no answer within --teacher-timeout {timeout:g} s (killed)") from None
    except BaseException:
        _kill_group(proc)
        raise
    if proc.returncode != 0:
        raise CallFailed(f"{_exit_status(proc.returncode)}{_last_line(err)}")
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CallFailed(f"answer is not UTF-8 ({error.reason} at byte {error.start})") from None
    return split_answer(text)


def split_answer(text):
    """Lines of an answer: split at ``\\n`` only (a last line may lack it; ``\\r\\n`` accepted)."""
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a descendant left the session and holds the pipes
        proc.kill()


def _exit_status(code):
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _last_line(stderr):
    """`` (last stderr line)``, shortened, or empty."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    return f" ({lines[-1][:200]})" if lines else ""


def executable(command):
    """Real path of the program ``command`` starts (after ``VAR=value`` words), or None (a shell
    builtin, a syntax ``shlex`` cannot read, not found)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    while words and "=" in words[0] and not words[0].startswith(("=", "/", ".")):
        words.pop(0)
    if not words:
        return None
    path = words[0] if "/" in words[0] else shutil.which(words[0])
    return os.path.realpath(path) if path and os.path.isfile(path) else None


def identity(command):
    """What the store key and manifest record of a command: its exact string and the sha256 of
    its executable (a script run by an interpreter is not hashed: only the interpreter)."""
    path = executable(command)
    return {"command": command, "executable": path,
            "executable_sha256": file_sha256(path) if path else None}
