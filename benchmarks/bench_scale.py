"""Benchmark of the issue "exact at BLAS speed": certified ranks at scale, in units of one BLAS product.

Run: ``python benchmarks/bench_scale.py [--cases a,b | --quick] [--repeat R] [--baseline REV] [--json PATH]``.

``c`` = best of 2 of one float64 4096 x 4096 numpy product, at the start and at the end (targets use
the mean). Per case, at a point drawn by torch (as in ``bench_general.py``), each measurement in a
fresh worker process, sides alternating, medians of ``--repeat`` runs: ``exacthess.verify(...,
float_check=False)`` (exact), ``float_check=True`` (default), torch float64 Hessians and ranks, and
with ``--baseline REV`` the exact side with the code of REV (before). Peak RSS of every worker, time
limits per side. torch is imported in workers only. See benchmarks/README.md; not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_general import load_point, save_point, torch_mats  # noqa: E402

RESULTS = HERE / "results_scale.json"
GiB, KEYS = 2 ** 30, ("H_o", "H_f", "H_L")
SMALL = 3000       # under this many parameters: 3 runs by default, and the default verify is timed
NOT_SLOWER = 1.10  # "not slower than REV": median now / before, within the noise of 10%
# key: (arch, n, name, target: c = seconds in c, rss = GiB, torch / default_torch = ratio, bounded, baseline)
CASES = {
    "fcn10k": ("FCN(60, (60, 60), 60)", 100, "FCN(60,(60,60),60)", dict(c=15)),
    "fcn30k": ("FCN(100, (100, 100), 100)", 200, "FCN(100,(100,100),100)", dict(c=150, rss=12)),
    "fcn100k": ("FCN(200, (250,), 200)", 10, "FCN(200,(250,),200)", dict(c=150, rss=12, bounded=True)),
    "fcn": ("FCN(20, (30, 30), 10)", 50, "FCN(20,(30,30),10)", dict(torch=0.5, default_torch=1.0)),
    "relu-fcn": ("FCN(40, (40,), 10, bias=True, activation='relu')", 300, "ReLU FCN(40,(40,),10)+b", dict(torch=1.0)),
    "relu-cnn": ("CNN((32,), (16,), 5, 10, paddings=2, bias=True, activation='relu')", 600,
                 "ReLU CNN((32,),(16,),5,10,p2)+b", dict(torch=0.2)),
    "cnn7760": ("CNN((32,), (16, 16, 16), 5, 10, paddings=2)", 64, "CNN((32,),(16,16,16),5,10,p2)", dict(baseline=True)),
    "notebook": ("FCN(25, (5, 10), 10)", 50, "notebook FCN(25,(5,10),10)", dict(baseline=True)),
}
QUICK = ["fcn", "relu-fcn", "relu-cnn", "cnn7760", "notebook"]


def make_arch(key: str):
    import exacthess as eh
    return eval(CASES[key][0], {"FCN": eh.FCN, "CNN": eh.CNN})


def target_words(t: dict) -> str:
    first = (f"every rank certified or bounded by checked certificates in <= {t['c']} c" if t.get("bounded") else
             f"every rank certified in <= {t['c']} c" if "c" in t else None)
    return "; ".join([first] * bool(first) + [w for k, w in (
        ("rss", f"peak RSS <= {t.get('rss')} GiB"), ("torch", f"certified <= {t.get('torch')}x torch float64"),
        ("default_torch", f"default verify <= {t.get('default_torch')}x torch float64"),
        ("baseline", f"certified with the certificates of REV, median <= {NOT_SLOWER:.2f}x REV")) if k in t])


# --- workers (each in a fresh process; the last line of stdout is a JSON object) ---
def worker_calib() -> dict:
    import numpy as np
    a, b = np.random.default_rng(0).standard_normal((2, 4096, 4096))
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    out = {"c": best, "gflops": 2 * 4096 ** 3 / best / 1e9, "python": sys.version.split()[0],
           "numpy": np.__version__, "cpus": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0))}
    try:
        import threadpoolctl
        out["blas"] = threadpoolctl.threadpool_info()
    except ImportError:  # numpy's build configuration (what numpy.show_config prints)
        out["blas"] = getattr(np.__config__, "CONFIG", {}).get("Build Dependencies", {}).get("blas", "?")
    return {**out, **{m: __import__(m).__version__ if importlib.util.find_spec(m) else "not installed"
                      for m in ("torch", "exacthess")}}


def worker_exact(key: str, point: Path, float_check: bool) -> dict:
    import exacthess as eh
    params, X, Y = load_point(point)
    eh.verify(eh.FCN(4, (2,), 3), n_samples=6, float_check=float_check)  # warm-up, untimed
    t0 = time.perf_counter()
    r = eh.verify(make_arch(key), params=params, data=(X, Y), float_check=float_check)
    secs = time.perf_counter() - t0
    info = {k: r.rank_info[k] for k in KEYS}

    def checked_upper(i):  # an upper bound proven by a certificate that was checked
        return any(b.side == "upper" and b.certificate is not None for b in getattr(i, "bounds", ()))
    return {"seconds": secs, "ranks": {k: r.ranks[k] for k in KEYS}, "certified": all(i.certified for i in info.values()),
            "bounded": all(i.certified or checked_upper(i) for i in info.values()),
            "how": {k: i.how for k, i in info.items()}, "bounds": {k: [i.lower, i.upper] for k, i in info.items()},
            "warnings": [str(w) for w in getattr(r, "warnings", [])],
            "exacthess": str(Path(eh.__file__).parent), "version": getattr(eh, "__version__", "?")}


def worker_float(key: str, point: Path, mem_gb: float, svd: bool) -> dict:
    import exacthess as eh
    import numpy as np
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    arch, rng = make_arch(key), np.random.default_rng(0)
    tiny = eh.CNN((8,), (2,), 3, 2, paddings=1) if isinstance(arch, eh.CNN) else eh.FCN(4, (2,), 3)
    for M in torch_mats(tiny, [rng.standard_normal(s) for s in tiny.param_shapes()],  # warm-up, untimed
                        rng.standard_normal((6, tiny.input_dim)), rng.standard_normal((6, tiny.output_dim)), mem_gb):
        torch.linalg.matrix_rank(M, hermitian=True), torch.linalg.matrix_rank(M)
    t0 = time.perf_counter()
    params, X, Y = load_point(point)
    mats = dict(zip(KEYS, torch_mats(arch, params, X, Y, mem_gb)))
    t_mats = time.perf_counter() - t0
    out = {"ranks": {k: int(torch.linalg.matrix_rank(M, hermitian=True)) for k, M in mats.items()}}
    out["seconds"] = out["seconds_hermitian"] = time.perf_counter() - t0
    if svd:
        t1 = time.perf_counter()
        out["ranks_svd"] = {k: int(torch.linalg.matrix_rank(M)) for k, M in mats.items()}
        out["seconds_svd"] = t_mats + time.perf_counter() - t1
        out["seconds"] = min(out["seconds"], out["seconds_svd"])  # the baseline at its best
    return {**out, "threads": torch.get_num_threads()}


def worker_main(args) -> None:
    point, key = Path(args.point) if args.point else None, args.case
    work = {"calib": worker_calib, "point": lambda: save_point({"arch": make_arch(key), "n": CASES[key][1]}, point),
            "float": lambda: worker_float(key, point, args.float_mem_gb / 8, args.svd),
            "exact": lambda: worker_exact(key, point, False), "default": lambda: worker_exact(key, point, True)}
    try:
        res = {**(work[args.worker]() or {}), "ok": True}
    except Exception as e:  # reported in the table, not as a traceback
        res = {"ok": False, "error": f"{type(e).__name__}: {e}"[:400]}
    print(json.dumps(res), flush=True)


# --- running a worker: time limit, address-space cap, its own peak RSS (os.wait4) ---
def run_worker(cmd: list, timeout: float, env=None, mem_gb: float | None = None) -> dict:
    def limit():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (int(mem_gb * GiB), int(mem_gb * GiB)))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0, timed_out = time.monotonic(), False
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, start_new_session=True,
                             preexec_fn=limit if mem_gb else None)
        while not (res := os.wait4(p.pid, os.WNOHANG))[0]:
            if time.monotonic() - t0 > timeout:
                os.killpg(p.pid, signal.SIGKILL)  # the worker's own process group
                res, timed_out = os.wait4(p.pid, 0), True
                break
            time.sleep(0.05)
        _, status, ru = res
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait again
        out.seek(0)
        err.seek(0)
        lines, stderr = out.read().decode(errors="replace").strip().splitlines(), err.read().decode(errors="replace")
    base = {"rss_gib": ru.ru_maxrss * 1024 / GiB, "wall": time.monotonic() - t0}
    if timed_out:
        return {"ok": False, "error": f"timed out (> {timeout:g} s)", "timed_out": True, **base}
    if p.returncode or not lines:
        last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit code {p.returncode}"
        return {"ok": False, "error": last[:400], **base}
    return {**json.loads(lines[-1]), **base}


# the torch side holds H_L, H_o, H_f, a factorisation copy (P x P each), J (nK x P), chunks (cap / 8), ~1 GiB torch
def torch_need_gib(P: int, nK: int, cap: float) -> float:
    return 8 * (4 * P * P + nK * P) / GiB + cap / 8 + 1.0


def summarise(runs: list) -> dict:
    if not (ok := [r for r in runs if r.get("ok")]):
        return {**runs[-1], "runs": runs}
    return {**ok[0], "runs": runs, "rss_gib": max(r["rss_gib"] for r in runs),
            **{k: statistics.median(r[k] for r in ok) for k in ("seconds", "seconds_hermitian", "seconds_svd")
               if k in ok[0]}}


def env_with(path: str) -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (path, os.environ.get("PYTHONPATH")) if p))


def bench_case(key: str, args, tmp: Path, rev_dir) -> dict:
    (_, n, name, target), arch = CASES[key], make_arch(key)
    P = arch.n_params
    row = {"key": key, "name": f"{name}, n={n}", "params": P, "n": n, "target": target_words(target)}
    print(f"{row['name']} ({P:,} parameters)", file=sys.stderr, flush=True)
    now = env_with(str(HERE.parent))
    me = [sys.executable, str(Path(__file__).resolve()), "--case", key, "--point", str(tmp / f"{key}.npz"), "--worker"]
    pt = run_worker(me + ["point"], 600, env=now)
    if not pt.get("ok"):
        return {**row, "exact": {"ok": False, "error": "point: " + pt["error"]}, "float64": {}}
    repeat = args.repeat or (3 if P < SMALL else 1)
    rounds = max(repeat, 3) if rev_dir and target.get("baseline") else repeat
    sides = {"exact": (me + ["exact"], args.exact_timeout, now, args.exact_mem_gb, rounds)}
    if key == "fcn" or P < SMALL:
        sides["default"] = (me + ["default"], args.exact_timeout, now, args.exact_mem_gb, repeat)
    need = torch_need_gib(P, n * arch.output_dim, args.float_mem_gb)
    if need > args.float_mem_gb:
        row["float64"] = {"ok": False, "not_run": True, "need_gib": need,
                          "error": f"not run: needs about {need:.1f} GiB (cap {args.float_mem_gb:g} GiB)"}
    else:
        sides["float64"] = (me + ["float", "--float-mem-gb", str(args.float_mem_gb)]
                            + (["--svd"] if P <= args.svd_max_params else []), args.float_timeout, now,
                            args.float_mem_gb, repeat)
    if rev_dir and target.get("baseline"):
        sides["before"] = (me + ["exact"], args.exact_timeout, env_with(str(rev_dir)), args.exact_mem_gb, rounds)
    runs = {s: [] for s in sides}
    for r in range(max(s[4] for s in sides.values())):
        for side, (cmd, timeout, env, mem, k) in sides.items():
            if r >= k or (runs[side] and not runs[side][-1].get("ok")):
                continue  # a side that failed or timed out is not run again
            res = run_worker(cmd, timeout, env=env, mem_gb=mem)
            runs[side].append(res)
            print(f"  {side:8s} round {r + 1}: " + (f"{res['seconds']:.2f} s" if res.get("ok") else res["error"])
                  + f"  (peak RSS {res['rss_gib']:.2f} GiB)", file=sys.stderr, flush=True)
    row.update({s: summarise(v) for s, v in runs.items()})
    ex, fl, df, bf = row["exact"], row["float64"], row.get("default", {}), row.get("before", {})
    if ex.get("ok") and fl.get("ok"):
        row["ratio"] = ex["seconds"] / fl["seconds"]
        row["float64_agrees"] = fl["ranks"] == ex["ranks"] and fl.get("ranks_svd", ex["ranks"]) == ex["ranks"]
    if df.get("ok") and fl.get("ok"):
        row["default_ratio"] = df["seconds"] / fl["seconds"]
    if bf.get("ok") and ex.get("ok"):
        row["before_ratio"] = ex["seconds"] / bf["seconds"]
        row["same_certificates"] = bf["ranks"] == ex["ranks"] and bf["how"] == ex["how"] and bf["certified"]
    return row


def judge(row: dict, c: float, rev) -> None:
    t, ex, checks = CASES[row["key"]][3], row["exact"], []  # checks: (True / False / None = not measured, words)

    def within(label, value, limit, unit, fmt="{:.2f}"):
        v = f"{label} {fmt.format(value)}{unit}"
        checks.append((value <= limit, f"{v} <= {limit}{unit}" if value <= limit
                       else f"{v} > {limit}{unit}, {value / limit:.2f}x the limit"))
    if not ex.get("ok"):
        checks.append((False, "exact: " + ex["error"]))
    else:
        bounded = bool(t.get("bounded") and ex["bounded"])
        checks.append((ex["certified"] or bounded, "certified" if ex["certified"] else
                       "bounded by checked certificates" if bounded else "not all certified"))
        if "c" in t:
            within("time", ex["seconds"] / c, t["c"], " c", "{:.1f}")
        if "rss" in t:
            within("peak RSS", ex["rss_gib"], t["rss"], " GiB")
    for key, side, limit in (("ratio", "exact", t.get("torch")), ("default_ratio", "default", t.get("default_torch"))):
        if limit is not None and key in row:
            within("default verify" if side == "default" else "exact", row[key], limit, "x torch")
        elif limit is not None:
            why = row.get(side, {}).get("error") or row["float64"].get("error", "?")
            checks.append((False, f"no {key.replace('_', ' ')}: {why}"))
    if t.get("baseline") and "before_ratio" in row:
        checks.append((row["same_certificates"], ("same certificates as " if row["same_certificates"]
                                                  else "certificates differ from ") + rev))
        within("median", row["before_ratio"], NOT_SLOWER, f"x {rev}")
    elif t.get("baseline"):
        checks.append((None if not row.get("before") else False, "before: " + row["before"]["error"]
                       if row.get("before") else "not slower: not measured (no --baseline)"))
    row["pass"], row["c"] = all(ok is not False for ok, _ in checks), c
    row["verdict"] = ("PASS" if row["pass"] else "MISS") + " (" + "; ".join(w for _, w in checks) + ")"


def calibrate(env) -> dict:
    res = {"load": list(os.getloadavg()),  # taken first, then the product
           **run_worker([sys.executable, str(Path(__file__).resolve()), "--worker", "calib"], 1800, env=env)}
    print(f"calibration: c = {res.get('c', float('nan')):.2f} s, load {res['load'][0]:.2f}", file=sys.stderr, flush=True)
    return res


def export_rev(rev: str) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="exacthess-baseline-"))
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", rev, "exacthess"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    return tmp


def cell(s: dict | None, extra: str = "") -> str:
    return "-" if not s else f"{s['seconds']:.2f}{extra}" if s.get("ok") else s["error"].replace("|", "/")[:90]


def table(rows: list, calib: dict, rev) -> str:
    s, e = calib["start"], calib["end"]
    blas = s.get("blas")
    blas = (f"{blas.get('name', '?')} {blas.get('version', '')}" if isinstance(blas, dict) else
            ", ".join(f"{b.get('internal_api')} {b.get('version')}, {b.get('num_threads')} threads" for b in blas)
            if isinstance(blas, list) else "BLAS: see the JSON")
    out = [f"c = {s.get('c', float('nan')):.2f} s at the start (load {s['load'][0]:.2f}), {e.get('c', float('nan')):.2f}"
           f" s at the end (load {e['load'][0]:.2f}); targets use c = {calib['c']:.2f} s (float64 4096^3 numpy "
           f"product, best of 2: {s.get('gflops', float('nan')):.1f} GFlop/s at the start); numpy {s.get('numpy')} "
           f"({blas}), python {s.get('python')}, torch {s.get('torch')}, exacthess {s.get('exacthess')}, "
           f"{s.get('cpus')} CPUs\n"]
    head = ["case", "params", "exact ranks H_o/H_f/H_L", "certified", "exact s", "default verify s",
            "torch f64 s (eigh / SVD)", "torch ranks", "agree", "exact / torch", f"before ({rev}) s" if rev else "before s",
            "peak RSS exact / torch GiB", "target", "result"]
    out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ex, fl = r["exact"], r.get("float64", {})
        fr = "/".join(str(fl["ranks"][k]) for k in KEYS) if fl.get("ok") else "-"
        if fl.get("ok") and fl.get("ranks_svd") not in (None, fl["ranks"]):
            fr += " (SVD " + "/".join(str(fl["ranks_svd"][k]) for k in KEYS) + ")"
        cells = [r["name"], f"{r['params']:,}", "/".join(str(ex["ranks"][k]) for k in KEYS) if ex.get("ok") else "-",
                 ("yes" if ex["certified"] else "bounded" if ex.get("bounded") else "no") if ex.get("ok") else "-",
                 cell(ex), cell(r.get("default")),
                 f"{fl['seconds_hermitian']:.2f} / " + (f"{fl['seconds_svd']:.2f}" if "seconds_svd" in fl else "-")
                 if fl.get("ok") else cell(fl), fr, {True: "yes", False: "no"}.get(r.get("float64_agrees"), "-"),
                 f"{r['ratio']:.2f}" if "ratio" in r else "-",
                 cell(r.get("before"), f" ({r['before_ratio']:.2f}x)" if "before_ratio" in r else ""),
                 f"{ex.get('rss_gib', float('nan')):.2f} / " + (f"{fl['rss_gib']:.2f}" if "rss_gib" in fl else "-"),
                 r["target"], r.get("verdict", "-")]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="cases (target):\n" + "\n".join(f"  {k:9s} {v[2]}, n={v[1]} ({target_words(v[3])})"
                                                                         for k, v in CASES.items()))
    ap.add_argument("--cases", default=None, help="comma-separated case keys (default: all)")
    ap.add_argument("--quick", action="store_true", help="cases " + ", ".join(QUICK) + " only")
    ap.add_argument("--repeat", type=int, default=None,
                    help=f"runs per side, median (default 3 under {SMALL:,} parameters, 1 otherwise)")
    ap.add_argument("--baseline", default=None, metavar="REV",
                    help="also time the exact side of cnn7760 and notebook with the code of git revision REV")
    for flag, default, what in (("exact-timeout", 3600.0, "seconds per exact worker"),
                                ("float-timeout", 3600.0, "seconds per torch worker"),
                                ("exact-mem-gb", 16.0, "address-space cap (GiB) of exact workers"),
                                ("float-mem-gb", 16.0, "address-space cap (GiB) of torch workers; larger Hessians: not run"),
                                ("svd-max-params", 6000, "torch's SVD route up to this many parameters")):
        ap.add_argument("--" + flag, type=type(default), default=default, help=f"{what} (default {default:g})")
    ap.add_argument("--json", default=str(RESULTS), help="results file (default benchmarks/results_scale.json)")
    ap.add_argument("--worker", choices=("calib", "point", "exact", "default", "float"), help=argparse.SUPPRESS)
    for hidden in ("--case", "--point"):
        ap.add_argument(hidden, help=argparse.SUPPRESS)
    ap.add_argument("--svd", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker_main(args)
    keys = args.cases.split(",") if args.cases else QUICK if args.quick else list(CASES)
    if unknown := [k for k in keys if k not in CASES]:
        ap.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    tmp, now = Path(tempfile.mkdtemp(prefix="exacthess-scale-")), env_with(str(HERE.parent))
    commit = subprocess.run(["git", "-C", str(HERE.parent), "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    calib = {"start": calibrate(now)}
    rev_dir = export_rev(args.baseline) if args.baseline else None
    try:
        rows = [bench_case(k, args, tmp, rev_dir) for k in keys]
    finally:
        for d in filter(None, (tmp, rev_dir)):
            shutil.rmtree(d, ignore_errors=True)
    calib["end"] = calibrate(now)
    cs = [calib[k]["c"] for k in ("start", "end") if calib[k].get("ok")]
    calib["c"] = statistics.mean(cs) if cs else float("nan")
    for r in rows:
        judge(r, calib["c"], args.baseline)
    out = Path(args.json)
    if out.exists() and set(keys) != set(CASES):  # a partial run updates its rows, keeps the others
        rows = [r for r in json.loads(out.read_text())["cases"] if r["key"] in CASES and r["key"] not in keys] + rows
        rows.sort(key=lambda r: list(CASES).index(r["key"]))
    limits = {k: getattr(args, k) for k in ("exact_timeout", "float_timeout", "exact_mem_gb", "float_mem_gb")}
    out.write_text(json.dumps({"calibration": calib, "commit": commit, "baseline_rev": args.baseline,
                               "argv": sys.argv[1:], "limits": limits, "cases": rows}, indent=2, default=str))
    print(table(rows, calib, args.baseline))


if __name__ == "__main__":
    main()
