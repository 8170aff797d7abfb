"""Singular values of convolutional layers, exactly and fast (Sedghi, Gupta & Long, ICLR 2019).

* :func:`conv_operator` — the explicit operator matrix over ``domain="float64"``, ``"QQ"``,
  ``"GF(p)"`` or ``"SR"`` (one builder with the Hessian half: :mod:`exacthess.models.toeplitz`).
* :func:`conv_matrix`, :func:`toeplitz_operator`, :func:`parameter_map`,
  :func:`parameter_map_matrix` — a network layer's operator ``T(W)`` and the linear map
  ``W -> T(W)`` (the geometry the Hessians use).
* :func:`kernel_from_tensorflow` — ``[kh, kw, c_in, c_out]`` to ``[c_out, c_in, kh, kw]``.
* :func:`conv_singular_values` — FFT + batched SVD; ``certified=True`` for rigorous
  enclosures (:class:`SingularValueEnclosure`).
* :func:`check_conv_sv_theorem` — exact per-instance proof (:class:`ConvSVTheoremResult`).
* :func:`clip_operator_norm` — operator-norm projection (:class:`ClipResult`), whose result
  always meets the bound (certified).
"""

from ..models.kernels import kernel_from_tensorflow
from ..models.toeplitz import conv_matrix, conv_operator, parameter_map, parameter_map_matrix, toeplitz_operator
from .clipping import ClipResult, clip_operator_norm
from .enclosure import SingularValueEnclosure
from .errors import (
    InvalidBoundError,
    InvalidClaimError,
    InvalidInputShapeError,
    InvalidKernelError,
    InvalidPaddingError,
    InvalidStrideError,
    KernelRangeError,
    NonFiniteError,
    ProblemTooLargeError,
)
from .fft import conv_singular_values
from .theorem import ConvSVTheoremResult, check_conv_sv_theorem

__all__ = [
    "conv_operator",
    "conv_matrix",
    "toeplitz_operator",
    "parameter_map",
    "parameter_map_matrix",
    "kernel_from_tensorflow",
    "conv_singular_values",
    "check_conv_sv_theorem",
    "clip_operator_norm",
    "SingularValueEnclosure",
    "ConvSVTheoremResult",
    "ClipResult",
    "InvalidKernelError",
    "InvalidInputShapeError",
    "InvalidStrideError",
    "InvalidPaddingError",
    "InvalidBoundError",
    "InvalidClaimError",
    "KernelRangeError",
    "NonFiniteError",
    "ProblemTooLargeError",
]
