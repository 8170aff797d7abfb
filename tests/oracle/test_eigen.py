"""Certified eigenvalue enclosures against matrices whose eigenvalues are known exactly, and against
numpy's float64 eigenvalues of exact Hessians."""

from __future__ import annotations

import numpy as np
from flint import arb, fmpq, fmpq_mat
from hypothesis import given, strategies as st

import exacthess as eh
from exacthess.oracle.eigen import enclose


def _known(eigs, seed):
    """``Q diag(eigs) Q^T`` with ``Q`` a rational orthogonal matrix (Cayley transform of a skew matrix)."""
    n = len(eigs)
    rng = np.random.default_rng(seed)
    S = fmpq_mat(n, n)
    for i in range(n):
        for j in range(i + 1, n):
            v = fmpq(int(rng.integers(-3, 4)), 4)
            S[i, j], S[j, i] = v, -v
    eye = fmpq_mat(n, n, [int(i == j) for i in range(n) for j in range(n)])
    Q = (eye - S) * (eye + S).inv()
    D = fmpq_mat(n, n, [eigs[i] if i == j else 0 for i in range(n) for j in range(n)])
    return np.array((Q * D * Q.transpose()).entries(), dtype=object).reshape(n, n)


@given(eigs=st.lists(st.sampled_from([fmpq(0), fmpq(1), fmpq(-1, 3), fmpq(5, 2), fmpq(1, 1000), fmpq(-7), fmpq(40)]),
                     min_size=1, max_size=7), seed=st.integers(0, 100))
def test_every_component_holds_its_exact_eigenvalues(eigs, seed):
    M = _known(eigs, seed)
    zeros = sum(1 for e in eigs if e == 0)
    E = enclose(M, rank=len(eigs) - zeros)
    assert E.zeros == zeros and len(E.balls) == len(eigs) - zeros
    for lo, hi, count in E.components:  # exact counting: the rigorous statement
        assert sum(1 for e in eigs if lo <= float(e) <= hi) == count
    for e in eigs:
        if e != 0:
            assert any(b.contains(arb(float(e))) or abs(float(b.mid()) - float(e)) <= float(b.rad()) * 1.01
                       for b in E.balls)


def test_hessian_enclosures_contain_numpy_eigenvalues():
    C = eh.curvature(eh.FCN(4, (6,), 3, bias=True, activation="relu"), n_samples=5)
    for of in ("hessian", "ggn"):
        E = C.eigenvalues(of)
        assert E.zeros == C.n_params - C.rank(of).value
        assert E.contains(np.linalg.eigvalsh(C.to_numpy(of)))
    assert len(C.eigenvalues(k=2).balls) == 4
