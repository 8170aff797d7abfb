"""Coverage and cost of proven generic ranks (``exacthess.generic``), side by side with ``verify``.

For every width tuple with at most 3 hidden layers and total width at most 12 (299 tuples), with
and without biases, one architecture with input and output dimensions drawn from 1..6 and a
sample count from 1..2d+2 (seeded), this script runs

* ``exacthess.generic.prove_generic(arch, n)`` -- proven generic ranks of H_o, H_f, H_L and every
  block column, and
* the baseline ``exacthess.verify(arch, n_samples=n, float_check=False)`` -- certified exact
  ranks at one seeded point,

in the same process one after the other, and reports how many quantities were proven (lower ==
upper), the wall times and their ratio, and every architecture left open. A few named larger
cases follow. Results of a full run go to ``benchmarks/results_generic.json``.

    python benchmarks/bench_generic.py            # full sweep (598 architectures) + named cases
    python benchmarks/bench_generic.py --quick    # every 10th width tuple
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np

import exacthess as eh
from exacthess.generic import prove_generic

NAMED = [("notebook FCN(25,(5,10),10)", eh.FCN(25, (5, 10), 10), 50),
         ("notebook with biases", eh.FCN(25, (5, 10), 10, bias=True), 50),
         ("FCN(10,(4,4,4),10)", eh.FCN(10, (4, 4, 4), 10), 20),
         ("CNN((16,),(4,4),3,4,pad 1)", eh.CNN((16,), (4, 4), 3, 4, paddings=1), 32),
         ("CNN((8,),(2,),3,2,stride 2)", eh.CNN((8,), (2,), 3, 2, strides=2), 16)]


def width_tuples():
    out = [()]
    for L in (1, 2, 3):
        out += [t for t in itertools.product(range(1, 13), repeat=L) if sum(t) <= 12]
    return out


def run_case(arch, n):
    t0 = time.perf_counter()
    proof = prove_generic(arch, n)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = eh.verify(arch, n_samples=n, float_check=False)
    t_ver = time.perf_counter() - t0
    agree = all(report.ranks[q] <= r.upper and (not r.proven or report.ranks[q] == r.value or not report.certified)
                for q, r in proof.ranks.items() if q in report.ranks)
    return {"architecture": repr(arch), "n": n, "generic_seconds": t_gen, "verify_seconds": t_ver,
            "ratio": t_gen / max(t_ver, 1e-9), "proven": sum(r.proven for r in proof.ranks.values()),
            "quantities": len(proof.ranks), "exit_code": proof.exit_code,
            "open": {q: [r.lower, r.upper] for q, r in proof.ranks.items() if not r.proven},
            "point_rank_within_bounds": agree}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="every 10th width tuple, no named cases")
    ap.add_argument("--seed", type=int, default=5)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    tuples = width_tuples()
    if args.quick:
        tuples = tuples[::10]
    rows = []
    t_all = time.perf_counter()
    for ws in tuples:
        for bias in (False, True):
            d, K = int(rng.integers(1, 7)), int(rng.integers(1, 7))
            n = int(rng.integers(1, 2 * d + 3))
            rows.append(run_case(eh.FCN(d, ws, K, bias=bias), n))
    total = time.perf_counter() - t_all
    proven = sum(r["proven"] for r in rows)
    quantities = sum(r["quantities"] for r in rows)
    gen = sum(r["generic_seconds"] for r in rows)
    ver = sum(r["verify_seconds"] for r in rows)
    print(f"sweep: {len(rows)} FCNs (<= 3 hidden layers, total width <= 12, d, K in 1..6, n in 1..2d+2, "
          f"with and without biases)")
    print(f"  proven generic ranks: {proven} / {quantities} quantities; architectures with an open "
          f"quantity: {sum(1 for r in rows if r['open'])}")
    print(f"  point ranks within the proven bounds: {all(r['point_rank_within_bounds'] for r in rows)}")
    print(f"  generic proofs {gen:.1f} s, verify at a point {ver:.1f} s (ratio {gen / ver:.2f}x); "
          f"slowest proof {max(r['generic_seconds'] for r in rows):.2f} s; wall {total:.1f} s")
    for r in rows:
        if r["open"]:
            print("  OPEN", r["architecture"], r["n"], r["open"])
    named = []
    if not args.quick:
        print(f"\n{'case':<34} {'params':>6}  {'proven':>8}  {'generic s':>9}  {'verify s':>8}  {'ratio':>7}  exit")
        for name, arch, n in NAMED:
            r = run_case(arch, n)
            r["name"] = name
            named.append(r)
            print(f"{name:<34} {arch.n_params:>6}  {r['proven']:>3} / {r['quantities']:<2}  {r['generic_seconds']:>9.2f}"
                  f"  {r['verify_seconds']:>8.2f}  {r['ratio']:>6.1f}x  {r['exit_code']}")
    if not args.quick:
        out = Path(__file__).with_name("results_generic.json")
        out.write_text(json.dumps({"sweep": rows, "named": named, "seed": args.seed}, indent=1))
        print(f"\nresults written to {out}")


if __name__ == "__main__":
    main()
