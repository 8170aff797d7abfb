"""Benchmark: real networks at realistic float64 points, certified exactly, vs PyTorch float64.

Run: ``python benchmarks/bench_general.py [--cases a,b] [--no-float] [--baseline REV]``.

Each case draws its point **with PyTorch** (``torch.manual_seed``): weights ``N(0, 1/fan_in)``,
biases ``N(0, 0.01/fan_in)``, data and targets ``N(0, 1)``, all float64, saved to a file so
that both sides read the identical numbers. Side by side, each in a fresh worker process:

* **exact**: ``exacthess.verify(arch, params=..., data=..., float_check=False)`` end to end
  (the float64 values converted exactly), and whether every rank is certified;
* **float64**: ``torch.func.hessian`` of the MSE loss (forward-over-reverse in column chunks
  when memory requires), ``H_o = J^T J`` with ``J = torch.func.jacrev``, ``H_f = H_L - H_o``,
  then ``torch.linalg.matrix_rank`` of each (what a user runs), timed twice: the default SVD
  route and ``hermitian=True`` (eigenvalues; much faster on these rank-deficient matrices). The
  ratio uses the faster, so the baseline is at its best.

``--baseline REV`` also times the linear integer-point cases of ``bench_hessian.py`` (exact side
only) with the code of git revision ``REV`` (exported with ``git archive``) and with this
checkout, alternating, in one run: "no slower than before" as a ratio.

This is a benchmark, not a test: no timing assertions belong in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results_general.json"


def cases():
    import exacthess as eh
    return {
        "fcn": dict(arch=eh.FCN(20, (30, 30), 10), n=50, target="certified, exact <= 1.0x torch float64",
                    name="FCN(20,(30,30),10), n=50"),
        "notebook-bias": dict(arch=eh.FCN(25, (5, 10), 10, bias=True), n=50, target="certified in <= 1 s",
                              name="notebook FCN(25,(5,10),10) + biases, n=50"),
        "rank19": dict(arch=eh.FCN(49, (10, 10, 10), 10), n=100, data_rank=19, target="certified in <= 60 s",
                       name="FCN(49,(10,10,10),10), n=100 samples of rank 19"),
        "relu-fcn": dict(arch=eh.FCN(40, (40,), 10, bias=True, activation="relu"), n=300,
                         target="certified in <= 60 s", name="ReLU FCN(40,(40,),10)+b, n=300"),
        "relu-fcn2": dict(arch=eh.FCN(30, (30, 30), 10, activation="relu"), n=300,
                          target="certified in <= 60 s", name="ReLU FCN(30,(30,30),10), n=300"),
        "relu-cnn": dict(arch=eh.CNN((32,), (16,), 5, 10, paddings=2, bias=True, activation="relu"), n=600,
                         target="certified in <= 60 s", name="ReLU CNN1d((32,),(16,),k5,p2,10)+b, n=600"),
    }


# ------------------------------------------------------------------------------------------------
# the point, drawn by torch
# ------------------------------------------------------------------------------------------------

def draw_point(case, seed: int = 0):
    """Parameters and data drawn with torch in float64 (data of rank ``data_rank`` exactly, if set)."""
    import numpy as np
    import torch
    torch.manual_seed(seed)
    arch, n = case["arch"], case["n"]
    params = []
    for layer, shape in zip(_layers_with_bias(arch), arch.param_shapes()):
        fan_in = layer.c_in * layer.kernel[0] * layer.kernel[1]
        scale = (1 / fan_in) ** 0.5 * (0.1 if len(shape) == 1 and layer.bias else 1.0)
        params.append((torch.randn(shape, dtype=torch.float64) * scale).numpy())
    if case.get("data_rank"):
        r = case["data_rank"]
        # dyadic factors with 8 significant bits: their float64 product is exact, so X has rank r exactly
        A = torch.round(torch.randn(n, r, dtype=torch.float64) * 256) / 256
        B = torch.round(torch.randn(r, arch.input_dim, dtype=torch.float64) * 256) / 256
        X = (A @ B).numpy()
    else:
        X = torch.randn(n, arch.input_dim, dtype=torch.float64).numpy()
    Y = torch.randn(n, arch.output_dim, dtype=torch.float64).numpy()
    return [np.asarray(p) for p in params], X, Y


def _layers_with_bias(arch):
    out = []
    for layer in arch.layers:
        out.append(layer)
        if layer.bias:
            out.append(layer)
    return out


def save_point(case, path: Path) -> None:
    import numpy as np
    params, X, Y = draw_point(case)
    np.savez(path, X=X, Y=Y, **{f"p{i}": p for i, p in enumerate(params)})


def load_point(path: Path):
    import numpy as np
    z = np.load(path)
    k = len([f for f in z.files if f.startswith("p")])
    return [z[f"p{i}"] for i in range(k)], z["X"], z["Y"]


# ------------------------------------------------------------------------------------------------
# workers
# ------------------------------------------------------------------------------------------------

def worker_exact(key: str, point: Path) -> dict:
    import exacthess as eh
    case = cases()[key]
    params, X, Y = load_point(point)
    t0 = time.perf_counter()
    r = eh.verify(case["arch"], params=params, data=(X, Y), float_check=False)
    secs = time.perf_counter() - t0
    return {"seconds": secs, "ranks": {k: r.ranks[k] for k in ("H_o", "H_f", "H_L")},
            "certified": all(r.rank_info[k].certified for k in ("H_o", "H_f", "H_L")),
            "how": {k: r.rank_info[k].how for k in ("H_o", "H_f", "H_L")}, "warnings": r.warnings}


def torch_forward(arch, theta, X, shapes, sizes):
    import torch
    import torch.nn.functional as Fnn
    from exacthess import CNN
    act = arch.activation
    ws = [w.reshape(s) for w, s in zip(torch.split(theta, sizes), shapes)]
    n = X.shape[0]
    h = X if not isinstance(arch, CNN) else X.reshape(n, arch.in_channels, *arch.input_shape)
    i = 0
    for k, layer in enumerate(arch.layers):
        w = ws[i]
        i += 1
        b = None
        if layer.bias:
            b = ws[i]
            i += 1
        if isinstance(arch, CNN):
            h = Fnn.conv1d(h, w, b, stride=layer.stride[1], padding=layer.padding[1]) if w.dim() == 3 \
                else Fnn.conv2d(h, w, b, stride=layer.stride, padding=layer.padding)
        else:
            h = h @ w.T + (b if b is not None else 0.0)
        if k < len(arch.layers) - 1:
            if act.kind == "piecewise":
                h = Fnn.leaky_relu(h, float(act.slope)) if act.slope else Fnn.relu(h)
    return h.reshape(n, -1)


def torch_mats(arch, params, X, Y, mem_gb: float):
    """H_o, H_f, H_L in torch float64 as a user computes them: ``torch.func.hessian`` of the MSE loss
    (forward-over-reverse in column chunks when the batched tangents would exceed ``mem_gb``),
    ``H_o = J^T J`` with ``J = torch.func.jacrev`` (chunked alike), ``H_f = H_L - H_o``."""
    import torch
    from torch.func import grad, hessian, jacrev, jvp, vmap
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    shapes, sizes = [tuple(p.shape) for p in params], [p.size for p in params]
    theta = torch.cat([torch.tensor(p).reshape(-1) for p in params])
    P = theta.numel()

    def F(th):
        return torch_forward(arch, th, Xt, shapes, sizes)

    def loss(th):
        return 0.5 * ((F(th) - Yt) ** 2).sum()
    chunk = max(1, int(mem_gb * 2**30 // (32 * X.shape[0] * (sum(la.n_out for la in arch.layers) + arch.input_dim))))
    if chunk >= P:
        HL = hessian(loss)(theta)
    else:  # forward-over-reverse in column chunks
        hvp = vmap(lambda v: jvp(grad(loss), (theta,), (v,))[1])
        eye = torch.eye(P, dtype=torch.float64)
        HL = torch.cat([hvp(eye[i:i + chunk]) for i in range(0, P, chunk)], dim=0)
        del eye
    J = jacrev(F, chunk_size=chunk)(theta).reshape(-1, P)
    Ho = J.T @ J
    del J
    return Ho, HL - Ho, HL


def worker_float(key: str, point: Path, mem_gb: float = 6.0) -> dict:
    import torch
    torch.set_num_threads(2)
    case = cases()[key]
    t0 = time.perf_counter()
    params, X, Y = load_point(point)
    Ho, Hf, HL = torch_mats(case["arch"], params, X, Y, mem_gb)
    t_mats = time.perf_counter() - t0
    mats = (("H_o", Ho), ("H_f", Hf), ("H_L", HL))
    t1 = time.perf_counter()
    ranks = {k: int(torch.linalg.matrix_rank(M)) for k, M in mats}
    t_svd = time.perf_counter() - t1
    t1 = time.perf_counter()
    ranks_h = {k: int(torch.linalg.matrix_rank(M, hermitian=True)) for k, M in mats}
    t_eig = time.perf_counter() - t1
    # the ratio uses the faster of the two rank routes (the baseline at its best)
    return {"seconds": t_mats + min(t_svd, t_eig), "seconds_svd": t_mats + t_svd, "seconds_hermitian": t_mats + t_eig,
            "ranks": ranks, "ranks_hermitian": ranks_h}


def run(cmd: list, timeout: float, env=None, mem_limit_gb: float | None = None) -> dict:
    """Run a worker; ``mem_limit_gb`` caps its address space (an allocation past it fails in the
    worker, which is reported, instead of the machine running out of memory)."""
    def limit():
        import resource
        cap = int(mem_limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                             preexec_fn=limit if mem_limit_gb else None)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f} s"}
    if out.returncode:
        last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit code {out.returncode}"
        return {"ok": False, "error": last[:300]}
    return {"ok": True, **json.loads(out.stdout.strip().splitlines()[-1])}


def judge(key: str, ex: dict, fl: dict) -> bool:
    if not ex.get("ok") or not ex["certified"]:
        return False
    if key == "fcn":
        return fl.get("ok", False) and ex["seconds"] <= fl["seconds"]
    if key == "notebook-bias":
        return ex["seconds"] <= 1.0
    return ex["seconds"] <= 60.0


# ------------------------------------------------------------------------------------------------
# the linear integer-point cases against an earlier revision
# ------------------------------------------------------------------------------------------------

BASELINE_CASES = [("FCN(25,(5,10),10) n=50", "FCN(25, (5, 10), 10)", 50),
                  ("FCN(40,(20,20,20),10) n=80", "FCN(40, (20, 20, 20), 10)", 80),
                  ("FCN(64,(64,48),10) n=128", "FCN(64, (64, 48), 10)", 128),
                  ("CNN1d((32,),(16,16,16),k5,p2,10) n=64", "CNN((32,), (16, 16, 16), 5, 10, paddings=2)", 64)]

_INTEGER_SNIPPET = """
import inspect, json, time, exacthess as eh
from exacthess import FCN, CNN
arch = {arch}
kw = {{"point": "integers"}} if "point" in inspect.signature(eh.verify).parameters else {{}}
t0 = time.perf_counter(); r = eh.verify(arch, n_samples={n}, seed=0, float_check=False, **kw)
print(json.dumps({{"seconds": time.perf_counter() - t0, "certified": r.certified,
                  "ranks": [r.ranks["H_o"], r.ranks["H_f"], r.ranks["H_L"]]}}))
