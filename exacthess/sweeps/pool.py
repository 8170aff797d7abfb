"""The local pool of a sweep: worker processes that never run the user's script and never see Ctrl-C.

:func:`local_executor` is a :class:`concurrent.futures.ProcessPoolExecutor` of fresh Python
processes (``spawn``: python-flint holds the GIL, so threads would not run in parallel, and a
forked copy of a process with threads is not safe). It differs from a plain pool in three ways:

* **The user's script is not run again.** ``spawn`` normally makes every worker import the
  parent's ``__main__`` module (the user's script, or the module of ``python -m``) so that
  functions defined there can be unpickled; a script that calls :func:`exacthess.sweep` at its
  top level, without ``if __name__ == "__main__":``, would then run again in every worker (and
  every worker would start a sweep of its own). The jobs call exacthess functions only, so the
  workers start without the parent's ``__main__``: a sweep pasted into a script works as it
  stands. (Functions defined in that script cannot be submitted to this pool.)
* **Ctrl-C is the parent's.** A worker starts with SIGINT blocked (the signal mask is inherited
  through the start), so a Ctrl-C in the terminal, which reaches the whole process group, never
  interrupts a worker, not even while it is still importing; the parent stops the pool
  (:func:`shutdown_pool`). Workers also end when the parent ends, even when it is killed
  (:func:`~exacthess.sweeps.jobs.exit_with_parent`).
* **One BLAS thread per worker** (:data:`~exacthess.sweeps.jobs.ONE_THREAD_ENV`, set before
  the worker loads numpy; a variable set by the user is kept), so ``N`` workers run ``N``
  threads, not ``N**2``.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing.context
import multiprocessing.spawn
import os
import signal
import threading
import weakref

from ..core.errors import InvalidValueError
from ..core.validate import check_int
from .jobs import ONE_THREAD_ENV, exit_with_parent

__all__ = ["local_executor", "shutdown_pool", "LocalPool", "preparation_data", "refuse_reimport", "reimport_hint"]

GUARD = 'if __name__ == "__main__": eh.sweep(...)'

_starting = threading.local()  # set while this thread starts a worker of the local pool
_started: list = []  # the Popen of every worker started here, registered before Ctrl-C can interrupt its start
_pools: "weakref.WeakSet[LocalPool]" = weakref.WeakSet()
_original_preparation_data = multiprocessing.spawn.get_preparation_data


def preparation_data(name):
    """:func:`multiprocessing.spawn.get_preparation_data`, without the parent's ``__main__`` for the
    workers of :func:`local_executor` (for every other process it is the original, unchanged).

    Installed in :mod:`multiprocessing.spawn` when the first local pool is made: the spawn start
    method calls it, in the starting thread, for every process it starts."""
    data = _original_preparation_data(name)
    if getattr(_starting, "worker", False):
        data.pop("init_main_from_name", None)
        data.pop("init_main_from_path", None)
    return data


def _install() -> None:
    if multiprocessing.spawn.get_preparation_data is not preparation_data:
        multiprocessing.spawn.get_preparation_data = preparation_data


class _WorkerProcess(multiprocessing.context.SpawnProcess):
    """A ``spawn`` process started without the parent's ``__main__``, with SIGINT blocked and one
    BLAS thread (the parent's environment and signal mask are restored as soon as it is started).

    Its start is whole: a Ctrl-C in the parent meanwhile is handled once the worker has been sent
    its start-up data (cut short, the worker would fail reading it, with a traceback)."""

    @staticmethod
    def _Popen(process_obj):
        added = {k: v for k, v in ONE_THREAD_ENV.items() if k not in os.environ}
        os.environ.update(added)
        block = hasattr(signal, "pthread_sigmask")
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if block else None
        deferred: list = []  # a Ctrl-C in the parent while the worker starts: handled once it is started
        handler = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
        if callable(handler):
            signal.signal(signal.SIGINT, lambda signum, frame: deferred.append((signum, frame)))
        _starting.worker = True
        try:
            popen = multiprocessing.context.SpawnProcess._Popen(process_obj)
            _started[:] = [p for p in _started if p.returncode is None and p.poll() is None]
            _started.append(popen)  # SIGINT is still blocked: the pool may never register this one
            return popen
        finally:
            _starting.worker = False
            if block:
                signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
            for k in added:
                os.environ.pop(k, None)
            if callable(handler):
                signal.signal(signal.SIGINT, handler)
                if deferred:  # e.g. KeyboardInterrupt, now that the worker has all it needs to start
                    handler(*deferred[0])


class _WorkerContext(multiprocessing.context.SpawnContext):
    Process = _WorkerProcess


class LocalPool(cf.ProcessPoolExecutor):
    """The pool :func:`local_executor` returns; stopped with :func:`shutdown_pool`.

    Its pending jobs are not to be cancelled one by one before :func:`shutdown_pool` stops it
    (``now=True``): the pool cancels them itself (on Python 3.11 a future cancelled from outside
    makes the pool's own clean-up fail with ``InvalidStateError``)."""


def local_executor(workers: int | None = None) -> LocalPool:
    """A pool of ``workers`` (default: the number of CPUs) fresh worker processes (see the module
    doc: they do not import the caller's ``__main__``, ignore Ctrl-C, end with this process and
    use one BLAS thread each)."""
    workers = (os.cpu_count() or 1) if workers is None else check_int(workers, "workers", 1)
    _install()
    pool = LocalPool(max_workers=workers, mp_context=_WorkerContext(), initializer=_init_worker,
                     initargs=(os.getpid(),))
    _pools.add(pool)
    return pool


def _init_worker(parent_pid: int) -> None:
    """Ctrl-C is the parent's to handle (it stops the pool); a worker ends when its parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with_parent(parent_pid)


def shutdown_pool(executor: cf.ProcessPoolExecutor, *, now: bool = False) -> None:
    """Shut a local pool down: wait for its workers, or (``now``) cancel what has not started and
    terminate the worker processes at once (their running jobs are lost, not recorded).

    ``now`` also ends a worker whose start Ctrl-C interrupted after the process was made but
    before the pool registered it (it would otherwise start on its own and, once this process
    has ended and released the pool's locks, fail with a traceback on the terminal)."""
    terminate = getattr(executor, "terminate_workers", None)  # Python >= 3.14
    if now and terminate is not None:
        terminate()
    procs = list((getattr(executor, "_processes", None) or {}).values()) if now else []  # gone after shutdown
    owned = {pid for pool in list(_pools) if pool is not executor for pid in (getattr(pool, "_processes", None) or {})}
    strays = [p for p in _started if p.pid not in owned and p.poll() is None] if now else []
    executor.shutdown(wait=not now, cancel_futures=True)
    for proc in procs:
        proc.terminate()
    for popen in strays:
        if popen.poll() is None:
            popen.terminate()
    for popen in strays:
        popen.wait(1.0)  # SIGTERM ends a worker at once, even inside a native call


def refuse_reimport(name: str = "sweep") -> None:
    """Refuse to start a sweep while this process is a worker still importing the parent's script.

    A process pool of your own whose workers start with ``spawn`` or ``forkserver`` makes every
    worker run the parent's script (its ``__main__``) before it takes a job; a sweep at the
    script's top level would then start again in every worker. :mod:`multiprocessing` marks such
    a worker as still *inheriting* until the import is done, which is what is checked here.

    Raises:
        InvalidValueError: this process is such a worker (the message shows the guard).
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise InvalidValueError(f"{name} was called by a worker process importing your script (a process pool that "
                                "starts workers with 'spawn' or 'forkserver' runs the script's top level again); "
                                f"expected the sweep under a guard: {GUARD} (the default pool, executor=None, "
                                "needs none)")


def reimport_hint(executor) -> str:
    """For jobs lost on a process pool of the caller's that imports the script in its workers: the
    guard that avoids it (``""`` for any other executor)."""
    if not isinstance(executor, cf.ProcessPoolExecutor) or isinstance(executor, LocalPool):
        return ""
    context = getattr(executor, "_mp_context", None)
    method = context.get_start_method() if context is not None else multiprocessing.get_start_method()
    if method == "fork":
        return ""
    return (f"; its workers start with {method!r} and import your script: a sweep at the script's top level needs "
            f"the guard {GUARD}, or use the default pool (executor=None)")
