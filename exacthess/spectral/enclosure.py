"""Rigorous enclosures of all singular values of a circular convolution.

Method (all steps vectorised over frequencies; ``u = 2**-53``, ``gamma_m = m u / (1 - m u)``):

1. *Per-frequency blocks with an error bound.* ``P(u) = sum_j W_b[o, i, j] zeta^(u.j)`` is
   evaluated by real matrix products with float twiddle tables; the table error
   ``eps = max_m |fl(exp(2 pi i m / n')) - exp(2 pi i m / n')|`` is bounded in 128-bit ball
   arithmetic (python-flint ``acb``). With the standard rounding model for dot products,
   every entry satisfies ``|P~ - P| <= delta * sum_j |W_b[o, i, j]|`` with
   ``delta = 2 (dim * eps + sum_d 2 gamma_{2 J_d + 2})`` (a factor 2 of safety), so
   ``||P~(u) - P(u)||_2 <= ||P~(u) - P(u)||_F <= e_P`` for every ``u``.
2. *Singular values of the float block.* ``G~`` = the Hermitian matrix made from the lower
   triangle of ``fl(P~ P~^H)`` (or ``P~^H P~``, the smaller side), with
   ``||G~ - P~ P~^H||_F <= gamma' ||P~||_F^2``; ``X, Lambda = eigh(G~)``; residual
   ``R = G~ X - X Lambda`` and ``eta >= ||X^H X - I||_F`` are computed in float with their own
   rounding bounds. Kahan's residual theorem for Hermitian matrices (see Parlett, *The
   Symmetric Eigenvalue Problem*, section 11-5) gives a matching of the eigenvalues of ``G~``
   with ``Lambda`` within ``||R||_2 / sigma_min(X) <= ||R||_F / sqrt(1 - eta)``; Weyl's
   inequality adds the Gram rounding. Square roots give ``sigma(P~)``.
3. *Weyl again*: ``|sigma_i(P) - sigma_i(P~)| <= e_P``.
4. Sorting lower and upper bounds separately keeps every order statistic enclosed.

Real kernels give ``P(-u) = conj(P(u))``, so only the half spectrum is factorised (weights 2
for unpaired frequencies). The bounds assume IEEE binary64 with round-to-nearest and a BLAS
whose products obey the standard model (any summation order, FMA allowed; no Strassen or 3M
complex products — true for OpenBLAS/MKL defaults). Final float combinations are inflated
outward by a relative ``2**-40``.

>>> import numpy as np
>>> enc = certified_singular_values(np.array([[[1.0, 2.0, 3.0]]]), (2,))
>>> bool(enc.lower[0] <= 6.0 <= enc.upper[0]) and bool(enc.upper[0] - enc.lower[0] < 1e-9)
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import flint
import numpy as np

from ..core.errors import NonFiniteError, describe

from ..core.resources import require_memory
from ..models.geometry import ConvLayer
from .blas import single_threaded_blas
from .polyphase import circular_layer, phases
from .scaling import TINY, UNIT_ROUNDOFF as _U, power_of_two_exponent, scale_bounds, scale_values, scaled_float_kernel

__all__ = ["SingularValueEnclosure", "certified_singular_values", "certified_block_singular_values",
           "enclosure_bytes"]

_INFL = 2.0**-40  # relative outward inflation of the final float combinations


def _gamma(m: int) -> float:
    return m * _U / (1 - m * _U)


def _cgamma(m: int) -> float:
    """Safe elementwise relative bound of a complex dot product of length m (x2 safety)."""
    return 2.0 * math.sqrt(2.0) * _gamma(m + 2)


def _up(x):
    return np.asarray(x, dtype=np.float64) * (1 + _INFL) + 1e-300


def _down(x):
    return np.asarray(x, dtype=np.float64) * (1 - _INFL) - 1e-300


@dataclass
class SingularValueEnclosure:
    """Rigorous enclosure of all singular values of a convolution operator.

    Attributes:
        lower, upper: float arrays sorted descending; the i-th largest true singular value lies
            in ``[lower[i], upper[i]]``.
        midpoint: float64 estimates (descending).
        operator_norm: ``(lower, upper)`` bounds of the largest singular value.
        method: description of the certification.
        details: error budget (``fft_error``, ``max_eig_error``, timings ...).
    """

    lower: np.ndarray
    upper: np.ndarray
    midpoint: np.ndarray
    operator_norm: tuple[float, float]
    method: str
    details: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lower)

    def contains(self, values: Any, slack: float = 0.0) -> bool:
        """True if the sorted *values* (any order) lie in the enclosures (``slack`` absolute)."""
        v = np.sort(np.asarray(values, dtype=np.float64))[::-1]
        if v.shape != self.lower.shape:
            return False
        return bool(np.all(self.lower - slack <= v) and np.all(v <= self.upper + slack))

    @property
    def max_width(self) -> float:
        return float(np.max(self.upper - self.lower)) if len(self.lower) else 0.0


@lru_cache(maxsize=64)
def _twiddles(nprime: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Float cos/sin of ``2 pi m / n'`` and a rigorous bound of their complex error."""
    m = np.arange(nprime)
    ang = 2.0 * np.pi * m / nprime
    c, s = np.cos(ang), np.sin(ang)
    old = flint.ctx.prec
    flint.ctx.prec = 128
    try:
        err = 0.0
        for j in range(nprime):
            exact = flint.acb(flint.arb(2 * j) / nprime).exp_pi_i()
            d = (flint.acb(float(c[j]), float(s[j])) - exact).abs_upper()
            err = max(err, float(d) * (1 + 2.0**-40) + 1e-300)
    finally:
        flint.ctx.prec = old
    return c, s, err


