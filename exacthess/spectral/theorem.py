"""Exact per-instance proof of the convolution singular-value theorem.

For a kernel with exact (rational) entries, scaled to integers ``K_int = D K``, the
theorem ``sigma(M) = union_u sigma(P(u))`` (see :mod:`exacthess.spectral.fft`) is decided
exactly by one of two arguments:

* ``"charpoly"`` (default for operators with ``min(rows, cols) <= 256``;
  :mod:`~exacthess.spectral.charpoly`): ``charpoly(M_int M_int^T)`` computed by FLINT equals,
  as integer polynomials, ``prod_u charpoly(P(u) P(u)^H)``, computed modulo primes
  ``l = 1 (mod L)`` and rebuilt by the Chinese remainder theorem. Equal characteristic
  polynomials of ``M M^T`` and of ``blockdiag P P^H`` mean equal multisets of singular values.
* ``"similarity"`` (large operators; :mod:`~exacthess.spectral.similarity`): the identity
  ``M V = V' blockdiag(P(u))`` in ``Z[zeta_L]``, checked modulo enough primes ``l = 1 (mod L)``
  for a norm argument to force it; the Fourier bases are unitary up to ``sqrt(N')``.
* zero padding (:mod:`~exacthess.spectral.zero_padding`): how the spectrum differs from the
  circular formula, exactly.

Both halves of the package build the explicit operator ``M`` from the same tap table
(:class:`~exacthess.models.geometry.ConvLayer`,
:func:`~exacthess.models.toeplitz.toeplitz_operator`). The dense work is estimated before it
is allocated (:class:`~exacthess.core.errors.ProblemTooLargeError` beyond the memory budget),
and long checks report progress through an optional callback.

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
from typing import Any, Callable

from flint import fmpq_poly

from ..core.domains import QQ
from ..core.resources import require_memory
from ..core.validate import check_callable, check_option
from ..models.geometry import ConvLayer, conv_layer
from ..models.kernels import integer_kernel, kernel_shape
from ..models.toeplitz import toeplitz_operator
from . import fft
from .blas import single_threaded_blas
from .charpoly import claimed_poly, exact_charpoly, frequency_charpoly, poly_bits
from ..core.errors import ProblemTooLargeError
from .similarity import check_similarity, similarity_bytes
from .zero_padding import MAX_DEGREE, compare_zero_padding, zero_padding_bytes

__all__ = ["ConvSVTheoremResult", "check_conv_sv_theorem", "CHARPOLY_MAX_DEGREE", "exact_check_bytes"]

CHARPOLY_MAX_DEGREE = 256


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


def exact_check_bytes(layer: ConvLayer, method: str) -> int:
    """Estimated peak memory of one route of the exact check on ``layer``."""
    if method == "similarity":
        return similarity_bytes(layer)
    if method == "zero-padding":
        return zero_padding_bytes(layer)
    d = min(layer.n_out, layer.n_in)
    # exact operator (object pointers, ints, FLINT copy) and the Gram matrix of big integers
    return 40 * layer.n_out * layer.n_in + 64 * layer.n_nonzeros + 64 * d * d


def check_conv_sv_theorem(
    kernel: Any,
    input_shape: Any,
    stride: Any = 1,
    padding: Any = "circular",
    claimed: Any = None,
    *,
    method: str = "auto",
    progress: Callable[[str], Any] | None = None,
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
        progress: optional callable receiving short progress messages (one per prime).

    Returns:
        :class:`ConvSVTheoremResult`.

    Raises:
        InvalidTypeError: an argument of the wrong type.
        InvalidKernelError, InvalidInputShapeError, InvalidStrideError, InvalidPaddingError,
        NonFiniteError, InvalidClaimError, InvalidOptionError: wrong values.
        ProblemTooLargeError: the dense exact work would not fit in memory (the message gives
        the estimate).
    """
    with single_threaded_blas():
        return _check(kernel, input_shape, stride, padding, claimed, method, progress)


