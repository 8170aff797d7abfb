"""Progress of long computations: what they say, and where it is shown.

Every long entry point (:func:`exacthess.verify`, :func:`exacthess.search`,
:func:`exacthess.sweep`, :func:`exacthess.gauss_newton_gap`, :func:`exacthess.generic_rank`, the
claims) takes ``progress``:

* ``"auto"`` (the default): a live display in a terminal or a Jupyter notebook (on stderr; rich,
  from :mod:`exacthess.cli.progress`, imported only then), nothing otherwise (output redirected
  to a file, a worker process, a test run), and nothing either inside a call that already shows
  one (a ``verify`` inside a claim);
* ``True``: the display whatever the output is (plain lines, one per stage, when stderr is not
  a terminal); ``False`` or None: nothing;
* a callable: receives every message itself (``print`` works).

Messages are strings. Those of the stages are :class:`Update` strings that also carry the stage
(a display prints one plain line per stage), the units done of the units needed (primes of
Hadamard's bound, samples, cases) and the estimated seconds left of the whole computation,
which :class:`Tracker` revises as work proceeds: the time the finished parts took against
their estimate (:mod:`exacthess.hessian.cost`) scales the estimate of the parts still to come,
and the units done so far time the current part.

>>> seen = []
>>> with open_progress(seen.append, "demo") as say:
...     say("hello")
>>> seen
['hello']
>>> u = Update("H_f: Hadamard's bound, prime 2 of 5", stage="H_f: Hadamard's bound", done=2, total=5)
>>> u, u.stage, (u.done, u.total)
("H_f: Hadamard's bound, prime 2 of 5", "H_f: Hadamard's bound", (2, 5))
"""

from __future__ import annotations

import sys
import threading
import time

from .errors import InvalidTypeError, InvalidValueError, describe

__all__ = ["AUTO", "Update", "Tracker", "Channel", "check_progress", "open_progress", "interactive", "silent",
           "prefixed"]

#: the default of every ``progress`` argument: a display when someone is watching
AUTO = "auto"

_open = threading.local()  # displays open in this thread (a nested "auto" stays silent)


class Update(str):
    """A progress message (the string itself) with what a display shows besides.

    Attributes:
        stage: the stage it belongs to (default: the message itself); a display on a non-terminal
            prints one line per stage, not one per message.
        done: units of the stage done (primes, samples, matrices, cases), or None.
        total: units the stage needs, or None.
        left: estimated seconds left of the whole computation (revised as it runs), or None.
        part: the part of the computation's estimate it belongs to (:class:`Tracker`), or None.
    """

    def __new__(cls, text: str, *, stage: str | None = None, done: int | None = None, total: int | None = None,
                left: float | None = None, part: str | None = None):
        obj = super().__new__(cls, text)
        obj.stage = str(text) if stage is None else stage
        obj.done, obj.total, obj.left, obj.part = done, total, left, part
        return obj

    def with_left(self, left: float | None) -> "Update":
        """The same update with another estimate of the seconds left."""
        return Update(str(self), stage=self.stage, done=self.done, total=self.total, left=left, part=self.part)


def prefixed(say, prefix: str, part: str | None = None):
    """``say`` with ``"prefix: "`` put before every message and its stage (the messages of a helper,
    such as :func:`exacthess.rank`, told as a stage of one matrix: ``"H_f: Hadamard's bound ..."``)."""
    def tell(message) -> None:
        stage = getattr(message, "stage", None) or str(message)
        say(Update(f"{prefix}: {message}", stage=f"{prefix}: {stage}", done=getattr(message, "done", None),
                   total=getattr(message, "total", None), part=getattr(message, "part", None) or part))
    return tell


def check_progress(value, name: str = "progress"):
    """A ``progress`` argument: ``"auto"``, True, False, None or a callable (returned as given)."""
    if value is None or isinstance(value, bool) or callable(value):
        return value
    if isinstance(value, str):
        if value == AUTO:
            return value
        raise InvalidValueError(f"{name} = {value!r} is not known; expected 'auto' (a display in a terminal or a "
                                "notebook), True, False, None or a callable receiving progress messages")
    raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected 'auto', True, "
                           "False, None or a callable receiving progress messages (e.g. print)")


def _notebook() -> bool:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ in ("ZMQInteractiveShell", "Shell")  # Jupyter, Google Colab


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def interactive(stream=None) -> bool:
    """Whether someone watches ``stream`` (default stderr): a terminal, or a Jupyter notebook."""
    return _notebook() or _isatty(sys.stderr if stream is None else stream)


def _live() -> bool:
    """Whether a live (rich) display can be drawn: a terminal, or a notebook with ipywidgets
    (without them a notebook gets plain lines, one per stage)."""
    if _notebook():
        import importlib.util
        return importlib.util.find_spec("ipywidgets") is not None
    return _isatty(sys.stderr)


