"""Every error exacthess raises on purpose: one hierarchy under :class:`ExactHessError`.

Wrong *types* raise :class:`InvalidTypeError` (a ``TypeError``), wrong *values* a subclass of
:class:`InvalidValueError` (a ``ValueError``): architectures, data, options, sizes, kernels,
non-differentiable points. Each message names the argument, the value received and what was
expected. :class:`InternalError` is the one that is not the user's to fix: a failed consistency
check, a bug.

>>> import exacthess as eh
>>> try:
...     eh.FCN(0, (2,), 1)
... except eh.errors.InvalidArchitectureError as err:
...     print(err)
input_dim = 0 is too small; expected an int >= 1
>>> issubclass(eh.errors.NonDifferentiableError, ValueError)
True
"""

from .core.errors import (ExactHessError, InternalError, InvalidArchitectureError, InvalidBoundError,
                          InvalidClaimError, InvalidDataError, InvalidInputShapeError, InvalidKernelError,
                          InvalidMatrixError, InvalidOptionError, InvalidPaddingError, InvalidStrideError,
                          InvalidTypeError, InvalidValueError, KernelRangeError, MissingDependencyError,
                          NonDifferentiableError, NonFiniteError, ParamsMismatchError, ProblemTooLargeError,
                          SweepIncompleteError, UnknownStatementError, UnsupportedModuleError)

__all__ = [
    "ExactHessError",
    # wrong types
    "InvalidTypeError",
    # wrong values
    "InvalidValueError", "InvalidOptionError", "InvalidArchitectureError", "InvalidInputShapeError",
    "InvalidStrideError", "InvalidPaddingError", "InvalidDataError", "NonFiniteError", "ParamsMismatchError",
    "NonDifferentiableError", "InvalidKernelError", "KernelRangeError", "InvalidClaimError", "InvalidBoundError",
    "InvalidMatrixError", "UnknownStatementError", "UnsupportedModuleError", "ProblemTooLargeError",
    # environment and execution
    "MissingDependencyError", "SweepIncompleteError",
    # bugs
    "InternalError",
]
