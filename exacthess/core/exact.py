"""Exact conversion of user numbers to rationals.

Every finite IEEE float is a dyadic rational ``m / 2**e``; :func:`to_rational` returns it
exactly (``float.as_integer_ratio``), so ``0.1`` becomes ``3602879701896397/36028797018963968``,
not ``1/10``. Python ints, :class:`fractions.Fraction`, numpy integers and floats, and FLINT
``fmpz``/``fmpq`` are accepted; NaN and infinities raise :class:`~exacthess.core.errors.NonFiniteError`.

>>> to_rational(0.75)
3/4
>>> to_rational(float("nan"), name="x")
Traceback (most recent call last):
...
exacthess.errors.NonFiniteError: x = nan is not finite; expected a finite number (ints, Fractions or finite floats)
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Rational
from typing import Any

import numpy as np
from flint import fmpq, fmpz

from .errors import InvalidDataError, InvalidTypeError, NonFiniteError, describe

__all__ = ["to_rational", "rational_array", "is_integral_array"]


def to_rational(value: Any, name: str = "value") -> fmpq:
    """Return *value* as an exact FLINT rational.

    Args:
        value: an int, ``Fraction``, ``fmpz``/``fmpq``, numpy scalar or finite float.
        name: the argument name used in error messages.

    Raises:
        NonFiniteError: for NaN or +-inf.
        InvalidTypeError: for anything that is not a real number (complex, str, None ...).
    """
    if isinstance(value, fmpq):
        return value
    if isinstance(value, (bool, np.bool_)):
        return fmpq(int(value))
    if isinstance(value, (int, np.integer, fmpz)):
        return fmpq(int(value))
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if not math.isfinite(f):
            raise NonFiniteError(
                f"{name} = {f!r} is not finite; expected a finite number "
                "(ints, Fractions or finite floats)"
            )
        num, den = f.as_integer_ratio()
        return fmpq(num, den)
    if isinstance(value, Fraction) or isinstance(value, Rational):
        return fmpq(int(value.numerator), int(value.denominator))
    raise InvalidTypeError(
        f"{name} = {describe(value)} has type {type(value).__name__}; "
        "expected a real number (int, Fraction, or finite float)"
    )


def rational_array(values: Any, name: str = "array", ndim: int | None = None) -> np.ndarray:
    """Convert an array-like to a numpy object array of exact ``fmpq`` entries.

    Args:
        values: nested sequences or a numpy array of real numbers.
        name: argument name for error messages.
        ndim: if given, the required number of dimensions.

    Raises:
        NonFiniteError: if an entry is NaN or infinite (the message gives its index).
        InvalidTypeError: on non-numeric entries (strings, complex numbers, None ...).
        InvalidDataError: on ragged rows or the wrong number of dimensions.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "fc":
        if values.dtype.kind == "c":
            raise InvalidTypeError(f"{name} has complex dtype {values.dtype}; expected real numbers")
        bad = ~np.isfinite(values)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise NonFiniteError(
                f"{name}[{', '.join(map(str, idx))}] = {float(values[idx])!r} is not finite; "
                "expected finite numbers (NaN and inf have no exact value)"
            )
    try:
        arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    except Exception as exc:  # ragged lists and the like
        raise InvalidDataError(f"{name} could not be read as an array: {exc}") from None
    if arr.dtype != object:
        arr = arr.astype(object)
    if arr.ndim == 0 and ndim:
        raise InvalidTypeError(f"{name} = {describe(values)} has type {type(values).__name__}; expected a "
                               f"{ndim}-D array of real numbers")
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in arr.flat):
        raise InvalidDataError(f"{name} is ragged (its rows have different lengths); expected a rectangular "
                               "array of real numbers")
    if ndim is not None and arr.ndim != ndim:
        raise InvalidDataError(
            f"{name} has {arr.ndim} dimension(s) (shape {arr.shape}); expected {ndim}"
        )
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = to_rational(v, name=f"{name}[{', '.join(map(str, idx))}]" if idx else name)
    return out


def is_integral_array(arr: np.ndarray) -> bool:
    """True when every ``fmpq`` entry of *arr* has denominator 1."""
    return all(v.q == 1 for v in arr.flat)
