"""The Hessian matrices of one network at one point: ``H_L``, ``H_o``, ``H_f``, blocks and block columns.

>>> from exacthess import FCN
>>> H = hessian(FCN(2, (), 1), data=([[1, 0], [0, 2]], [[1], [0]]), params=[[[1, 1]]])
>>> H.H_L.tolist()
[[1, 0], [0, 4]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import warnings

from ..core.domains import SR, Ring
from ..core.domains import resolve_domain
from ..core.errors import InvalidArchitectureError, InvalidOptionError
from ..core.validate import check_int, check_option, check_samples
from ..models.architectures import Architecture, check_architecture
from ..models.graph import Graph
from .cost import graph_cost, hessian_cost, matrices_cost, require_fits, sample_count
from .engine import Engine
from .problem import make_problem
from .rounding import round_inputs

__all__ = ["HessianResult", "hessian", "MATRICES"]

#: the matrices of a :class:`HessianResult`
MATRICES = ("H_L", "H_o", "H_f")


@dataclass
class HessianResult:
    """Hessians of one network at one point, over one number domain.

    Attributes:
        arch, field: what and where (``field`` is the domain; ``domain`` names it too).
        H_L, H_o, H_f: full ``p x p`` matrices (numpy arrays over the domain).
        engine: the :class:`Engine`, for blocks (``engine.block("H_f", l, m)``),
            block columns, the Jacobian stack and the data moments.
    """

    arch: Architecture
    field: Ring
    engine: Engine = field(repr=False)

    @property
    def domain(self) -> Ring:
        """The number domain of the matrices (QQ, GF(p), SR, floats)."""
        return self.field

    @cached_property
    def H_o(self):
        """The outer-product (Gauss-Newton) part ``p x p``."""
        require_fits(matrices_cost(self.arch, self.field, 1))
        return self.engine.full("H_o")

    @cached_property
    def H_f(self):
        """The functional part ``p x p``."""
        require_fits(matrices_cost(self.arch, self.field, 1))
        return self.engine.full("H_f")

    @cached_property
    def H_L(self):
        """The loss Hessian ``H_o + H_f`` (``p x p``; holds all three)."""
        require_fits(matrices_cost(self.arch, self.field, 3))
        return self.field.add(self.H_o, self.H_f)

    def _layer(self, l, name: str) -> int:
        n = len(self.arch.layer_param_counts)
        return check_int(l, name, 1, n, error=InvalidArchitectureError)

    def block(self, name: str, l: int, m: int):
        """Block ``(l, m)`` of ``name`` (``"H_L"``, ``"H_o"`` or ``"H_f"``): the rows of layer ``l``'s
        parameters and the columns of layer ``m``'s (layers ``1..L+1``)."""
        check_option(name, "name", MATRICES)
        l, m = self._layer(l, "l"), self._layer(m, "m")
        counts = self.arch.layer_param_counts
        require_fits(matrices_cost(self.arch, self.field, 1, counts[l - 1], counts[m - 1]))
        return self.engine.block(name, l, m)

    def block_column(self, name: str, l: int):
        """Block column ``l`` of ``name``: all rows, the columns of layer ``l`` (``1..L+1``)."""
        check_option(name, "name", MATRICES)
        l = self._layer(l, "l")
        require_fits(matrices_cost(self.arch, self.field, 1, cols=self.arch.layer_param_counts[l - 1]))
        return self.engine.block_column(name, l)

    def to_sympy(self, name: str = "H_L"):
        """The matrix as a ``sympy.Matrix`` (QQ and SR only)."""
        import sympy
        check_option(name, "name", MATRICES)
        if self.field.name not in ("QQ", "SR"):
            raise InvalidOptionError(f"to_sympy needs the domain QQ or SR; this result is over {self.field.name}")
        M = getattr(self, name)
        return sympy.Matrix(M.shape[0], M.shape[1],
                            [v if isinstance(v, sympy.Basic) else sympy.Rational(int(v.p), int(v.q)) for v in M.flat])


