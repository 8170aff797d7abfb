"""Zero padding: how far the spectrum is from the circular (FFT) formula, exactly.

With zero padding the Sedghi-Gupta-Long theorem does not apply. For an integer kernel the
comparison is exact: ``charpoly(M^T M)`` of the zero-padded operator against
``prod_u charpoly(P(u)^H P(u))`` of the circular one (:mod:`~exacthess.spectral.charpoly`), their
gcd counting the shared squared singular values, plus certified operator norms of both
operators (dense certified enclosure for the zero-padded one, FFT enclosure for the circular).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..core.domains import F64, QQ
from ..models.geometry import ConvLayer, conv_layer
from ..models.kernels import kernel_shape
from ..models.toeplitz import toeplitz_operator
from . import fft
from .charpoly import exact_charpoly, frequency_charpoly, poly_bits
from .enclosure import certified_block_singular_values, certified_singular_values
from .errors import InvalidStrideError, ProblemTooLargeError
from .scaling import scale_bounds, scaled_float_kernel

__all__ = ["MAX_DEGREE", "zero_padding_bytes", "compare_zero_padding"]

#: the exact comparison computes a characteristic polynomial of degree ``c_in * prod(n)``
MAX_DEGREE = 1024


def zero_padding_bytes(layer: ConvLayer) -> int:
    """Estimated peak memory: the exact operator (objects and FLINT copy), the float operator
    and the dense certified eigen-decomposition of ``M^T M``."""
    return 40 * layer.n_out * layer.n_in + 64 * layer.n_nonzeros + 16 * 12 * layer.n_in ** 2


def compare_zero_padding(kernel: Any, k_int: np.ndarray, den: int, layer: ConvLayer, padding: Any,
                         progress: Callable[[str], Any] | None = None) -> tuple[bool, str, dict]:
    """``(same, statement, details)`` for the zero-padded ``layer`` (``padding`` as the user gave
    it) and its circular counterpart; ``kernel`` is the user's kernel, ``k_int = den * kernel``
    its integer form (shape ``layer.weight_shape``)."""
    dim = len(kernel_shape(kernel)) - 2  # spatial dimensions as the user wrote them
    user_n, user_s = layer.in_shape[2 - dim:], layer.stride[2 - dim:]
    for i, (n, s) in enumerate(zip(user_n, user_s)):
        if n % s:
            raise InvalidStrideError(
                f"stride[{i}] = {s} does not divide input_shape[{i}] = {n}; expected a divisor so "
                "that the circular (FFT) counterpart exists for the comparison")
    if layer.n_in > MAX_DEGREE:
        raise ProblemTooLargeError(
            f"zero-padding comparison needs a charpoly of degree {layer.n_in}; expected at most {MAX_DEGREE}")
    circ = conv_layer(layer.weight_shape, layer.in_shape, layer.stride, "circular")
    taps = k_int.reshape(layer.c_out, -1)
    if progress is not None:
        progress("zero padding: exact charpoly of M^T M")
    chi = exact_charpoly(toeplitz_operator(layer, taps, QQ), "in")
    w_int = fft.polyphase_kernel(k_int, circ, object)
    q, primes = frequency_charpoly(w_int, circ, "in", extra_bits=poly_bits(chi) + 1, progress=progress)
    same = chi == q
    g = chi.gcd(q)
    differing = chi.degree() - g.degree()
    # certified operator norm of the zero-padded operator (kernel scaled exactly by 2^-E)
    if progress is not None:
        progress("zero padding: certified operator norms")
    scaled = scaled_float_kernel(kernel)
    m_float = toeplitz_operator(layer, scaled.values.reshape(layer.c_out, -1), F64)
    err = 2.0 * scaled.relative_error * float(np.linalg.norm(m_float)) + 2.0 * scaled.absolute_error * layer.n_nonzeros
    lo, hi, _, _ = certified_block_singular_values(m_float[None], err)
    zlo, zhi = scale_bounds(lo[:, :1].ravel(), hi[:, :1].ravel(), scaled.exponent)
    zero_norm = (float(zlo[0]), float(zhi[0]))
    circ_norm = certified_singular_values(kernel, user_n, user_s).operator_norm
    details = {
        "primes": primes, "lhs": chi, "rhs": q, "shared_eigenvalues": g.degree(),
        "differing_eigenvalues": differing, "operator_norm_zero_padding": zero_norm,
        "operator_norm_circular": circ_norm,
        "norm_difference": (zero_norm[0] - circ_norm[1], zero_norm[1] - circ_norm[0]),
    }
    if same:
        stmt = (f"with zero padding {padding} the spectrum of M^T M equals the circular FFT "
                "spectrum exactly (charpolys equal)")
    else:
        stmt = (
            f"with zero padding {padding} the theorem does not apply: charpoly(M^T M) != "
            f"prod_u charpoly(P(u)^H P(u)) (degree {chi.degree()}); {differing} of {chi.degree()} "
            f"squared singular values differ (gcd degree {g.degree()}); certified operator norms: "
            f"zero-padded in [{zero_norm[0]:.12g}, {zero_norm[1]:.12g}], circular in "
            f"[{circ_norm[0]:.12g}, {circ_norm[1]:.12g}]"
        )
    return bool(same), stmt, details
