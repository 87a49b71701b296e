"""Progress bars of ``nat-analyze``: tqdm on stderr, off with ``--quiet`` or when stderr is not a
terminal (tqdm's ``disable=None``), like the other commands.

``Steps`` is one bar over the named steps of an analysis.  eflomal runs as one subprocess with no
progress of its own, so a thread redraws the bar every second: its elapsed time keeps moving
while a single long step runs.
"""
import contextlib
import sys
import threading

from tqdm import tqdm


def bar(total=None, desc=None, unit="it", quiet=False, leave=True, position=None):
    """A tqdm bar on stderr; ``quiet`` turns it off, and so does a non-terminal stderr."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=leave,
                disable=True if quiet else None, position=position, mininterval=0.5)


class Steps:
    """``with Steps(['align eflomal', ...]) as steps: with steps.step('align eflomal'): ...``"""

    def __init__(self, names, quiet=False, desc="nat-analyze", refresh_seconds=1.0):
        self.bar = bar(total=len(names), desc=desc, unit="step", quiet=quiet)
        self.quiet = self.bar.disable
        self._stop = threading.Event()
        self._thread = None
        if not self.quiet:
            self._thread = threading.Thread(target=self._tick, args=(refresh_seconds,),
                                            daemon=True)
            self._thread.start()

    def _tick(self, seconds):
        while not self._stop.wait(seconds):
            self.bar.refresh()

    @contextlib.contextmanager
    def step(self, name):
        self.bar.set_postfix_str(name, refresh=True)
        yield
        self.bar.update(1)

    def sub_bar(self, total, desc, unit="it"):
        """A bar under this one for the inner loop of a step (e.g. IBM1's EM iterations)."""
        return bar(total=total, desc=desc, unit=unit, quiet=self.quiet, leave=False, position=1)

    def close(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
