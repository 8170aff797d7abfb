"""Time to certify rank H_o of a linear self-attention layer with and without the symmetry proposal.

The symmetry vectors (query-key GL(d_k), value-output GL(d_v), query-value scaling) are proposed as
null vectors of C J (``rank H_o = rank (C J)`` under MSE) and checked by the checker; without them the
upper bound comes from Hadamard's argument on C J (or, past the budget, two primes: not certified).

Run: ``python benchmarks/attention_symmetry.py [T d d_k d_v K n ...]`` (one layer per 6 numbers).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from flint import fmpq

from exacthess.certify.bounds import UPPER, Bound
from exacthess.certify.pipeline import Certifier, FactoredProblem
from exacthess.core.modular import random_small_prime
from exacthess.hessian.attention_symmetry import symmetry_proposal
from exacthess.hessian.graph_forward import make_graph_problem
from exacthess.hessian.graph_source import GraphSource
from exacthess.models.graph import GraphBuilder

DEFAULT = [(4, 4, 2, 2, 4, 8), (4, 8, 4, 4, 8, 8), (4, 12, 6, 6, 12, 8), (4, 16, 8, 8, 16, 8)]


def layer(T, d, dk, dv, K):
    b = GraphBuilder((T, d))
    q, k, v = (b.linear(b.input, w, bias=True, name=n) for n, w in (("q", dk), ("k", dk), ("v", dv)))
    s = b.affine(b.matmul(q, b.transpose(k)), [fmpq(1, 2)] * T, [0] * T)
    return b.build(b.linear(b.matmul(s, v), K, bias=True, name="o"))


def run(T, d, dk, dv, K, n, budget=120.0):
    g = layer(T, d, dk, dv, K)
    prob = make_graph_problem(g, n_samples=n, seed=0)
    source = GraphSource(prob)
    t0 = time.perf_counter()
    source.exact("CJ")
    t_matrix = time.perf_counter() - t0
    p = random_small_prime(np.random.default_rng([0, 13]))
    out = {"layer": f"T={T} d={d} d_k={dk} d_v={dv} K={K} n={n}", "p": g.n_params, "J rows": n * T * K,
           "matrix s": round(t_matrix, 2)}
    for use in (True, False):
        t0 = time.perf_counter()
        nv = symmetry_proposal(prob, p) if use else None
        up = None if nv is None else Bound(g.n_params - len(nv.pivots), UPPER, "structure", nv.how, certificate=nv)
        cert = Certifier(source=source, seed=0, budget_seconds=budget)
        res = cert.factored(FactoredProblem(key="H_o", factor="CJ", theorem="gauss_newton", p=p, upper=up))
        key = "with" if use else "without"
        out[key] = (res.value, res.certified, round(time.perf_counter() - t0, 2))
    return out


if __name__ == "__main__":
    nums = [int(a) for a in sys.argv[1:]]
    cases = [tuple(nums[i:i + 6]) for i in range(0, len(nums), 6)] if nums else DEFAULT
    for c in cases:
        print(run(*c), flush=True)
