"""The float comparison as a user runs it (exacthess.verification.floats, Row.float_ranks).

Routes: the float matrices are checked against the exact Hessian (entrywise, to the rounding
error of the type); ranks are certified exactly (rank 576 = full rank of a 576 x 576 matrix,
and rank H_o = 64 as in Singh et al. 2021); where torch is installed, torch.func.hessian in
float32/float64 with torch.linalg.matrix_rank is the independent float route.
"""

import json

import numpy as np
import pytest

from exacthess import FCN, hessian, verify
from exacthess.verification.floats import DTYPES, float_hessians, float_ranks
from exacthess.hessian.problem import make_problem, seeded_data, seeded_params

DEEP = FCN(8, (8,) * 8, 8)  # depth 8, width 8: 576 parameters, n = 16 samples


@pytest.fixture(scope="module")
def deep_report():
    return verify(DEEP, seed=0)


def test_float32_wrong_float64_right_on_a_deep_fcn(deep_report):
    r = deep_report
    assert (r.ranks["H_o"], r.ranks["H_f"], r.ranks["H_L"]) == (64, 576, 576) and r.certified
    rows = {row.quantity: row for row in r.rows}
    for q in ("H_o", "H_f", "H_L"):
        fr = rows[q].float_ranks
        assert set(fr) == set(DTYPES)
        assert fr["float64"] == r.ranks[q] and rows[q].float_rank == fr["float64"]
        assert fr["float32"] < r.ranks[q] and rows[q].float_disagrees
    assert rows["H_L"].float_ranks["float32"] < 576 - 50  # not a borderline miss
    assert any("float32 matrix_rank" in n and "H_L" in n for n in r.notes)
    assert not any(n.startswith("float64 matrix_rank") for n in r.notes)
    d = json.loads(r.to_json())
    row = next(x for x in d["rows"] if x["quantity"] == "H_L")
    assert row["float_ranks"]["float64"] == 576 and row["float_disagrees"] is True
    text = str(r)
    assert "float32" in text and "differs from the exact rank" in text


def test_float_matrices_are_the_hessian_in_that_precision():
    """Entrywise against the exact Hessian: float64 within ~1e-12, float32 within ~1e-4 of the
    largest entry, and computed in float32 (not the exact matrix rounded, which would be
    within 2**-24 of every entry)."""
    arch = FCN(5, (4, 4, 4), 3, bias=True)
    prob = make_problem(arch, n_samples=9, seed=2)
    exact = hessian(arch, n_samples=9, seed=2)
    for name in ("H_o", "H_f", "H_L"):
        E = np.array([float(v) for v in getattr(exact, name).flat]).reshape(arch.n_params, -1)
        scale = np.abs(E).max()
        for dtype, tol in (("float64", 1e-12), ("float32", 1e-4)):
            M = float_hessians(prob, dtype, [name])[name]
            assert M.dtype == np.dtype(dtype)
            assert np.abs(M.astype(np.float64) - E).max() <= tol * scale
        M32 = float_hessians(prob, "float32", [name])[name].astype(np.float64)
        assert not np.array_equal(M32, E.astype(np.float32).astype(np.float64))  # rounding accumulated


def test_hessian_in_a_float_field():
    H = hessian(FCN(3, (2,), 2), n_samples=5, domain="float32")
    assert H.H_L.dtype == np.float32


def test_overflow_is_reported_not_a_rank():
    """At integer points a deep network's Hessian entries exceed float32's range (~3.4e38):
    the float32 pipeline reports no rank, and the row flags it."""
    arch = FCN(2, (2,) * 8, 2)
    r = verify(arch, n_samples=4, seed=0, point="integers")
    row = next(x for x in r.rows if x.quantity == "H_L")
    assert row.float_ranks["float32"] is None and row.float_disagrees
    assert "overflow" in str(r)
    assert float_ranks(make_problem(arch, n_samples=4, seed=0), ["H_L"])["H_L"]["float32"] is not None


def test_torch_float_pipeline_agrees_with_the_finding():
    """torch.func.hessian at the same point: float32 rank of H_L below 576, float64 exactly 576."""
    torch = pytest.importorskip("torch")
    from torch.func import hessian as thessian
    P = [torch.tensor(np.array([float(v) for v in p.flat]).reshape(p.shape)) for p in seeded_params(DEEP, 0)]
    Xo, Yo = seeded_data(DEEP, 16, 0)
    X = torch.tensor(np.array([float(v) for v in Xo.flat]).reshape(Xo.shape))
    Y = torch.tensor(np.array([float(v) for v in Yo.flat]).reshape(Yo.shape))
    sizes = [p.numel() for p in P]
    shapes = [p.shape for p in P]
    ranks = {}
    for dt in (torch.float32, torch.float64):
        def loss(th):
            h = X.to(dt)
            for w, s in zip(torch.split(th, sizes), shapes):
                h = h @ w.reshape(s).T
            return 0.5 * ((h - Y.to(dt)) ** 2).sum()
        theta = torch.cat([p.reshape(-1) for p in P]).to(dt)
        ranks[dt] = int(torch.linalg.matrix_rank(thessian(loss)(theta)))
    assert ranks[torch.float64] == 576 and ranks[torch.float32] < 576


def test_values_beyond_the_float_range_give_no_float_rank():
    """An exact value above float64's range (10**400) overflows to inf in the float pipeline, as float
    arithmetic would: no float rank (None) and a note, never an OverflowError."""
    from fractions import Fraction

    import numpy as np

    import exacthess as eh
    X = np.array([[Fraction(10**400), 1], [1, 2]], dtype=object)
    r = eh.verify(eh.FCN(2, (2,), 2), data=(X, np.ones((2, 2))))
    assert {row.float_ranks["float64"] for row in r.rows if row.float_ranks} == {None}
    assert any("overflows" in n for n in r.notes) and r.certified
