"""Constant units of the exact forward pass (``exacthess.hessian.forward``) and the ranks built on them.

A unit whose pre-activation is identically zero near the point (it reads only padding and zero data)
has the constant value sigma(0): it is identically zero only when sigma(0) = 0. The ranks reported by
``eh.verify`` are compared with FLINT's exact Gaussian elimination over Q (``fmpq_mat.rank``, no primes)
on the dense exact matrices, and the Hessian entries themselves with sympy differentiating the loss
written out with explicit loops (``tests/general_reference.py``).
"""

from fractions import Fraction as F

import numpy as np
import pytest

import exacthess as eh
import general_reference as ref
from exacthess.verification.points import output_jacobian, perfect_fit
from exacthess.hessian.engine import Engine
from exacthess.hessian.problem import make_problem
from rank_reference import qrank


def half_params(arch):
    return [np.full(s, F(1, 2), dtype=object) for s in arch.param_shapes()]


def assert_ranks_match_dense(arch, params, data, loss="mse"):
    """Every certified rank of ``eh.verify`` equals the exact rank of the dense matrix (and bounds bracket it)."""
    report = eh.verify(arch, params=params, data=data, loss=loss, float_check=False)
    H = eh.hessian(arch, params=params, data=data, loss=loss)
    for key in ("H_o", "H_f", "H_L"):
        r, true = report.rank_info[key], qrank(getattr(H, key))
        assert r.lower <= true <= r.upper, (key, r, true)
        if r.certified:
            assert r.value == true, (key, r.how, true)
    return report, H


def test_constant_unit_with_nonzero_sigma0_is_not_zero():
    """The reported defect: padding positions of the hidden layer are the constant sigma(0) = 1, not zero, so
    the output weights reading them are not null directions of H_L (rank 3, not the 2 once certified)."""
    arch = eh.CNN((1,), (1,), 1, 1, paddings=1, activation="poly(1, 1)")
    data = ([[1], [2]], [[F(1, 4)], [-1]])
    report, H = assert_ranks_match_dense(arch, half_params(arch), data)
    assert qrank(H.H_L) == 3
    assert report.rank_info["H_L"].value == 3 and report.rank_info["H_L"].certified


def test_forward_marks_constant_units():
    """``still`` marks the constant units whatever sigma(0); ``flat`` (identically zero) only when sigma(0) = 0;
    their derivatives are stored as 0."""
    for act, zero in (("poly(1, 1, 1/4)", False), ("poly(0, 1, 1/4)", True), ("relu", True), ("linear", True)):
        arch = eh.CNN((1,), (1,), 1, 1, paddings=1, activation=act)
        fw = make_problem(arch, params=half_params(arch), data=([[2]], [[0]])).forward
        assert fw.still[1][:, 0].tolist() == [True, False, True], act
        assert fw.flat[1][:, 0].tolist() == [zero, False, zero], act
        assert [fw.d1[1][u, 0] for u in (0, 2)] == [0, 0], act
        if fw.d2[1] is not None:
            assert [fw.d2[1][u, 0] for u in (0, 2)] == [0, 0], act
        sigma0 = eh.models.activation(act).value(0)
        assert [fw.post[1][u, 0] for u in (0, 2)] == [sigma0, sigma0], act


def test_units_reading_a_nonzero_constant_are_not_constant():
    """Two padded layers with sigma(0) = 1: the second layer's positions 1 and 3 read only the first layer's
    constant units, so they are w * 1, not constant; positions 0 and 4 read padding and are constant."""
    arch = eh.CNN((1,), (1, 1), 1, 1, paddings=1, activation="poly(1, 1, 1/2)")
    params = [np.full(s, F(1, 2), dtype=object) for s in arch.param_shapes()]
    data = ([[1], [-2], [3]], [[0], [1], [F(1, 2)]])
    fw = make_problem(arch, params=params, data=data).forward
    assert fw.still[2][:, 0].tolist() == [True, False, False, False, True]
    assert not fw.flat[2].any()
    assert_ranks_match_dense(arch, params, data)


@pytest.mark.parametrize("act", ["poly(1, 1, 1/2)", "poly(-1/2, 2, 1/3)", "poly(0, 1, 1/2)"])
def test_hessian_through_constant_units_matches_sympy(act):
    """The Hessian entries at a point with constant units (padding around the map in both layers), against
    sympy differentiating the explicit loops: derivatives through a constant unit vanish."""
    arch = eh.CNN((2,), (1, 1), (1, 2), 1, paddings=1, activation=act)
    rng = np.random.default_rng(5)
    params = [np.vectorize(lambda v: F(int(v), 2), otypes=[object])(rng.integers(-3, 4, size=s))
              for s in arch.param_shapes()]
    X, Y = [[1, 0], [2, -1]], [[1], [0]]
    H = eh.hessian(arch, params=params, data=(X, Y))
    spec = ("poly", tuple(str(c) for c in eh.models.activation(act).coeffs))
    RL, Ro, _, _ = ref.hessians(arch, spec, "mse", params, X, Y)
    for got, want in ((H.H_L, RL), (H.H_o, Ro)):
        assert all(ref.rat(got[i, j]) == want[i, j] for i in range(want.shape[0]) for j in range(want.shape[1]))
    assert_ranks_match_dense(arch, params, (X, Y))


@pytest.mark.parametrize("act", ["poly(1, 1, 1/4)", "poly(1/2, 1, 1/4)", "poly(1, 1)"])
def test_perfect_fit_statement_holds_with_constant_units(act):
    """At a perfect fit H_L = J^T J, so rank H_L = rank J_f (``thread.perfect_fit.H_L``); with constant
    units of value sigma(0) != 0 this must hold, not be VIOLATED by wrong null vectors."""
    arch = eh.CNN((1,), (1,), 1, 1, paddings=1, activation=act)
    params, data = half_params(arch), ([[1], [2], [3]], [[0], [0], [0]])
    report = eh.verify(arch, params=params, data=data, perfect_fit=True, float_check=False,
                       statements=["thread.perfect_fit.H_L"])
    (row,) = report.rows
    assert str(row.verdict) == "holds", (row.exact, row.predicted, row.how)
    problem = perfect_fit(make_problem(arch, params=params, data=data))
    engine = Engine(problem)
    true = qrank(engine.full("H_L"))
    assert true == qrank(output_jacobian(engine))
    assert report.rank_info["H_L"].value == report.rank_info["J_f"].value == true


def test_relu_constant_unit_is_still_not_a_kink():
    """ReLU-type units reading only padding have z = 0 identically: constant (and zero), not refused."""
    for act in ("relu", "leaky_relu(1/4)"):
        arch = eh.CNN((2,), (2,), 1, 1, paddings=1, activation=act)
        params = [np.array([[[1]], [[-1]]], dtype=object), np.full((1, 2, 4), F(1, 2), dtype=object)]
        data = ([[1, 2], [3, -1], [2, 2]], [[0], [1], [-1]])
        assert_ranks_match_dense(arch, params, data)