"""


def baseline_rows(rev: str, rounds: int = 2) -> list:
    tmp = Path(tempfile.mkdtemp(prefix="exacthess-baseline-"))
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", rev, "exacthess"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    rows = []
    for name, arch, n in BASELINE_CASES:
        code = _INTEGER_SNIPPET.format(arch=arch, n=n)
        times = {"before": [], "now": []}
        ranks = {}
        for _ in range(rounds):
            for side, path in (("before", str(tmp)), ("now", str(HERE.parent))):
                env = dict(os.environ, PYTHONPATH=path)
                res = run([sys.executable, "-c", code], 1800, env=env)
                if res.get("ok"):
                    times[side].append(res["seconds"])
                    ranks[side] = res["ranks"]
        best = {k: min(v) if v else None for k, v in times.items()}
        rows.append({"case": name, "before_s": best["before"], "now_s": best["now"],
                     "ratio": (best["now"] / best["before"]) if best["before"] and best["now"] else None,
                     "same_ranks": ranks.get("before") == ranks.get("now"), "ranks": ranks.get("now")})
        print(f"  {name:40s} before {best['before']}  now {best['now']}", file=sys.stderr, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=None, help="comma-separated case keys (default: all): " + ", ".join(cases()))
    ap.add_argument("--no-float", action="store_true", help="skip the torch float64 side")
    ap.add_argument("--float-timeout", type=float, default=1800.0)
    ap.add_argument("--exact-timeout", type=float, default=1800.0)
    ap.add_argument("--float-mem-gb", type=float, default=16.0,
                    help="address-space cap of the torch worker (its chunks use an eighth of it; default 16)")
    ap.add_argument("--baseline", default=None, metavar="REV", help="also time the linear integer cases vs git REV")
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--worker", choices=("exact", "float"), help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--point", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        if args.worker == "exact":
            print(json.dumps(worker_exact(args.case, Path(args.point))))
        else:
            print(json.dumps(worker_float(args.case, Path(args.point), mem_gb=args.float_mem_gb / 8)))
        return
    keys = args.cases.split(",") if args.cases else list(cases())
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="exacthess-points-"))
    for key in keys:
        case = cases()[key]
        point = tmp / f"{key}.npz"
        save_point(case, point)
        print(f"{case['name']} ({case['arch'].n_params} parameters)", file=sys.stderr, flush=True)
        me = [sys.executable, __file__, "--case", key, "--point", str(point), "--worker"]
        ex = run(me + ["exact"], args.exact_timeout)
        fl = {"ok": False, "error": "skipped"} if args.no_float else run(me + ["float", "--float-mem-gb", str(args.float_mem_gb)],
                                                                       args.float_timeout, mem_limit_gb=args.float_mem_gb)
        row = {"key": key, "name": case["name"], "params": case["arch"].n_params, "n": case["n"],
               "target": case["target"], "exact": ex, "float64": fl, "pass": judge(key, ex, fl)}
        if ex.get("ok") and fl.get("ok"):
            row["ratio"] = ex["seconds"] / fl["seconds"]
            row["float64_agrees"] = fl["ranks"] == ex["ranks"]
        rows.append(row)
        print(f"  exact {ex.get('seconds', ex.get('error'))}  float64 {fl.get('seconds', fl.get('error'))}",
              file=sys.stderr, flush=True)
    base = baseline_rows(args.baseline) if args.baseline else None
    out = Path(args.out)
    if out.exists() and args.cases:  # a run of some cases updates their rows, keeps the others
        old = json.loads(out.read_text())
        done = {r["key"] for r in rows}
        rows = [r for r in old["cases"] if r["key"] not in done] + rows
        rows.sort(key=lambda r: list(cases()).index(r["key"]) if r["key"] in cases() else 99)
        if base is None:
            base, args.baseline = old.get("baseline"), old.get("baseline_rev")
    out.write_text(json.dumps({"cases": rows, "baseline": base, "baseline_rev": args.baseline,
                                          "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}},
                                         indent=2))
    print(f"{'case':46s} {'params':>6s} {'exact ranks':>16s} {'cert':>5s} {'exact s':>8s} {'torch f64 s':>11s} "
          f"{'ratio':>6s} {'f64 ranks':>16s} target")
    for r in rows:
        ex, fl = r["exact"], r["float64"]
        er = "/".join(str(ex["ranks"][k]) for k in ("H_o", "H_f", "H_L")) if ex.get("ok") else ex.get("error")
        fr = "/".join(str(fl["ranks"][k]) for k in ("H_o", "H_f", "H_L")) if fl.get("ok") else fl.get("error", "")
        print(f"{r['name']:46s} {r['params']:6d} {er:>16s} {str(ex.get('certified', '-')):>5s} "
              f"{ex.get('seconds', float('nan')):8.2f} {fl.get('seconds', float('nan')):11.2f} "
              f"{r.get('ratio', float('nan')):6.2f} {fr:>16s} {r['target']}: {'PASS' if r['pass'] else 'MISS'}")
    if base:
        print(f"\nlinear integer-point cases, exact side, best of 2, before = {args.baseline}:")
        for b in base:
            print(f"  {b['case']:40s} before {b['before_s'] or float('nan'):7.2f} s   now {b['now_s'] or float('nan'):7.2f} s"
                  f"   ratio {b['ratio'] or float('nan'):5.2f}   same ranks: {b['same_ranks']}")


if __name__ == "__main__":
    main()
