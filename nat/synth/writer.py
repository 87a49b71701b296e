"""Streaming, atomic output of several line-parallel files at once.

All files of a split are written to temporary names next to their targets and renamed only
when the whole split succeeded, so an interrupted run never leaves a short corpus behind.
"""
import os
import tempfile


def file_mode():
    """Permissions a plainly created file would get (``mkstemp`` makes them 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class ParallelFiles:
    """Context manager: ``files[name].write(text)`` for each ``name``; renamed on success."""

    def __init__(self, directory, names):
        self.directory, self.names = directory, list(names)
        self.files, self.tmp = {}, {}

    def __enter__(self):
        os.makedirs(self.directory, exist_ok=True)
        for name in self.names:
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".tmp-{name}-")
            self.tmp[name] = tmp
            self.files[name] = os.fdopen(fd, "w", encoding="utf-8", newline="\n",
                                         buffering=1 << 20)
        return self.files

    def __exit__(self, exc_type, exc, tb):
        for handle in self.files.values():
            handle.close()
        mode = file_mode()
        for name, tmp in self.tmp.items():
            if exc_type is None:
                os.chmod(tmp, mode)
                os.replace(tmp, os.path.join(self.directory, name))
            elif os.path.exists(tmp):
                os.unlink(tmp)
        return False
