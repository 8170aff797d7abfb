r"""The interface of a Hessian route: the blocks of :math:`H_o`, :math:`H_f` and :math:`H_L`.

For a loss :math:`\ell(\theta) = \sum_i l_i(F(x_i;\theta))` with output gradients
:math:`g_i = \nabla l_i` and loss Hessians :math:`A_i = \nabla^2 l_i`,

.. math:: H_L = \nabla^2_\theta \ell = H_o + H_f, \qquad
          H_o = \sum_i J_i^\top A_i J_i, \qquad
          H_f = \sum_i \nabla^2_\theta \big(g_i^\top F(x_i;\theta)\big)\big|_{g_i\ \mathrm{fixed}},

with :math:`J_i = \partial F(x_i)/\partial\theta`. Two implementations compute the blocks
:math:`(l, m)` (parameters of layers ``l`` and ``m``, 1-based):

* :class:`~exacthess.hessian.samplefree.SampleFree` -- linear networks under a quadratic loss:
  from the data moments, at a cost independent of the number of samples;
* :class:`~exacthess.hessian.persample.PerSample` -- any activation and loss: sample by sample.

Both read the layer operators from one :class:`~exacthess.hessian.chain.OperatorChain` and
nothing of each other; :class:`~exacthess.hessian.engine.Engine` chooses one per problem.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from functools import cached_property

import numpy as np

from ..core.validate import check_option
from .chain import OperatorChain

__all__ = ["Route"]


class Route(ABC):
    """The Hessian blocks of one problem over the domain of ``chain``.

    Subclasses implement :attr:`omega`, :attr:`jacobians`, :meth:`block_o` and :meth:`block_f`;
    the assembled blocks (:meth:`block`, :meth:`full`, :meth:`block_column`) follow from them.
    """

    chain: OperatorChain

    @property
    @abstractmethod
    def omega(self) -> np.ndarray:
        r"""The residual moment :math:`\tilde\Omega = \sum_i g_i \tilde x_i^\top` (``K x dim(0)``)."""

    @property
    @abstractmethod
    def jacobians(self) -> list:
        """Per layer l, the stacked Jacobian rows of the route (``rows x p_l``)."""

    @abstractmethod
    def block_o(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        """Block ``(l, m)`` of ``H_o`` (optionally only the given rows of layer l and columns of layer m)."""

    @abstractmethod
    def block_f(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        """Block ``(l, m)`` of ``H_f`` (optionally only the given rows of layer l and columns of layer m)."""

    @cached_property
    def forward_omega(self) -> list:
        r"""``forward_omega[l-1]`` = :math:`T_{<l}\tilde\Omega^\top`."""
        return self.chain.forward_all(np.ascontiguousarray(self.omega.T))

    @cached_property
    def jacobian_stack(self) -> np.ndarray:
        """The per-layer :attr:`jacobians` side by side (``rows x p``). A route that keeps its
        per-layer Jacobians in a dict ``_jacobian`` keeps views of the stack from then on: one copy."""
        parts = self.jacobians
        stack = np.concatenate(parts, axis=1)
        kept = getattr(self, "_jacobian", None)
        if isinstance(kept, dict):
            off = 0
            for i, J in enumerate(parts):
                parts[i] = stack[:, off:off + J.shape[1]]
                off += J.shape[1]
            for l in kept:
                kept[l] = parts[l - 1]
        return stack

    def forget_jacobians(self) -> None:
        """Drop the Jacobians formed so far (they are formed again if asked for): the largest
        arrays a route keeps, no longer needed once ``H_o`` is certified."""
        for name in ("jacobian_stack", "jacobians"):
            self.__dict__.pop(name, None)
        kept = getattr(self, "_jacobian", None)
        if isinstance(kept, dict):
            kept.clear()

    def block(self, name: str, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        """Block ``(l, m)`` of ``name`` (``"H_o"``, ``"H_f"`` or ``"H_L"``); ``rows``/``cols`` select
        parameters of layers l and m."""
        if name == "H_o":
            return self.block_o(l, m, rows, cols)
        check_option(name, "name", ("H_L", "H_o", "H_f"))
        Hf = self.block_f(l, m, rows, cols)
        if name == "H_f":
            return Hf
        return self.chain.ring.add(self.block_o(l, m, rows, cols), Hf)

    def full(self, name: str) -> np.ndarray:
        """The whole matrix ``name`` (``p x p``), in the documented parameter order."""
        layers = self.chain.layers
        offsets = np.cumsum([0] + [layer.n_params for layer in layers])
        out = self.chain.ring.zeros((offsets[-1], offsets[-1]))
        for l, m in itertools.product(range(1, len(layers) + 1), repeat=2):
            out[offsets[l - 1]:offsets[l], offsets[m - 1]:offsets[m]] = self.block(name, l, m)
        return out

    def block_column(self, name: str, m: int) -> np.ndarray:
        """Block column ``H^{.m}``: all rows, the columns of layer m."""
        return np.concatenate([self.block(name, l, m) for l in range(1, self.chain.L1 + 1)], axis=0)
