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

from . import claims, errors, spectral
from .certify.rank import RankResult, rank
from .core.domains import GF, QQ, SR
from .core.exact import to_rational
from .verification.check import check
from .experiments.gn_gap import gauss_newton_gap
from .experiments.gn_scaling import curvature_scaling
from .verification.report import Report
from .experiments.search import search
from .sweeps.driver import sweep
from .verification.pipeline import verify
from .generic import GenericRank, generic_rank, prove_generic
from .hessian.matrices import HessianResult, hessian
from .oracle.compare import compare
from .oracle.operator import curvature
from .models.activations import Activation
from .models.architectures import CNN, FCN, Architecture, from_spec
from .models.losses import Loss
from .models.torch_import import from_torch
from .statements import Statement
from .statements.verdicts import Verdict

#: the version of exacthess: the one source (pyproject.toml reads it; so do `pip` and `exacthess --version`)
__version__ = "0.3.0"

__all__ = [
    # models: architectures, activations, losses, PyTorch import
    "FCN", "CNN", "Architecture", "Activation", "Loss", "from_spec", "from_torch",
    # exact numbers, domains and Hessians
    "to_rational", "QQ", "GF", "SR", "hessian", "HessianResult",
    # certified ranks and their certificates
    "rank", "RankResult", "check",
    # statements, verdicts and counterexample search
    "verify", "Report", "Statement", "Verdict", "search",
    # generic ranks over Q(theta, x, y), proven
    "generic_rank", "GenericRank", "prove_generic",
    # the exact curvature of a model, and another library's compared with it
    "curvature", "compare",
    # studies: the Gauss-Newton gap, curvature scaling, grids of verifications
    "gauss_newton_gap", "curvature_scaling", "sweep",
    # submodules: errors, convolution spectra, the source documents' claims
    "errors", "spectral", "claims",
]

#: names that left the top level in 0.3.0, with their homes; they still work, with a
#: DeprecationWarning, until 0.4.0
_MOVED = {
    **{name: "exacthess.errors" for name in errors.__all__},
    **{name: "exacthess.spectral" for name in (
        "conv_operator", "conv_matrix", "toeplitz_operator", "parameter_map", "parameter_map_matrix",
        "kernel_from_tensorflow", "conv_singular_values", "check_conv_sv_theorem", "clip_operator_norm",
        "SingularValueEnclosure", "ConvSVTheoremResult", "ClipResult")},
    **{name: "exacthess.statements" for name in ("REGISTRY", "Kind", "Relation", "get_statement")},
    "Bound": "exacthess.certify.bounds", "ABS": "exacthess.core.domains",
    "rational_array": "exacthess.core.exact", "ConvLayer": "exacthess.models",
    "activation": "exacthess.models", "loss": "exacthess.models",
    "Row": "exacthess.verification.report", "CheckResult": "exacthess.verification.check",
    "SearchResult": "exacthess.experiments.search", "GaussNewtonGap": "exacthess.experiments.gn_gap",
    "Engine": "exacthess.hessian.engine",
}
#: the release that removes the names of :data:`_MOVED` from the top level
REMOVED_IN = "0.4.0"


def __getattr__(name):
    """A name that moved (:data:`_MOVED`): its new home, with a DeprecationWarning saying where."""
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module 'exacthess' has no attribute {name!r}")
    import importlib
    _warnings.warn(f"exacthess.{name} moved to {home}.{name} in 0.3.0; the top-level name is removed in "
                   f"{REMOVED_IN}", DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(home), name)


def __dir__():
    return sorted(set(globals()) - set(_MOVED))
