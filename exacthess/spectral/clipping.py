"""Projection of a convolution onto operators of bounded norm (Sedghi, Gupta & Long 2019).

Work with the wrapped kernel ``W`` (the operator ``M`` of a stride-1 circular convolution).
Two closed convex sets of operators, in the Frobenius inner product (by Parseval
``||M||_F^2 = N ||W||^2``, so kernel-space Euclidean projections are operator projections):

* ``A = {||M||_2 <= c}``: projection = clip the singular values of every ``P(u)`` at ``c``
  (Lefkimmatis et al. 2013), i.e. FFT, per-frequency SVD clip, inverse FFT (real because
  ``P(-u) = conj(P(u))`` is preserved);
* ``B = {kernels supported on the k taps}``: projection = zero ``W`` outside the support
  (positions ``< min(k, n)`` on every axis).

A single clip followed by a crop lands in ``B`` but generally *not* in ``A``: cropping the
clipped kernel raises the norm again. Alternating projections converge to a point of
``A ∩ B``; Dykstra's algorithm converges to the projection of the kernel onto ``A ∩ B``.
Each round's norm is a certified upper bound (:func:`certified_singular_values`).

Tolerance: ``converged`` means ``norms[-1] <= bound * (1 + tol)`` (default ``tol = 1e-3``).

>>> import numpy as np
>>> k = np.random.default_rng(0).standard_normal((4, 4, 3, 3))
>>> res = clip_operator_norm(k, (8, 8), bound=1.0, iterations=60)
>>> bool(res.norms[0] > 1.01)        # one clip-and-crop step misses the bound
True
>>> bool(res.norms[-1] <= 1.001)     # the iteration reaches it (certified upper bound)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import describe
from ._blas import single_threaded_blas
from ._input import float_kernel, validate
from .enclosure import certified_singular_values
from .errors import InvalidBoundError, NonFiniteError
from .fft import polyphase_kernel

__all__ = ["ClipResult", "clip_operator_norm"]


@dataclass
class ClipResult:
    """Result of :func:`clip_operator_norm`.

    Attributes:
        kernel: the projected kernel, same shape/layout as the input.
        norms: certified upper bound of the operator norm after each round.
        bound: the requested bound ``c``.
        method: ``"alternating"`` or ``"dykstra"``.
        converged: ``norms[-1] <= bound * (1 + tol)``.
        details: initial norm, tolerance, distance moved.
    """

    kernel: np.ndarray
    norms: list[float]
    bound: float
    method: str
    converged: bool
    details: dict = field(default_factory=dict)


def _clip(w: np.ndarray, bound: float, dim: int) -> np.ndarray:
    with single_threaded_blas():
        return _clip_inner(w, bound, dim)


def _clip_inner(w: np.ndarray, bound: float, dim: int) -> np.ndarray:
    axes = tuple(range(2, 2 + dim))
    p = np.fft.fftn(w, axes=axes)
    p = np.moveaxis(p, (0, 1), (-2, -1))
    u, s, vh = np.linalg.svd(p, full_matrices=False)
    p = np.matmul(u * np.minimum(s, bound)[..., None, :], vh)
    p = np.moveaxis(p, (-2, -1), (0, 1))
    return np.fft.ifftn(p, axes=axes).real


def clip_operator_norm(
    kernel: Any,
    input_shape: Any,
    bound: float,
    iterations: int = 50,
    method: str = "alternating",
    *,
    tol: float = 1e-3,
) -> ClipResult:
    """Project a stride-1 circular convolution onto ``{||M||_2 <= bound}`` on its support.

    Args:
        kernel: ``[c_out, c_in, k]`` or ``[c_out, c_in, kh, kw]`` (PyTorch layout).
        input_shape: spatial input size.
        bound: the operator-norm bound ``c > 0``.
        iterations: number of rounds (>= 1); round 1 of ``"alternating"`` is the single
            clip-and-crop step of the paper.
        method: ``"alternating"`` (alternating projections) or ``"dykstra"`` (projection onto
            the intersection).
        tol: relative tolerance for ``converged``.

    Returns:
        :class:`ClipResult` with ``.kernel`` and ``.norms`` (certified upper bounds).

    Raises:
        InvalidBoundError: ``bound`` not positive and finite, ``iterations < 1``, unknown method.
    """
    try:
        c = float(bound)
    except (TypeError, ValueError):
        raise InvalidBoundError(f"bound = {describe(bound)} is not a number; expected a positive finite float") from None
    if not math.isfinite(c):
        raise NonFiniteError(f"bound = {c!r} is not finite; expected a positive finite float")
    if c <= 0:
        raise InvalidBoundError(f"bound = {describe(bound)} is not positive; expected a positive finite float")
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise InvalidBoundError(f"iterations = {describe(iterations)} is not a positive integer; expected an int >= 1")
    if method not in ("alternating", "dykstra"):
        raise InvalidBoundError(f"method = {method!r} is not known; expected 'alternating' or 'dykstra'")
    spec = validate(kernel, input_shape, 1, "circular")
    kf = float_kernel(kernel)
    w0 = polyphase_kernel(kf, spec)  # stride 1: (c_out, c_in, *n)
    mask = np.zeros(spec.n, dtype=bool)
    mask[tuple(slice(0, min(k, n)) for k, n in zip(spec.ksize, spec.n))] = True

    def to_kernel(w: np.ndarray) -> np.ndarray:
        out = np.zeros(kf.shape)
        sl = (slice(None), slice(None)) + tuple(slice(0, min(k, n)) for k, n in zip(spec.ksize, spec.n))
        out[sl] = w[sl]
        return out

    x = w0.copy()
    p = np.zeros_like(x)
    q = np.zeros_like(x)
    norms: list[float] = []
    for _ in range(int(iterations)):
        if method == "alternating":
            x = _clip(x, c, spec.dim) * mask
        else:
            y = _clip(x + p, c, spec.dim)
            p = x + p - y
            xn = (y + q) * mask
            q = y + q - xn
            x = xn
        norms.append(float(certified_singular_values(to_kernel(x), spec.n).operator_norm[1]))
    out = to_kernel(x)
    start = certified_singular_values(kf, spec.n).operator_norm
    return ClipResult(
        kernel=out,
        norms=norms,
        bound=c,
        method=method,
        converged=bool(norms[-1] <= c * (1 + tol)),
        details={"initial_norm": start, "tol": tol, "distance": float(np.linalg.norm(out - kf))},
    )
