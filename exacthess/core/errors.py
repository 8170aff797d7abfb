"""Errors raised by exacthess: one hierarchy, one policy.

Every error a user can provoke derives from :class:`ExactHessError`. Wrong *types* raise a
:class:`TypeError` subclass (:class:`InvalidTypeError`), wrong *values* a :class:`ValueError`
subclass (:class:`InvalidValueError` and its children). Messages name the argument, the
value received and what was expected, in the style of::

    InvalidArchitectureError: widths[1] = 0 is too small; expected an int >= 1
    InvalidTypeError: input_dim = '3' has type str; expected an int >= 1

The command line prints such an error on one line and exits with code 2.

>>> issubclass(InvalidTypeError, TypeError), issubclass(InvalidDataError, ValueError)
(True, True)
>>> issubclass(NonDifferentiableError, ValueError), issubclass(NonDifferentiableError, TypeError)
(True, False)
"""

from __future__ import annotations

__all__ = [
    "ExactHessError",
    "InvalidTypeError",
    "InvalidValueError",
    "InvalidOptionError",
    "InvalidArchitectureError",
    "InvalidDataError",
    "NonFiniteError",
    "ParamsMismatchError",
    "UnknownStatementError",
    "InvalidMatrixError",
    "ProblemTooLargeError",
    "NonDifferentiableError",
    "UnsupportedModuleError",
    "MissingDependencyError",
    "InvalidKernelError",
    "KernelRangeError",
    "InvalidInputShapeError",
    "InvalidStrideError",
    "InvalidPaddingError",
    "InvalidBoundError",
    "InvalidClaimError",
    "SweepIncompleteError",
    "InternalError",
    "describe",
]


class ExactHessError(Exception):
    """Base class of every error exacthess raises on purpose.

    Args:
        *args: the message (as for any exception).
        cli: the same message as the command line spells it, when its advice differs (options such
            as ``--round-to 1/1000`` where Python says ``round_to='1/1000'``); None (the default)
            when one message serves both. The command line prints ``cli`` when it is set
            (:mod:`exacthess.cli.messages`).

    >>> err = InvalidValueError("pass round_to='1/1000'", cli="pass --round-to 1/1000")
    >>> str(err), err.cli
    ("pass round_to='1/1000'", 'pass --round-to 1/1000')
    """

    def __init__(self, *args, cli: str | None = None):
        super().__init__(*args)
        self.cli = cli


class InvalidTypeError(ExactHessError, TypeError):
    """An argument has the wrong type (e.g. a string where an int is expected)."""


class InvalidValueError(ExactHessError, ValueError):
    """An argument has the right type but a value outside what is accepted."""


class InvalidOptionError(InvalidValueError):
    """An option string is not one of the allowed values; the message lists them."""


class InvalidArchitectureError(InvalidValueError):
    """An architecture description is malformed (sizes, kernels, strides, paddings)."""


class InvalidDataError(InvalidValueError):
    """Data ``(X, Y)``, parameters or a sample count have the wrong shape or value."""


class NonFiniteError(InvalidDataError):
    """A NaN or an infinity was passed where an exact rational number is required."""


class ParamsMismatchError(InvalidDataError):
    """A ``params`` list does not match the architecture's layer shapes."""


class UnknownStatementError(InvalidValueError, KeyError):
    """A statement id is not in the registry; the message lists the known ids."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidMatrixError(InvalidValueError):
    """A matrix passed to :func:`exacthess.rank` cannot be read exactly."""


class ProblemTooLargeError(InvalidValueError):
    """The requested computation would not fit this machine; the message gives the estimate."""


class NonDifferentiableError(InvalidDataError):
    """The loss is not twice differentiable at the given point (e.g. a ReLU kink).

    A value error (an :class:`InvalidDataError`): the parameters and data have the right types and
    shapes, but their values put a pre-activation exactly at a kink, where the Hessian is undefined.

    Attributes:
        sample: index of the sample whose pre-activation is exactly at a kink.
        layer: 1-based index of the layer.
        unit: flat index of the unit within that layer's output.
    """

    def __init__(self, message: str, *, sample: int | None = None, layer: int | None = None,
                 unit: int | None = None, cli: str | None = None):
        super().__init__(message, cli=cli)
        self.sample, self.layer, self.unit = sample, layer, unit


class UnsupportedModuleError(InvalidArchitectureError):
    """A PyTorch module cannot be expressed as an exacthess network.

    A value error, not a type error: the argument (an ``nn.Sequential``) has the right type;
    its contents describe an architecture outside the supported family.

    Attributes:
        index: the module's position in the ``nn.Sequential`` (dotted for nested ones, as in
            ``named_modules``), or None when the problem concerns the whole model.
        module: the module's class name.
    """

    def __init__(self, message: str, *, index: str | None = None, module: str | None = None,
                 cli: str | None = None):
        super().__init__(message, cli=cli)
        self.index, self.module = index, module


class MissingDependencyError(ExactHessError, ImportError):
    """An optional dependency (e.g. PyTorch for :func:`~exacthess.from_torch`) is not installed;
    the message says which extra to install."""


class InvalidKernelError(InvalidDataError):
    """A convolution kernel has the wrong rank, an empty axis or non-numeric entries."""


class KernelRangeError(InvalidKernelError):
    """The singular values of the kernel's operator lie outside the float64 range, so no finite
    float enclosure exists (the kernel is rescaled exactly by a power of two first; this is
    raised only when the scaled-back values overflow)."""


class InvalidInputShapeError(InvalidArchitectureError):
    """``input_shape`` does not match the kernel's spatial rank or has a non-positive size."""


class InvalidStrideError(InvalidArchitectureError):
    """A stride is not a positive integer, or does not divide the input size (circular)."""


class InvalidPaddingError(InvalidArchitectureError):
    """``padding`` is neither ``"circular"`` nor a non-negative integer (per axis)."""


class InvalidBoundError(InvalidValueError):
    """A norm bound (or an iteration count or tolerance) for clipping is not positive and finite."""


class InvalidClaimError(InvalidDataError):
    """A claimed spectrum or polynomial cannot be compared with the operator."""


class SweepIncompleteError(ExactHessError, RuntimeError):
    """Some jobs of a sweep were not run because the executor failed; finished results are kept.

    Attributes:
        records: the records of the jobs that finished (including those already in the file).
        lost: the jobs that were not recorded.
    """

    def __init__(self, message: str, records: list, lost: list):
        super().__init__(message)
        self.records, self.lost = records, lost


class InternalError(RuntimeError):
    """A consistency check inside exacthess failed: a bug, never a property of the input.

    Deliberately *not* an :class:`ExactHessError` (those are the user's to fix): the command line
    reports it as an internal error (exit code 70) and asks for a bug report."""


def describe(value: object, limit: int = 60) -> str:
    """Short ``repr`` of *value* for error messages, on one line (numpy arrays print on several)."""
    try:
        text = " ".join(repr(value).split())
    except Exception:  # a broken __repr__ must not hide the actual error
        text = f"<{type(value).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


for _name in __all__:  # users meet them as exacthess.errors.X (the public module re-exports them)
    if isinstance(globals()[_name], type):
        globals()[_name].__module__ = "exacthess.errors"
del _name
