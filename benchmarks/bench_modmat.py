"""Benchmark exacthess.core.modmat against FLINT's nmod_mat (run by hand, not a test).

For n x n matrices (full rank and rank n/2, primes near 2^20 and 2^30) it times ``rank``,
``pivot_rows`` and ``nullspace`` of :mod:`exacthess.core.modmat` and the FLINT routes that
:mod:`exacthess.core.modular` used before (numpy -> ``fmpz_mat(a.tolist())`` -> ``nmod_mat``; the
row profile from the rref of the transpose, entries read back as Python ints). It also prints the
machine's BLAS speed ``c`` (seconds for one float64 4096 x 4096 product) and the GEMM floor of an
elimination, 2n^3/3 flops at that rate::

    python benchmarks/bench_modmat.py                      # n = 500, 1000, 2000, 4000
    python benchmarks/bench_modmat.py --sizes 500 1000 --json out.json
    python benchmarks/bench_modmat.py --crossover          # small sizes: where FLINT is faster
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from flint import fmpz_mat, nmod_mat

from exacthess.core import modmat

PRIMES = {"2^20": 1048573, "2^30": 1073741789}


def blas_seconds(n: int = 4096, repeat: int = 2) -> float:
    """``c``: the best time of one float64 ``n x n @ n x n`` product."""
    a, b = np.random.default_rng(0).random((2, n, n))
    a @ b
    return best(lambda: a @ b, repeat)


def best(f, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        out.append(time.perf_counter() - t)
    return min(out)


def flint_matrix(a, p):
    return nmod_mat(fmpz_mat(a.tolist()), p)  # the route exacthess.core.modular measured fastest


def flint_entries(M):
    return np.array([int(v) for v in M.entries()], dtype=np.int64).reshape(M.nrows(), M.ncols())


def flint_rank(a, p):
    return flint_matrix(a, p).rank()


def flint_pivot_rows(a, p):
    R, k = flint_matrix(np.ascontiguousarray(a.T), p).rref()
    return [int(np.flatnonzero(row)[0]) for row in flint_entries(R)[:k]]


def flint_nullspace(a, p):
    K, k = flint_matrix(a, p).nullspace()
    return flint_entries(K)[:, :k]


OURS = {"rank": modmat.rank, "pivot_rows": modmat.pivot_rows, "nullspace": modmat.nullspace}
FLINT = {"rank": flint_rank, "pivot_rows": flint_pivot_rows, "nullspace": flint_nullspace}


def matrix(n: int, r: int, p: int) -> np.ndarray:
    rng = np.random.default_rng([n, r, p])
    if r == n:
        return rng.integers(0, p, (n, n))
    return modmat.matmul(rng.integers(0, p, (n, r)), rng.integers(0, p, (r, n)), p)


def threads() -> str:
    try:
        from threadpoolctl import threadpool_info
        return ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    except ImportError:
        return f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"


def run(sizes, repeat: int, flint_max: int) -> dict:
    c = blas_seconds()
    rate = 2 * 4096**3 / c
    print(f"c = {c:.2f} s (float64 4096^3 product: {rate / 1e9:.1f} GFlop/s; {threads()}; "
          f"load average {os.getloadavg()[0]:.1f})")
    print("| n | rank | p | floor 2n^3/3 | rank | pivot_rows | nullspace | FLINT rank | FLINT pivot_rows "
          "| FLINT nullspace | rank / floor |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for n in sizes:
        floor = 2 * n**3 / 3 / rate
        for r in (n, n // 2):
            for name, p in PRIMES.items():
                a = matrix(n, r, p)
                assert modmat.rank(a, p) == r
                ours = {k: best(lambda f=f: f(a, p), repeat) for k, f in OURS.items()}
                theirs = {k: (best(lambda f=f: f(a, p), 1) if n <= flint_max else None) for k, f in FLINT.items()}
                rows.append(dict(n=n, rank=r, p=name, floor=floor, ours=ours, flint=theirs))
                cells = [f"{ours[k]:.3f}" for k in OURS] + [("-" if theirs[k] is None else f"{theirs[k]:.2f}")
                                                            for k in FLINT]
                print(f"| {n} | {r} | {name} | {floor:.3f} | " + " | ".join(cells) + f" | {ours['rank'] / floor:.1f} |",
                      flush=True)
    c_end = blas_seconds()
    print(f"c = {c_end:.2f} s at the end (load average {os.getloadavg()[0]:.1f})")
    return dict(c=c, c_end=c_end, threads=threads(), load=os.getloadavg()[0], rows=rows)


def crossover(repeat: int = 7) -> None:
    """Median times (ms) at small sizes: FLINT wins while its conversion is cheaper than our
    per-pivot Python overhead (``exacthess.core.modular.FLINT_*_SIZE``)."""
    p = PRIMES["2^20"]
    flint_det = lambda a, p: int(flint_matrix(a, p).det())  # noqa: E731
    flint_inv = lambda a, p: flint_entries(flint_matrix(a, p).inv())  # noqa: E731
    pairs = [("rank", modmat.rank, flint_rank), ("pivot_rows", modmat.pivot_rows, flint_pivot_rows),
             ("nullspace", modmat.nullspace, flint_nullspace), ("det", modmat.det, flint_det),
             ("inverse", modmat.inverse, flint_inv)]
    print("| n | " + " | ".join(f"{k} ours | {k} FLINT" for k, _, _ in pairs) + " |  (ms, median)")
    print("|---|" + "---|" * (2 * len(pairs)))
    for n in (8, 16, 24, 32, 48, 64, 96, 128, 192):
        a = matrix(n, n, p)
        cells = []
        for _, ours, theirs in pairs:
            for f in (ours, theirs):
                ts = []
                for _ in range(repeat):
                    t = time.perf_counter()
                    f(a, p)
                    ts.append(time.perf_counter() - t)
                cells.append(f"{sorted(ts)[repeat // 2] * 1e3:.2f}")
        print(f"| {n} | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 1000, 2000, 4000])
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs (ours)")
    ap.add_argument("--flint-max", type=int, default=4000, help="largest n timed with FLINT (slow)")
    ap.add_argument("--crossover", action="store_true", help="small sizes only: where FLINT is faster")
    ap.add_argument("--json", help="write the results to this file")
    args = ap.parse_args()
    if args.crossover:
        crossover()
        return
    out = run(args.sizes, args.repeat, args.flint_max)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
