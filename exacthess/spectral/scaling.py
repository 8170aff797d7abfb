r"""Exact power-of-two rescaling of kernels, so that float computations never overflow.

Singular values are positively homogeneous: :math:`\sigma_i(2^{-E} M) = 2^{-E} \sigma_i(M)`.
The spectral functions therefore compute with the kernel scaled by :math:`2^{-E}` so that its
largest entry lies in ``[1/2, 1)``, and scale the results back by :math:`2^{E}`. Multiplying a
float by a power of two is exact unless the result leaves the normal range; where it does, the
scaled-back bounds are rounded outward (lower bounds down, upper bounds up), and values beyond
float64 raise :class:`~exacthess.spectral.errors.KernelRangeError`.

Exact kernels (ints, Fractions) are scaled in exact arithmetic and then rounded once to
float64 (relative error at most ``u = 2**-53``, absolute at most ``2**-1074`` in the subnormal
range), so even integers beyond float64's range are handled.

>>> s = scaled_float_kernel(np.full((1, 1, 2), 1e200))
>>> float(s.values[0, 0, 0]), s.exponent, s.relative_error
(0.6532100883151302, 665, 0.0)
>>> scale_bounds(np.array([0.75]), np.array([0.75]), 2)
(array([3.]), array([3.]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models.kernels import exact_kernel, float_kernel, is_exact_input
from .errors import KernelRangeError

__all__ = ["UNIT_ROUNDOFF", "TINY", "ScaledKernel", "scaled_float_kernel", "scale_bounds", "scale_values",
           "power_of_two_exponent"]

UNIT_ROUNDOFF = 2.0**-53  #: unit roundoff of IEEE binary64 (round to nearest)
TINY = 2.0**-1074  #: the smallest positive subnormal float64


@dataclass(frozen=True)
class ScaledKernel:
    """``values`` (float64) approximates ``kernel * 2**-exponent`` entrywise within
    ``relative_error * |exact| + absolute_error``."""

    values: np.ndarray
    exponent: int
    relative_error: float
    absolute_error: float


def power_of_two_exponent(max_abs: float) -> int:
    """``E`` with ``max_abs * 2**-E`` in ``[1/2, 1)`` (0 for 0)."""
    return int(math.frexp(max_abs)[1]) if max_abs > 0 else 0


def _exact_exponent(p: int, q: int) -> int:
    """``E`` with ``p / q * 2**-E`` in ``[1/2, 1)`` for positive ints p, q."""
    e = p.bit_length() - q.bit_length()  # p/q in [2^(e-1), 2^(e+1))
    lhs, rhs = (p, q << e) if e >= 0 else (p << -e, q)
    return e + 1 if lhs >= rhs else e


def scaled_float_kernel(kernel: Any, name: str = "kernel") -> ScaledKernel:
    """The kernel scaled exactly by a power of two to max entry in ``[1/2, 1)``, as float64."""
    if not is_exact_input(kernel):
        kf = float_kernel(kernel, name)
        e = power_of_two_exponent(float(np.max(np.abs(kf)))) if kf.size else 0
        vals = np.ldexp(kf, -e)
        lost = bool(np.any(np.ldexp(vals, e) != kf))  # only when entries fall below the normal range
        return ScaledKernel(vals, e, 0.0, TINY if lost else 0.0)
    ek = exact_kernel(kernel, name)
    best = max((abs(v) for v in ek.flat), default=0)
    e = _exact_exponent(int(best.p), int(best.q)) if best != 0 else 0
    vals = np.empty(ek.shape, dtype=np.float64)
    for idx, v in np.ndenumerate(ek):
        p, q = int(v.p), int(v.q)
        vals[idx] = (p / (q << e)) if e >= 0 else ((p << -e) / q)  # correctly rounded
    return ScaledKernel(vals, e, UNIT_ROUNDOFF, TINY)


def scale_values(x: np.ndarray, exponent: int, what: str = "singular values") -> np.ndarray:
    """``x * 2**exponent`` rounded to nearest; raises :class:`KernelRangeError` on overflow."""
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(np.asarray(x, dtype=np.float64), exponent)
    if not np.all(np.isfinite(out)):
        raise KernelRangeError(_range_message(x, exponent, what))
    return out


def _range_message(x, exponent: int, what: str) -> str:
    top = float(np.max(np.abs(np.asarray(x, dtype=np.float64))))
    size = math.log10(top) + exponent * math.log10(2.0) if top > 0 else float(exponent) * math.log10(2.0)
    return (f"the {what} of this kernel's operator reach about 1e{size:.1f}, beyond float64 (at most "
            "1.8e308); expected a kernel with smaller entries (singular values scale linearly with the "
            "kernel, so scale it down)")


def scale_bounds(lower: np.ndarray, upper: np.ndarray, exponent: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative bounds ``lower <= x <= upper`` of a scaled quantity, multiplied by ``2**exponent``
    with outward rounding (exact unless a result leaves the normal range)."""
    hi = scale_values(upper, exponent, "singular values")
    lo = scale_values(lower, exponent, "singular values")
    with np.errstate(over="ignore", under="ignore"):
        lo_bad = np.ldexp(lo, -exponent) != lower
        hi_bad = np.ldexp(hi, -exponent) != upper
    lo = np.where(lo_bad, np.maximum(np.nextafter(lo, -np.inf), 0.0), lo)
    hi = np.where(hi_bad, np.nextafter(hi, np.inf), hi)
    if not np.all(np.isfinite(hi)):
        raise KernelRangeError(_range_message(upper, exponent, "upper bounds"))
    return lo, hi
