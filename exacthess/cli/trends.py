"""``exacthess reproduce cnn-trends``: parser, progress, table and files.

The computation is :func:`exacthess.experiments.trends.cnn_trend_rows` (a sweep); this module
shows its progress (a bar on a terminal, one plain line per finished network otherwise), prints
the table (80 columns when piped) and writes ``cnn_trends.json`` and the figure ``cnn_trends.png``
(or ``.pdf``, ``.svg``: ``--format``).
"""

from __future__ import annotations

import json
import math
import time

from ..experiments.figures import FORMAT_HELP

__all__ = ["configure", "run"]


def configure(reproduce_subparsers):
    """Add ``cnn-trends`` to the ``reproduce`` subparsers."""
    ct = reproduce_subparsers.add_parser(
        "cnn-trends", help="rank vs parameter count of 1-D linear CNNs (ICML 2023 trend)",
        description="Exact Hessian ranks of 1-D linear CNNs as the number of filters and the kernel size grow, "
                    "against the ICML 2023 bounds and the square-root trend in the parameter count (a sweep).")
    ct.add_argument("--out", default="exacthess-output", help="output folder (default exacthess-output)")
    ct.add_argument("--quick", action="store_true", help="a smaller sweep")
    ct.add_argument("--seed", type=int, default=0, help="seed of parameters, data and primes (default 0)")
    ct.add_argument("--workers", type=int, default=None, metavar="N", help="worker processes (default: the CPUs)")
    ct.add_argument("--format", default="png", metavar="FMT[,FMT]", help=FORMAT_HELP)
    return ct


def run(args) -> int:
    """Run the sweep, print the table, write the JSON and the plot; exit code 0."""
    from rich import box
    from rich.table import Table

    from ..core.validate import check_int, check_seed
    from ..experiments.trends import cnn_trend_rows, plot_trends
    from .parser import writable
    from .progress import ProgressReporter
    from .render import console
    from ..experiments.figures import check_formats
    check_seed(args.seed, "--seed")
    formats = check_formats(args.format, "--format")
    workers = None if args.workers is None else check_int(args.workers, "--workers", 1)
    out = writable(args.out, "--out")
    t0 = time.perf_counter()
    with ProgressReporter(prefix="[cnn-trends]", total=0) as prog, prog.step("exact ranks"):
        def show(status):
            prog.count(status.done, status.total, f"exact ranks ({status.running} running)")
        rows = cnn_trend_rows(quick=args.quick, seed=args.seed, progress=show, workers=workers)
    (out / "cnn_trends.json").write_text(json.dumps(rows, indent=2))
    figures = ", ".join(map(str, plot_trends(rows, out / "cnn_trends", formats)))
    t = Table(title="Exact Hessian ranks of 1-D linear CNNs (d0 = 16, L = 2, K = 4, kernel 3 / filters 3)"
              if not args.quick else "cnn-trends (quick: d0 = 12, L = 2, K = 3)", box=box.SIMPLE_HEAD,
              pad_edge=False, caption="rank/bound: the exact rank and the ICML 2023 bound")
    for col in ("sweep", "value", "p", "H_o", "H_f", "H_L", "H_L/sqrt(p)", "certified"):
        t.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        t.add_row(r["sweep"], str(r["value"]), str(r["p"]), *(f"{r[k]}/{r['bound_' + k]}" for k in ("H_o", "H_f", "H_L")),
                  f"{r['H_L'] / math.sqrt(r['p']):.2f}", "yes" if r["certified"] else "no")
    con = console()
    con.print(t)
    con.print(f"wrote {out / 'cnn_trends.json'} and {figures} in {time.perf_counter() - t0:.1f} s; "
              f"all ranks certified: {all(r['certified'] for r in rows)}; all statements hold: "
              f"{all(r['statements_ok'] for r in rows)}")
    return 0
