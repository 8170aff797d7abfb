r"""Rounding in the user's floats: when an exact rank describes rounding noise.

Floats are converted exactly (every float is a dyadic rational), so data built in float64 as
"a low-rank signal plus an offset" are, exactly, of *full* rank: the rounding errors of the
construction are tiny but not zero, and an exact rank sees them. A user who wants the rank of
the signal must pass the data exactly (integers, ``fractions.Fraction`` or ``flint.fmpq``), or
say which grid the intended values lie on: ``round_to=g`` (``verify``, ``hessian``; ``--round-to``
on the command line) reads every float as the exact nearest multiple of ``g`` (:func:`round_inputs`):
``round_to=2**-20`` for dyadic data, ``round_to="1/1000"`` (or ``0.001``, read as the decimal it
prints as) for values recorded with three decimals.

:func:`rounding_findings` compares, for every float array the user passed (data and parameter
tensors viewed as matrices), the exact rank with numpy's ``matrix_rank`` (default tolerance) in
the array's own precision (float32 arrays with float32's). The exact side is a proven lower bound (a rank modulo a prime), so a finding
"exact rank >= r > numerical rank" is a fact, not an estimate.

>>> from fractions import Fraction

import numpy as np
from flint import fmpq
>>> u = np.linspace(0.1, 1.0, 6)
>>> X = np.outer(u, u) / 3.0 + 0.1          # rank 2 in exact arithmetic of reals, rounded in float64
>>> [f.startswith("data X") for f in rounding_findings({"data X": X})]
[True]
>>> (X, Y), _ = round_inputs((np.array([[0.1, 0.25]]), np.array([[1.0]])), None, "1/20")
>>> [str(v) for v in X[0]]                  # 0.1 and 0.25 read as exactly 1/10 and 1/4
['1/10', '1/4']
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from flint import fmpq

from ..core.exact import rational_array
from ..core.modular import random_small_prime, rank_mod_p, reduce_mod

__all__ = ["rounding_findings", "grid_step", "round_to_grid", "round_inputs"]


def _as_float_matrix(value):
    arr = value if isinstance(value, np.ndarray) else None
    if arr is None or arr.dtype.kind != "f" or arr.ndim < 1:
        return None
    return arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr.reshape(1, -1)


def rounding_findings(arrays: dict, seed: int = 0) -> list[str]:
    """Messages for float arrays whose exact rank exceeds their numerical rank (in their own precision).

    Args:
        arrays: name -> the array as the user passed it (only float numpy arrays are examined).
    """
    p = random_small_prime(np.random.default_rng([seed, 17]))
    out = []
    for name, value in arrays.items():
        F = _as_float_matrix(value)
        if F is None or min(F.shape) < 2:
            continue
        F = F if F.dtype in (np.float32, np.float64) else F.astype(np.float32 if F.itemsize < 4 else np.float64)
        numerical = int(np.linalg.matrix_rank(F))
        exact_lower = rank_mod_p(reduce_mod(rational_array(F, name), p), p)
        if exact_lower > numerical:
            out.append(
                f"{name}: exact rank >= {exact_lower} but {F.dtype} numerical rank {numerical}: the floats carry "
                "rounding, and exact ranks describe it; for the rank of the intended values pass them exactly "
                "(integers; in Python also Fractions) or name the grid they lie on: round_to='1/1000' (or 2**-20) "
                "in Python, --round-to 1/1000 on the command line")
    return out


def grid_step(round_to) -> Fraction:
    """The grid ``round_to`` as an exact positive rational: a number (a float is read as the decimal it
    prints as: ``0.001`` is 1/1000, ``2**-20`` is 2^-20), a ``Fraction`` or a string ``"p/q"``.

    >>> grid_step(0.001), grid_step("1/3"), grid_step(2**-4)
    (Fraction(1, 1000), Fraction(1, 3), Fraction(1, 16))
    """
    from ..core.errors import InvalidTypeError, InvalidValueError, describe
    if isinstance(round_to, bool) or not isinstance(round_to, (int, float, str, Fraction, np.integer, np.floating)):
        raise InvalidTypeError(f"round_to = {describe(round_to)} has type {type(round_to).__name__}; expected a "
                               "positive number or a string 'p/q' (the grid the intended values lie on)")
    try:
        g = Fraction(repr(float(round_to))) if isinstance(round_to, (float, np.floating)) else Fraction(round_to)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise InvalidValueError(f"round_to = {round_to!r} is not a number; expected a positive number or a "
                                "string 'p/q', e.g. '1/1000'",
                                cli=f"--round-to {round_to} is not a number; expected a positive number or a "
                                    "fraction p/q, e.g. --round-to 1/1000") from None
    if g <= 0:
        raise InvalidValueError(f"round_to = {round_to!r} is not positive; expected a grid step > 0, e.g. '1/1000'",
                                cli=f"--round-to {round_to} is not positive; expected a grid step > 0, e.g. "
                                    "--round-to 1/1000")
    return g


def round_to_grid(value, round_to, name: str = "value") -> np.ndarray:
    """``value`` with every float entry replaced by the exact nearest multiple of the grid (ties to
    even); exact entries (ints, ``Fraction``, ``fmpq``, symbols) are kept as they are."""
    g = grid_step(round_to)
    arr = np.asarray(value, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        if isinstance(v, (float, np.floating)) and np.isfinite(v):
            k = round(Fraction(float(v)) / g)
            out[idx] = fmpq(k * g.numerator, g.denominator)
        else:
            out[idx] = v  # non-finite floats are refused, with their name, by the exact conversion
    return out


def round_inputs(data, params, round_to):
    """``(data, params)`` with their floats on the grid ``round_to`` (unchanged when it is None)."""
    if round_to is None:
        return data, params
    grid_step(round_to)  # validated even when there is nothing to round
    if isinstance(data, (tuple, list)) and len(data) == 2:
        data = (round_to_grid(data[0], round_to, "data X"), round_to_grid(data[1], round_to, "data Y"))
    if isinstance(params, (list, tuple)):
        params = [round_to_grid(p, round_to, f"params[{i}]") for i, p in enumerate(params)]
    elif isinstance(params, np.ndarray):
        params = round_to_grid(params, round_to, "params")
    return data, params
