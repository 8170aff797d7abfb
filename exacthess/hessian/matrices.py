"""The Hessian matrices of one network at one point: ``H_L``, ``H_o``, ``H_f``, blocks and block columns.

>>> from exacthess import FCN
>>> H = hessian(FCN(2, (), 1), data=([[1, 0], [0, 2]], [[1], [0]]), params=[[[1, 1]]])
>>> H.H_L.tolist()
[[1, 0], [0, 4]]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from ..core.domains import Ring, get_ring
from ..models.architectures import Architecture
from .engine import Engine
from .problem import make_problem

__all__ = ["HessianResult", "hessian"]


@dataclass
class HessianResult:
    """Hessians of one network at one point, over one field.

    Attributes:
        arch, field: what and where.
        H_L, H_o, H_f: full ``p x p`` matrices (numpy arrays over the field).
        engine: the :class:`Engine`, for blocks (``engine.block("H_f", l, m)``),
            block columns, the Jacobian stack and the data moments.
    """

    arch: Architecture
    field: Ring
    engine: Engine = field(repr=False)

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
            seed: int = 0, field="QQ", loss="mse") -> HessianResult:
    """Exact Hessians ``H_L``, ``H_o``, ``H_f`` of the loss of a network at one point.

    Args:
        arch: :class:`~exacthess.FCN` or :class:`~exacthess.CNN`.
        params: list of arrays of shapes ``arch.param_shapes()`` (floats converted exactly,
            or sympy symbols with ``field="SR"``); seeded integers if None.
        data: ``(X, Y)`` arrays of shapes ``(n, d)`` and ``(n, K)``; seeded if None.
        n_samples: number of seeded samples (default ``2 d``).
        seed: seed for generated parameters and data.
        field: ``"QQ"`` (exact rationals), ``"GF(p)"`` or a prime ``p``, or ``"SR"``.
        loss: ``"mse"`` (default), ``"weighted_mse(w1, ..., wK)"``, ``"cross_entropy"``, ``"bce"``
            or a :class:`~exacthess.models.losses.Loss` (see :mod:`exacthess.models.losses`).
    """
    ring = get_ring(field)
    problem = make_problem(arch, n_samples=n_samples, seed=seed, data=data, params=params, loss=loss)
    return HessianResult(arch, ring, Engine(problem, ring))
