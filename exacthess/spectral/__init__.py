"""Singular values of convolutional layers, exactly and fast (Sedghi, Gupta & Long, ICLR 2019).

* :func:`conv_operator` — the explicit operator matrix (float64 or exact ``fmpq``).
* :func:`kernel_from_tensorflow` — ``[kh, kw, c_in, c_out]`` to ``[c_out, c_in, kh, kw]``.
* :func:`conv_singular_values` — FFT + batched SVD; ``certified=True`` for rigorous
  enclosures (:class:`SingularValueEnclosure`).
* :func:`check_conv_sv_theorem` — exact per-instance proof (:class:`ConvSVTheoremResult`).
* :func:`clip_operator_norm` — operator-norm projection (:class:`ClipResult`).
"""

from .clipping import ClipResult, clip_operator_norm
from .enclosure import SingularValueEnclosure
from .errors import (
    InvalidBoundError,
    InvalidClaimError,
    InvalidInputShapeError,
    InvalidKernelError,
    InvalidPaddingError,
    InvalidStrideError,
    ProblemTooLargeError,
)
from .fft import conv_singular_values
from .operator import conv_operator, kernel_from_tensorflow
from .theorem import ConvSVTheoremResult, check_conv_sv_theorem

__all__ = [
    "conv_operator",
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
    "ProblemTooLargeError",
]
