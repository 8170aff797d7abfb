"""Input errors of :mod:`exacthess.spectral` (all :class:`ValueError` subclasses).

Every message names the argument, the value received and what was expected.
"""

from __future__ import annotations

from ..core.errors import ExactHessError, InvalidArchitectureError, InvalidDataError, NonFiniteError

__all__ = [
    "InvalidKernelError",
    "InvalidInputShapeError",
    "InvalidStrideError",
    "InvalidPaddingError",
    "InvalidBoundError",
    "InvalidClaimError",
    "ProblemTooLargeError",
    "NonFiniteError",
]


class InvalidKernelError(InvalidDataError):
    """The kernel has the wrong rank, an empty axis or non-numeric entries."""


class InvalidInputShapeError(InvalidArchitectureError):
    """``input_shape`` does not match the kernel's spatial rank or has a non-positive size."""


class InvalidStrideError(InvalidArchitectureError):
    """A stride is not a positive integer, or does not divide the input size (circular)."""


class InvalidPaddingError(InvalidArchitectureError):
    """``padding`` is neither ``"circular"`` nor a non-negative integer."""


class InvalidBoundError(ExactHessError):
    """A norm bound (or an iteration count) for clipping is not positive and finite."""


class InvalidClaimError(InvalidDataError):
    """A claimed spectrum or polynomial cannot be compared with the operator."""


class ProblemTooLargeError(ExactHessError):
    """The exact check would need a dense operator that is too large for memory."""