def hessian(arch: Architecture, *, params=None, data=None, n_samples: int | None = None,
            seed: int = 0, domain="QQ", loss="mse", point: str = "gaussian", round_to=None,
            field=None) -> HessianResult:
    """Exact Hessians ``H_L``, ``H_o``, ``H_f`` of the loss of a network at one point.

    Args:
        arch: :class:`~exacthess.FCN` or :class:`~exacthess.CNN`.
        params: list of arrays of shapes ``arch.param_shapes()`` (floats converted exactly,
            or sympy symbols with ``domain="SR"``); seeded if None.
        data: ``(X, Y)`` arrays of shapes ``(n, d)`` and ``(n, K)``; seeded if None.
        n_samples: number of seeded samples (default ``2 d``).
        seed: seed for generated parameters and data.
        domain: ``"QQ"`` (exact rationals, default), ``"GF(p)"`` (or a prime ``p``), ``"SR"``
            (sympy symbols) or ``"float64"`` -- the same choice as everywhere in exacthess.
        loss: ``"mse"`` (default), ``"weighted_mse(w1, ..., wK)"``, ``"cross_entropy"``, ``"bce"``
            or a :class:`~exacthess.models.losses.Loss` (see :mod:`exacthess.models.losses`).
        point: seeded point: ``"gaussian"`` (default: weights about ``N(0, 1/fan_in)``, biases
            about ``N(0, 0.01/fan_in)``, data and targets about ``N(0, 1)``, on a dyadic grid of
            about 8 significant bits, exactly representable in float32) or ``"integers"``
            (uniform in ``[-999, 999]``); see :mod:`exacthess.hessian.problem`.
        round_to: the grid the intended values of float ``data`` and ``params`` lie on (``"1/1000"``,
            ``2**-20``): each float is read as the exact nearest multiple
            (:func:`~exacthess.hessian.rounding.round_inputs`); None (default) reads floats exactly.
        field: deprecated name of ``domain``.

    Softmax (``cross_entropy``) and sigmoid (``bce``) values are transcendental: the matrices are
    computed at exact rational stand-ins (:mod:`exacthess.models.losses` says which).

    Raises:
        NonDifferentiableError: a ReLU-type pre-activation is exactly 0 at this point (raised
            here, before any matrix is built; the error names the sample, the layer and the unit).
        ProblemTooLargeError: the estimated memory does not fit this machine.
    """
    if field is not None:
        warnings.warn("hessian(field=...) is deprecated since 0.2.0 and removed in 0.4.0; use domain=...", DeprecationWarning, stacklevel=2)
        domain = field
    ring = resolve_domain(domain)
    if isinstance(arch, Graph):
        return _graph_hessian(arch, params=params, data=data, n_samples=n_samples, seed=seed, ring=ring, loss=loss,
                              point=point, round_to=round_to)
    check_architecture(arch)
    require_fits(hessian_cost(arch, sample_count(arch, check_samples(n_samples), data), ring, loss=loss))
    data, params = round_inputs(data, params, round_to)
    problem = make_problem(arch, n_samples=n_samples, seed=seed, data=data, params=params, loss=loss,
                           point=point, symbolic=ring is SR)
    if arch.activation.piecewise:
        problem.forward  # noqa: B018  (the exact forward pass raises NonDifferentiableError at a kink, now)
    return HessianResult(arch, ring, Engine(problem, ring))


def _graph_hessian(arch: Graph, *, params, data, n_samples, seed, ring, loss, point, round_to) -> HessianResult:
    """:func:`hessian` of a :class:`~exacthess.models.graph.Graph` (:mod:`exacthess.hessian.graph_route`)."""
    from .graph_forward import make_graph_problem
    from .graph_route import GraphHessians
    if ring is SR:
        raise InvalidOptionError("domain = 'SR' is not available for graph networks; expected 'QQ', a prime, "
                                 "'float64' or 'float32' (symbolic Hessians: FCN or CNN)")
    require_fits(graph_cost(arch, sample_count(arch, check_samples(n_samples), data), ring))
    data, params = round_inputs(data, params, round_to)
    problem = make_graph_problem(arch, n_samples=n_samples, seed=seed, data=data, params=params, loss=loss,
                                 point=point)
    problem.forward  # noqa: B018  (kinks and ties are refused now, before any matrix is built)
    return HessianResult(arch, ring, GraphHessians(problem, ring))
