"""``exacthess sweep SPEC.toml --out results.jsonl``: a grid of verifications, resumable.

Exit codes: 0 every job finished with status ok and no statement is violated; 1 some job
failed, timed out or was lost, or a statement is violated; 2 bad input (one line); 130
interrupted (finished results are kept; the same command resumes).
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time

from ..core.errors import InvalidValueError
from ..sweeps.grid import CONFIRM_LIMIT
from . import interrupt

__all__ = ["configure", "run", "CONFIRM_LIMIT"]


def configure(subparsers) -> None:
    """Add the ``sweep`` subcommand."""
    p = subparsers.add_parser(
        "sweep", help="run a grid of verifications on local processes or a Dask cluster (resumable)",
        description="Run every job of the grid in SPEC.toml ([sweep] table: keys named like the options of "
                    "`exacthess verify fcn|cnn`; a list is an axis, a scalar is fixed) and append one JSON line per "
                    "finished job to --out. Running the same command again resumes (for each job the newest record in "
                    "--out wins).")
    p.add_argument("spec", metavar="SPEC.toml", help="the grid (see examples/sweep_fcn.toml)")
    p.add_argument("--out", required=True, metavar="FILE.jsonl", help="results file (JSON Lines; appended, resumable)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: the number of CPUs)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on the Dask cluster at ADDRESS (e.g. tcp://host:8786; pip install \"exacthess[dask]\")")
    p.add_argument("--budget", type=float, default=None, metavar="SECONDS",
                   help="stop a job after SECONDS and record it as timed out (default: no limit); a rerun "
                        "with a larger budget or none runs the timed-out jobs again")
    p.add_argument("--yes", action="store_true", help=f"run grids of more than {CONFIRM_LIMIT} jobs")


def _describe(job: dict, axes) -> str:
    keys = [k for k in job if k in axes] or [k for k in job if k not in ("family", "seed")]
    return " ".join(f"{k}={json.dumps(job[k], separators=(',', ':'))}" for k in keys)


def _outcome(record: dict) -> str:
    if record["status"] == "ok":
        ranks = record["report"]["ranks"]
        verdict = "" if record["report"]["ok"] else "  VIOLATED"
        return ("ok  " + " ".join(f"{k}={ranks[k]}" for k in ("H_L", "H_o", "H_f") if k in ranks)
                + ("" if record["report"]["certified"] else " (not all certified)") + verdict)
    return f"{record['status']}: {record.get('error')}"


class _Display:
    """A rich progress bar on a terminal (done / running / failed, ETA); plain lines otherwise."""

    def __init__(self, grid, tty: bool):
        self.grid, self.tty = grid, tty
        self.bar = self.task = None
        self.width = len(str(len(grid)))

    def __enter__(self):
        if self.tty:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            from .render import console
            self.bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("running {task.fields[running]}  failed {task.fields[failed]}"),
                                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                console=console(stderr=True))
            self.bar.__enter__()
            self.task = self.bar.add_task("sweep", total=len(self.grid), running=0, failed=0)
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False)
        else:
            sys.stderr.write(text + "\n")  # one write: a Ctrl-C never leaves half a line
            sys.stderr.flush()

    def __call__(self, status) -> None:
        if status.message:
            self.line(status.message)
        if self.bar is not None:
            self.bar.update(self.task, completed=status.done, running=status.running, failed=status.failed)
            if status.record is not None and status.record["status"] != "ok":
                self.line(f"{_describe(status.record['job'], self.grid.axes)}: {_outcome(status.record)}")
        elif status.record is not None:
            r = status.record
            self.line(f"[{status.done:>{self.width}}/{len(self.grid)}] {r['seconds']:7.2f} s  "
                      f"{_describe(r['job'], self.grid.axes)}: {_outcome(r)}")


def run(args) -> int:
    """Run ``exacthess sweep``: validate the options, then the sweep driver
    (:func:`exacthess.sweeps.driver.execute`) with this command's display."""
    from ..core.validate import check_int, check_real
    from ..sweeps.driver import SweepIncompleteError, execute
    from ..sweeps.grid import expand
    from ..sweeps.results import ResultFile
    grid = expand(args.spec, limit=CONFIRM_LIMIT, confirm=args.yes, confirm_hint="--yes")  # counted before expanded
    budget = None if args.budget is None else check_real(args.budget, "--budget", 0, strict=True)
    workers = None if args.workers is None else check_int(args.workers, "--workers", 1)
    if args.scheduler is not None and workers is not None:
        raise InvalidValueError("--workers and --scheduler exclude each other; the cluster decides its workers")
    from .parser import writable
    writable(args.out, "--out", folder=False)
    results = ResultFile(args.out, grid.spec_hash, name="--out")  # refuses another sweep's file before anything runs
    created = not os.path.exists(args.out)
    results.open_for_append()  # and a file that cannot be written, or that another sweep is writing
    interrupt.saved(lambda: f"{len(results.records)} of {len(grid)} jobs are saved in {args.out}; run the same "
                            "command again to resume")
    cluster = None
    records, lost = [], []
    started = [time.perf_counter()]
    try:
        if args.scheduler is not None:
            from ..sweeps.cluster import connect
            cluster = connect(args.scheduler)
            import logging  # a lost scheduler is reported below in one line; not also as the client's tracebacks
            logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
            executor, capacity = cluster.executor, cluster.capacity
            threads = capacity()
            where = f"the Dask cluster at {cluster.address} ({threads} worker thread{'s' if threads > 1 else ''})"
        else:
            executor, capacity = None, workers or os.cpu_count() or 1  # the driver starts the local pool
            where = f"{capacity} local worker process{'es' if capacity > 1 else ''}"

        def header() -> None:
            sys.stderr.write(textwrap.fill(f"sweep: {grid.summary()} on {where}"
                                           + (f", budget {budget:g} s per job" if budget else "")
                                           + f"; results in {args.out}", width=80, subsequent_indent="  ",
                                           break_long_words=False) + "\n")  # one write: a Ctrl-C never cuts the line
            sys.stderr.flush()
            started[0] = time.perf_counter()
        try:
            records = execute(grid, executor=executor, capacity=capacity, results=results, budget_seconds=budget,
                              progress=_Display(grid, sys.stderr.isatty()), on_start=header)
        except SweepIncompleteError as exc:
            records, lost = exc.records, exc.lost
            print(f"error: {exc}", file=sys.stderr)
    finally:
        results.close()
        if created and not results.records and os.path.exists(args.out) and os.path.getsize(args.out) == 0:
            os.remove(args.out)  # nothing ran (an unreachable scheduler, an early Ctrl-C): leave no empty file
        if cluster is not None:
            cluster.close()
    return _summary(records, lost, len(grid), args.out, time.perf_counter() - started[0])


def _summary(records: list, lost: list, total: int, out: str, seconds: float) -> int:
    counts = {s: sum(r["status"] == s for r in records) for s in ("ok", "error", "timeout")}
    violated = sum(1 for r in records if r["status"] == "ok" and not r["report"]["ok"])
    uncertified = sum(1 for r in records if r["status"] == "ok" and not r["report"]["certified"])
    print(textwrap.fill(f"{len(records)} of {total} jobs in {out}: {counts['ok']} ok, {counts['error']} errors, "
                        f"{counts['timeout']} timed out" + (f", {len(lost)} lost (rerun to retry)" if lost else "")
                        + f"; {violated} with a violated statement; {uncertified} not fully certified; this run "
                        f"{seconds:.1f} s", width=80, subsequent_indent="  ", break_long_words=False))
    return 0 if counts["ok"] == total and not violated else 1
