"""One sweep job: ``verify`` on the architecture a job spec describes, turned into a record.

A record is a plain JSON-serialisable dict, built by :func:`~exacthess.sweeps.results.job_record`::

    {"job": {...}, "status": "ok" | "error" | "timeout", "report": Report.to_dict() or None,
     "error": None or "ExceptionType: message", "seconds": wall time of the job}

Without a budget the job runs in the calling process. With ``budget_seconds`` it runs in a
child Python process that the caller kills when the budget is exceeded: python-flint holds the
GIL inside long computations, so neither a thread nor a signal handler can stop them, while
killing a process always does. The child is started once per worker thread and reused for
the following jobs (it is replaced only after a kill), so the interpreter start-up and the
imports (~1 s) are paid once and never count against the budget: the clock starts when the
job is handed to the child. ``verify`` also receives the budget as its certification budget,
so in ``certify="auto"`` mode a certificate predicted to exceed it is skipped (the result is
then labelled probabilistic) rather than killed.
"""

from __future__ import annotations

import atexit
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..models.architectures import from_spec
from .grid import RUN_KEYS
from .results import DIED, job_record

__all__ = ["run_job", "execute", "serve", "exit_with_parent", "ONE_THREAD_ENV", "one_thread_env"]

#: environment that limits the numerical libraries of a process to one thread. Sweep workers
#: run side by side, one per core; each loading a BLAS with one thread per core would put
#: ``cores**2`` threads on ``cores`` cores (measured: a sweep 3-4x slower). The variables must be
#: in the environment before the process loads numpy, so they are given when it is started.
ONE_THREAD_ENV = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                         "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}


def one_thread_env(environ=None) -> dict:
    """``environ`` (default ``os.environ``) with :data:`ONE_THREAD_ENV` added; a variable the user
    has set is kept.

    >>> one_thread_env({"OMP_NUM_THREADS": "4"})["OMP_NUM_THREADS"], one_thread_env({})["OPENBLAS_NUM_THREADS"]
    ('4', '1')
    """
    environ = os.environ if environ is None else environ
    return {**ONE_THREAD_ENV, **environ}


def exit_with_parent(parent_pid: int | None = None, interval: float = 1.0) -> None:
    """End this process soon after its parent dies.

    On Linux the kernel does it (``prctl(PR_SET_PDEATHSIG, SIGKILL)``), even in the middle of a
    computation that holds the GIL; elsewhere a watcher thread calls ``os._exit`` once the parent
    is gone (as soon as the GIL is free). Without this, the workers of a killed sweep would go on
    computing, or wait forever for work (a multiprocessing queue's worker holds both ends of its
    pipe, so it never sees end-of-file). Used by the local pool's workers and the job processes.
    """
    parent = os.getppid() if parent_pid is None else parent_pid
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the watcher below is the only guard
        pass
    if os.getppid() != parent:  # the parent died before the guard was set
        os._exit(1)

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def execute(job: dict, budget_seconds: float | None = None) -> dict:
    """Run one job in this process and return its record (``ok`` or ``error``; never raises an ``Exception``)."""
    from ..verification.pipeline import verify
    t0 = time.perf_counter()
    try:
        arch = from_spec({k: v for k, v in job.items() if k not in RUN_KEYS})
        kwargs = {"n_samples": job.get("samples"), "seed": job["seed"], "certify": job.get("certify", "auto"),
                  "float_check": job.get("float_check", True), "progress": None}
        if budget_seconds is not None:
            kwargs["budget_seconds"] = budget_seconds
        if "loss" in job:
            kwargs["loss"] = job["loss"]
        report = verify(arch, **kwargs).to_dict(certificates=False)  # the job reproduces the point
    except Exception as exc:  # recorded in the results, never hidden: the sweep goes on
        return job_record(job, status="error", error=f"{type(exc).__name__}: {exc}", seconds=time.perf_counter() - t0)
    return job_record(job, status="ok", report=report, seconds=time.perf_counter() - t0)


def serve(parent_pid: int) -> None:  # pragma: no cover - runs in the child process
    """The child's loop: announce readiness, then read one job per line and answer one record per line."""
    exit_with_parent(parent_pid)
    out = sys.stdout
    sys.stdout = sys.stderr  # anything printed by the computation must not corrupt the protocol
    out.write("ready\n")
    out.flush()
    for line in sys.stdin:
        msg = json.loads(line)
        record = execute(msg["job"], msg["budget"])
        out.write(json.dumps(record, default=str) + "\n")
        out.flush()


class _Child:
    """A child Python process running :func:`serve`."""

    def __init__(self):
        root = str(Path(__file__).resolve().parents[2])
        env = dict(one_thread_env(), PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", f"from exacthess.sweeps.jobs import serve; serve({os.getpid()})"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, start_new_session=True)
        self.buffer = b""
        if self._read_line(None) != b"ready":
            self.kill()
            raise RuntimeError(f"the job process did not start (exit code {self.proc.poll()})")

    def _read_line(self, deadline: float | None) -> bytes | None:
        """One line from the child; None at the deadline; b"" if the child died."""
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    return None
                if not sel.select(wait):
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return b""
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def run(self, job: dict, budget_seconds: float) -> dict:
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write((json.dumps({"job": job, "budget": budget_seconds}) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            line = b""
        else:
            line = self._read_line(time.monotonic() + budget_seconds)
        if line:
            return json.loads(line)
        self.kill()
        seconds = time.perf_counter() - t0
        if line is None:
            return job_record(job, status="timeout", error=f"stopped after the budget of {budget_seconds:g} s",
                              seconds=seconds, budget=budget_seconds)
        return job_record(job, status="error", error=f"{DIED} (exit code {self.proc.returncode})", seconds=seconds)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


_local = threading.local()
_children: list = []


@atexit.register
def _stop_children() -> None:  # pragma: no cover - interpreter exit
    for child in _children:
        child.kill()


def run_job(job: dict, budget_seconds: float | None = None) -> dict:
    """Run one job and return its record; with a budget, in a killable child process (see the module doc)."""
    if budget_seconds is None:
        return execute(job)
    child = getattr(_local, "child", None)
    if child is None or child.proc.poll() is not None:
        child = _local.child = _Child()
        _children.append(child)
    try:
        record = child.run(job, budget_seconds)
    except BaseException:  # interrupted while waiting: the child's computation must not outlive us
        child.kill()
        raise
    if child.proc.poll() is not None:
        _children.remove(child)
        _local.child = None
    return record
