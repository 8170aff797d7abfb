"""exacthess: exact, certified ranks of neural-network Hessians and exact checks of convolution spectra.

>>> import exacthess
>>> report = exacthess.verify(exacthess.FCN(4, (2,), 3), n_samples=6)
>>> report.ok, report.ranks["H_o"]
(True, 10)
"""

from .models.architectures import CNN, FCN, Architecture, ConvLayer
from .core.errors import (ExactHessError, InvalidArchitectureError, InvalidDataError, InvalidMatrixError,
                     NonFiniteError, ParamsMismatchError, UnknownStatementError)
from .core.exact import rational_array, to_rational
from .hessian.engine import Engine, HessianResult, hessian
from .models.toeplitz import conv_matrix, parameter_map, parameter_map_matrix, toeplitz_operator
from .certify.rank import RankResult, rank
from .experiments.report import Report, Row
from .core.domains import ABS, GF, QQ, SR
from .spectral import (ClipResult, ConvSVTheoremResult, SingularValueEnclosure, check_conv_sv_theorem,
                       clip_operator_norm, conv_operator, conv_singular_values, kernel_from_tensorflow)
from .experiments.search import SearchResult, search
from .statements import REGISTRY, Statement, get_statement
from .experiments.verify import verify
from .experiments.sweep import sweep

__version__ = "0.1.0"

__all__ = [
    # architectures
    "FCN", "CNN", "Architecture", "ConvLayer",
    # exact arithmetic
    "to_rational", "rational_array", "QQ", "GF", "SR", "ABS",
    # Hessians and ranks
    "hessian", "HessianResult", "Engine", "rank", "RankResult",
    # Toeplitz expansions
    "toeplitz_operator", "conv_matrix", "parameter_map", "parameter_map_matrix",
    # statements, verification and counterexample search
    "verify", "Report", "Row", "REGISTRY", "Statement", "get_statement", "search", "SearchResult",
    # grids of verifications (local processes or a Dask cluster), resumable
    "sweep",
    # convolution spectra (Sedghi, Gupta & Long 2019)
    "conv_operator", "kernel_from_tensorflow", "conv_singular_values", "check_conv_sv_theorem",
    "clip_operator_norm", "SingularValueEnclosure", "ConvSVTheoremResult", "ClipResult",
    # errors
    "ExactHessError", "InvalidArchitectureError", "InvalidDataError", "InvalidMatrixError",
    "NonFiniteError", "ParamsMismatchError", "UnknownStatementError",
]
