"""exacthess: exact, certified ranks of neural-network Hessians and exact checks of convolution spectra.

The data flow (``docs/architecture.md``): an architecture (:mod:`exacthess.models`) at an exact
point (:mod:`exacthess.hessian.problem`) gives Hessian blocks over a number domain
(:mod:`exacthess.hessian`), whose ranks are certified (:mod:`exacthess.certify`) and judged
against the registered statements (:mod:`exacthess.statements`) in a report
(:mod:`exacthess.experiments`).

>>> import exacthess
>>> report = exacthess.verify(exacthess.FCN(4, (2,), 3), n_samples=6)
>>> report.ok, report.decided, report.ranks["H_o"]
(True, True, 10)
"""

import warnings as _warnings

from .cli import interrupt as _interrupt

_interrupt.guard_startup()  # the `exacthess` command: Ctrl-C while it imports ends it in one line (else nothing)

from .certify.bounds import Bound
from .certify.rank import RankResult, rank
from .core.domains import ABS, GF, QQ, SR
from .core.errors import (ExactHessError, InternalError, InvalidArchitectureError, InvalidDataError, InvalidMatrixError,
                          InvalidOptionError, InvalidTypeError, InvalidValueError, MissingDependencyError,
                          NonDifferentiableError, NonFiniteError, ParamsMismatchError, ProblemTooLargeError,
                          UnknownStatementError, UnsupportedModuleError)
from .core.exact import rational_array, to_rational
from .experiments import claims
from .experiments.gn_gap import GaussNewtonGap, gauss_newton_gap
from .experiments.gn_scaling import curvature_scaling
from .experiments.report import Report, Row
from .experiments.search import SearchResult, search
from .experiments.sweep import SweepIncompleteError, sweep
from .experiments.check import CheckResult, check
from .experiments.verify import verify
from .generic import GenericRank, generic_rank, prove_generic
from .hessian.matrices import HessianResult, hessian
from .models.activations import Activation, activation
from .models.architectures import CNN, FCN, Architecture, from_spec
from .models.geometry import ConvLayer
from .models.losses import Loss, loss
from .models.toeplitz import conv_matrix, parameter_map, parameter_map_matrix, toeplitz_operator
from .models.torch_import import from_torch
from .spectral import (ClipResult, ConvSVTheoremResult, KernelRangeError, SingularValueEnclosure,
                       check_conv_sv_theorem, clip_operator_norm, conv_operator, conv_singular_values,
                       kernel_from_tensorflow)
from .spectral.errors import (InvalidBoundError, InvalidClaimError, InvalidInputShapeError, InvalidKernelError,
                              InvalidPaddingError, InvalidStrideError)
from .statements import REGISTRY, Kind, Relation, Statement, get_statement
from .statements.verdicts import Verdict

#: the version of exacthess: the one source (pyproject.toml reads it; so do `pip` and `exacthess --version`)
__version__ = "0.3.0"

__all__ = [
    # models: architectures, activations, losses, PyTorch import
    "FCN", "CNN", "Architecture", "ConvLayer", "from_spec", "Activation", "activation", "Loss", "loss",
    "from_torch",
    # exact numbers and domains
    "to_rational", "rational_array", "QQ", "GF", "SR", "ABS",
    # Hessians
    "hessian", "HessianResult",
    # certified ranks
    "rank", "RankResult", "Bound",
    # convolution operators (one geometry for both halves)
    "conv_operator", "conv_matrix", "toeplitz_operator", "parameter_map", "parameter_map_matrix",
    # the source documents' claims, settled exactly; the Gauss-Newton error
    "claims", "gauss_newton_gap", "GaussNewtonGap", "curvature_scaling",
    # statements, verification and counterexample search
    "verify", "check", "CheckResult", "Report", "Row", "Verdict", "REGISTRY", "Statement", "Kind", "Relation", "get_statement",
    "search", "SearchResult",
    # generic ranks over Q(theta, x, y), proven
    "generic_rank", "GenericRank", "prove_generic",
    # grids of verifications (local processes or a Dask cluster), resumable
    "sweep",
    # convolution spectra (Sedghi, Gupta & Long 2019)
    "kernel_from_tensorflow", "conv_singular_values", "check_conv_sv_theorem", "clip_operator_norm",
    "SingularValueEnclosure", "ConvSVTheoremResult", "ClipResult",
    # errors: wrong types are TypeErrors, wrong values ValueErrors, all ExactHessErrors
    "ExactHessError", "InvalidTypeError", "InvalidValueError", "InvalidOptionError", "InvalidArchitectureError",
    "InvalidDataError", "NonFiniteError", "ParamsMismatchError", "UnknownStatementError", "InvalidMatrixError",
    "ProblemTooLargeError", "NonDifferentiableError", "UnsupportedModuleError", "MissingDependencyError",
    "KernelRangeError", "InvalidKernelError", "InvalidInputShapeError", "InvalidStrideError", "InvalidPaddingError",
    "InvalidBoundError", "InvalidClaimError", "SweepIncompleteError", "InternalError",
]


def __getattr__(name):
    if name == "Engine":  # an internal since 0.2: HessianResult.engine still gives one
        _warnings.warn("exacthess.Engine is internal and no longer exported; use exacthess.hessian(...) "
                       "(its .engine) or import exacthess.hessian.engine.Engine", DeprecationWarning, stacklevel=2)
        from .hessian.engine import Engine
        return Engine
    raise AttributeError(f"module 'exacthess' has no attribute {name!r}")
