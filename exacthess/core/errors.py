"""Errors raised by exacthess.

Every error a user can provoke with bad input is a :class:`ValueError` subclass whose
message names the argument, the value received and what was expected, in the style of::

    InvalidArchitectureError: widths[1] = 0 is not a positive integer; expected an int >= 1
"""

from __future__ import annotations

__all__ = [
    "ExactHessError",
    "InvalidArchitectureError",
    "InvalidDataError",
    "NonFiniteError",
    "ParamsMismatchError",
    "UnknownStatementError",
    "InvalidMatrixError",
]


class ExactHessError(ValueError):
    """Base class of every input error raised by exacthess."""


class InvalidArchitectureError(ExactHessError):
    """An architecture description is malformed (sizes, kernels, strides, paddings)."""


class InvalidDataError(ExactHessError):
    """Data ``(X, Y)`` or a sample count has the wrong type, shape or value."""


class NonFiniteError(InvalidDataError):
    """A NaN or an infinity was passed where an exact rational number is required."""


class ParamsMismatchError(ExactHessError):
    """A ``params`` list does not match the architecture's layer shapes."""


class UnknownStatementError(ExactHessError, KeyError):
    """A statement id is not in the registry; the message lists the known ids."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidMatrixError(ExactHessError):
    """A matrix passed to :func:`exacthess.rank` cannot be read exactly."""


def describe(value: object, limit: int = 60) -> str:
    """Short ``repr`` of *value* for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
