"""``exacthess.sweep``: run a grid of verifications on any executor, resumably.

The grid (:mod:`~exacthess.sweeps.grid`) expands into jobs; each job is
:func:`exacthess.verify` on ``from_spec(job)`` with ``n_samples = samples`` and ``seed`` (derived
from the job's spec when the grid fixes none). Jobs go to a
:class:`concurrent.futures.Executor`: by default a pool of local worker processes (python-flint
holds the GIL, so threads would not run in parallel), or any executor you pass, e.g. a Dask
``Client(...).get_executor()``. Each finished job is appended at once to a JSON Lines file
(:mod:`~exacthess.sweeps.results`); running the same sweep again skips the jobs already
there, so an interrupted sweep loses no finished result.

A job that raises is recorded with ``status = "error"`` and its message; with
``budget_seconds`` a job still running at the budget is stopped and recorded as
``"timeout"`` (:mod:`~exacthess.sweeps.jobs`). A failure of the executor itself (a worker
process killed, a lost scheduler) is not a result of the job: the job is left unrecorded, so the
next run retries it.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InvalidTypeError, InvalidValueError, SweepIncompleteError, describe
from ..core.progress import open_progress
from ..core.validate import check_bool, check_int, check_real
from .grid import CONFIRM_LIMIT, Grid, expand, job_key
from .jobs import run_job
from .pool import LocalPool, local_executor, refuse_reimport, reimport_hint, shutdown_pool
from .results import ResultFile, rerun

__all__ = ["sweep", "execute", "run_grid", "SweepStatus", "SweepIncompleteError", "local_executor", "shutdown_pool"]


@dataclass
class SweepStatus:
    """What a progress callback receives.

    Attributes:
        total: jobs in the grid.
        done: jobs with a record (including those found in the results file).
        failed: records with status ``error`` or ``timeout``.
        running: jobs handed to the executor and not finished (at most the number of workers
            when it is known).
        lost: jobs whose worker failed (left unrecorded).
        record: the record that just finished, or None.
        message: a line to show the user (resume summary, dropped partial line, lost job), or None.
    """

    total: int
    done: int = 0
    failed: int = 0
    running: int = 0
    lost: int = 0
    record: dict | None = None
    message: str | None = None


def run_grid(grid: Grid, executor: cf.Executor, *, results: ResultFile | None = None,
             budget_seconds: float | None = None, capacity=None, progress=None) -> list:
    """Run the jobs of ``grid`` that ``results`` does not hold yet; return the records of every job.

    At most ``2 * capacity`` jobs are handed to the executor at once (all of them when
    ``capacity`` is None; a callable is asked again before each hand-over, for clusters that
    grow), so an interrupted sweep has little to cancel. Records are appended to
    ``results`` as they finish; ``KeyboardInterrupt`` propagates after cancelling the rest.
    """
    return _Runner(grid, executor, results, budget_seconds, capacity, progress).run()


class _Runner:
    def __init__(self, grid, executor, results, budget_seconds, capacity, progress):
        self.grid, self.executor, self.results = grid, executor, results
        self.budget = budget_seconds
        self.capacity = capacity if callable(capacity) or capacity is None else (lambda: capacity)
        self.say = progress or (lambda s: None)
        if results is not None:
            results.open_for_append()  # locked from here on: a second sweep on the same file is refused
        self.have = {job_key(r["job"]): r for r in results.records} if results is not None else {}
        again = [self.have.pop(k)["status"] for k in [k for k, r in self.have.items() if rerun(r, budget_seconds)]]
        # rerun: their new records will supersede the old ones (the newest record of a job wins)
        self.again = {"timed out under a smaller budget": again.count("timeout"),
                      "whose job process died": again.count("error")}
        self.todo = deque(j for j in grid.jobs if job_key(j) not in self.have)
        self.running: dict = {}
        self.lost: list = []
        self.status = SweepStatus(total=len(grid), done=len(grid) - len(self.todo),
                                  failed=sum(r["status"] != "ok" for r in self.have.values()))

    def tell(self, **changes) -> None:
        self.status.running = len(self.running) if self.capacity is None else min(len(self.running), self.capacity())
        self.say(SweepStatus(**{**self.status.__dict__, **changes}))

    def run(self) -> list:
        res = self.results
        if res is not None and res.dropped:
            self.tell(message=f"{res.path}: dropped a partial last line ({res.dropped} bytes) left by an interrupted "
                              "run; that job runs again")
        if res is not None and res.records:
            why = [f"{n} {what}" for what, n in self.again.items() if n]
            kept = sum(r["status"] == "timeout" for r in self.have.values())
            self.tell(message=f"{res.path}: {len(self.have)} of {len(self.grid)} jobs already done; "
                              f"{len(self.todo)} remain" + (f" (run again: {', '.join(why)})" if why else "")
                              + (f"; {kept} timed out under this budget and run again only with a larger budget "
                                 "or none" if kept else ""))
        self.tell()
        try:
            while self.todo or self.running:
                self.submit()
                finished, _ = cf.wait(list(self.running), timeout=1.0, return_when=cf.FIRST_COMPLETED)
                for fut in [f for f in self.running if f in finished]:  # in the order the jobs were handed out
                    self.collect(fut)
        except BaseException:
            if not isinstance(self.executor, LocalPool):  # a local pool cancels its own (shutdown_pool)
                for fut in self.running:  # pending jobs are cancelled; a Dask cluster also drops the running ones
                    fut.cancel()
            raise
        records = self.records()
        if self.lost:
            raise SweepIncompleteError(f"{len(self.lost)} of {len(self.grid)} jobs were lost to worker failures (not "
                                       "recorded; run the sweep again to retry them)" + reimport_hint(self.executor),
                                       records, self.lost)
        return records

    def records(self) -> list:
        return [self.have[k] for k in map(job_key, self.grid.jobs) if k in self.have]

    def submit(self) -> None:
        window = len(self.todo) if self.capacity is None else 2 * self.capacity()
        while self.todo and len(self.running) < window:
            job = self.todo[0]
            try:
                fut = self.executor.submit(run_job, job, self.budget)
            except Exception as exc:  # a broken pool, a closed client, a lost scheduler
                lost = [*self.lost, *self.running.values(), *self.todo]
                raise SweepIncompleteError(f"the executor stopped accepting jobs ({type(exc).__name__}: {exc}); "
                                           f"{len(lost)} jobs not run" + reimport_hint(self.executor), self.records(),
                                           lost) from None
            self.running[fut] = self.todo.popleft()
        self.tell()

    def collect(self, fut) -> None:
        job = self.running.pop(fut)
        if fut.cancelled():  # not by us: the executor is going away (a Dask client that lost its scheduler)
            lost = [*self.lost, job, *self.running.values(), *self.todo]
            raise SweepIncompleteError(f"the executor cancelled the job {job_key(job)} (for a Dask cluster: the "
                                       f"scheduler was lost or the client closed); {len(lost)} jobs not run",
                                       self.records(), lost)
        exc = fut.exception()
        if isinstance(exc, KeyboardInterrupt):
            raise KeyboardInterrupt
        if exc is not None:
            self.lost.append(job)
            self.status.lost += 1
            self.tell(message=f"job {job_key(job)} lost: the worker failed ({type(exc).__name__}: {exc}); it is not "
                              "recorded and runs again next time")
            return
        record = {"sweep": self.grid.spec_hash, **fut.result()}
        if self.results is not None:
            self.results.append(record)
        self.have[job_key(job)] = record
        self.status.done += 1
        self.status.failed += record["status"] != "ok"
        self.tell(record=record)


class _SweepProgress:
    """A sweep's ``progress``: the user's callable receives each :class:`SweepStatus`; a display
    (``"auto"`` in a terminal or a notebook, or True) shows a bar of the jobs, the running and
    failed ones, and the messages as lines."""

    def __init__(self, progress, total: int):
        self.channel = open_progress(progress, "sweep", total=total)

    def __enter__(self):
        self.channel.__enter__()
        return self

    def __exit__(self, *exc):
        self.channel.__exit__(*exc)

    def __call__(self, status: SweepStatus) -> None:
        if self.channel.display is None:
            if self.channel.sink is not None:
                self.channel.sink(status)
            return
        if status.message:
            self.channel.line(status.message)
        self.channel.count(status.done, status.total, f"sweep: {status.running} running, {status.failed} failed")


def sweep(spec, *, executor: cf.Executor | None = None, out=None, progress="auto", workers: int | None = None,
          budget_seconds: float | None = None, confirm: bool = False) -> list:
    """Run every job of a sweep grid and return the records, in grid order.

    Works as it stands at the top level of a script (no ``if __name__ == "__main__":`` needed):
    the local worker processes do not run the script again (:mod:`~exacthess.sweeps.pool`).
    A process pool of your own passed as ``executor`` whose workers start with ``spawn`` or
    ``forkserver`` does run it again in every worker; there, guard the sweep::

        if __name__ == "__main__":
            eh.sweep(spec, executor=ProcessPoolExecutor(mp_context=get_context("spawn")))

    (called in such a worker while it imports the script, ``sweep`` raises an error showing this
    guard, and the lost jobs' error in the parent names it too).

    Args:
        spec: a ``[sweep]`` table as a dict (or ``{"sweep": ...}``, or a list of tables), or the
            path of a TOML file holding one (see :mod:`exacthess.sweeps.grid`).
        executor: any :class:`concurrent.futures.Executor`; default: a pool of ``workers`` local
            processes, shut down at the end. A Dask ``Client(address).get_executor()`` works.
        out: a JSON Lines file; records already there (of the same spec) are not run again, new
            ones are appended as they finish. A file holding records of another spec is refused.
        progress: ``"auto"`` (default): a progress bar in a terminal or a notebook, nothing
            otherwise; ``True`` always, ``False`` or None never; or a callable receiving a
            :class:`SweepStatus` at every change.
        workers: size of the default pool (default: the number of CPUs).
        budget_seconds: stop a job after this many seconds and record it as ``"timeout"``.
        confirm: run a grid of more than :data:`~exacthess.sweeps.grid.CONFIRM_LIMIT` (500)
            jobs; without it such a grid is refused before anything runs (the jobs are counted
            as the product of the axes, before the grid is expanded).

    Returns:
        one record per job: ``{"sweep", "job", "status", "report", "error", "seconds"}``.

    Raises:
        InvalidValueError: called by a worker process that is importing the caller's script (see above).
        ProblemTooLargeError: more than 500 jobs without ``confirm=True`` (or more jobs than fit in memory).
        InvalidValueError: ``out`` cannot be read or written, or holds another sweep's results.
        SweepIncompleteError: the executor failed for some jobs (they are not recorded).

    >>> recs = sweep({"family": "fcn", "input_dim": 3, "widths": [[], [2]], "output_dim": 2, "samples": 4},
    ...              executor=cf.ThreadPoolExecutor(1))
    >>> [(r["job"]["widths"], r["status"], r["report"]["ranks"]["H_L"]) for r in recs]
    [([], 'ok', 6), ([2], 'ok', 10)]
    """
    refuse_reimport()
    confirm = check_bool(confirm, "confirm")
    grid = expand(spec, limit=CONFIRM_LIMIT, confirm=confirm)
    say = _SweepProgress(progress, len(grid))
    if budget_seconds is not None:
        budget_seconds = check_real(budget_seconds, "budget_seconds", 0, strict=True)
    if executor is not None and not isinstance(executor, cf.Executor):
        raise InvalidTypeError(f"executor = {describe(executor)} has type {type(executor).__name__}; expected a "
                               "concurrent.futures.Executor or None")
    if executor is not None and workers is not None:
        raise InvalidValueError(f"workers = {workers!r} applies to the default pool only; expected None when an "
                                "executor is given")
    if out is not None and not isinstance(out, (str, os.PathLike)):
        raise InvalidTypeError(f"out = {describe(out)} has type {type(out).__name__}; expected a file path (str or "
                               "pathlib.Path) or None")
    owned = executor is None
    capacity = ((os.cpu_count() or 1) if workers is None else check_int(workers, "workers", 1)) if owned else None
    results = ResultFile(Path(out), grid.spec_hash) if out is not None else None
    if results is not None:
        results.open_for_append()  # an unwritable path or a file in use is refused before the pool starts
    return execute(grid, executor=executor, capacity=capacity, results=results, budget_seconds=budget_seconds,
                   progress=say)


def execute(grid: Grid, *, executor: cf.Executor | None = None, capacity=None, results: ResultFile | None = None,
            budget_seconds: float | None = None, progress=None, on_start=None) -> list:
    """Run a validated grid to the end and release what the run holds: the sweep loop of
    :func:`sweep` and of ``exacthess sweep``.

    With ``executor`` None a pool of ``capacity`` local processes is started and shut down at
    the end (at once, without waiting for running jobs, when the run is interrupted or fails;
    after the running jobs finish otherwise, also when some jobs were lost). An executor passed
    in stays open; ``capacity`` (a number, or a callable asked before each hand-over) bounds the
    jobs handed to it at once to ``2 * capacity`` (see :func:`run_grid`). ``results`` is closed
    at the end.

    Args:
        grid: the expanded grid (:func:`~exacthess.sweeps.grid.expand`).
        executor: any :class:`concurrent.futures.Executor`, or None for a local pool.
        capacity: workers of the executor: the size of the local pool (required with
            ``executor`` None), or None for no bound.
        results: the open results file, or None.
        budget_seconds: the per-job budget, already validated.
        progress: a callable receiving each :class:`SweepStatus`; when it is a context manager
            it is entered around the run (after ``on_start``), so a display opens only once the
            executor is up.
        on_start: called with no arguments once the executor is ready, before the first job
            (e.g. to print where the jobs run).

    Returns:
        the records of every job of the grid, in grid order.

    Raises:
        SweepIncompleteError: the executor failed for some jobs (they are not recorded).
    """
    owned = executor is None
    if owned and capacity is None:
        raise InvalidValueError("capacity = None leaves the size of the local pool open; expected a number of "
                                "workers when no executor is given")
    try:
        if owned:
            executor = local_executor(capacity)
        if on_start is not None:
            on_start()
        with (progress if hasattr(progress, "__enter__") else contextlib.nullcontext()):
            return run_grid(grid, executor, results=results, budget_seconds=budget_seconds, capacity=capacity,
                            progress=progress)
    except SweepIncompleteError:
        raise  # the running jobs were collected (or their executor is gone): shut down in order below
    except BaseException:  # interrupted or failed: do not wait for running jobs, their results would be discarded
        if owned and executor is not None:
            shutdown_pool(executor, now=True)
            owned = False
        raise
    finally:
        if results is not None:
            results.close()
        if owned and executor is not None:
            shutdown_pool(executor)