def enclosure_bytes(layer: ConvLayer) -> int:
    """Estimated peak memory of :func:`certified_singular_values` (half spectrum: the complex
    blocks, the Gram matrices, eigenvectors, residuals and their temporaries)."""
    h, w = layer.out_shape
    n_blocks = h * (w // 2 + 1)
    r, c = layer.c_out, layer.c_in * phases(layer)
    k = min(r, c)
    return 16 * n_blocks * (4 * r * c + 10 * k * k) + 8 * 4 * layer.c_out * layer.n_in


def _polyphase_taps(kf: np.ndarray, layer: ConvLayer) -> tuple[np.ndarray, list[int]]:
    """Unwrapped polyphase kernel ``(c_out, c_in * S, J_h, J_w)`` with ``t = s*j + b``."""
    kf = kf.reshape(layer.weight_shape)
    J = [-(-k // s) for k, s in zip(layer.kernel, layer.stride)]
    pad = [(0, 0), (0, 0)] + [(0, j * s - k) for j, s, k in zip(J, layer.stride, layer.kernel)]
    kp = np.pad(kf, pad)
    kp = kp.reshape(layer.c_out, layer.c_in, J[0], layer.stride[0], J[1], layer.stride[1])
    kp = kp.transpose(0, 1, 3, 5, 2, 4).reshape([layer.c_out, layer.c_in * phases(layer)] + J)
    return np.ascontiguousarray(kp), J


def _dft_blocks(kp: np.ndarray, layer: ConvLayer, J: list[int], half: bool):
    """Float blocks ``P~(u)`` over the (half) spectrum, their multiplicities and ``delta``.

    An axis with ``J_d = 1`` contributes no error: its twiddles are ``cos 0 = 1`` and
    ``sin 0 = 0``, and products with them are exact."""
    nprime = layer.out_shape
    eps = 0.0
    tables = []
    for a in range(2):
        c, s, e = _twiddles(nprime[a])
        if J[a] > 1:
            eps = max(eps, e)
        nu = nprime[a] // 2 + 1 if (half and a == 1) else nprime[a]
        idx = (np.arange(nu)[:, None] * np.arange(J[a])[None, :]) % nprime[a]
        tables.append((c[idx], s[idx]))
    # last spatial axis first: real kernel times complex table
    cw, sw = tables[1]
    re = kp @ cw.T
    im = kp @ sw.T
    ch, sh = tables[0]
    # contract axis -2 (J_h) from the left: (.., Jh, Vw)
    re2 = np.matmul(ch, re) - np.matmul(sh, im)
    im2 = np.matmul(ch, im) + np.matmul(sh, re)
    p = re2 + 1j * im2  # (c_out, cS, U_h, U_w)
    p = np.moveaxis(p, (0, 1), (-2, -1)).reshape((-1, layer.c_out, layer.c_in * phases(layer)))
    mult = None
    if half:
        nl = nprime[1]
        v = np.arange(nl // 2 + 1)
        wv = np.where((v == 0) | (2 * v == nl), 1, 2)
        mult = np.tile(wv, nprime[0])
    active = [a for a in range(2) if J[a] > 1]
    delta = 2.0 * (len(active) * eps + sum(2 * _gamma(2 * J[a] + 2) for a in active))
    return p, mult, delta, eps


def certified_block_singular_values(
    blocks: np.ndarray, block_error: float | np.ndarray = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """Rigorous bounds of the singular values of every matrix in a batch.

    The batch is first scaled exactly by a power of two (largest entry in ``[1/2, 1)``), so
    entries of any magnitude are handled; the bounds are scaled back with outward rounding.

    Args:
        blocks: complex or real array ``(B, r, c)`` (the float matrices ``P~``).
        block_error: a bound of ``||P - P~||_F`` for the exact matrices ``P`` (scalar or per
            block); Weyl's inequality moves the bounds by this amount.

    Returns:
        ``(lower, upper, mid, info)``, each ``(B, min(r, c))`` in descending order per block.

    Raises:
        NonFiniteError: a block entry or ``block_error`` is NaN or infinite.
        KernelRangeError: the bounds exceed the float64 range.
    """
    p = np.asarray(blocks)
    if p.ndim == 2:
        p = p[None]
    if not np.all(np.isfinite(p)):
        raise NonFiniteError("blocks has a NaN or infinite entry; expected finite matrices")
    be = np.broadcast_to(np.asarray(block_error, dtype=np.float64), (p.shape[0],))
    if not np.all(np.isfinite(be)) or np.any(be < 0):
        raise NonFiniteError(f"block_error = {describe(block_error)} is not finite and >= 0; expected a bound")
    e = power_of_two_exponent(float(np.max(np.abs(p)))) if p.size else 0
    with np.errstate(under="ignore"):
        ps = np.ldexp(p.real, -e) + (1j * np.ldexp(p.imag, -e) if np.iscomplexobj(p) else 0.0)
        lost = bool(np.any(np.ldexp(ps.real, e) != p.real)) or (
            np.iscomplexobj(p) and bool(np.any(np.ldexp(ps.imag, e) != p.imag)))
        bes = _up(np.ldexp(be, -e) + (2 * TINY * math.sqrt(p.shape[1] * p.shape[2]) if lost else 0.0))
    with single_threaded_blas():
        lower, upper, mid, info = _certified_blocks(ps, bes)
    lo, hi = scale_bounds(lower, upper, e)
    info["scale_exponent"] = e
    return lo, hi, scale_values(mid, e, "midpoints"), info


def _certified_blocks(p: np.ndarray, be: np.ndarray):
    b, r, c = p.shape
    if r <= c:
        g = np.matmul(p, np.conj(np.swapaxes(p, 1, 2)))
        inner = c
    else:
        g = np.matmul(np.conj(np.swapaxes(p, 1, 2)), p)
        inner = r
    k = g.shape[-1]
    pf2 = np.einsum("bij,bij->b", p.real, p.real) + (
        np.einsum("bij,bij->b", p.imag, p.imag) if np.iscomplexobj(p) else 0.0
    )
    e_gram = _up(_cgamma(inner) * pf2 * (1 + 4 * _gamma(r * c)))
    # Hermitian matrix from the lower triangle (what eigh reads), real diagonal
    low = np.tril(g, -1)
    gh = low + np.conj(np.swapaxes(low, 1, 2))
    di = np.arange(k)
    gh[:, di, di] = g[:, di, di].real
    lam, x = np.linalg.eigh(gh)
    gx = np.matmul(gh, x)
    res = gx - x * lam[:, None, :]
    xf2 = np.einsum("bij,bij->b", np.abs(x), np.abs(x))
    gf2 = np.einsum("bij,bij->b", np.abs(gh), np.abs(gh))
    lam_max = np.max(np.abs(lam), axis=1)
    rnorm = np.sqrt(np.einsum("bij,bij->b", np.abs(res), np.abs(res)))
    rbound = _up(
        rnorm * (1 + 4 * _gamma(k * k + 2))
        + _cgamma(k) * np.sqrt(gf2 * xf2) * (1 + 4 * _gamma(k * k))
        + 2 * _U * np.sqrt(xf2) * lam_max
        + 2 * _U * rnorm
    )
    xx = np.matmul(np.conj(np.swapaxes(x, 1, 2)), x)
    xx[:, di, di] -= 1.0
    eta = _up(
        np.sqrt(np.einsum("bij,bij->b", np.abs(xx), np.abs(xx))) * (1 + 4 * _gamma(k * k + 2))
        + _cgamma(k) * xf2 * (1 + 4 * _gamma(k * k))
        + 2 * _U * math.sqrt(k) * (1 + np.sqrt(xf2))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        rad = _up(rbound / np.sqrt(_down(1.0 - eta)) + e_gram)  # eigenvalue radius per block
    # Kahan's theorem needs eta < 1/2 (and finite numbers): blocks where eigh failed fall back
    # to the always-valid enclosure 0 <= sigma_i(P~) <= ||P~||_F
    bad = ~((eta < 0.5) & np.isfinite(rad))
    rad = np.where(bad, 0.0, rad)
    lam_lo = _down(lam - rad[:, None])
    lam_hi = _up(lam + rad[:, None])
    s_lo = _down(np.sqrt(np.maximum(np.nan_to_num(lam_lo, nan=0.0), 0.0)))
    s_hi = _up(np.sqrt(np.maximum(np.nan_to_num(lam_hi, nan=0.0), 0.0)))
    if bad.any():
        frob = _up(np.sqrt(pf2 * (1 + 4 * _gamma(2 * r * c + 2))))
        s_lo[bad] = 0.0
        s_hi[bad] = frob[bad][:, None]
    lower = np.maximum(_down(s_lo - be[:, None]), 0.0)
    upper = _up(s_hi + be[:, None])
    mid = np.sqrt(np.maximum(np.nan_to_num(lam, nan=0.0), 0.0))
    info = {"max_eig_radius": float(np.max(rad)) if b else 0.0,
            "max_eta": float(np.max(np.where(bad, 0.0, eta))) if b else 0.0,
            "loose_blocks": int(bad.sum())}
    return lower[:, ::-1], upper[:, ::-1], mid[:, ::-1], info


def certified_singular_values(kernel: Any, input_shape: Any, stride: Any = 1) -> SingularValueEnclosure:
    """Certified enclosures of all singular values of the circular convolution.

    See the module docstring for the mathematics. Accepts the same arguments as
    :func:`~exacthess.spectral.fft.conv_singular_values`. The kernel is scaled exactly by a
    power of two first (:mod:`~exacthess.spectral.scaling`), so every enclosure is finite and
    contains the true singular values; :class:`~exacthess.spectral.errors.KernelRangeError` is
    raised only when they exceed the float64 range.
    """
    t0 = time.perf_counter()
    layer = circular_layer(kernel, input_shape, stride)
    require_memory(enclosure_bytes(layer), f"certified enclosures of a {layer.n_out} x {layer.n_in} operator")
    scaled = scaled_float_kernel(kernel)
    if not np.any(scaled.values) and not scaled.absolute_error:  # the zero operator, exactly
        zeros = np.zeros(min(layer.n_out, layer.n_in))
        return SingularValueEnclosure(zeros, zeros.copy(), zeros.copy(), (0.0, 0.0), "zero kernel (exact)",
                                      {"seconds": time.perf_counter() - t0})
    kp, J = _polyphase_taps(scaled.values, layer)
    with single_threaded_blas():
        p, mult, delta, eps = _dft_blocks(kp, layer, J, half=True)
    # float kernel vs the exact scaled kernel: relative (rounding of exact input) and absolute
    # (subnormal range) entry errors, carried into P by the sum over taps
    delta += 2 * scaled.relative_error
    aabs = np.abs(kp).reshape(layer.c_out, layer.c_in * phases(layer), -1).sum(axis=2)
    e_p = float(_up(delta * np.sqrt(np.sum(aabs * aabs)) * (1 + 4 * _gamma(aabs.size + 2))))
    if scaled.absolute_error:
        e_p = float(_up(e_p + 2 * scaled.absolute_error * kp[0, 0].size * math.sqrt(aabs.size)))
    lower, upper, mid, info = certified_block_singular_values(p, e_p)
    if mult is not None:
        lower = np.repeat(lower, mult, axis=0)
        upper = np.repeat(upper, mult, axis=0)
        mid = np.repeat(mid, mult, axis=0)
    lo, hi = scale_bounds(np.sort(lower.ravel())[::-1], np.sort(upper.ravel())[::-1], scaled.exponent)
    md = scale_values(np.sort(mid.ravel())[::-1], scaled.exponent, "midpoints")
    info.update({"fft_error": e_p, "twiddle_error": eps, "delta": delta, "kernel_scale_exponent": scaled.exponent,
                 "blocks_factorised": int(p.shape[0]), "seconds": time.perf_counter() - t0})
    return SingularValueEnclosure(
        lower=lo,
        upper=hi,
        midpoint=md,
        operator_norm=(float(lo[0]), float(hi[0])),
        method="float64 DFT with rigorous error bound + Hermitian eigen-residual (Kahan) + Weyl"
        + (f" ({info['loose_blocks']} block(s) bounded by the Frobenius norm)" if info["loose_blocks"] else ""),
        details=info,
    )