def _check(kernel, input_shape, stride, padding, claimed, method, progress) -> ConvSVTheoremResult:
    t0 = time.perf_counter()
    layer = conv_layer(kernel_shape(kernel), input_shape, stride, padding)
    check_option(method, "method", ("auto", "charpoly", "similarity"))
    check_callable(progress, "progress")
    d = min(layer.n_out, layer.n_in)
    if not layer.circular:
        route = "zero-padding"
    elif claimed is None and (method == "similarity" or (method == "auto" and d > CHARPOLY_MAX_DEGREE)):
        route = "similarity"
    else:
        route = "charpoly"
    require_memory(exact_check_bytes(layer, route),
                   f"the exact check ({route}) of the {layer.n_out} x {layer.n_in} operator",
                   "use conv_singular_values(..., certified=True) for large layers",
                   cli_hint="verify conv-sv always runs it; certified enclosures of the singular values of a large "
                            "layer come from Python: exacthess.spectral.conv_singular_values(kernel, input_shape, certified=True)")
    k_int, den = integer_kernel(kernel)
    k_int = k_int.reshape(layer.weight_shape)
    details: dict[str, Any] = {
        "rows": layer.n_out, "cols": layer.n_in, "denominator": den,
        "blocks": math.prod(layer.out_shape) if layer.circular else None,
        "block_shape": (layer.c_out, layer.c_in * fft.phases(layer)),
    }
    if not layer.circular:
        holds, stmt, extra = compare_zero_padding(kernel, k_int, den, layer, padding, progress)
        method_name = "zero-padding"
    elif claimed is not None:
        holds, stmt, extra = _claim(k_int, den, layer, claimed, progress)
        method_name = "claimed"
    elif route == "charpoly":
        holds, stmt, extra = _charpoly(k_int, den, layer, progress)
        method_name = "charpoly"
    else:
        holds, stmt, extra = check_similarity(k_int, den, layer, progress)
        method_name = "similarity"
    details.update(extra)
    details["seconds"] = time.perf_counter() - t0
    return ConvSVTheoremResult(bool(holds), True, stmt, method_name, details)


def _charpoly(k_int, den, layer: ConvLayer, progress) -> tuple[bool, str, dict]:
    side = "out" if layer.n_out <= layer.n_in else "in"
    if progress is not None:
        progress("exact check (charpoly): charpoly of the Gram matrix")
    chi = exact_charpoly(toeplitz_operator(layer, k_int.reshape(layer.c_out, -1), QQ), side)
    w_int = fft.polyphase_kernel(k_int, layer, object)
    q, primes = frequency_charpoly(w_int, layer, side, extra_bits=poly_bits(chi) + 1, progress=progress)
    holds = chi == q
    gram = "M M^T" if side == "out" else "M^T M"
    blk = "P(u) P(u)^H" if side == "out" else "P(u)^H P(u)"
    cs = layer.c_in * fft.phases(layer)
    stmt = (
        f"charpoly({gram}) == prod over the {math.prod(layer.out_shape)} frequencies u of "
        f"charpoly({blk}) as integer polynomials of degree {chi.degree()} (kernel scaled by "
        f"D = {den}); hence the multiset of singular values of the {layer.n_out} x {layer.n_in} "
        f"operator equals the union of those of the {layer.c_out} x {cs} frequency blocks"
    )
    details = {"primes": primes, "charpoly_degree": chi.degree(), "lhs": chi, "rhs": q}
    return holds, stmt if holds else "NOT: " + stmt, details


def _claim(k_int, den, layer: ConvLayer, claimed, progress) -> tuple[bool, str, dict]:
    poly, side = claimed_poly(claimed, layer.n_out, layer.n_in, den)
    d = layer.n_out if side == "out" else layer.n_in
    if d > MAX_DEGREE:
        raise ProblemTooLargeError(
            f"claimed spectrum needs an exact charpoly of degree {d}; expected at most {MAX_DEGREE}")
    if progress is not None:
        progress("exact check (claimed): charpoly of the Gram matrix")
    chi = exact_charpoly(toeplitz_operator(layer, k_int.reshape(layer.c_out, -1), QQ), side)
    holds = fmpq_poly(chi) == fmpq_poly(poly)
    gram = "M M^T" if side == "out" else "M^T M"
    details: dict[str, Any] = {"lhs": chi, "claimed_scaled": poly}
    if not holds:
        g = fmpq_poly(chi).gcd(fmpq_poly(poly))
        details["shared_roots"] = g.degree()
        details["differing_roots"] = chi.degree() - g.degree()
    stmt = f"charpoly({gram}) {'==' if holds else '!='} the claimed polynomial (degree {d}, exact)"
    return holds, stmt, details
