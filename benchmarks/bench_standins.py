"""Benchmark: exact Hessians at softmax / sigmoid stand-ins of saturated logits.

Run: ``python benchmarks/bench_standins.py [--exponents 20 26 27 30]``. Each case runs in its own
process (peak resident memory per case): ``exacthess.hessian`` (``H_L`` formed) and
``exacthess.verify`` without and with the float columns, on

* ``bce``: ``FCN(1, (), 1)``, weight 1/8, inputs 1 and ``2^(e+3)`` -- logits 1/8 and ``2^e``;
* ``ce``: ``FCN(1, (), 2)``, weights 1/8 and -1/8, the same inputs -- logits ``+-2^e`` (a softmax
  gap of ``2^(e+1)``).

A stand-in's denominator has about ``|gap| log2(e)`` bits; beyond
:data:`~exacthess.models.standins.MAX_STANDIN_BITS` the case is refused up front
(``ProblemTooLargeError``), which is what ``2^31`` (and ``ce`` at ``2^30``, a gap of ``2^31``) shows.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np


def one(kind: str, e: int, what: str) -> str:
    import exacthess as eh
    if kind == "bce":
        arch, w, Y, loss = eh.FCN(1, (), 1), [[Fraction(1, 8)]], [[1], [1]], "bce"
    else:
        arch, w, Y, loss = eh.FCN(1, (), 2), [[Fraction(1, 8)], [Fraction(-1, 8)]], [0, 0], "cross_entropy"
    params, data = [np.array(w, dtype=object)], ([[1], [2 ** (e + 3)]], Y)
    t = time.perf_counter()
    try:
        if what == "hessian":
            out = "H_L = " + str([round(float(v), 12) for v in eh.hessian(arch, params=params, data=data,
                                                                          loss=loss).H_L.flat])
        else:
            report = eh.verify(arch, params=params, data=data, loss=loss, float_check=what == "verify+floats")
            out = f"verify ok = {report.ok}, {len(report.render())} characters rendered"
    except Exception as exc:  # the refusals are part of the benchmark
        out = f"{type(exc).__name__}: {str(exc)[:120]}..."
    seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return f"{kind:4} 2^{e:<3} {what:14} {seconds:7.2f} s  {peak:6.0f} MB  {out}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--exponents", type=int, nargs="+", default=[20, 26, 27, 30])
    ap.add_argument("--one", nargs=3, metavar=("KIND", "E", "WHAT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(one(args.one[0], int(args.one[1]), args.one[2]))
        return
    for kind in ("bce", "ce"):
        for e in args.exponents:
            for what in ("hessian", "verify", "verify+floats"):
                run = subprocess.run([sys.executable, __file__, "--one", kind, str(e), what], capture_output=True,
                                     text=True)
                print(run.stdout.strip() or run.stderr.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
