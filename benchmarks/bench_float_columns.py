"""Benchmark: the cost of ``verify``'s float32/float64 columns against the torch float64 baseline.

Run: ``python benchmarks/bench_float_columns.py [--cases fcn,relu] [--rounds 3] [--sweep]``.

For each case (a network, a sample count and the seed of its ``point="gaussian"`` point),
each side in its own fresh process, the sides interleaved round by round, medians of
``--rounds`` (default 3) wall times:

* **verify**: ``exacthess.verify(arch, n_samples=n, seed=seed)``, the default (float columns on
  when the network is small enough, :func:`exacthess.verification.floats.float_columns_by_default`),
  end to end, and whether it computed the float columns;
* **exact**: the same with ``float_check=False`` (the certified ranks only);
* **floats**: the float columns alone, whatever the size: ``float_ranks`` of ``H_o``, ``H_f``,
  ``H_L`` and the block columns ``H_f[:,l]`` (both precisions: the Hessians built by the engine
  over float32 / float64, then ``matrix_rank``, ``hermitian=True`` for the symmetric ones), at
  the exact point built untimed (``verify`` shares it with the certified ranks);
* **torch float64**: what a user runs, at the same point (converted to float64 exactly):
  ``H_L = torch.func.hessian`` of the MSE loss ``1/2 sum_i ||F(x_i) - y_i||^2`` over the flat
  parameter vector, ``H_o = J^T J`` with ``J = torch.func.jacrev(F)``, ``H_f = H_L - H_o``,
  ``torch.linalg.matrix_rank(M, hermitian=True)`` of each, ``torch.set_num_threads(2)`` (``--threads``)
  (the forward pass of ``bench_general.py``, ReLU included).

Each side is timed from after its imports: the first call in a fresh process, as a user's script
runs it (and as ``bench_general.py`` times torch); ``--warm`` first runs an untimed warm-up on a
tiny network in each worker (one-off costs such as torch's first ``vmap`` tracing not charged).
``--sweep`` adds networks of growing size (the measurements behind the default limit). The
load average is printed with each row: on a shared machine wall times vary by 2x between
identical runs, which is why the sides are interleaved. ``--threads 1`` runs every worker with one
BLAS / torch thread and the table shows CPU seconds (``time.process_time``): the work, robust to
other jobs on the machine (two BLAS threads that share a busy core spin and can take 5x longer).
This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results_float_columns.json"
SIDES = ("verify", "exact", "floats", "torch")


def cases(sweep: bool = False) -> dict:
    import exacthess as eh
    out = {
        "fcn": dict(arch=eh.FCN(20, (30, 30), 10), n=50, seed=1),
        "relu": dict(arch=eh.FCN(40, (40,), 10, bias=True, activation="relu"), n=300, seed=0),
    }
    if sweep:  # the same shapes at growing widths: parameters p = w^2 + 30 w (linear), 51 w + 10 (ReLU)
        for w in (10, 15, 20, 25):
            out[f"fcn-w{w}"] = dict(arch=eh.FCN(20, (w, w), 10), n=50, seed=1)
        for w in (10, 20, 30):
            out[f"relu-w{w}"] = dict(arch=eh.FCN(40, (w,), 10, bias=True, activation="relu"), n=300, seed=0)
    return out


def _point(case):
    import numpy as np
    from exacthess.hessian.problem import seeded_data, seeded_params

    def f64(a):
        return np.array([float(v) for v in a.flat], dtype=np.float64).reshape(a.shape)
    params = [f64(p) for p in seeded_params(case["arch"], case["seed"])]
    X, Y = seeded_data(case["arch"], case["n"], case["seed"])
    return params, f64(X), f64(Y)


def _verify(case, **kw):
    import exacthess as eh
    r = eh.verify(case["arch"], n_samples=case["n"], seed=case["seed"], progress=False, **kw)
    floats = any(row.float_ranks for row in r.rows)
    return {"ranks": {k: r.ranks[k] for k in ("H_o", "H_f", "H_L")}, "floats": floats,
            "float64": {row.quantity: row.float_ranks["float64"] for row in r.rows if row.float_ranks},
            "certified": r.certified, "notes": [n for n in r.notes if "float" in n]}


def _problem(case):
    from exacthess.hessian.problem import make_problem
    return make_problem(case["arch"], n_samples=case["n"], seed=case["seed"])


def _floats(problem):
    """The float columns at the exact point ``problem`` (built untimed: verify shares it)."""
    from exacthess.models.quantities import MATRICES, block_column
    from exacthess.verification.floats import float_ranks
    keys = list(MATRICES) + [block_column(l) for l in range(1, len(problem.arch.layers) + 1)]
    fr = float_ranks(problem, keys)
    return {"ranks": {k: fr[k] for k in MATRICES}}


def _torch(case, point):
    import torch
    from torch.func import hessian, jacrev
    sys.path.insert(0, str(HERE))
    from bench_general import torch_forward
    arch = case["arch"]
    params, X, Y = point
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    shapes, sizes = [p.shape for p in params], [p.size for p in params]
    theta = torch.cat([torch.tensor(p).reshape(-1) for p in params])

    def F(th):
        return torch_forward(arch, th, Xt, shapes, sizes)

    def loss(th):
        return 0.5 * ((F(th) - Yt) ** 2).sum()
    HL = hessian(loss)(theta)
    J = jacrev(F)(theta).reshape(-1, theta.numel())
    Ho = J.T @ J
    Hf = HL - Ho
    ranks = {k: int(torch.linalg.matrix_rank(M, hermitian=True)) for k, M in (("H_o", Ho), ("H_f", Hf), ("H_L", HL))}
    return {"ranks": ranks}


def worker(side: str, key: str, sweep: bool, threads: int, warm: bool) -> dict:
    import exacthess as eh
    case = cases(sweep)[key]
    tiny = dict(arch=eh.FCN(4, (3,), 2, activation="relu" if "relu" in key else "linear"), n=6, seed=0)
    if side == "torch":
        import torch
        torch.set_num_threads(threads)
        if warm:
            _torch(tiny, _point(tiny))  # warm-up, untimed
        point = _point(case)
        t, c = time.perf_counter(), time.process_time()
        out = _torch(case, point)
    elif side == "floats":
        if warm:
            _floats(_problem(tiny))  # warm-up, untimed
        problem = _problem(case)
        t, c = time.perf_counter(), time.process_time()
        out = _floats(problem)
    else:
        run = _verify if side == "verify" else (lambda c: _verify(c, float_check=False))
        if warm:
            run(tiny)  # warm-up, untimed
        t, c = time.perf_counter(), time.process_time()
        out = run(case)
    return {"seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - c, **out}


def run_side(side: str, key: str, sweep: bool, timeout: float, threads: int, warm: bool) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", side, "--case", key, "--threads", str(threads)]
    cmd += (["--sweep"] if sweep else []) + (["--warm"] if warm else [])
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    if out.returncode:
        lines = out.stderr.strip().splitlines()
        return {"ok": False, "error": (lines[-1] if lines else f"exit code {out.returncode}")[:300]}
    return {"ok": True, **json.loads(out.stdout.strip().splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=None, help="comma-separated case keys (default: all)")
    ap.add_argument("--sides", default=",".join(SIDES), help="comma-separated sides (default: " + ",".join(SIDES) + ")")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sweep", action="store_true", help="also the networks of growing size")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--warm", action="store_true", help="an untimed warm-up on a tiny network in each worker first")
    ap.add_argument("--threads", type=int, default=2, help="BLAS / torch threads per worker (default 2); "
                    "with 1 the table shows CPU seconds")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.case, args.sweep, args.threads, args.warm)))
        return
    every = cases(args.sweep)
    keys = args.cases.split(",") if args.cases else list(every)
    sides = args.sides.split(",")
    clock = "seconds" if args.threads > 1 else "cpu_seconds"
    rows = []
    print(f"medians of {args.rounds} {'wall' if clock == 'seconds' else 'CPU'} seconds, {args.threads} thread(s), "
          + ("after a warm-up" if args.warm else "first call in a fresh process"))
    print(f"{'case':40s} {'params':>6s} {'n':>4s} " + " ".join(f"{s + ' s':>16s}" for s in sides)
          + "  verify/torch  load", flush=True)
    for key in keys:
        case = every[key]
        runs = {s: [] for s in sides}
        for _ in range(args.rounds):
            for side in sides:
                runs[side].append(run_side(side, key, args.sweep, args.timeout, args.threads, args.warm))
        med = {s: statistics.median(r[clock] for r in runs[s]) if all(r["ok"] for r in runs[s]) else None
               for s in sides}
        row = {"key": key, "arch": repr(case["arch"]), "params": case["arch"].n_params, "n": case["n"],
               "seed": case["seed"], "median_seconds": med, "runs": runs, "load": os.getloadavg()[0]}
        if med.get("verify") and med.get("torch"):
            row["verify_over_torch"] = med["verify"] / med["torch"]
        rows.append(row)
        cells = []
        for s in sides:
            m = med[s]
            cells.append(f"{m:16.2f}" if m is not None else f"{'failed':>16s}")
        ratio = row.get("verify_over_torch")
        print(f"{row['arch']:40s} {row['params']:6d} {row['n']:4d} " + " ".join(cells)
              + f"  {ratio if ratio is not None else float('nan'):12.2f}  {row['load']:.1f}", flush=True)
        Path(args.out).write_text(json.dumps({"rows": rows, "rounds": args.rounds, "threads": args.threads,
                                              "clock": clock, "warm": args.warm,
                                              "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}},
                                             indent=2))  # after every case: an interrupted run keeps its rows


if __name__ == "__main__":
    main()
