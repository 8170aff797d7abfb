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


def _select(M: np.ndarray, rows, cols) -> np.ndarray:
    """``M[rows][:, cols]`` (None: all)."""
    if rows is not None:
        M = M[list(rows)]
    return M if cols is None else M[:, list(cols)]


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
        return _select(self._matrix(name), rows, cols)

    def mod(self, name: str, p: int, rows=None, cols=None) -> np.ndarray:
        if name in self._cache or name not in _SYMMETRIC:
            return np.asarray(reduce_mod(self.exact(name, rows, cols), p), dtype=np.int64)
        if p not in self._modular:  # ZeroDivisionError when p divides a denominator of the point
            self._modular = {p: GraphHessians(self.problem, GF(p))}  # one prime at a time: p x p int64 each
        return np.asarray(_select(self._modular[p].full(name), rows, cols), dtype=np.int64)

    def magnitudes(self, name: str, rows=None, cols=None) -> np.ndarray:
        """Entrywise upper bounds on ``|name[rows, cols]|`` (float64, rounded up from the exact entries)."""
        M = self.exact(name, rows, cols)
        out = np.array([abs(float(v)) for v in M.flat], dtype=np.float64).reshape(M.shape)
        nonzero = np.array([v != 0 for v in M.flat], dtype=bool).reshape(M.shape)
        return out * (1 + 2.0 ** -40) + np.where(nonzero, 2.0 ** -1000, 0.0)  # no underflow to a bound of 0

    def _denominators(self, names) -> int:
        from flint import fmpq, fmpz
        den = fmpz(1)
        for name in names:
            for v in self._matrix(name).flat:
                den = den.lcm(fmpq(v).q)
        return int(den)

    def denominator(self) -> int:
        """The lcm of the denominators of every matrix formed so far (a prime dividing it is not used)."""
        return self._denominators(list(self._cache))

    def denominator_log2(self, name: str) -> float:
        """``log2`` of the lcm of the denominators of ``name``'s entries (exact: the matrix is in memory)."""
        return float(self._denominators([name]).bit_length())

    def symmetric(self, name: str) -> bool:
        return name in _SYMMETRIC

    def premise(self, key):
        if key == "loss":
            return self.problem.forward.loss_premise()
        if isinstance(key, tuple) and key == ("sum", "H_L"):
            return ("H_o", "H_f")
        raise KeyError(key)