class Channel:
    """Where one computation's messages go: a context manager (opening and closing a display) and
    a callable (one message). ``bool(channel)`` says whether anything listens.

    Attributes:
        sink: the user's callable, or None.
        display: the live display (:class:`exacthess.cli.progress.ProgressReporter`), or None.
    """

    def __init__(self, sink=None, display=None, title: str = ""):
        self.sink, self.display, self.title = sink, display, title
        self._step = None

    def __bool__(self) -> bool:
        return self.sink is not None or self.display is not None

    def __enter__(self) -> "Channel":
        if self.display is not None:
            _open.count = getattr(_open, "count", 0) + 1
            self.display.__enter__()
            self._step = self.display.step(self.title)
            self._step.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self.display is not None:
            try:
                self._step.__exit__(*exc)
                self.display.__exit__(*exc)
            finally:
                _open.count -= 1

    def __call__(self, message) -> None:
        if self.display is not None:
            self.display(message)
        if self.sink is not None:
            self.sink(message)

    def count(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Units done of ``total`` (a display shows a bar); a callable receives ``message``, if any."""
        if self.display is not None:
            self.display.count(done, total, message)
        elif self.sink is not None and message is not None:
            self.sink(message)

    def line(self, text: str) -> None:
        """A line printed above the live display (a callable receives it as a message)."""
        if self.display is not None:
            self.display.line(text)
        elif self.sink is not None:
            self.sink(text)


def silent() -> Channel:
    """A channel nobody listens to."""
    return Channel()


def open_progress(progress, title: str, *, total: int | None = None) -> Channel:
    """The :class:`Channel` of a ``progress`` argument (see the module doc), for a computation named
    ``title`` (``"verify FCN(...)"``) of ``total`` units when known. Use it as a context manager."""
    progress = check_progress(progress)
    if callable(progress) and not isinstance(progress, bool):
        return Channel(sink=progress, title=title)
    if progress is None or progress is False:
        return Channel(title=title)
    if progress == AUTO and (getattr(_open, "count", 0) or not interactive()):
        return Channel(title=title)
    from exacthess.cli.progress import ProgressReporter  # the display (rich), only when one is shown
    return Channel(display=ProgressReporter(prefix="[exacthess]", total=total, rich=_live()), title=title)


class Tracker:
    """The stages of one computation, with a running estimate of the seconds left.

    Args:
        say: where the messages go (a callable, e.g. a :class:`Channel`).
        plan: ``(part, estimated seconds)`` of the computation's parts, in order
            (:func:`exacthess.hessian.cost.verify_plan`); without one, only stages that count
            their units (primes, cases) get an estimate.

    Calling the tracker with a message forwards it as an :class:`Update` carrying ``left``: the
    current part's estimate (or, when the update counts units, the time per unit so far times the
    units left) plus the estimates of the parts to come, all scaled by how long the finished
    parts took against their estimates. An update naming another ``part`` starts that part.
    """

    def __init__(self, say, plan=()):
        self.say = say
        self.plan = [(str(k), float(v)) for k, v in plan]
        self.index = 0
        self.start = self.part_start = self.stage_start = time.perf_counter()
        self.stage: str | None = None
        self.spent = self.planned = 0.0  # measured and estimated seconds of the finished parts

    def _switch(self, part: str) -> None:
        keys = [k for k, _ in self.plan]
        target = keys.index(part) if part in keys else -1
        if target <= self.index:
            return
        now = time.perf_counter()
        self.spent += now - self.part_start  # parts skipped on the way (not needed here) count for neither
        self.planned += self.plan[self.index][1]
        self.index, self.part_start = target, now

    def scale(self) -> float:
        """Measured over estimated time of the finished parts (1 before any finished; within [0.1, 1000])."""
        if self.planned <= 0.05 or self.spent <= 0.05:
            return 1.0
        return min(1000.0, max(0.1, self.spent / self.planned))

    def left(self, done: int | None = None, total: int | None = None) -> float | None:
        """Estimated seconds left (without a plan: of the current stage, when it counts units; else None)."""
        now = time.perf_counter()
        if not self.plan:
            return (now - self.stage_start) / done * (total - done) if done and total and total > done else None
        s = self.scale()
        current = self.plan[self.index][1] * s if self.index < len(self.plan) else 0.0
        current = max(current - (now - self.part_start), 0.0)
        if done and total and total > done:  # the units of the current stage time it
            current = max(current, (now - self.stage_start) / done * (total - done))
        return current + s * sum(v for _, v in self.plan[self.index + 1:])

    def __call__(self, message) -> None:
        part = getattr(message, "part", None)
        if part is not None:
            self._switch(part)
        update = message if isinstance(message, Update) else Update(str(message))
        if update.stage != self.stage:
            self.stage, self.stage_start = update.stage, time.perf_counter()
        self.say(update.with_left(self.left(update.done, update.total)))
