r"""The exact curvature of a network at one point: what a curvature library computes, exactly.

For a loss :math:`\ell(\theta) = \sum_i l(F(x_i; \theta), y_i)` (summed over the samples, not
averaged: divide by ``n`` for a mean reduction):

* :attr:`Curvature.hessian` -- :math:`H = \nabla^2_\theta \ell` (``H_L``);
* :attr:`Curvature.ggn` -- the generalised Gauss--Newton :math:`G = \sum_i J_i^\top \nabla^2 l_i\, J_i`
  (``H_o``; for MSE, cross-entropy and BCE it equals the type-2 Fisher, the expectation of the
  Hessian of the loss under the model's predictive distribution);
* :meth:`Curvature.diagonal`, :meth:`Curvature.hvp` (exact products with exact vectors),
  :meth:`Curvature.trace`, :meth:`Curvature.eigenvalues` (certified enclosures,
  :mod:`exacthess.oracle.eigen`), :meth:`Curvature.kfac` (the exact Kronecker factors,
  :mod:`exacthess.oracle.kfac`).

Parameters are ordered as the model stores them: :func:`exacthess.from_torch` gives torch's
``named_parameters()`` order, each tensor row-major (:attr:`Curvature.names`), so the flat vector
is ``torch.cat([p.flatten() for p in model.parameters()])``. Every matrix is exact (``fmpq``);
:meth:`Curvature.to_numpy` rounds one to float64.

>>> import exacthess as eh
>>> C = eh.curvature(eh.FCN(2, (), 1), params=[[[1, 1]]], data=([[1, 0], [0, 2]], [[1], [0]]))
>>> C.hessian.tolist(), C.trace(), C.diagonal("ggn").tolist()
([[1, 0], [0, 4]], 5, [1, 4])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from flint import fmpq

from ..core.domains import QQ
from ..core.errors import InvalidValueError
from ..core.exact import rational_array
from ..core.validate import check_int, check_option
from ..hessian.matrices import HessianResult, hessian

__all__ = ["Curvature", "curvature", "OF"]

#: the matrices a :class:`Curvature` holds, by the names of its methods' ``of`` argument
OF = ("hessian", "ggn", "functional")
_NAME = {"hessian": "H_L", "ggn": "H_o", "functional": "H_f"}


@dataclass
class Curvature:
    """The exact curvature of one network at one point (see the module doc).

    Attributes:
        arch: the architecture (FCN, CNN or Graph).
        result: the :class:`~exacthess.hessian.matrices.HessianResult` over Q (its ``engine``, the
            exact problem: parameters, data, loss).
        names: ``(name, shape)`` of every parameter tensor, in order: torch's names for a module read
            as a graph, ``layer<l>.weight`` / ``.bias`` for an FCN or CNN (a torch chain read as one:
            the same order as ``named_parameters()``).
    """

    arch: object
    result: HessianResult = field(repr=False)

    @property
    def problem(self):
        """The exact point: parameters, data ``X``, ``Y``, the loss."""
        return self.result.engine.problem

    @cached_property
    def names(self) -> list:
        a = self.arch
        if getattr(a, "family", None) == "graph":
            return [(f"{n}.{k}", tuple(s)) for (n, k), s in zip(a.param_order, a.param_shapes())]
        out, shapes = [], iter(a.param_shapes())
        for l, layer in enumerate(a.layers, 1):
            out.append((f"layer{l}.weight", tuple(next(shapes))))
            if layer.bias:
                out.append((f"layer{l}.bias", tuple(next(shapes))))
        return out

    @property
    def n_params(self) -> int:
        return self.arch.n_params

    @property
    def hessian(self) -> np.ndarray:
        r""":math:`H = \nabla^2 \ell`, exact, ``p x p``."""
        return self.result.H_L

    @property
    def ggn(self) -> np.ndarray:
        r"""The generalised Gauss--Newton :math:`\sum_i J_i^\top \nabla^2 l_i J_i`, exact, ``p x p``."""
        return self.result.H_o

    @property
    def functional(self) -> np.ndarray:
        """:math:`H - G`: the part from the network's second derivatives, exact."""
        return self.result.H_f

    def matrix(self, of: str = "hessian") -> np.ndarray:
        """The exact matrix ``of`` (``"hessian"``, ``"ggn"`` or ``"functional"``)."""
        return getattr(self, check_option(of, "of", OF))

    def diagonal(self, of: str = "hessian") -> np.ndarray:
        """The exact diagonal of ``of`` (a vector of ``fmpq``)."""
        return np.ascontiguousarray(np.diagonal(self.matrix(of)))

    def trace(self, of: str = "hessian"):
        """The exact trace of ``of`` (an ``fmpq``)."""
        return sum(self.diagonal(of), fmpq(0))

    def hvp(self, v, of: str = "hessian") -> np.ndarray:
        """The exact product ``M v`` of ``of`` with a vector (or a ``p x k`` matrix) ``v``; floats in ``v``
        are read exactly."""
        arr = rational_array(v, "v")
        if arr.ndim not in (1, 2) or arr.shape[0] != self.n_params:
            raise InvalidValueError(f"v has shape {arr.shape}; expected ({self.n_params},) or ({self.n_params}, k): "
                                    "one entry per parameter")
        vec = arr.ndim == 1
        out = QQ.matmul(self.matrix(of), arr.reshape(self.n_params, -1))
        return out[:, 0] if vec else out

    def to_numpy(self, of: str = "hessian") -> np.ndarray:
        """``of`` rounded to float64 (each entry the nearest double of the exact value)."""
        M = self.matrix(of)
        return np.array([float(v) for v in M.flat], dtype=np.float64).reshape(M.shape)

    @cached_property
    def _ranks(self) -> dict:
        """The certified ranks of ``H_L``, ``H_o``, ``H_f`` by the pipeline ``exacthess.verify`` uses: the
        structural certificates of FCNs and CNNs, a core and the kernel over Q for graphs."""
        if getattr(self.arch, "family", None) == "graph":
            from ..verification.graph import graph_ranks
            return graph_ranks(self.problem)[1]
        from ..hessian.ranks import certified_ranks
        return certified_ranks(self.problem, block_columns=False)[1]

    def rank(self, of: str = "hessian"):
        """The certified rank of ``of`` (a :class:`~exacthess.certify.rank.RankResult`: ``.value``,
        ``.certified``, ``.how``; every certificate verified by the checker)."""
        return self._ranks[_NAME[check_option(of, "of", OF)]]

    def eigenvalues(self, of: str = "hessian", k: int | None = None):
        """Certified enclosures of the eigenvalues of ``of`` (:func:`exacthess.oracle.eigen.enclose`):
        the zero eigenvalues exactly (their number from the certified rank), every other one in a
        ball; ``k``: only the ``k`` largest and ``k`` smallest nonzero ones are reported."""
        from .eigen import enclose
        if k is not None:
            check_int(k, "k", 1)
        return enclose(self.matrix(of), rank=self.rank(of), k=k)

    def kfac(self, kind: str = "expand") -> list:
        """The exact KFAC factors per layer (:func:`exacthess.oracle.kfac.kfac_factors`)."""
        from .kfac import kfac_factors
        return kfac_factors(self, kind)

    def __repr__(self) -> str:
        return f"Curvature({self.arch!r}, {self.n_params} parameters, n = {self.problem.X.shape[0]}, " \
               f"loss {self.problem.loss.name!r})"


def curvature(arch, *, params=None, data=None, n_samples: int | None = None, seed: int = 0, loss="mse",
              point: str = "gaussian", round_to=None) -> Curvature:
    """The exact curvature of ``arch`` at one point (arguments as :func:`exacthess.hessian`;
    :func:`exacthess.from_torch` supplies ``arch, params`` for a PyTorch model).

    Returns:
        a :class:`Curvature`; its matrices are computed when first used.
    """
    res = hessian(arch, params=params, data=data, n_samples=n_samples, seed=seed, domain="QQ", loss=loss,
                  point=point, round_to=round_to)
    return Curvature(arch=arch, result=res)
