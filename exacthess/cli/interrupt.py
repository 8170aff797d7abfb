"""Ctrl-C on the command line: exit code 130 and one line saying what was saved, within about a second.

:func:`handling` wraps a command (:func:`exacthess.cli.main.main`):

* the **first SIGINT** raises :class:`KeyboardInterrupt` in the main thread, as Python does, and
  records that it was received; a **second** one ends the process at once (code 130);
* an interrupt that surfaces as **another exception** is still an interrupt: a
  ``KeyboardInterrupt`` raised inside a library's cache can leave it broken (sympy then fails with
  an ``AttributeError`` or a ``SystemError``), so once SIGINT was received every exception ends
  the command as interrupted, never as an internal error (:attr:`Interrupts.received`);
* one that is **swallowed** (raised inside a finaliser, or caught by library code) is not lost:
  the "Exception ignored in ..." report of a finaliser is not printed, and, when the command is
  the process itself, a watchdog ends the process (line printed, code 130) if it still runs
  :data:`GRACE_SECONDS` after the signal;
* the one line: ``interrupted: <what was saved>`` -- a command states it with :func:`saved`
  (the sweep: its finished records in the results file), otherwise ``nothing was saved``.

Worker processes never see the signal (:mod:`exacthess.sweeps.pool`: started with SIGINT
blocked); the parent stops them. Long calls that release the GIL (numpy's dense SVDs) run in a
helper thread (:func:`exacthess.core.calls.interruptible`), so that the main thread sees the
signal at once.

:func:`guard_startup` covers the second or so in which ``exacthess`` is imported, before
:func:`handling` is installed: it is called first thing by ``exacthess/__init__.py`` and does
something only when this process is the ``exacthess`` command (never for a library user).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

__all__ = ["Interrupts", "INTERRUPTS", "handling", "saved", "guard_startup", "is_command_line", "end_now",
           "GRACE_SECONDS", "EXIT_CODE"]

#: exit code of an interrupted command (128 + SIGINT, as a shell reports it)
EXIT_CODE = 130
#: seconds after the signal after which the watchdog ends a process that is still running
GRACE_SECONDS = 1.5


class Interrupts:
    """The state of Ctrl-C for one command.

    Attributes:
        received: ``time.monotonic()`` of the first SIGINT, or None.
        what: what the command has saved so far (a string, or a callable returning one), or None.
        reported: the line was printed.
    """

    def __init__(self):
        self.received: float | None = None
        self.what = None
        self.reported = False
        self.hard_exit = False
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.received, self.what, self.reported = None, None, False

    def line(self) -> str:
        """``interrupted: <what was saved>``."""
        what = self.what() if callable(self.what) else self.what
        return f"interrupted: {what or 'nothing was saved'}"

    def report(self) -> None:
        """Print the line once (on stderr)."""
        with self._lock:
            if self.reported:
                return
            self.reported = True
        try:
            text = self.line()
        except Exception:  # the state it reads may be half-updated: say less rather than nothing
            text = "interrupted"
        main = threading.current_thread() is threading.main_thread()  # (the watchdog must not wait for a lock)
        for stream in (sys.stdout, sys.stderr) if main else ():  # what the command printed comes before the line
            try:
                stream.flush()
            except (OSError, ValueError, RuntimeError):
                pass
        _write(text)

    def handler(self, signum, frame) -> None:
        """SIGINT: the first raises KeyboardInterrupt (and arms the watchdog), a second one exits."""
        if self.received is not None:
            if not self.hard_exit:  # inside another program: as Python does
                raise KeyboardInterrupt
            self.report()
            _exit()
        self.received = time.monotonic()
        if self.hard_exit:
            threading.Thread(target=self._watch, name="exacthess-interrupt", daemon=True).start()
        raise KeyboardInterrupt

    def _watch(self) -> None:
        time.sleep(GRACE_SECONDS)
        self.report()
        _exit()


#: the state of the running command
INTERRUPTS = Interrupts()


def _write(text: str) -> None:
    tty = _isatty()
    data = (("\r\x1b[2K" if tty else "") + text + "\n" + ("\x1b[?25h" if tty else "")).encode()  # cursor back on
    try:
        os.write(2, data)
    except OSError:
        pass


def _isatty() -> bool:
    try:
        return os.isatty(2)
    except OSError:
        return False


def _exit() -> None:
    """End the process now (no clean-up left to wait for: finished results are already on disk)."""
    _release_semaphores()
    os._exit(EXIT_CODE)


def _release_semaphores() -> None:
    """Unlink the named semaphores of this process's worker pools (their queues' locks), as the
    interpreter's exit would: ending without it makes :mod:`multiprocessing`'s resource tracker
    (a process of its own, writing to the same terminal) warn about "leaked semaphore objects"."""
    util, sync = sys.modules.get("multiprocessing.util"), sys.modules.get("multiprocessing.synchronize")
    if util is None or sync is None:
        return
    for finaliser in list(getattr(util, "_finalizer_registry", {}).values()):
        if getattr(finaliser, "_callback", None) is sync.SemLock._cleanup:
            try:
                finaliser()
            except Exception:  # already unlinked, or the tracker is gone: nothing to release
                pass


def end_now() -> None:
    """End the interrupted program at once, its output flushed.

    The interpreter's own exit is not waited for: with numpy, sympy, python-flint and matplotlib
    loaded it takes about a second (freeing every module), it would wait for a native call left
    running in a helper thread (:func:`exacthess.core.calls.interruptible`), and its clean-up of
    half-interrupted state can fail or hang. Nothing is lost: the results of a command are written
    (and closed) as they finish, and worker processes end with this one."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    _exit()


