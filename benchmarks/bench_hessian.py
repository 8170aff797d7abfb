"""Benchmark: certified exact Hessian ranks (exacthess) vs a float64 PyTorch baseline.

Run: ``python benchmarks/bench_hessian.py [--quick] [--point gaussian|integers]`` (``--quick``: cases 1
and 2 only; ``--point``: the seeded point of both sides, default ``gaussian``).

For each case, side by side in one run:

* **exact**: ``exacthess.verify(arch, n_samples=n, seed=0, float_check=False)`` end to end
  (wall time), the certified ranks of ``H_o``, ``H_f``, ``H_L``.
* **float64**: the same network in PyTorch (float64, the same seeded parameters and data --
  ``point="gaussian"``, exact in float32 and float64 -- converted with ``float()``); ``H_L = torch.func.hessian(loss)(theta)`` w.r.t. the flat
  parameter vector (forward-over-reverse; for big cases the same forward-over-reverse product is
  evaluated in column chunks to bound memory), ``H_o = J^T J`` with
  ``J = torch.func.jacrev(F)(theta)`` stacked over samples, ``H_f = H_L - H_o``, then
  ``torch.linalg.matrix_rank`` with its default tolerance of each. Timed end to end: seeded
  parameters/data, conversion, Hessians, ranks.

Each measurement runs in its own fresh worker process (``--worker``), after an untimed warm-up
on a tiny network (so one-off import / vmap tracing costs are not charged to case 1), with
``torch.set_num_threads(2)``. The worker's peak RSS is reported too. Cases with fewer than
3,000 parameters report the best of ``--repeats`` runs; larger ones a single run.
Results go to a rich table and to ``benchmarks/results_hessian.json``.

This is a benchmark only: no timing assertions belong in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results_hessian.json"
SMALL = 3000  # below this many parameters: best of --repeats


# --------------------------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------------------------

def make_cases():
    import exacthess as eh
    return [
        dict(id=1, name="notebook FCN(25,(5,10),10)", arch=eh.FCN(25, (5, 10), 10), n=50,
             target="exact <= 0.5 s, certified"),
        dict(id=2, name="FCN(40,(20,20,20),10)", arch=eh.FCN(40, (20, 20, 20), 10), n=80,
             target="exact <= 1.0x float64, certified"),
        dict(id=3, name="FCN(64,(64,48),10)", arch=eh.FCN(64, (64, 48), 10), n=128,
             target="certified, exact <= 60 s"),
        dict(id=4, name="CNN1d((32,),(16,16,16),k5,p2,10)",
             arch=eh.CNN((32,), (16, 16, 16), 5, 10, paddings=2), n=64,
             target="certified, exact <= 60 s"),
    ]


def judge(case, row) -> bool:
    ex = row["exact"]
    if not ex.get("ok"):
        return False
    cert = ex["certified"]
    if case["id"] == 1:
        return cert and ex["seconds"] <= 0.5
    if case["id"] == 2:
        fl = row["float64"]
        return cert and fl.get("ok", False) and ex["seconds"] <= 1.0 * fl["seconds"]
    return cert and ex["seconds"] <= 60.0


# --------------------------------------------------------------------------------------------
# workers (run in a fresh process each)
# --------------------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker_exact(case, repeats: int, point: str = "gaussian") -> dict:
    import exacthess as eh
    eh.verify(eh.FCN(4, (2,), 3), n_samples=6, seed=0, float_check=False)  # warm-up, untimed
    arch, n = case["arch"], case["n"]
    best, report = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        report = eh.verify(arch, n_samples=n, seed=0, float_check=False, point=point)
        best = min(best, time.perf_counter() - t)
    keys = ("H_o", "H_f", "H_L")
    info = report.rank_info
    return dict(ok=True, seconds=best, report_seconds=report.seconds,
                ranks={k: int(report.ranks[k]) for k in keys},
                certified=all(info[k].certified for k in keys),
                how={k: info[k].how for k in keys},
                block_ranks={k: int(v) for k, v in report.ranks.items() if k not in keys},
                peak_rss_mb=peak_rss_mb())


def _to_tensor(a, torch, dtype=None):
    import numpy as np
    t = torch.tensor(np.array([float(v) for v in a.flat], dtype=np.float64).reshape(a.shape),
                     dtype=torch.float64)
    return t if dtype is None else t.to(dtype)


def float_baseline(arch, n: int, mem_budget_gb: float = 6.0, dtype: str = "float64", seed: int = 0,
                   point: str = "gaussian") -> dict:
    """H_o, H_f, H_L of the MSE loss in ``dtype`` and their ``matrix_rank`` (everything timed by caller).

    The seeded point (``exacthess.hessian.problem``) is rounded to ``dtype`` once (exactly, at
    ``point="gaussian"``); every later operation runs in ``dtype``."""
    import torch
    import torch.nn.functional as Fnn
    from torch.func import hessian, jacrev, jvp, grad, vmap
    from exacthess import CNN
    from exacthess.hessian.problem import seeded_data, seeded_params

    tdt = getattr(torch, dtype)
    params = [_to_tensor(p, torch, tdt) for p in seeded_params(arch, seed, point)]
    Xo, Yo = seeded_data(arch, n, seed, point)
    X, Y = _to_tensor(Xo, torch, tdt), _to_tensor(Yo, torch, tdt)
    shapes = [tuple(p.shape) for p in params]
    sizes = [p.numel() for p in params]
    theta = torch.cat([p.reshape(-1) for p in params])
    P = theta.numel()
    layers = arch.layers
    is_cnn = isinstance(arch, CNN)
    two_d = is_cnn and len(arch.input_shape) == 2

    def unpack(th):
        ps = [w.reshape(s) for w, s in zip(torch.split(th, sizes), shapes)]
        out, i = [], 0
        for layer in layers:
            w = ps[i]
            i += 1
            b = None
            if layer.bias:
                b = ps[i]
                i += 1
            out.append((w, b))
        return out

    def forward(th):
        wb = unpack(th)
        if not is_cnn:
            h = X
            for w, b in wb:
                h = h @ w.T + (b if b is not None else 0.0)
            return h
        # CNN: conv layers then a conv whose kernel covers the whole map (= fully connected)
        if two_d:
            h = X.reshape(n, arch.in_channels, *arch.input_shape)
            conv = Fnn.conv2d
        else:
            h = X.reshape(n, arch.in_channels, arch.input_shape[0])
            conv = Fnn.conv1d
        for layer, (w, b) in zip(layers, wb):
            if two_d:
                h = conv(h, w, b, stride=layer.stride, padding=layer.padding)
            else:
                h = conv(h, w, b, stride=layer.stride[1], padding=layer.padding[1])
        return h.reshape(n, -1)

    def loss(th):
        return 0.5 * ((forward(th) - Y) ** 2).sum()

    # forward-over-reverse activations: ~4 float64 copies of all layer outputs per tangent
    per_tangent = 4 * 8 * n * (sum(l.n_out for l in layers) + arch.input_dim)
    chunk = max(1, int(mem_budget_gb * 2**30 // per_tangent))
    if chunk >= P:
        method = "torch.func.hessian"
        HL = hessian(loss)(theta)
    else:
        method = f"forward-over-reverse, {chunk} columns per chunk"
        g = grad(loss)
        hvp = vmap(lambda v: jvp(g, (theta,), (v,))[1])
        eye = torch.eye(P, dtype=tdt)
        HL = torch.cat([hvp(eye[i:i + chunk]) for i in range(0, P, chunk)], dim=0)
    J = jacrev(forward)(theta).reshape(-1, P)  # (n K) x P
    Ho = J.T @ J
    Hf = HL - Ho
    ranks = {k: int(torch.linalg.matrix_rank(M)) for k, M in (("H_o", Ho), ("H_f", Hf), ("H_L", HL))}
    return dict(ranks=ranks, hessian_method=method)


def worker_float(case, repeats: int, point: str = "gaussian") -> dict:
    import torch
    import exacthess as eh
    torch.set_num_threads(2)
    float_baseline(eh.FCN(4, (2,), 3), 6)  # warm-up (vmap tracing, BLAS init), untimed
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = float_baseline(case["arch"], case["n"], point=point)
        best = min(best, time.perf_counter() - t)
    return dict(ok=True, seconds=best, ranks=out["ranks"], hessian_method=out["hessian_method"],
                torch=torch.__version__, threads=torch.get_num_threads(), peak_rss_mb=peak_rss_mb())


def run_worker(kind: str, case_id: int, repeats: int, timeout: float, point: str = "gaussian") -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", kind, "--case", str(case_id),
           "--repeats", str(repeats), "--point", point]
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(ok=False, status=f"timed out (> {timeout:.0f} s)", seconds=None)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return dict(ok=False, status=f"failed (exit {proc.returncode}): {' | '.join(tail)}",
                    seconds=None, wall=time.perf_counter() - t)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------

def fmt_ranks(r):
    return "/".join(str(r[k]) for k in ("H_o", "H_f", "H_L")) if r else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="cases 1 and 2 only")
    ap.add_argument("--cases", type=str, default=None, help="comma-separated case ids (default: all)")
    ap.add_argument("--repeats", type=int, default=3, help="best of R for cases < 3000 params")
    ap.add_argument("--exact-timeout", type=float, default=1200.0, help="seconds per exact worker")
    ap.add_argument("--float-timeout", type=float, default=1200.0, help="seconds per float64 worker")
    ap.add_argument("--no-float", type=str, default="",
                    help="comma-separated case ids whose float64 baseline is skipped")
    ap.add_argument("--out", type=str, default=str(RESULTS))
    ap.add_argument("--point", choices=("gaussian", "integers"), default="gaussian",
                    help="seeded point of both sides (default gaussian; integers: the earlier benchmarks)")
    ap.add_argument("--worker", choices=("exact", "float"), help=argparse.SUPPRESS)
    ap.add_argument("--case", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()

    cases = {c["id"]: c for c in make_cases()}
    if args.worker:
        fn = worker_exact if args.worker == "exact" else worker_float
        print(json.dumps(fn(cases[args.case], args.repeats, args.point)))
        return

    from rich.console import Console
    from rich.table import Table
    import exacthess
    console = Console(width=200)
    ids = [1, 2] if args.quick else sorted(cases)
    if args.cases:
        ids = [int(v) for v in args.cases.split(",")]
    skip_float = {int(v) for v in args.no_float.split(",") if v}
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:  # torch is an optional baseline
        torch_version = None
    machine = dict(python=platform.python_version(), machine=platform.machine(),
                   cpus=os.cpu_count(), torch=torch_version, exacthess=exacthess.__version__,
                   loadavg_start=os.getloadavg()[0])
    console.print(f"python {machine['python']}, {machine['machine']}, {machine['cpus']} CPUs, "
                  f"torch {torch_version} (2 threads), exacthess {machine['exacthess']}, "
                  f"load average {machine['loadavg_start']:.2f}")

    rows = []
    for cid in ids:
        case = cases[cid]
        arch, n = case["arch"], case["n"]
        reps = args.repeats if arch.n_params < SMALL else 1
        console.print(f"[bold]case {cid}[/bold]: {case['name']}, {arch.n_params} params, n={n} "
                      f"({'best of %d' % reps if reps > 1 else 'single run'}) ...")
        ex = run_worker("exact", cid, reps, args.exact_timeout, args.point)
        console.print(f"  exact:   {ex.get('seconds') and round(ex['seconds'], 3)} s "
                      f"{fmt_ranks(ex.get('ranks'))} {ex.get('status', '')}")
        if torch_version is None:
            fl = dict(ok=False, status="skipped: torch not installed", seconds=None)
        elif cid in skip_float:
            fl = dict(ok=False, status="skipped (--no-float)", seconds=None)
        else:
            fl = run_worker("float", cid, reps, args.float_timeout, args.point)
        console.print(f"  float64: {fl.get('seconds') and round(fl['seconds'], 3)} s "
                      f"{fmt_ranks(fl.get('ranks'))} {fl.get('status', '')}")
        row = dict(case=cid, name=case["name"], arch=repr(arch), params=arch.n_params, n=n, point=args.point,
                   repeats=reps, target=case["target"], exact=ex, float64=fl)
        if ex.get("ok") and fl.get("ok"):
            row["ratio_exact_over_float64"] = ex["seconds"] / fl["seconds"]
            row["float64_agrees"] = fl["ranks"] == ex["ranks"]
        else:
            row["ratio_exact_over_float64"] = None
            row["float64_agrees"] = None
        row["pass"] = judge(case, row)
        rows.append(row)

    table = Table(title="Exact certified Hessian ranks vs float64 torch baseline (seconds, end to end)")
    for col, just in (("case", "left"), ("params", "right"), ("exact ranks H_o/H_f/H_L", "right"),
                      ("certified?", "center"), ("exact s", "right"), ("float64 ranks", "right"),
                      ("float64 s", "right"), ("exact/float64", "right"), ("float64 agrees?", "center")):
        table.add_column(col, justify=just)
    for r in rows:
        ex, fl = r["exact"], r["float64"]
        table.add_row(
            f"{r['case']}. {r['name']} (n={r['n']})", str(r["params"]),
            fmt_ranks(ex.get("ranks")) if ex.get("ok") else ex.get("status", "-"),
            ("yes" if ex["certified"] else "NO") if ex.get("ok") else "-",
            f"{ex['seconds']:.3f}" if ex.get("ok") else "-",
            fmt_ranks(fl.get("ranks")) if fl.get("ok") else fl.get("status", "-"),
            f"{fl['seconds']:.3f}" if fl.get("ok") else "-",
            f"{r['ratio_exact_over_float64']:.2f}x" if r["ratio_exact_over_float64"] else "-",
            "-" if r["float64_agrees"] is None else ("yes" if r["float64_agrees"] else "NO"),
        )
    console.print(table)
    console.print("[bold]targets[/bold]")
    for r in rows:
        ex = r["exact"]
        detail = f"exact {ex['seconds']:.3f} s" if ex.get("ok") else ex.get("status", "")
        if r["ratio_exact_over_float64"]:
            detail += f", {r['ratio_exact_over_float64']:.2f}x float64"
        verdict = "[green]PASS[/green]" if r["pass"] else "[red]MISS[/red]"
        console.print(f"  case {r['case']} ({r['name']}): target {r['target']}: {verdict} ({detail})")
    machine["loadavg_end"] = os.getloadavg()[0]
    Path(args.out).write_text(json.dumps(dict(machine=machine, rows=rows), indent=2) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
