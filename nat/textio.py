"""Line-oriented text files: strict UTF-8, parallel-count checks, atomic writes.

Every stage of the pipeline reads and writes one sentence per line; these helpers make the
failure modes loud (a named file and line number) instead of silently shorter outputs.
"""
import os
import tempfile

from nat.errors import UserError


def read_lines(path):
    """All lines of a UTF-8 text file without their line endings (``\\r\\n`` accepted)."""
    if not os.path.exists(path):
        raise UserError(f"no such file: {path}")
    if os.path.isdir(path):
        raise UserError(f"expected a file, got a directory: {path}")
    lines = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                raise UserError(f"{path}:{number}: invalid UTF-8 ({err.reason})") from None
            lines.append(text.rstrip("\n").rstrip("\r"))
    return lines


def count_lines(path):
    """Number of lines (a last line without a newline counts)."""
    if not os.path.exists(path):
        raise UserError(f"no such file: {path}")
    count, last = 0, b"\n"
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (0 if last == b"\n" else 1)


def check_parallel(*paths):
    """Raise a one-line error naming the files and counts unless all have equal line counts."""
    counts = [count_lines(p) for p in paths]
    if len(set(counts)) > 1:
        listing = ", ".join(f"{p} has {n}" for p, n in zip(paths, counts))
        raise UserError(f"line counts differ: {listing}")
    return counts[0] if counts else 0


def read_parallel(*paths):
    """Read files that must be line-aligned; returns one list of lines per file."""
    check_parallel(*paths)
    return [read_lines(p) for p in paths]


def write_lines_atomic(path, lines):
    """Write lines (each gets ``\\n``) to ``path`` via a temp file + rename: never half a file."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            for line in lines:
                handle.write(line)
                handle.write("\n")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
