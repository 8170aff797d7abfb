"""The errors :mod:`exacthess.spectral` raises (all defined in :mod:`exacthess.errors`).

Wrong *types* raise :class:`~exacthess.errors.InvalidTypeError` (a ``TypeError``); wrong *values*
the ``ValueError`` subclasses below (all under :class:`~exacthess.errors.InvalidValueError`).
Every message names the argument, the value received and what was expected.

>>> issubclass(InvalidBoundError, ValueError), issubclass(KernelRangeError, InvalidKernelError)
(True, True)
"""

from __future__ import annotations

from ..core.errors import (InvalidBoundError, InvalidClaimError, InvalidDataError, InvalidInputShapeError,
                           InvalidKernelError, InvalidPaddingError, InvalidStrideError, InvalidTypeError,
                           InvalidValueError, KernelRangeError, NonFiniteError, ProblemTooLargeError)

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
    "InvalidValueError",
    "InvalidDataError",
]
