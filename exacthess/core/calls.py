"""Long calls into compiled libraries, made so that Ctrl-C is seen at once.

Python runs a signal handler only in the main thread, between two bytecodes: while the main
thread is inside one long call into numpy (a dense SVD of a few thousand rows takes tens of
seconds), Ctrl-C waits for the call to end. :func:`interruptible` runs such a call in a helper
thread while the main thread waits in short steps, so a ``KeyboardInterrupt`` is raised within
about 0.05 s -- for calls that release the GIL while they compute, as numpy's LAPACK routines
do (python-flint's do not: those are kept short instead). An interrupted call is abandoned: its
helper thread is a daemon, and its result is dropped.

>>> import numpy as np
>>> interruptible(np.linalg.matrix_rank, np.eye(3))
np.int64(3)
"""

from __future__ import annotations

import threading

__all__ = ["interruptible", "abandoned", "THREAD_ABOVE"]

#: calls on matrices with fewer rows than this run directly (a thread costs more than they do)
THREAD_ABOVE = 256


def abandoned() -> bool:
    """Whether a call interrupted by :func:`interruptible` is still running in its helper thread (an
    interpreter that ends now may wait for it inside the compiled library)."""
    return any(t.name == "exacthess-call" and t.is_alive() for t in threading.enumerate())


def interruptible(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``; in a helper thread when called from the main thread (see the module
    doc). Exceptions of ``fn`` are raised here, as if it had been called directly."""
    if threading.current_thread() is not threading.main_thread():
        return fn(*args, **kwargs)
    box: dict = {}

    def run():
        try:
            box["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the caller
            box["error"] = exc
    worker = threading.Thread(target=run, name="exacthess-call", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)  # a KeyboardInterrupt raised here leaves the worker running, abandoned
    if "error" in box:
        raise box["error"]
    return box["value"]
