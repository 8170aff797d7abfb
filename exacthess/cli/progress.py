"""Progress of long computations on standard error: the command line's, and the library's display.

Progress always goes to **stderr**, so it never mixes with the output (``--json`` included) and
is shown when the output is piped. On a terminal (or in a Jupyter notebook) a transient rich
display shows the current stage, its units (``3/12`` primes, a bar for a known number of
jobs), the elapsed time and the estimated time left, revised as work proceeds; elsewhere plain
lines, **one per stage** (never the same line twice)::

    [verify] H_o: the Jacobian factor C J, 300 samples (~40 s left) (2 s)
    [verify] H_f: Hadamard's bound, 14 primes (~1 min left) (48 s)
    [verify] verify FCN(...) (1870 parameters): done in 112.4 s

only once the step has run ``quiet_seconds`` (2 s): quick runs print nothing. Counted progress
(:meth:`ProgressReporter.count`: networks, examples, jobs) prints a line when the count changes,
at most every ``every`` seconds. The ``done`` line is printed only for a step that finished
(never for an interrupted one) and only when something was printed before it.

The reporter is also the library's ``progress`` callback: ``reporter(message)`` for
:func:`exacthess.verify`-style callbacks (a message may be a
:class:`~exacthess.core.progress.Update` carrying its stage, units and estimate),
:meth:`ProgressReporter.count` for ``(done, total)`` ones (:func:`exacthess.search`). With
``progress="auto"`` the library opens one itself in a terminal or a notebook
(:func:`exacthess.core.progress.open_progress`).
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager

__all__ = ["ProgressReporter", "seconds_left"]


def seconds_left(s: float) -> str:
    """``"~3 s left"``, ``"~4 min left"`` (the estimate as a display shows it).

    >>> seconds_left(0.3), seconds_left(42), seconds_left(300)
    ('< 1 s left', '~42 s left', '~5 min left')
    """
    if s < 1:
        return "< 1 s left"
    if s < 120:
        return f"~{s:.0f} s left"
    if s < 7200:
        return f"~{s / 60:.0f} min left"
    return f"~{s / 3600:.0f} h left"


class ProgressReporter:
    """Progress of long steps on ``stream`` (stderr by default).

    Args:
        stream: where to write (default ``sys.stderr``).
        rich: rich display (default: when ``stream`` is a terminal).
        quiet_seconds: plain lines only once a step has run at least this long.
        every: seconds between plain lines of counted progress.
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
        self._text = ""
        self._stage: str | None = None
        self._units: tuple | None = None
        self._ends: float | None = None  # perf_counter() at which the estimate says the work ends
        self._printed_stage: object = None
        self._printed_count = None
        self._start = self._last = 0.0
        self._printed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress = self._task = None

    def __enter__(self) -> "ProgressReporter":
        if self.rich:
            self._open_rich()
        else:
            self._thread = threading.Thread(target=self._beat, name="exacthess-progress", daemon=True)
            self._thread.start()
        return self

    def _open_rich(self) -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, SpinnerColumn,
                                   TextColumn, TimeElapsedColumn)
        from rich.text import Text

        from .render import console
        reporter = self

        class Left(ProgressColumn):  # the estimate counts down between messages
            def render(self, task):
                ends = reporter._ends
                return Text("" if ends is None else seconds_left(max(0.0, ends - time.perf_counter())),
                            style="progress.remaining")
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if self.total is not None:
            columns += [BarColumn(), MofNCompleteColumn()]
        else:
            columns += [TextColumn("{task.fields[units]}", style="progress.download")]
        columns += [TimeElapsedColumn(), Left()]
        con = console(stderr=True) if self.stream is sys.stderr else console(file=self.stream)
        self._progress = Progress(*columns, console=con, transient=True)
        self._progress.__enter__()
        self._task = self._progress.add_task("", total=self.total, visible=False, units="")

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @contextmanager
    def step(self, label: str):
        """A long computation named ``label``; messages passed to the reporter refine it. Its
        ``done`` line is printed only when it finishes (not when it raises or is interrupted)."""
        with self._lock:
            self._label, self._text, self._stage = label, label, label
            self._units, self._ends = None, None
            self._start = self._last = time.perf_counter()
            self._printed, self._printed_stage, self._printed_count = False, None, None
            if self._progress is None and self.quiet <= 0:
                self._emit()
        if self._progress is not None:
            self._progress.update(self._task, description=label, visible=True, units="")
            self._progress.reset(self._task, total=self.total, completed=self.done)
        finished = False
        try:
            yield self
            finished = True
        finally:
            with self._lock:
                if finished and self._printed:
                    self._write(label, f": done in {time.perf_counter() - self._start:.1f} s")
                self._label = None
            if self._progress is not None:
                self._progress.update(self._task, visible=False)

    def __call__(self, message) -> None:
        """Library progress callback: the current step's latest message (a str, or an
        :class:`~exacthess.core.progress.Update` with its stage, units and estimate)."""
        text = str(message)
        stage = getattr(message, "stage", None) or text
        done, total = getattr(message, "done", None), getattr(message, "total", None)
        left = getattr(message, "left", None)
        with self._lock:
            self._text, self._stage = text, stage
            self._units = (done, total) if done is not None and total else None
            if left is not None:
                self._ends = time.perf_counter() + left
            if self._progress is not None:
                self._progress.update(self._task, description=text, units=self._units_text())
            elif stage != self._printed_stage and self._due():
                self._emit()

    def count(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Library progress callback of the form ``(done, total)``: ``done`` units of ``total`` finished."""
        with self._lock:
            self.done = int(done)
            if total is not None:
                self.total = int(total)
            if message is not None:
                self._text = message
            elif self._label is not None:
                self._text = self._label
            if self._progress is not None:
                self._progress.update(self._task, completed=self.done, total=self.total, description=self._text)
            elif (self._text, self.done) != self._printed_count and self._due(min(1.0, self.every)):
                self._emit(counted=True)

    def line(self, text: str) -> None:
        """A line of its own (above the live display on a terminal)."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            with self._lock:
                print(text, file=self.stream, flush=True)

    def _units_text(self) -> str:
        return f"{self._units[0]}/{self._units[1]}" if self._units else ""

    def _due(self, gap: float = 0.0) -> bool:
        now = time.perf_counter()
        return self._label is not None and now - self._start >= self.quiet and now - self._last >= gap

    def _emit(self, counted: bool = False) -> None:
        now = time.perf_counter()
        counts = f" [{self.done}/{self.total}]" if counted and self.total is not None else ""
        units = f" [{self._units_text()}]" if self._units and self._units_text() not in self._text else ""
        left = f"; {seconds_left(max(0.0, self._ends - now))}" if self._ends is not None else ""
        self._write(self._text, f"{counts}{units} ({now - self._start:.0f} s{left})")
        self._last, self._printed, self._printed_stage = now, True, self._stage
        if counted:
            self._printed_count = (self._text, self.done)

    def _write(self, text: str, suffix: str = "") -> None:
        """One line of at most 80 columns: ``prefix text suffix``, the text shortened when needed."""
        room = 80 - len(self.prefix) - 1 - len(suffix)
        if len(text) > room:
            text = text[:max(room - 3, 10)].rstrip() + "..."
        print(f"{self.prefix} {text}{suffix}", file=self.stream, flush=True)

    def _beat(self) -> None:
        """Plain lines: the stage running when the quiet period ends, and counted progress that
        changed since its last line."""
        while not self._stop.wait(min(0.25, self.every)):
            with self._lock:
                if self._stage != self._printed_stage and self._printed_count is None and self._due():
                    self._emit(counted=self.total is not None and self.done > 0)
                elif self._printed_count is not None and (self._text, self.done) != self._printed_count \
                        and self._due(self.every):
                    self._emit(counted=True)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or file-like objects without isatty
        return False
