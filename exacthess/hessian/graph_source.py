r"""The matrices of a graph network by name, for the checker (the graph's counterpart of :mod:`.source`).

Names: ``"H_o"``, ``"H_f"``, ``"H_L"`` (``p x p``, symmetric) and ``"CJ"``, the output Jacobians
stacked over the samples, each premultiplied by the loss's kernel factor :math:`C_i`
(:math:`\ker C_i = \ker A_i`; :math:`C_i = I` under MSE), so that
:math:`H_o = \sum_i J_i^\top A_i J_i` has the rank of ``CJ`` (the ``gauss_newton`` theorem of
:mod:`exacthess.certify.theorems`, whose premises -- every :math:`A_i` and :math:`C_i` -- the
source states exactly: ``premise("loss")``). Every matrix is computed once over Q by
:class:`~exacthess.hessian.graph_route.GraphHessians` and reduced modulo the primes asked for.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..core.domains import QQ
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
        return np.asarray(reduce_mod(self.exact(name, rows, cols), p), dtype=np.int64)

    def symmetric(self, name: str) -> bool:
        return name in _SYMMETRIC

    def premise(self, key):
        if key == "loss":
            return self.problem.forward.loss_premise()
        if isinstance(key, tuple) and key == ("sum", "H_L"):
            return ("H_o", "H_f")
        raise KeyError(key)
