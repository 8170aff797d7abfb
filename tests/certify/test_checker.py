"""The checker (``exacthess.certify.checker``) against independent routes: FLINT's exact elimination
over Q of the dense matrix (``fmpq_mat.rank``), and certificates altered by hand."""

import json
from dataclasses import replace

import numpy as np
import pytest
from flint import fmpq, fmpq_mat

import exacthess as eh
from exacthess.certify import checker
from exacthess.certify.certificate import (Hadamard, Minor, NullBlock, NullVectors, RankCertificate, Theorem,
                                           Trivial, Zero, from_data, to_data)
from exacthess.certify.checker import ExplicitSource, check
from exacthess.core.errors import InternalError
from exacthess.hessian.problem import make_problem
from exacthess.hessian.ranks import check_consistency
from exacthess.hessian.source import ProblemSource

F = fmpq


def qrank(M) -> int:
    """Rank over Q by FLINT's exact elimination (the independent route)."""
    M = np.asarray(M, dtype=object)
    return fmpq_mat(M.shape[0], M.shape[1], [v if isinstance(v, fmpq) else fmpq(v) for v in M.flat]).rank()


M = np.array([[1, 2, 3], [2, 4, 6], [1, 1, 1]], dtype=object)  # rank 2


def test_minor_nonsingular_and_singular():
    src = ExplicitSource(M)
    ok = check(RankCertificate(matrix="M", value=2, lower=Minor(prime=7, rows=(0, 2), cols=(0, 1)), upper=Trivial()), src)
    assert ok.lower == 2 and not ok.failures
    bad = check(RankCertificate(matrix="M", value=2, lower=Minor(prime=7, rows=(0, 1), cols=(0, 1)), upper=Trivial()), src)
    assert bad.lower == 0 and "singular" in bad.failures[0]
    wrong_inverse = Minor(prime=7, rows=(0, 2), cols=(0, 1), inverse=np.eye(2, dtype=np.int64))
    assert check(RankCertificate(matrix="M", value=2, lower=wrong_inverse), src).lower == 0


def test_null_vectors_are_checked_exactly():
    src = ExplicitSource(M)
    v = np.array([[F(1)], [F(-2)], [F(1)]], dtype=object)  # M v = 0
    good = NullVectors(prime=7, blocks=(NullBlock(rows=(0, 1, 2), vectors=v),), pivots=(2,))
    res = check(RankCertificate(matrix="M", value=2, lower=Minor(prime=7, rows=(0, 2), cols=(0, 1)), upper=good), src)
    assert res.certified and res.lower == res.upper == 2
    w = np.array([[F(1)], [F(0)], [F(0)]], dtype=object)  # M w != 0
    bad = NullVectors(prime=7, blocks=(NullBlock(rows=(0, 1, 2), vectors=w),), pivots=(0,))
    res = check(RankCertificate(matrix="M", value=2, lower=Minor(prime=7, rows=(0, 2), cols=(0, 1)), upper=bad), src,
                cross_check=False)
    assert res.upper == 3 and any("M v != 0" in f for f in res.failures)
    # small matrices are also checked by exact elimination: the rank is right, the failure reported
    res = check(RankCertificate(matrix="M", value=2, lower=Minor(prime=7, rows=(0, 2), cols=(0, 1)), upper=bad), src)
    assert res.upper == 2 and res.failures and "exact elimination" in res.upper_by


def test_null_vectors_modulo_primes(monkeypatch):
    """The modular route (large products): M V = 0 modulo primes past a proven bound, on a Hessian."""
    arch = eh.FCN(3, (2,), 2, activation="relu")
    prob = make_problem(arch, n_samples=5, seed=3)
    src = ProblemSource(prob)
    H = src.exact("H_o")
    ns = fmpq_mat(H.shape[0], H.shape[1], list(H.flat))
    R, r = ns.rref()
    assert r < H.shape[0]
    piv = [next(j for j in range(H.shape[1]) if R[i, j] != 0) for i in range(r)]
    free = [j for j in range(H.shape[1]) if j not in piv]
    V = np.empty((H.shape[1], len(free)), dtype=object)
    V.fill(F(0))
    for c, f in enumerate(free):
        V[f, c] = F(1)
        for i, pj in enumerate(piv):
            V[pj, c] = -R[i, f]
    monkeypatch.setattr(checker, "EXACT_PRODUCT_ENTRIES", 0)
    node = NullVectors(prime=1048573, blocks=(NullBlock(rows=tuple(range(H.shape[1])), vectors=V),), pivots=tuple(free))
    res = check(RankCertificate(matrix="H_o", value=r, upper=node), src, cross_check=False)
    assert res.upper == r and not res.failures
    V2 = V.copy()
    V2[piv[0], 0] += F(1, 3)
    node = replace(node, blocks=(NullBlock(rows=tuple(range(H.shape[1])), vectors=V2),))
    res = check(RankCertificate(matrix="H_o", value=r, upper=node), src, cross_check=False)
    assert res.upper == H.shape[0] and res.failures


