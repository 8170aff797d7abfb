"""Progress of long computations on standard error, for every command.

Progress always goes to **stderr**, so it never mixes with the output (``--json`` included) and
is shown when the output is piped. On a terminal a transient rich display (spinner, bar with
``done/total`` when the total is known, elapsed time) shows the current step and its latest
message; elsewhere a background thread prints plain lines::

    [verify] H_f (generic certificate) (7 s)
    [verify] done in 12.3 s

only for steps that run longer than ``quiet_seconds`` (2 s): quick runs print nothing. A line is
printed when the message changes (at most once a second) and every ``every`` seconds otherwise.

The reporter is also the library's ``progress`` callback: ``reporter("message")`` for
:func:`exacthess.verify`-style callbacks, :meth:`ProgressReporter.count` for ``(done, total)``
ones (:func:`exacthess.search`).
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

__all__ = ["ProgressReporter"]


class ProgressReporter:
    """Progress of long steps on ``stream`` (stderr by default).

    Args:
        stream: where to write (default ``sys.stderr``).
        rich: rich display (default: when ``stream`` is a terminal).
        quiet_seconds: plain lines only for steps running at least this long.
        every: seconds between plain lines while the message does not change.
        prefix: put before every plain line (``"[verify]"``).
        total: number of units of work, when known (a bar ``done/total``).

    Use :meth:`step` around a computation and pass the reporter itself (or :meth:`count`) as a
    library ``progress`` callback.
    """

    def __init__(self, stream=None, *, rich: bool | None = None, quiet_seconds: float = 2.0,
                 every: float = 5.0, prefix: str = "[exacthess]", total: int | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.rich = _isatty(self.stream) if rich is None else rich
        self.quiet, self.every, self.prefix, self.total = quiet_seconds, every, prefix, total
        self.done = 0
        self._lock = threading.Lock()
        self._label: str | None = None
        self._message = ""
        self._start = self._last = 0.0
        self._printed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress = self._task = None

    def __enter__(self) -> "ProgressReporter":
        if self.rich:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            from .render import console
            columns = [SpinnerColumn(), TextColumn("{task.description}")]
            if self.total is not None:
                columns += [BarColumn(), MofNCompleteColumn()]
            con = console(stderr=True) if self.stream is sys.stderr else console(file=self.stream)
            self._progress = Progress(*columns, TimeElapsedColumn(), console=con, transient=True)
            self._progress.__enter__()
            self._task = self._progress.add_task("", total=self.total, visible=False)
        else:
            self._thread = threading.Thread(target=self._beat, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @contextmanager
    def step(self, label: str):
        """A long computation named ``label``; messages passed to the reporter refine it."""
        with self._lock:
            self._label, self._message = label, label
            self._start = self._last = time.perf_counter()
            self._printed = False
            if self._progress is None and self.quiet <= 0:
                self._emit()
        if self._progress is not None:
            self._progress.update(self._task, description=label, visible=True)
            self._progress.reset(self._task, total=self.total, completed=self.done)
        try:
            yield self
        finally:
            with self._lock:
                if self._printed:
                    self._write(f"{label}: done in {time.perf_counter() - self._start:.1f} s")
                self._label = None
            if self._progress is not None:
                self._progress.update(self._task, visible=False)

    def __call__(self, message: str) -> None:
        """Library progress callback: the current step's latest message."""
        with self._lock:
            changed = message != self._message
            self._message = message
            if self._progress is not None:
                self._progress.update(self._task, description=message)
            elif changed and self._due(min(1.0, self.every)):
                self._emit()

    def count(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Library progress callback of the form ``(done, total)``: ``done`` units of ``total`` finished."""
        with self._lock:
            self.done = int(done)
            if total is not None:
                self.total = int(total)
            if message is not None:
                self._message = message
            elif self._label is not None:
                self._message = self._label
            if self._progress is not None:
                self._progress.update(self._task, completed=self.done, total=self.total, description=self._message)
            elif self._due(min(1.0, self.every)):
                self._emit()

    def _due(self, gap: float) -> bool:
        now = time.perf_counter()
        return self._label is not None and now - self._start >= self.quiet and now - self._last >= gap

    def _emit(self) -> None:
        now = time.perf_counter()
        counts = f" [{self.done}/{self.total}]" if self.total is not None else ""
        self._write(f"{self._message}{counts} ({now - self._start:.0f} s)")
        self._last, self._printed = now, True

    def _write(self, text: str) -> None:
        print(f"{self.prefix} {text}", file=self.stream, flush=True)

    def _beat(self) -> None:
        while not self._stop.wait(min(0.25, self.every)):
            with self._lock:
                if self._due(self.every if self._printed else 0.0):
                    self._emit()


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or file-like objects without isatty
        return False
