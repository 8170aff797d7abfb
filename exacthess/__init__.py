"""exacthess: exact, certified ranks of neural-network Hessians and exact checks of convolution spectra.

>>> import exacthess
>>> report = exacthess.verify(exacthess.FCN(4, (2,), 3), n_samples=6)
>>> report.ok, report.ranks["H_o"]
(True, 10)
"""

from .architecture import CNN, FCN, Architecture, ConvLayer
from .errors import (ExactHessError, InvalidArchitectureError, InvalidDataError, InvalidMatrixError,
                     NonFiniteError, ParamsMismatchError, UnknownStatementError)
from .exact import rational_array, to_rational
from .hessian import Engine, HessianResult, hessian
from .toeplitz import conv_matrix, parameter_map, parameter_map_matrix, toeplitz_operator
from .rank import RankResult, rank
from .report import Report, Row
from .rings import ABS, GF, QQ, SR
from .theorems import REGISTRY, Statement, get_statement
from .verify import verify

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
    # statements and verification
    "verify", "Report", "Row", "REGISTRY", "Statement", "get_statement",
    # errors
    "ExactHessError", "InvalidArchitectureError", "InvalidDataError", "InvalidMatrixError",
    "NonFiniteError", "ParamsMismatchError", "UnknownStatementError",
]