def test_hadamard_needs_enough_primes():
    big = np.array([[2**80 + 1, 3], [5 * (2**80 + 1), 15]], dtype=object)  # rank 1, large entries
    src = ExplicitSource(big)
    p = 2305843009213693951  # 2^61 - 1
    few = check(RankCertificate(matrix="M", value=1, upper=Hadamard(primes=(p,))), src)
    assert few.upper == 2 and "Hadamard" in few.failures[0]
    enough = check(RankCertificate(matrix="M", value=1, upper=Hadamard(primes=(p, 2305843009213693921, 4611686018427387847))), src)
    assert enough.upper == 1 and not enough.failures


def test_zero_and_unknown_records():
    src = ExplicitSource(M)
    res = check(RankCertificate(matrix="M", value=0, upper=Zero()), src)
    assert res.upper == 3 and "nonzero" in res.failures[0]
    res = check(RankCertificate(matrix="M", value=1, upper=Theorem(name="no_such_theorem")), src, cross_check=False)
    assert res.upper == 3 and "unknown theorem" in res.failures[0]


def test_chain_with_other_factors_is_rejected():
    """The checker lists the chain's factors itself: a certificate naming others does not apply."""
    report = eh.verify(eh.FCN(4, (3,), 2), n_samples=6, float_check=False)
    cert = report.rank_info["H_f[:,1]"].certificate
    assert cert.upper.name == "chain"
    src = ProblemSource(make_problem(eh.FCN(4, (3,), 2), n_samples=6))
    assert check(cert, src).certified
    shuffled = replace(cert.upper, parts=tuple(reversed(cert.upper.parts)))
    res = check(replace(cert, upper=shuffled), src, cross_check=False)
    assert res.upper == len(cert.cols) and any("not the chain" in f for f in res.failures)


def test_gram_premise_is_checked():
    arch = eh.FCN(3, (2,), 2)
    src = ProblemSource(make_problem(arch, n_samples=2))
    src.problem.G[0, 0] = F(-1)  # not positive definite
    part = RankCertificate(matrix="J", value=0, upper=Trivial())
    res = check(RankCertificate(matrix="H_o", value=0, equal=Theorem(name="gram", parts=(part,))), src, cross_check=False)
    assert any("positive definite" in f for f in res.failures)


def test_certificates_round_trip_through_json():
    report = eh.verify(eh.CNN((5,), (2,), 3, 2, paddings=1, activation="relu"), n_samples=4, float_check=False)
    for key, info in report.rank_info.items():
        data = json.loads(json.dumps(to_data(info.certificate)))
        assert from_data(data) == info.certificate, key


def test_consistency_violations_are_internal_errors():
    r = eh.rank(np.eye(3))
    with pytest.raises(InternalError, match="H_L"):
        check_consistency({"H_o": r, "H_f": replace(r, value=0, lower=0, upper=0), "H_L": replace(r, value=1, lower=1, upper=1)})
    with pytest.raises(InternalError, match="outside its proven bounds"):
        check_consistency({"X": replace(r, value=4)})
    assert not issubclass(InternalError, eh.errors.ExactHessError)


def test_the_checker_imports_nothing_from_the_proposers():
    """checker.py, kernel.py, theorems.py, elimination.py import only each other, the records, numpy,
    FLINT and the stdlib."""
    import ast
    from pathlib import Path
    allowed_local = {"certificate", "checker", "kernel", "theorems", "elimination"}
    allowed = {"numpy", "flint", "math", "dataclasses", "__future__"}
    root = Path(eh.__file__).parent / "certify"
    for name in ("checker", "kernel", "theorems", "elimination"):
        tree = ast.parse((root / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    assert node.module in allowed_local, (name, node.module)
                else:
                    assert node.module.split(".")[0] in allowed, (name, node.module)
            elif isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] in allowed for a in node.names), (name, [a.name for a in node.names])
