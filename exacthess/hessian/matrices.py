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

from ..core.domains import Ring
from ..core.domains import resolve_domain
from ..models.architectures import Architecture
from .engine import Engine
from .problem import make_problem

__all__ = ["HessianResult", "hessian"]


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
        return self.engine.full("H_o")

    @cached_property
    def H_f(self):
        return self.engine.full("H_f")

    @cached_property
    def H_L(self):
        return self.field.add(self.H_o, self.H_f)

    def block(self, name: str, l: int, m: int):
        return self.engine.block(name, l, m)

    def block_column(self, name: str, l: int):
        return self.engine.block_column(name, l)

    def to_sympy(self, name: str = "H_L"):
        """The matrix as a ``sympy.Matrix`` (QQ and SR only)."""
        import sympy
        M = getattr(self, name)
        return sympy.Matrix(M.shape[0], M.shape[1],
                            [v if isinstance(v, sympy.Basic) else sympy.Rational(int(v.p), int(v.q)) for v in M.flat])


def hessian(arch: Architecture, *, params=None, data=None, n_samples: int | None = None,
            seed: int = 0, domain="QQ", loss="mse", point: str = "gaussian", field=None) -> HessianResult:
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
        field: deprecated name of ``domain``.
    """
    if field is not None:
        warnings.warn("hessian(field=...) is deprecated; use domain=...", DeprecationWarning, stacklevel=2)
        domain = field
    ring = resolve_domain(domain)
    problem = make_problem(arch, n_samples=n_samples, seed=seed, data=data, params=params, loss=loss,
                           point=point)
    return HessianResult(arch, ring, Engine(problem, ring))
