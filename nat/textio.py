"""Line-oriented text files: strict UTF-8, parallel-count checks, atomic writes.

Every stage of the pipeline reads and writes one sentence per line; these helpers make the
failure modes loud (a named file and line number) instead of silently shorter outputs.
"""
import json
import os
import shutil
import tempfile

from nat.errors import UserError


def _named(flag, path):
    return f"{flag} {path}" if flag else str(path)


def input_file(path, flag=None):
    """``path`` if it is a readable file; else a one-line UserError naming ``flag`` and path."""
    name = _named(flag, path)
    if not os.path.exists(path):
        raise UserError(f"{name}: no such file")
    if os.path.isdir(path):
        raise UserError(f"{name}: is a directory, expected a file")
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise UserError(f"{name}: cannot read it ({err.strerror})") from None
    return path


def input_dir(path, flag=None):
    """``path`` if it is a directory; else a one-line UserError naming ``flag`` and path."""
    name = _named(flag, path)
    if not os.path.exists(path):
        raise UserError(f"{name}: no such directory")
    if not os.path.isdir(path):
        raise UserError(f"{name}: is a file, expected a directory")
    return path


def _writable(directory):
    """None if a file can be created in ``directory`` (tried for real: read-only file systems
    and root's permissions are what they are), else the reason."""
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".nat-write-probe-")
    except OSError as err:
        return err.strerror or str(err)
    os.close(fd)
    os.unlink(probe)
    return None


def _dir_problem(path):
    """Why ``path`` cannot be (or become) a directory we write into, or None."""
    if os.path.exists(path):
        if not os.path.isdir(path):
            return "exists and is not a directory"
        reason = _writable(path)
        return f"cannot write into this directory ({reason})" if reason else None
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return f"cannot create it: {parent} is not a directory"
    reason = _writable(parent)
    return f"cannot create it in {parent} ({reason})" if reason else None


def output_dir(path, flag="--out"):
    """Check, before any work, that ``path`` is or can become a writable directory (created
    later by whoever writes it); returns ``path``.  One-line UserError otherwise."""
    problem = _dir_problem(path)
    if problem:
        raise UserError(f"{_named(flag, path)}: {problem}")
    return path


def output_file(path, flag="--out"):
    """Check, before any work, that ``path`` can be written as a file; returns ``path``."""
    name = _named(flag, path)
    if os.path.isdir(path):
        raise UserError(f"{name}: is a directory, expected a file path")
    directory = os.path.dirname(os.path.abspath(path))
    problem = _dir_problem(directory)
    if problem:
        raise UserError(f"{name}: its directory {directory} {problem}")
    return path


def _existing_file(path):
    if not os.path.exists(path):
        raise UserError(f"no such file: {path}")
    if os.path.isdir(path):
        raise UserError(f"expected a file, got a directory: {path}")


def read_lines(path):
    """All lines of a UTF-8 text file without their line endings (``\\r\\n`` accepted)."""
    _existing_file(path)
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
    _existing_file(path)
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


def read_json(path, flag=None):
    """A JSON file's content; a missing, unreadable or malformed file is a one-line UserError."""
    input_file(path, flag)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{_named(flag, path)}: not a JSON file ({str(err).splitlines()[0]})") \
            from None


def write_json_atomic(path, obj, indent=1, sort_keys=False):
    """``obj`` as JSON (UTF-8, non-ASCII kept) at ``path``, atomically (``write_lines_atomic``):
    the one way every manifest, record and result file is written."""
    write_lines_atomic(path, [json.dumps(obj, indent=indent, sort_keys=sort_keys,
                                         ensure_ascii=False)])


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


def make_temp_dir(parent, prefix):
    """A new directory ``parent/<prefix><pid>-XXXX`` with the mode a plain ``mkdir`` gives
    (``mkdtemp`` makes it 0700, which a rename into place would keep)."""
    os.makedirs(parent, exist_ok=True)
    path = tempfile.mkdtemp(dir=parent, prefix=f"{prefix}{os.getpid()}-")
    os.chmod(path, 0o777 & ~_umask())
    return path


def publish(staging, out, marker):
    """Move every entry of ``staging`` into ``out`` (replacing older ones, directories too),
    ``marker`` (the file that says the outputs are complete: a manifest, truth.json) last, and
    the old ``marker`` removed first: ``out`` never shows complete-looking outputs that its
    marker does not describe.  ``staging`` is removed."""
    old_marker = os.path.join(out, marker)
    if os.path.exists(old_marker):
        os.unlink(old_marker)
    for name in sorted(os.listdir(staging), key=lambda n: n == marker):
        source, target = os.path.join(staging, name), os.path.join(out, name)
        if os.path.isdir(target) and not os.path.islink(target):
            trash = os.path.join(staging, f".old-{name}")
            os.replace(target, trash)
            os.replace(source, target)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(source, target)
    shutil.rmtree(staging, ignore_errors=True)


def remove_stale_temp_dirs(parent, prefix):
    """Remove ``make_temp_dir`` directories under ``parent`` whose process is gone (a killed
    run's leftovers); those of live processes are left alone."""
    if not os.path.isdir(parent):
        return
    for name in os.listdir(parent):
        if not name.startswith(prefix):
            continue
        pid = name[len(prefix):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        path = os.path.join(parent, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
