"""Exact per-instance proof of the convolution singular-value theorem.

For a kernel with exact (rational) entries, scaled to integers ``K_int = D K``, the
theorem ``sigma(M) = union_u sigma(P(u))`` (see :mod:`exacthess.spectral.fft`) is decided
exactly by one of two arguments:

* ``"charpoly"`` (default for operators with ``min(rows, cols) <= 256``): the integer
  polynomial ``chi(x) = charpoly(M_int M_int^T)`` (or ``M_int^T M_int``) is computed by FLINT;
  the right-hand side ``Q(x) = prod_u charpoly(P(u) P(u)^H)`` is an integer polynomial (it is
  invariant under the Galois group of ``Q(zeta)``) whose image modulo a prime ``l = 1 (mod L)``
  (``L`` = lcm of the frequency-grid sizes) is computed in ``GF(l)`` with a primitive ``L``-th
  root of unity ``omega`` in place of ``zeta`` and ``P(-u)^T`` in place of ``P(u)^H``.
  ``Q`` is rebuilt by the Chinese remainder theorem from enough primes to exceed twice the
  Maclaurin bound ``max_k binom(d, k) (T/d)^k`` on its coefficients (``T = trace = N' ||W||^2``
  by Parseval), and ``chi == Q`` is an exact integer comparison. Equal characteristic
  polynomials of ``M M^T`` and of ``blockdiag P P^H`` mean equal multisets of singular values.
* ``"similarity"`` (large operators): the matrix identity ``M V = V' B`` with the Fourier
  bases ``V, V'`` and ``B = blockdiag(P(u))`` is an identity in ``Z[zeta_L]``; it is checked in
  ``GF(l)`` for primes ``l = 1 (mod L)`` whose product exceeds ``B_E^phi(L)``, where ``B_E``
  bounds every complex conjugate of an entry of ``M V - V' B``. A non-zero algebraic integer
  ``e`` lying in the prime ideals above all these ``l`` would have ``|N(e)| >= prod l``, which is
  impossible, so the identity holds exactly; as ``V / sqrt(N')`` and ``V' / sqrt(N')`` are
  unitary (orthogonality of characters), the singular values agree.

>>> import numpy as np
>>> r = check_conv_sv_theorem([[[1, 2, 3]]], (2,))          # k = 3 > n = 2
>>> r.holds, r.certified
(True, True)
>>> check_conv_sv_theorem([[[1, 2, 3]]], (2,), claimed=[9, 1]).holds   # cropped kernel [1, 2]
False
>>> check_conv_sv_theorem([[[1, 2, 3]]], (2,), claimed=[36, 4]).holds  # wrapped [4, 2]
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from flint import fmpq, fmpq_poly, fmpz_mat, fmpz_poly, nmod_mat, nmod_poly

from ..core.errors import describe
from ..core.exact import to_rational
from ._blas import single_threaded_blas
from ._input import ConvSpec, float_kernel, integer_kernel, validate
from .errors import InvalidClaimError, InvalidStrideError, ProblemTooLargeError
from .fft import polyphase_kernel
from ..core.modular import (
    dft_matrix,
    dft_mod,
    mod_array,
    primes_one_mod,
    primitive_root_of_unity,
    totient,
)
from .operator import build_operator

__all__ = ["ConvSVTheoremResult", "check_conv_sv_theorem", "frequency_charpoly"]

CHARPOLY_MAX_DEGREE = 256
DENSE_MAX_ENTRIES = 20_000_000


@dataclass
class ConvSVTheoremResult:
    """Outcome of :func:`check_conv_sv_theorem`.

    Attributes:
        holds: the checked statement is true (exactly).
        certified: the verdict is a proof (exact arithmetic), not a float estimate.
        statement: what was decided, in words.
        method: ``"charpoly"``, ``"similarity"``, ``"claimed"`` or ``"zero-padding"``.
        details: sizes, primes used, polynomials, certified norms, timings.
    """

    holds: bool
    certified: bool
    statement: str
    method: str
    details: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.holds

    def __repr__(self) -> str:
        return (f"ConvSVTheoremResult(holds={self.holds}, certified={self.certified}, "
                f"method={self.method!r}, statement={self.statement!r})")


def _maclaurin_bits(d: int, trace: int) -> float:
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


def _poly_bits(p: fmpz_poly) -> float:
    h = max((abs(int(c)) for c in p.coeffs()), default=1)
    return math.log2(h + 1)


def _grid_root_data(spec: ConvSpec, l: int):
    nprime = spec.out_shape
    L = math.lcm(*nprime)
    w = primitive_root_of_unity(L, l)
    return [pow(w, L // m, l) for m in nprime]


def frequency_charpoly(
    w_int: np.ndarray, spec: ConvSpec, side: str, extra_bits: float = 0.0
) -> tuple[fmpz_poly, list[int]]:
    """The integer polynomial ``prod_u charpoly(G(u))`` by CRT over primes ``l = 1 mod L``.

    Args:
        w_int: wrapped polyphase integer kernel ``(c_out, c_in S, *n')`` (object ints).
        side: ``"out"`` for ``G = P P^H`` (size c_out) or ``"in"`` for ``P^H P`` (c_in S).
        extra_bits: the CRT modulus must also exceed ``2^extra_bits`` (to compare with a
            polynomial of that height).
    """
    nprime = spec.out_shape
    n_freq = math.prod(nprime)
    size = spec.c_out if side == "out" else spec.c_in * spec.phases
    d = size * n_freq
    trace = n_freq * sum(int(v) * int(v) for v in w_int.flat)
    bits = max(_maclaurin_bits(d, trace), extra_bits) + 2
    primes = primes_one_mod(math.lcm(*nprime), bits)
    residues = []
    neg = [tuple((-u) % m for u, m in zip(idx, nprime)) for idx in np.ndindex(*nprime)]
    for l in primes:
        roots = _grid_root_data(spec, l)
        mats = [dft_matrix(m, r, l) for m, r in zip(nprime, roots)]
        p = dft_mod(mod_array(w_int, l), mats, l).astype(np.int64)  # (c_out, cS, *n')
        p = np.moveaxis(p.reshape(spec.c_out, spec.c_in * spec.phases, n_freq), 2, 0)
        acc = nmod_poly([1], l)
        for fi, idx in enumerate(np.ndindex(*nprime)):
            fj = int(np.ravel_multi_index(neg[fi], nprime))
            a = nmod_mat(p[fi].tolist(), l)
            b = nmod_mat(p[fj].tolist(), l)
            g = a * b.transpose() if side == "out" else b.transpose() * a
            acc *= g.charpoly()
        residues.append([int(c) for c in acc.coeffs()])
    # CRT with symmetric residues
    modulus = 1
    coeffs = [0] * (d + 1)
    for l, res in zip(primes, residues):
        res = res + [0] * (d + 1 - len(res))
        inv = pow(modulus % l, -1, l)
        for k in range(d + 1):
            t = ((res[k] - coeffs[k]) * inv) % l
            coeffs[k] += modulus * t
        modulus *= l
    half = modulus // 2
    coeffs = [c - modulus if c > half else c for c in coeffs]
    return fmpz_poly(coeffs), primes


def _exact_charpoly(m_int: np.ndarray, side: str) -> fmpz_poly:
    a = fmpz_mat([[int(v) for v in row] for row in m_int])
    g = a * a.transpose() if side == "out" else a.transpose() * a
    return g.charpoly()


def _claimed_poly(claimed: Any, spec: ConvSpec, den: int) -> tuple[fmpz_poly | fmpq_poly, str]:
    """Claimed polynomial in the scaled variable (roots D^2 * sigma^2) and the Gram side."""
    rows, cols = spec.rows, spec.cols
    if isinstance(claimed, (fmpz_poly, fmpq_poly)) or hasattr(claimed, "all_coeffs"):
        if hasattr(claimed, "all_coeffs"):  # sympy Poly
            coeffs = [to_rational(c, "claimed coefficient") for c in reversed(claimed.all_coeffs())]
        else:
            coeffs = [fmpq(c) for c in claimed.coeffs()]
        deg = len(coeffs) - 1
        if deg not in (rows, cols):
            raise InvalidClaimError(
                f"claimed polynomial has degree {deg}; expected {rows} (M M^T) or {cols} (M^T M)"
            )
        side = "out" if deg == rows else "in"
        scaled = fmpq_poly([c * fmpq(den) ** (2 * (deg - k)) for k, c in enumerate(coeffs)])
        return scaled, side
    try:
        values = list(np.asarray(claimed, dtype=object).ravel())
    except Exception:
        raise InvalidClaimError(f"claimed = {describe(claimed)} is not a list of numbers or a polynomial") from None
    vals = [to_rational(v, f"claimed[{i}]") for i, v in enumerate(values)]
    cnt = len(vals)
    if cnt not in (rows, cols):
        raise InvalidClaimError(
            f"claimed has {cnt} values; expected {rows} (eigenvalues of M M^T) or {cols} "
            "(of M^T M) squared singular values"
        )
    side = "out" if cnt == rows else "in"
    pad = 0
    poly = fmpq_poly([0, 1]) ** pad
    d2 = fmpq(den) ** 2
    for v in vals:
        poly *= fmpq_poly([-v * d2, 1])
    return poly, side


def check_conv_sv_theorem(
    kernel: Any,
    input_shape: Any,
    stride: Any = 1,
    padding: str | int = "circular",
    claimed: Any = None,
    *,
    method: str = "auto",
) -> ConvSVTheoremResult:
    """Decide exactly that the singular values of the explicit operator are the FFT ones.

    Args:
        kernel: ``[c_out, c_in, k]`` or ``[c_out, c_in, kh, kw]`` with ints, Fractions, fmpq or
            finite floats (converted exactly).
        input_shape: spatial input size.
        stride: int or per-axis ints; must divide the input size for circular padding.
        padding: ``"circular"`` (the theorem) or an int ``p`` (zero padding: the result reports
            exactly whether and by how much the operator's spectrum differs from the circular
            FFT formula, with certified operator norms of both).
        claimed: optional claimed squared singular values (exact rationals, ``min(rows, cols)``,
            ``rows`` or ``cols`` of them) or a claimed characteristic polynomial (fmpz_poly,
            fmpq_poly or sympy Poly) of ``M M^T`` or ``M^T M``; the check is then
            ``charpoly == claimed``.
        method: ``"auto"``, ``"charpoly"`` or ``"similarity"`` (circular, no claim).

    Returns:
        :class:`ConvSVTheoremResult`.

    Raises:
        InvalidKernelError, InvalidInputShapeError, InvalidStrideError, InvalidPaddingError,
        NonFiniteError, InvalidClaimError, ProblemTooLargeError: on bad input.
    """
    with single_threaded_blas():
        return _check(kernel, input_shape, stride, padding, claimed, method)


def _check(kernel, input_shape, stride, padding, claimed, method) -> ConvSVTheoremResult:
    t0 = time.perf_counter()
    spec = validate(kernel, input_shape, stride, padding)
    if method not in ("auto", "charpoly", "similarity"):
        raise InvalidClaimError(f"method = {method!r} is not known; expected 'auto', 'charpoly' or 'similarity'")
    if spec.rows * spec.cols > DENSE_MAX_ENTRIES:
        raise ProblemTooLargeError(
            f"input_shape = {spec.n} with kernel shape {(spec.c_out, spec.c_in) + spec.ksize} gives a "
            f"{spec.rows} x {spec.cols} operator; expected at most {DENSE_MAX_ENTRIES} entries for "
            "the exact check (use conv_singular_values(..., certified=True) for large layers)"
        )
    k_int, den = integer_kernel(kernel)
    details: dict[str, Any] = {
        "rows": spec.rows, "cols": spec.cols, "denominator": den,
        "blocks": math.prod(spec.out_shape) if padding == "circular" else None,
        "block_shape": (spec.c_out, spec.c_in * spec.phases),
    }
    if padding != "circular":
        return _zero_padding(kernel, k_int, den, spec, details, t0)
    if claimed is not None:
        return _check_claim(k_int, den, spec, claimed, details, t0)
    d = min(spec.rows, spec.cols)
    if method == "charpoly" or (method == "auto" and d <= CHARPOLY_MAX_DEGREE):
        return _charpoly_check(k_int, den, spec, details, t0)
    return _similarity_check(k_int, den, spec, details, t0)


def _charpoly_check(k_int, den, spec, details, t0) -> ConvSVTheoremResult:
    side = "out" if spec.rows <= spec.cols else "in"
    m_int = build_operator(k_int, spec, object)
    chi = _exact_charpoly(m_int, side)
    w_int = polyphase_kernel(k_int, spec, object)
    q, primes = frequency_charpoly(w_int, spec, side, extra_bits=_poly_bits(chi) + 1)
    holds = chi == q
    gram = "M M^T" if side == "out" else "M^T M"
    blk = "P(u) P(u)^H" if side == "out" else "P(u)^H P(u)"
    details.update({"primes": primes, "charpoly_degree": chi.degree(), "lhs": chi, "rhs": q,
                    "seconds": time.perf_counter() - t0})
    stmt = (
        f"charpoly({gram}) == prod over the {math.prod(spec.out_shape)} frequencies u of "
        f"charpoly({blk}) as integer polynomials of degree {chi.degree()} (kernel scaled by "
        f"D = {den}); hence the multiset of singular values of the {spec.rows} x {spec.cols} "
        f"operator equals the union of those of the {spec.c_out} x {spec.c_in * spec.phases} "
        "frequency blocks"
    )
    if not holds:
        stmt = "NOT: " + stmt
    return ConvSVTheoremResult(bool(holds), True, stmt, "charpoly", details)


def _similarity_check(k_int, den, spec, details, t0) -> ConvSVTheoremResult:
    nprime = spec.out_shape
    n_freq = math.prod(nprime)
    L = math.lcm(*nprime)
    cs = spec.c_in * spec.phases
    row_abs = max(sum(abs(int(v)) for v in k_int[o].flat) for o in range(spec.c_out))
    b_e = 2 * row_abs + 1
    bits = totient(L) * math.log2(b_e) + 1
    primes = primes_one_mod(L, bits)
    w_int = polyphase_kernel(k_int, spec, object)
    holds = True
    for l in primes:
        roots = _grid_root_data(spec, l)
        mats = [dft_matrix(m, r, l) for m, r in zip(nprime, roots)]
        kmod = mod_array(k_int, l).astype(np.int64)
        m_mod = build_operator(kmod, spec, np.int64) % l  # the explicit operator mod l
        # columns (i, pos) -> (i, b, q) with pos = s*q + b on every axis
        shape = [spec.rows, spec.c_in]
        for m, s in zip(nprime, spec.stride):
            shape += [m, s]
        mb = m_mod.reshape(shape)
        d = spec.dim
        order = [0, 1] + [3 + 2 * a for a in range(d)] + [2 + 2 * a for a in range(d)]
        mb = mb.transpose(order).reshape([spec.rows, cs] + list(nprime)).astype(np.float64)
        lhs = dft_mod(mb, mats, l).reshape(spec.c_out, n_freq, cs, n_freq).astype(np.int64)
        p = dft_mod(mod_array(w_int, l), mats, l).reshape(spec.c_out, cs, n_freq).astype(np.int64)
        # phase table E[r, u] = prod_a omega_a^(u_a r_a)
        e = np.ones((1, 1), dtype=np.int64)
        for m, f in zip(nprime, mats):
            e = (e[:, None, :, None] * f.astype(np.int64)[None, :, None, :]) % l
            e = e.reshape(e.shape[0] * e.shape[1], -1)
        rhs = (p[:, None, :, :] * e[None, :, None, :]) % l
        if not np.array_equal(lhs, rhs):
            holds = False
            break
    details.update({"primes": primes, "norm_bound_bits": bits, "phi_L": totient(L), "L": L,
                    "seconds": time.perf_counter() - t0})
    stmt = (
        f"M V = V' diag(P(u)) holds exactly over Z[zeta_{L}] for the {spec.rows} x {spec.cols} "
        f"operator (kernel scaled by D = {den}; {len(primes)} primes l = 1 mod {L}, product > "
        f"B^phi(L) = 2^{bits:.0f}); with the unitary Fourier bases this gives sigma(M) = union of "
        f"sigma(P(u)) over {n_freq} blocks of size {spec.c_out} x {cs}"
    )
    if not holds:
        stmt = "NOT: " + stmt
    return ConvSVTheoremResult(holds, True, stmt, "similarity", details)


def _check_claim(k_int, den, spec, claimed, details, t0) -> ConvSVTheoremResult:
    poly, side = _claimed_poly(claimed, spec, den)
    d = spec.rows if side == "out" else spec.cols
    if d > 4 * CHARPOLY_MAX_DEGREE:
        raise ProblemTooLargeError(
            f"claimed spectrum needs an exact charpoly of degree {d}; expected at most "
            f"{4 * CHARPOLY_MAX_DEGREE}"
        )
    chi = _exact_charpoly(build_operator(k_int, spec, object), side)
    holds = fmpq_poly(chi) == fmpq_poly(poly)
    gram = "M M^T" if side == "out" else "M^T M"
    details.update({"lhs": chi, "claimed_scaled": poly, "seconds": time.perf_counter() - t0})
    if not holds:
        g = fmpq_poly(chi).gcd(fmpq_poly(poly))
        details["shared_roots"] = g.degree()
        details["differing_roots"] = chi.degree() - g.degree()
    stmt = f"charpoly({gram}) {'==' if holds else '!='} the claimed polynomial (degree {d}, exact)"
    return ConvSVTheoremResult(bool(holds), True, stmt, "claimed", details)


def _zero_padding(kernel, k_int, den, spec, details, t0) -> ConvSVTheoremResult:
    from .enclosure import certified_block_singular_values, certified_singular_values

    circ = ConvSpec(spec.c_out, spec.c_in, spec.ksize, spec.n, spec.stride, "circular")
    for i, (n, s) in enumerate(zip(spec.n, spec.stride)):
        if n % s:
            raise InvalidStrideError(
                f"stride[{i}] = {s} does not divide input_shape[{i}] = {n}; expected a divisor so "
                "that the circular (FFT) counterpart exists for the comparison"
            )
    m_int = build_operator(k_int, spec, object)
    if spec.cols > 4 * CHARPOLY_MAX_DEGREE:
        raise ProblemTooLargeError(
            f"zero-padding comparison needs a charpoly of degree {spec.cols}; expected at most "
            f"{4 * CHARPOLY_MAX_DEGREE}"
        )
    chi = _exact_charpoly(m_int, "in")
    w_int = polyphase_kernel(k_int, circ, object)
    q, primes = frequency_charpoly(w_int, circ, "in", extra_bits=_poly_bits(chi) + 1)
    same = chi == q
    g = chi.gcd(q)
    differing = chi.degree() - g.degree()
    # certified operator norms (unscaled kernel)
    kf = float_kernel(kernel)
    m_float = build_operator(kf, spec, np.float64)
    exact_float = all(isinstance(v, (float, np.floating)) for v in np.asarray(kernel, dtype=object).flat) \
        if not isinstance(kernel, np.ndarray) else kernel.dtype.kind == "f"
    err = 0.0 if exact_float else 2.0**-51 * float(np.linalg.norm(m_float))
    lo, hi, _, _ = certified_block_singular_values(m_float[None], err)
    zero_norm = (float(lo[0, 0]), float(hi[0, 0]))
    circ_norm = certified_singular_values(kernel, spec.n, spec.stride).operator_norm
    details.update({
        "primes": primes, "lhs": chi, "rhs": q, "shared_eigenvalues": g.degree(),
        "differing_eigenvalues": differing, "operator_norm_zero_padding": zero_norm,
        "operator_norm_circular": circ_norm,
        "norm_difference": (zero_norm[0] - circ_norm[1], zero_norm[1] - circ_norm[0]),
        "seconds": time.perf_counter() - t0,
    })
    if same:
        stmt = (f"with zero padding {spec.padding} the spectrum of M^T M equals the circular FFT "
                "spectrum exactly (charpolys equal)")
    else:
        stmt = (
            f"with zero padding {spec.padding} the theorem does not apply: charpoly(M^T M) != "
            f"prod_u charpoly(P(u)^H P(u)) (degree {chi.degree()}); {differing} of {chi.degree()} "
            f"squared singular values differ (gcd degree {g.degree()}); certified operator norms: "
            f"zero-padded in [{zero_norm[0]:.12g}, {zero_norm[1]:.12g}], circular in "
            f"[{circ_norm[0]:.12g}, {circ_norm[1]:.12g}]"
        )
    return ConvSVTheoremResult(bool(same), True, stmt, "zero-padding", details)