def saved(what) -> None:
    """State what an interrupted command leaves behind: a string, or a callable returning one
    (asked when the line is printed), e.g. ``"4 of 18 jobs are saved in fcn.jsonl"``."""
    INTERRUPTS.what = what


@contextlib.contextmanager
def handling(process: bool = False):
    """Install the SIGINT handling of :class:`Interrupts` for the block (main thread only).

    Args:
        process: the command is this whole process (the ``exacthess`` program, not a call of
            :func:`~exacthess.cli.main.main` inside another program): arm the watchdog; and once
            the command is complete (its output written, its exit code decided), Ctrl-C is
            ignored: the interpreter's exit takes about a second, and a signal in it would end
            the process killed by SIGINT, without its line, as if the command had not finished.
    """
    state = INTERRUPTS
    state.reset()
    state.hard_exit = process
    main = threading.current_thread() is threading.main_thread()
    old = signal.getsignal(signal.SIGINT) if main else None
    old_hook = sys.unraisablehook
    if main:
        signal.signal(signal.SIGINT, state.handler)

    old_thread_hook = threading.excepthook

    def unraisable(info):
        if state.received is None:  # else: an interrupt raised inside a finaliser, part of the one line
            old_hook(info)

    def thread_failed(args):
        if state.received is None:  # else: a helper thread failing as the command is torn down
            old_thread_hook(args)
    sys.unraisablehook, threading.excepthook = unraisable, thread_failed
    try:
        yield state
    finally:
        if main and process:  # the command is complete: the interpreter's exit follows (about a second)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        elif main:
            signal.signal(signal.SIGINT, old if old is not None else signal.default_int_handler)
        if not process:  # the program itself keeps them until it ends (threads are torn down at exit)
            sys.unraisablehook, threading.excepthook = old_hook, old_thread_hook


def is_command_line() -> bool:
    """Whether this process is the ``exacthess`` command (its console script, or ``python -m exacthess``)."""
    module = _main_module(getattr(sys, "orig_argv", None) or [])
    if module is not None:
        return module == "exacthess" or module.startswith("exacthess.")
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name in ("exacthess", "exacthess.exe")


def _main_module(argv: list) -> str | None:
    """The module the interpreter was started with (``python [options] -m MODULE ...``), or None."""
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "-m":
            return argv[i + 1] if i + 1 < len(argv) else None
        if arg.startswith("-m"):  # -mexacthess
            return arg[2:]
        if arg in ("-X", "-W", "--check-hash-based-pycs"):  # an option with a value of its own
            i += 2
            continue
        if arg == "-c" or arg == "-" or not arg.startswith("-"):  # a command, stdin or a script
            return None
        i += 1
    return None


def _startup_handler(signum, frame) -> None:
    _write("interrupted: nothing was saved")
    _exit()


def guard_startup() -> None:
    """While the ``exacthess`` command imports its modules, Ctrl-C ends it with one line (not a
    traceback of the import). Does nothing in any other program, or when SIGINT is not Python's
    default handler."""
    if threading.current_thread() is not threading.main_thread() or not is_command_line():
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _startup_handler)
