r"""Rounding in the user's floats: when an exact rank describes rounding noise.

Floats are converted exactly (every float is a dyadic rational), so data built in float64 as
"a low-rank signal plus an offset" are, exactly, of *full* rank: the rounding errors of the
construction are tiny but not zero, and an exact rank sees them. A user who wants the rank of
the signal must pass the data exactly (integers, ``fractions.Fraction`` or ``flint.fmpq``), or
build it on a dyadic grid where the arithmetic is exact (``round_to=``).

:func:`rounding_findings` compares, for every float array the user passed (data and parameter
tensors viewed as matrices), the exact rank with numpy's float64 ``matrix_rank`` (default
tolerance). The exact side is a proven lower bound (a rank modulo a prime), so a finding
"exact rank >= r > numerical rank" is a fact, not an estimate.

>>> import numpy as np
>>> u = np.linspace(0.1, 1.0, 6)
>>> X = np.outer(u, u) / 3.0 + 0.1          # rank 2 in exact arithmetic of reals, rounded in float64
>>> [f.startswith("data X") for f in rounding_findings({"data X": X})]
[True]
"""

from __future__ import annotations

import numpy as np

from ..core.exact import rational_array
from ..core.modular import random_small_prime, rank_mod_p, reduce_mod

__all__ = ["rounding_findings", "round_to_grid"]


def _as_float_matrix(value):
    arr = value if isinstance(value, np.ndarray) else None
    if arr is None or arr.dtype.kind != "f" or arr.ndim < 1:
        return None
    return arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr.reshape(1, -1)


def rounding_findings(arrays: dict, seed: int = 0) -> list[str]:
    """Messages for float arrays whose exact rank exceeds their float64 numerical rank.

    Args:
        arrays: name -> the array as the user passed it (only float numpy arrays are examined).
    """
    p = random_small_prime(np.random.default_rng([seed, 17]))
    out = []
    for name, value in arrays.items():
        F = _as_float_matrix(value)
        if F is None or min(F.shape) < 2:
            continue
        numerical = int(np.linalg.matrix_rank(F.astype(np.float64)))
        exact_lower = rank_mod_p(reduce_mod(rational_array(F, name), p), p)
        if exact_lower > numerical:
            out.append(
                f"{name}: exact rank >= {exact_lower} but float64 numerical rank {numerical}: the floats carry "
                "rounding, and exact ranks describe it; pass exact rationals (ints, Fractions) or build the data "
                "on a dyadic grid (round_to=) to get the rank of the intended values")
    return out


def round_to_grid(value, grid: float, name: str = "value"):
    """Round a float array to the nearest multiples of a power of two ``grid`` (exactly)."""
    from ..core.errors import InvalidValueError
    from ..core.validate import check_real
    g = check_real(grid, "round_to", 0, strict=True)
    m, e = np.frexp(g)
    if m != 0.5:
        raise InvalidValueError(f"round_to = {grid!r} is not a power of two; expected e.g. 2**-20")
    arr = np.asarray(value, dtype=np.float64)
    return np.round(arr / g) * g
