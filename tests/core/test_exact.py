from fractions import Fraction

import numpy as np
import pytest
from flint import fmpq

from exacthess import to_rational
from exacthess.errors import NonFiniteError, InvalidDataError, InvalidTypeError
from exacthess.core.exact import rational_array


def test_floats_are_converted_exactly():
    assert to_rational(0.1) == fmpq(3602879701896397, 2**55)
    assert to_rational(np.float32(0.1)) == fmpq(13421773, 2**27)
    assert to_rational(np.float64(-2.5)) == fmpq(-5, 2)
    assert to_rational(2**-1074) == fmpq(1, 2**1074)  # smallest subnormal


def test_ints_and_fractions_pass_through():
    assert to_rational(Fraction(2, 6)) == fmpq(1, 3)
    assert to_rational(10**40) == fmpq(10**40)
    assert to_rational(np.int64(-3)) == fmpq(-3)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -np.inf, np.float32("nan")])
def test_non_finite_rejected(bad):
    with pytest.raises(NonFiniteError, match="x = .* is not finite"):
        to_rational(bad, name="x")


def test_non_numbers_rejected():
    with pytest.raises(InvalidTypeError, match="expected a real number"):
        to_rational("1", name="x")
    with pytest.raises(InvalidTypeError, match="has type complex"):
        to_rational(1j)


def test_array_errors_name_the_index():
    with pytest.raises(NonFiniteError, match=r"X\[1, 0\]"):
        rational_array(np.array([[1.0, 2.0], [np.nan, 1.0]]), "X")
    with pytest.raises(InvalidDataError, match="expected 2"):
        rational_array([1, 2], "X", ndim=2)
