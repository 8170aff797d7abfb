"""The characteristic-polynomial route of the exact check (see :mod:`exacthess.spectral.theorem`).

For a kernel scaled to integers ``K_int = D K``, ``chi(x) = charpoly(M_int M_int^T)`` (or
``M_int^T M_int``) is an integer polynomial that FLINT computes exactly, and so is
``Q(x) = prod_u charpoly(P(u) P(u)^H)``: it is invariant under the Galois group of
``Q(zeta)``. ``Q`` is computed modulo primes ``l = 1 (mod L)`` (``L`` = lcm of the grid sizes)
with a primitive ``L``-th root of unity in place of ``zeta`` and ``P(-u)^T`` in place of
``P(u)^H``, and rebuilt by the Chinese remainder theorem (:func:`exacthess.core.modular.crt`)
from enough primes to exceed twice the Maclaurin bound ``max_k binom(d, k) (T/d)^k`` on its
coefficients (``T = trace = N' ||W||^2`` by Parseval). Equal polynomials mean equal multisets
of singular values.

>>> from exacthess.models.geometry import conv_layer
>>> layer = conv_layer((1, 1, 3), 2)
>>> w = np.array([[[[4, 2]]]], dtype=object)                # the wrapped kernel of [1, 2, 3]
>>> frequency_charpoly(w, layer, "out")[0]                  # roots 36 and 4
x^2 + (-40)*x + 144
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from flint import fmpq, fmpq_poly, fmpz_mat, fmpz_poly, nmod_mat, nmod_poly

from ..core.errors import describe
from ..core.exact import to_rational
from ..core.modular import crt, dft_matrix, dft_mod, mod_array, primes_one_mod, primitive_root_of_unity, symmetric
from ..models.geometry import ConvLayer
from ..models.kernels import check_real_entries
from .errors import InvalidClaimError
from .polyphase import phases

__all__ = ["maclaurin_bits", "poly_bits", "grid_roots", "frequency_charpoly", "exact_charpoly", "claimed_poly"]


def maclaurin_bits(d: int, trace: int) -> float:
    """log2 of a bound on the coefficients of a degree-d polynomial with non-negative roots
    summing to ``trace``: ``e_k <= binom(d, k) (trace/d)^k``."""
    if trace <= 0 or d == 0:
        return 1.0
    lt = math.log2(trace) - math.log2(d)
    best = 0.0
    for k in range(d + 1):
        lb = (math.lgamma(d + 1) - math.lgamma(k + 1) - math.lgamma(d - k + 1)) / math.log(2)
        best = max(best, lb + k * lt)
    return best + 2.0


def poly_bits(p: fmpz_poly) -> float:
    """log2 of (1 + the largest absolute coefficient)."""
    h = max((abs(int(c)) for c in p.coeffs()), default=1)
    return math.log2(h + 1)


def grid_roots(layer: ConvLayer, l: int) -> list[int]:
    """Primitive ``n'_a``-th roots of unity modulo ``l`` for both axes of the frequency grid."""
    nprime = layer.out_shape
    L = math.lcm(*nprime)
    w = primitive_root_of_unity(L, l)
    return [pow(w, L // m, l) for m in nprime]


def frequency_charpoly(
    w_int: np.ndarray, layer: ConvLayer, side: str, extra_bits: float = 0.0,
    progress: Callable[[str], Any] | None = None,
) -> tuple[fmpz_poly, list[int]]:
    """The integer polynomial ``prod_u charpoly(G(u))`` by CRT over primes ``l = 1 mod L``.

    Args:
        w_int: wrapped polyphase integer kernel ``(c_out, c_in S, h', w')`` (object ints).
        layer: the circular layer.
        side: ``"out"`` for ``G = P P^H`` (size c_out) or ``"in"`` for ``P^H P`` (c_in S).
        extra_bits: the CRT modulus must also exceed ``2^extra_bits`` (to compare with a
            polynomial of that height).
        progress: optional callable receiving a short message per prime.
    """
    nprime = layer.out_shape
    n_freq = math.prod(nprime)
    cs = layer.c_in * phases(layer)
    size = layer.c_out if side == "out" else cs
    d = size * n_freq
    trace = n_freq * sum(int(v) * int(v) for v in w_int.flat)
    bits = max(maclaurin_bits(d, trace), extra_bits) + 2
    primes = primes_one_mod(math.lcm(*nprime), bits)
    residues = []
    neg = [tuple((-u) % m for u, m in zip(idx, nprime)) for idx in np.ndindex(*nprime)]
    for count, l in enumerate(primes, 1):
        if progress is not None:
            progress(f"exact check (charpoly): prime {count} of {len(primes)}")
        mats = [dft_matrix(m, r, l) for m, r in zip(nprime, grid_roots(layer, l))]
        p = dft_mod(mod_array(w_int, l), mats, l).astype(np.int64)  # (c_out, cS, h', w')
        p = np.moveaxis(p.reshape(layer.c_out, cs, n_freq), 2, 0)
        acc = nmod_poly([1], l)
        for fi in range(n_freq):
            fj = int(np.ravel_multi_index(neg[fi], nprime))
            a = nmod_mat(p[fi].tolist(), l)
            b = nmod_mat(p[fj].tolist(), l)
            g = a * b.transpose() if side == "out" else b.transpose() * a
            acc *= g.charpoly()
        res = [int(c) for c in acc.coeffs()]
        residues.append(res + [0] * (d + 1 - len(res)))
    modulus = math.prod(primes)
    coeffs = symmetric(crt(residues, primes), modulus)
    return fmpz_poly([int(c) for c in coeffs]), primes


def exact_charpoly(m_int: np.ndarray, side: str) -> fmpz_poly:
    """``charpoly(M M^T)`` (``side="out"``) or ``charpoly(M^T M)`` of an integer matrix, by FLINT."""
    a = fmpz_mat([[int(v) for v in row] for row in m_int])
    g = a * a.transpose() if side == "out" else a.transpose() * a
    return g.charpoly()


def claimed_poly(claimed: Any, rows: int, cols: int, den: int) -> tuple[fmpz_poly | fmpq_poly, str]:
    """Claimed polynomial in the scaled variable (roots ``D^2 sigma^2``) and the Gram side."""
    if isinstance(claimed, (fmpz_poly, fmpq_poly)) or hasattr(claimed, "all_coeffs"):
        if hasattr(claimed, "all_coeffs"):  # sympy Poly
            coeffs = [to_rational(c, "claimed coefficient") for c in reversed(claimed.all_coeffs())]
        else:
            coeffs = [fmpq(c) for c in claimed.coeffs()]
        deg = len(coeffs) - 1
        if deg not in (rows, cols):
            raise InvalidClaimError(
                f"claimed polynomial has degree {deg}; expected {rows} (M M^T) or {cols} (M^T M)")
        side = "out" if deg == rows else "in"
        scaled = fmpq_poly([c * fmpq(den) ** (2 * (deg - k)) for k, c in enumerate(coeffs)])
        return scaled, side
    if isinstance(claimed, (str, bytes, dict)) or np.isscalar(claimed):
        raise InvalidClaimError(f"claimed = {describe(claimed)} is not a list of numbers or a polynomial; "
                                "expected squared singular values or a characteristic polynomial")
    try:
        values = list(np.asarray(claimed, dtype=object).ravel())
    except (TypeError, ValueError):
        raise InvalidClaimError(f"claimed = {describe(claimed)} is not a list of numbers or a polynomial") from None
    check_real_entries(values, "claimed", complex_error=InvalidClaimError)
    vals = [to_rational(v, f"claimed[{i}]") for i, v in enumerate(values)]
    if len(vals) not in (rows, cols):
        raise InvalidClaimError(
            f"claimed has {len(vals)} values; expected {rows} (eigenvalues of M M^T) or {cols} "
            "(of M^T M) squared singular values")
    side = "out" if len(vals) == rows else "in"
    poly = fmpq_poly([1])
    d2 = fmpq(den) ** 2
    for v in vals:
        poly *= fmpq_poly([-v * d2, 1])
    return poly, side
