r"""The matrices of a graph network by name, for the checker (the graph's counterpart of :mod:`.source`).

Names: ``"H_o"``, ``"H_f"``, ``"H_L"`` (``p x p``, symmetric) and ``"CJ"``, the output Jacobians
stacked over the samples, each premultiplied by the loss's kernel factor :math:`C_i`
(:math:`\ker C_i = \ker A_i`; :math:`C_i = I` under MSE), so that
:math:`H_o = \sum_i J_i^\top A_i J_i` has the rank of ``CJ`` (the ``gauss_newton`` theorem of
:mod:`exacthess.certify.theorems`, whose premises -- every :math:`A_i` and :math:`C_i` -- the
source states exactly: ``premise("loss")``). Every matrix is computed by
:class:`~exacthess.hessian.graph_route.GraphHessians`: over Q when asked for exactly (once), and
modulo a prime by the same route over GF(p) from the exact point reduced modulo ``p`` -- no rationals
-- unless the exact matrix is already there (then it is reduced).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..core.domains import GF, QQ
from ..core.modular import reduce_mod
from .graph_route import GraphHessians

__all__ = ["GraphSource"]

_SYMMETRIC = ("H_o", "H_f", "H_L")


class GraphSource:
    """The named matrices of a :class:`~exacthess.hessian.graph_forward.GraphProblem` (see the module doc)."""

    def __init__(self, problem):
        self.problem = problem
        self.engine = GraphHessians(problem, QQ)
        self._cache: dict = {}
        self._modular: dict = {}  # p -> GraphHessians over GF(p)

    @cached_property
    def _factors(self):
        return self.problem.forward.kernel_factors

    def _matrix(self, name: str) -> np.ndarray:
        if name not in self._cache:
            if name in _SYMMETRIC:
                self._cache[name] = self.engine.full(name)
            elif name == "CJ":
                C, J = self._factors, self.engine.jacobian_stack
                if C is None:
                    raise KeyError("CJ: the loss gives no kernel factor")
                if isinstance(C, str):
                    self._cache[name] = J
                else:
                    K = self.problem.arch.output_dim
                    self._cache[name] = np.concatenate([QQ.matmul(np.asarray(c, dtype=object), J[i * K:(i + 1) * K])
                                                        for i, c in enumerate(C)], axis=0)
            else:
                raise KeyError(name)
        return self._cache[name]

    def shape(self, name: str) -> tuple:
        return self._matrix(name).shape

    def exact(self, name: str, rows=None, cols=None) -> np.ndarray:
        M = self._matrix(name)
        if rows is not None:
            M = M[list(rows)]
        if cols is not None:
            M = M[:, list(cols)]
        return M

    def mod(self, name: str, p: int, rows=None, cols=None) -> np.ndarray:
        if name in self._cache or name not in _SYMMETRIC:
            return np.asarray(reduce_mod(self.exact(name, rows, cols), p), dtype=np.int64)
        if p not in self._modular:  # ZeroDivisionError when p divides a denominator of the point
            self._modular = {p: GraphHessians(self.problem, GF(p))}  # one prime at a time: p x p int64 each
        M = self._modular[p].full(name)
        if rows is not None:
            M = M[list(rows)]
        if cols is not None:
            M = M[:, list(cols)]
        return np.asarray(M, dtype=np.int64)

    def symmetric(self, name: str) -> bool:
        return name in _SYMMETRIC

    def premise(self, key):
        if key == "loss":
            return self.problem.forward.loss_premise()
        if isinstance(key, tuple) and key == ("sum", "H_L"):
            return ("H_o", "H_f")
        raise KeyError(key)
