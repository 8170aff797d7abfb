"""Input errors of :mod:`exacthess.spectral`, in the package's one hierarchy.

Wrong *types* raise :class:`~exacthess.core.errors.InvalidTypeError` (a ``TypeError``); wrong
*values* raise the ``ValueError`` subclasses below (all under
:class:`~exacthess.core.errors.InvalidValueError`). The geometry errors (kernel, input shape,
stride, padding) are defined with the layer geometry in :mod:`exacthess.models.geometry` and
re-exported here. Every message names the argument, the value received and what was expected.

>>> issubclass(InvalidBoundError, ValueError), issubclass(KernelRangeError, InvalidKernelError)
(True, True)
"""

from __future__ import annotations

from ..core.errors import InvalidDataError, InvalidTypeError, InvalidValueError, NonFiniteError, ProblemTooLargeError
from ..models.geometry import InvalidInputShapeError, InvalidKernelError, InvalidPaddingError, InvalidStrideError

__all__ = [
    "InvalidKernelError",
    "InvalidInputShapeError",
    "InvalidStrideError",
    "InvalidPaddingError",
    "InvalidBoundError",
    "InvalidClaimError",
    "KernelRangeError",
    "ProblemTooLargeError",
    "NonFiniteError",
    "InvalidTypeError",
]


class InvalidBoundError(InvalidValueError):
    """A norm bound (or an iteration count or tolerance) for clipping is not positive and finite."""


class InvalidClaimError(InvalidDataError):
    """A claimed spectrum or polynomial cannot be compared with the operator."""


class KernelRangeError(InvalidKernelError):
    """The singular values of the kernel's operator lie outside the float64 range, so no finite
    float enclosure exists (the kernel is rescaled exactly by a power of two first; this is
    raised only when the scaled-back values overflow)."""
