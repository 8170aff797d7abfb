"""Rounding in the user's floats (exacthess/hessian/rounding.py): flagged in the array's own
precision, and ``round_to=`` reads floats as the intended grid values.

Independent route: the intended values are built with ``fractions.Fraction`` and their rank taken
by FLINT's exact elimination over Q (``fmpq_mat.rank``); the float arrays are what a user would
have built from them in numpy.
"""

from fractions import Fraction

import numpy as np
import pytest
from flint import fmpq, fmpq_mat

import exacthess as eh
from exacthess.hessian.rounding import grid_step, round_inputs, rounding_findings


def _low_rank_plus_offset(rng, n=12, d=6, r=2):
    """Intended values on the grid 1/(3 * 10**6) (three-decimal factors, / 3, + 1/10), exactly, and as floats."""
    U = [[Fraction(int(v), 1000) for v in row] for row in rng.integers(-999, 999, size=(n, r))]
    V = [[Fraction(int(v), 1000) for v in row] for row in rng.integers(-999, 999, size=(r, d))]
    exact = [[sum(U[i][k] * V[k][j] for k in range(r)) / 3 + Fraction(1, 10) for j in range(d)] for i in range(n)]
    floats = (np.array(U, dtype=float) @ np.array(V, dtype=float)) / 3 + 0.1
    return exact, floats


def _rank(rows) -> int:
    return fmpq_mat([[fmpq(v.numerator, v.denominator) for v in row] for row in rows]).rank()


def test_round_to_recovers_the_intended_values_and_their_rank():
    exact, floats = _low_rank_plus_offset(np.random.default_rng(0))
    (X, _), _ = round_inputs((floats, np.zeros((12, 1))), None, "1/3000000")
    assert all(X[i, j] == fmpq(v.numerator, v.denominator) for i, row in enumerate(exact) for j, v in enumerate(row))
    assert _rank(exact) == 3  # rank 2 signal + constant offset


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rounded_data_are_flagged_in_their_own_precision(dtype):
    exact, floats = _low_rank_plus_offset(np.random.default_rng(1))
    (finding,) = rounding_findings({"data X": floats.astype(dtype)})
    assert f"{np.dtype(dtype).name} numerical rank 3" in finding and "round_to" in finding
    assert not rounding_findings({"data X": np.array(exact, dtype=object)})  # exact input: nothing to flag


def test_verify_with_round_to_reports_the_grid_and_no_warning():
    exact, floats = _low_rank_plus_offset(np.random.default_rng(2))
    arch = eh.FCN(6, (4,), 2)
    Y = np.random.default_rng(3).normal(size=(12, 2))
    plain = eh.verify(arch, data=(floats, Y), float_check=False)
    assert plain.warnings and "data X" in plain.warnings[0]
    grid = eh.verify(arch, data=(floats, Y), float_check=False, round_to="1/3000000")
    same = eh.verify(arch, data=(np.array(exact, dtype=object), round_inputs((Y, Y), None, "1/3000000")[0][0]),
                     float_check=False)
    assert not grid.warnings and any("1/3000000" in n for n in grid.notes)
    assert grid.ranks == same.ranks and grid.ranks["H_o"] < plain.ranks["H_o"]


@pytest.mark.parametrize("value, expected", [(0.001, Fraction(1, 1000)), ("1/3", Fraction(1, 3)),
                                             (2 ** -20, Fraction(1, 2 ** 20)), (5, Fraction(5))])
def test_grid_step(value, expected):
    assert grid_step(value) == expected


@pytest.mark.parametrize("value, error", [(0, eh.errors.InvalidValueError), (-0.5, eh.errors.InvalidValueError),
                                          ("x", eh.errors.InvalidValueError), ([1], eh.errors.InvalidTypeError),
                                          (True, eh.errors.InvalidTypeError)])
def test_bad_round_to(value, error):
    with pytest.raises(error, match="round_to = "):
        eh.verify(eh.FCN(2, (2,), 1), data=(np.ones((2, 2)), np.ones((2, 1))), round_to=value)
