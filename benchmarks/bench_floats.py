"""Benchmark: where the float pipeline users run gets Hessian ranks wrong (PyTorch float32/float64).

Run: ``python benchmarks/bench_floats.py [--quick] [--seeds 0,1]`` (needs ``torch``; without it
only the exacthess columns are filled).

For a subset of the ``exacthess reproduce float-atlas`` grid (FCNs of depth 2-10 with equal
widths and a bottleneck, 1-D and 2-D CNNs, with and without biases), at the seeded realistic
point (``point="gaussian"``: weights about N(0, 1/fan_in), biases about N(0, 0.01/fan_in), data and
targets about N(0, 1), exactly representable in float32), side by side:

* **exact**: certified ranks of ``H_L``, ``H_o``, ``H_f`` (``exacthess.hessian.ranks.certified_ranks``);
* **torch float32 / float64**: what a user runs. The point rounded to the dtype (exactly), the
  network written by hand (``benchmarks/bench_hessian.py``, ``float_baseline``),
  ``H_L = torch.func.hessian(loss)(theta)`` for the MSE loss ``1/2 sum_i ||F(x_i) - y_i||^2``,
  ``H_o = J^T J`` with ``J = torch.func.jacrev(F)(theta)``, ``H_f = H_L - H_o``, then
  ``torch.linalg.matrix_rank`` with its default tolerance;
* **exacthess float32 / float64**: the float columns that ``exacthess verify`` prints (the
  Hessian engine run over float32 / float64, numpy ``matrix_rank``), to check that they tell the
  same story as torch.

A float rank "disagrees" when it differs from a certified exact rank (a rank not certified is
reported and left out). Writes a rich table and ``benchmarks/results_floats.json``.
This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results_floats.json"
MATS = ("H_L", "H_o", "H_f")
DTYPES = ("float32", "float64")


def subset(quick: bool) -> list[dict]:
    from exacthess.experiments.float_atlas import atlas_grid
    keep = {"fcn-equal": (2, 4, 6, 8, 10), "fcn-bottleneck": (2, 4, 6, 8, 10), "cnn1d": (2, 4, 6), "cnn2d": (1, 3, 5)}
    if quick:
        keep = {"fcn-equal": (2, 6), "fcn-bottleneck": (4,), "cnn1d": (3,), "cnn2d": (1,)}
    return [c for c in atlas_grid(False) if c["depth"] in keep[c["family"]] and (not quick or not c["bias"])]


def torch_ranks(arch, n: int, seed: int) -> dict:
    sys.path.insert(0, str(HERE))
    from bench_hessian import float_baseline
    out = {}
    for dt in DTYPES:
        t = time.perf_counter()
        res = float_baseline(arch, n, dtype=dt, seed=seed)
        out[dt] = dict(res["ranks"], seconds=time.perf_counter() - t)
    return out


def measure(case: dict, seed: int, use_torch: bool, budget: float) -> dict:
    from exacthess.verification.floats import float_ranks
    from exacthess.hessian.problem import make_problem
    from exacthess.hessian.ranks import certified_ranks
    arch, n = case["arch"], case["n"]
    t = time.perf_counter()
    prob = make_problem(arch, n_samples=n, seed=seed)
    ranks, info, _ = certified_ranks(prob, seed=seed, budget_seconds=budget, block_columns=False)
    exact_s = time.perf_counter() - t
    fr = float_ranks(prob, MATS)
    row = dict(family=case["family"], depth=case["depth"], bias=case["bias"], seed=seed, arch=repr(arch),
               params=arch.n_params, n=n, exact={k: int(ranks[k]) for k in MATS},
               certified={k: bool(info[k].certified) for k in MATS}, exact_seconds=exact_s,
               exacthess_float={dt: {k: fr[k][dt] for k in MATS} for dt in DTYPES})
    row["torch"] = torch_ranks(arch, n, seed) if use_torch else None
    return row


def wrong(row, side: str, dt: str) -> list[str]:
    vals = row[side][dt] if side == "exacthess_float" else row["torch"][dt]
    return [k for k in MATS if row["certified"][k] and vals[k] != row["exact"][k]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="5 networks")
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    ap.add_argument("--budget", type=float, default=60.0, help="certification budget per rank (seconds)")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    from rich.console import Console
    from rich.table import Table
    import exacthess
    try:
        import torch
        torch.set_num_threads(2)
        torch_version = torch.__version__
    except ImportError:  # torch is optional
        torch_version = None
    con = Console(width=200)
    machine = dict(python=platform.python_version(), machine=platform.machine(), cpus=os.cpu_count(),
                   torch=torch_version, exacthess=exacthess.__version__, loadavg_start=os.getloadavg()[0])
    con.print(f"python {machine['python']}, {machine['cpus']} CPUs, torch {torch_version}, "
              f"load average {machine['loadavg_start']:.2f}")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    cases = subset(args.quick)
    rows = []
    t0 = time.perf_counter()
    for seed in seeds:
        for i, case in enumerate(cases, 1):
            row = measure(case, seed, torch_version is not None, args.budget)
            rows.append(row)
            con.print(f"[{i}/{len(cases)}] seed {seed} {case['family']} L={case['depth']}"
                      f"{' bias' if case['bias'] else ''} ({row['params']} params): exact "
                      + "/".join(str(row["exact"][k]) for k in MATS)
                      + ("" if row["torch"] is None else "; torch float32 "
                         + "/".join(str(row["torch"]["float32"][k]) for k in MATS) + ", float64 "
                         + "/".join(str(row["torch"]["float64"][k]) for k in MATS)))

    def fmt(r, side, dt):
        if side == "torch" and r["torch"] is None:
            return "-"
        vals = r[side][dt] if side == "exacthess_float" else r["torch"][dt]
        bad = set(wrong(r, side, dt))
        return "/".join(f"[red]{vals[k]}[/]" if k in bad else str(vals[k]) for k in MATS)

    t = Table(title="Hessian ranks H_L/H_o/H_f: certified exact vs float pipelines (red: wrong)")
    for col in ("network", "params", "exact", "torch float32", "torch float64", "exacthess float32",
                "exacthess float64"):
        t.add_column(col, justify="left" if col == "network" else "right")
    for r in rows:
        t.add_row(f"{r['family']} L={r['depth']}{' +bias' if r['bias'] else ''} (seed {r['seed']})", str(r["params"]),
                  "/".join(str(r["exact"][k]) + ("" if r["certified"][k] else "?") for k in MATS),
                  fmt(r, "torch", "float32"), fmt(r, "torch", "float64"),
                  fmt(r, "exacthess_float", "float32"), fmt(r, "exacthess_float", "float64"))
    con.print(t)
    summary = {}
    for side in ("torch", "exacthess_float"):
        if side == "torch" and torch_version is None:
            continue
        for dt in DTYPES:
            nets = sum(1 for r in rows if wrong(r, side, dt))
            ranks_wrong = sum(len(wrong(r, side, dt)) for r in rows)
            decided = sum(1 for r in rows for k in MATS if r["certified"][k])
            errs = [abs((r[side][dt] if side == "exacthess_float" else r["torch"][dt])[k] - r["exact"][k])
                    for r in rows for k in MATS if r["certified"][k]]
            summary[f"{side} {dt}"] = dict(networks_wrong=nets, networks=len(rows), ranks_wrong=ranks_wrong,
                                           ranks=decided, mean_abs_error=sum(errs) / max(1, len(errs)),
                                           max_abs_error=max(errs, default=0))
            con.print(f"{side} {dt}: {ranks_wrong}/{decided} certified ranks wrong on {nets}/{len(rows)} networks; "
                      f"mean |error| {summary[f'{side} {dt}']['mean_abs_error']:.1f}, max {max(errs, default=0)}")
    agree = sum(1 for r in rows if r["torch"] is not None for dt in DTYPES
                if all(r["torch"][dt][k] == r["exacthess_float"][dt][k] for k in MATS))
    if torch_version is not None:
        con.print(f"torch and the exacthess float columns give identical ranks on {agree}/{2 * len(rows)} "
                  f"(network, dtype) pairs")
    machine["loadavg_end"] = os.getloadavg()[0]
    Path(args.out).write_text(json.dumps(dict(machine=machine, seconds=time.perf_counter() - t0,
                                              summary=summary, rows=rows), indent=2) + "\n")
    con.print(f"wrote {args.out} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
