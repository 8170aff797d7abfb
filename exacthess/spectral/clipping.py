r"""Projection of a convolution onto operators of bounded norm (Sedghi, Gupta & Long 2019).

Work with the wrapped kernel ``W`` (the operator ``M`` of a stride-1 circular convolution).
Two closed convex sets of operators, in the Frobenius inner product (by Parseval
``||M||_F^2 = N ||W||^2``, so kernel-space Euclidean projections are operator projections):

* ``A = {||M||_2 <= c}``: projection = clip the singular values of every ``P(u)`` at ``c``
  (Lefkimmatis et al. 2013), i.e. FFT, per-frequency SVD clip, inverse FFT (real because
  ``P(-u) = conj(P(u))`` is preserved); this is the *unconstrained projection* ``P_A(W)``,
  whose support is the whole ``n x n`` grid;
* ``B = {kernels supported on the k taps}``: projection = zero ``W`` outside the support
  (positions ``< min(k, n)`` on every axis).

A single clip followed by a crop lands in ``B`` but generally *not* in ``A``: cropping the
clipped kernel raises the norm again. Alternating projections converge to a point of
``A ∩ B``; Dykstra's algorithm converges to the projection of the kernel onto ``A ∩ B``.
Each round's norm is a certified upper bound (:func:`certified_singular_values`).

**The bound is always met.** When the last round's certified norm ``nu`` is above ``c``, the
kernel is multiplied by ``s = c / nu`` (rounded down) and its certified norm recomputed, shrinking
again if rounding left it above ``c``; the final certified norm is appended to ``norms``. Scaling
keeps the support. It moves the iterate ``x`` by ``(1 - s) ||x||_F`` (reported as
``details["rescale_distance"]``), so the result is at most that much farther from the kernel
than the iterate; every kernel meeting the bound is at least ``details["distance_unconstrained"]
= ||W - P_A(W)||_F`` from the (wrapped) kernel, the distance of the unconstrained projection.

The kernel and the bound are scaled by the same power of two before the float work (projections
are positively homogeneous), so huge or tiny kernels neither overflow nor underflow.

>>> import numpy as np
>>> k = np.random.default_rng(0).standard_normal((4, 4, 3, 3))
>>> res = clip_operator_norm(k, (8, 8), bound=1.0, iterations=60)
>>> bool(res.norms[0] > 1.01)        # one clip-and-crop step misses the bound
True
>>> bool(res.norms[-1] <= 1.0)       # the result meets it (certified upper bound)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.resources import require_memory
from ..core.validate import check_int, check_option, check_real
from .blas import single_threaded_blas
from .enclosure import certified_singular_values
from .errors import InvalidBoundError, NonFiniteError
from .polyphase import circular_layer, fft_bytes, polyphase_kernel
from .scaling import scale_bounds, scale_values, scaled_float_kernel

__all__ = ["ClipResult", "clip_operator_norm"]

MAX_SHRINKS = 60


@dataclass
class ClipResult:
    """Result of :func:`clip_operator_norm`.

    Attributes:
        kernel: the projected kernel, same shape/layout as the input, zero outside the
            kernel's support (positions ``< min(k, n)``).
        norms: certified upper bound of the operator norm after each round; when the final
            rescale was needed, one more entry (its certified norm). ``norms[-1] <= bound``.
        bound: the requested bound ``c``.
        method: ``"alternating"`` or ``"dykstra"``.
        converged: the iteration itself reached ``bound * (1 + tol)`` (before any rescale).
        details: initial norm, tolerance, distances, the rescale factor.
    """

    kernel: np.ndarray
    norms: list[float]
    bound: float
    method: str
    converged: bool
    details: dict = field(default_factory=dict)


def _clip(w: np.ndarray, bound: float) -> np.ndarray:
    with single_threaded_blas():
        p = np.fft.fftn(w, axes=(2, 3))
        p = np.moveaxis(p, (0, 1), (-2, -1))
        u, s, vh = np.linalg.svd(p, full_matrices=False)
        p = np.matmul(u * np.minimum(s, bound)[..., None, :], vh)
        p = np.moveaxis(p, (-2, -1), (0, 1))
        return np.fft.ifftn(p, axes=(2, 3)).real


def _norm_upper(kernel: np.ndarray, n) -> float:
    return float(certified_singular_values(kernel, n).operator_norm[1])


#: the most rounds one call runs (each round is a full FFT and SVD of the operator's blocks)
MAX_ITERATIONS = 10_000


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

    The returned kernel's certified operator norm (``norms[-1]``) is at most ``bound``, always:
    if the iteration stops above it, a final certified rescale by ``bound / norm`` brings it
    down (see the module docstring for how far this may move the result).

    Args:
        kernel: ``[c_out, c_in, k]`` or ``[c_out, c_in, kh, kw]`` (PyTorch layout), float.
        input_shape: spatial input size.
        bound: the operator-norm bound ``c > 0``.
        iterations: number of rounds (1 to :data:`MAX_ITERATIONS`); round 1 of ``"alternating"`` is the single
            clip-and-crop step of the paper.
        method: ``"alternating"`` (alternating projections) or ``"dykstra"`` (projection onto
            the intersection).
        tol: relative tolerance for ``converged``.

    Returns:
        :class:`ClipResult` with ``.kernel`` and ``.norms`` (certified upper bounds).

    Raises:
        InvalidTypeError: an argument of the wrong type.
        InvalidBoundError: ``bound`` or ``tol`` not positive, ``iterations`` outside 1..MAX_ITERATIONS.
        NonFiniteError: ``bound`` is NaN or infinite. InvalidOptionError: unknown ``method``.
    """
    if isinstance(bound, (float, np.floating)) and not math.isfinite(bound):
        raise NonFiniteError(f"bound = {float(bound)!r} is not finite; expected a positive finite float")
    c = check_real(bound, "bound", 0.0, strict=True, error=InvalidBoundError)
    check_int(iterations, "iterations", minimum=1, maximum=MAX_ITERATIONS, error=InvalidBoundError)
    check_option(method, "method", ("alternating", "dykstra"))
    tol = check_real(tol, "tol", 0.0, error=InvalidBoundError)
    layer = circular_layer(kernel, input_shape, 1)
    require_memory(3 * fft_bytes(layer), f"clipping a {layer.n_out} x {layer.n_in} operator")
    shape = np.shape(kernel)
    scaled = scaled_float_kernel(kernel)
    e = scaled.exponent
    c_s = float(np.ldexp(c, -e))
    kf = scaled.values.reshape(layer.weight_shape)
    w0 = polyphase_kernel(kf, layer)  # stride 1: (c_out, c_in, h, w), the wrapped kernel
    support = (slice(None), slice(None)) + tuple(slice(0, min(k, n)) for k, n in zip(layer.kernel, layer.in_shape))
    mask = np.zeros(layer.in_shape, dtype=bool)
    mask[support[2:]] = True

    def to_kernel(w: np.ndarray) -> np.ndarray:
        out = np.zeros(kf.shape)
        out[support] = w[support]
        return out

    x = w0.copy()
    p = np.zeros_like(x)
    q = np.zeros_like(x)
    norms: list[float] = []
    for _ in range(int(iterations)):
        if method == "alternating":
            x = _clip(x, c_s) * mask
        else:
            y = _clip(x + p, c_s)
            p = x + p - y
            xn = (y + q) * mask
            q = y + q - xn
            x = xn
        up = np.array([_norm_upper(to_kernel(x), layer.in_shape)])
        norms.append(float(scale_bounds(up, up, e)[1][0]))
    out = scale_values(to_kernel(x), e, "clipped kernel")  # (c_out, c_in, kh, kw)
    converged = bool(norms[-1] <= c * (1 + tol))
    nu = _norm_upper(out, layer.in_shape)  # certified on the very array returned
    final, factor, shrinks, nu = _certified_rescale(out, layer.in_shape, c, nu)
    if shrinks or norms[-1] > c:
        norms.append(nu)
    unconstrained = _clip(w0, c_s)
    start = certified_singular_values(kernel, input_shape).operator_norm
    final_s = np.ldexp(final, -e)  # distances in scaled units (no overflow), scaled back
    return ClipResult(
        kernel=final.reshape(shape),
        norms=norms,
        bound=c,
        method=method,
        converged=converged,
        details={"initial_norm": start, "tol": tol,
                 "distance": float(np.ldexp(np.linalg.norm(final_s - kf), e)),
                 "distance_unconstrained": float(np.ldexp(np.linalg.norm(unconstrained - w0), e)),
                 "rescale_factor": factor, "rescale_shrinks": shrinks,
                 "rescale_distance": float(np.ldexp((1 - factor) * np.linalg.norm(np.ldexp(out, -e)), e))},
    )


def _certified_rescale(out: np.ndarray, n, c: float, norm: float) -> tuple[np.ndarray, float, int, float]:
    """``(kernel, factor, shrinks, norm)``: ``out`` scaled by ``factor <= 1`` until its certified
    operator norm ``norm`` is ``<= c`` (``shrinks`` = number of scalings, 0 if none was needed)."""
    factor, shrinks, kernel = 1.0, 0, out
    while norm > c:
        if shrinks >= MAX_SHRINKS:  # the zero kernel meets every bound
            return np.zeros_like(out), 0.0, shrinks, 0.0
        step = np.nextafter(c / norm, 0.0) * (1 - 2.0**-40 * 2**shrinks)
        factor = float(np.nextafter(factor * step, 0.0))
        kernel = out * factor
        shrinks += 1
        norm = _norm_upper(kernel, n)
    return kernel, factor, shrinks, norm
