r"""Hessian blocks of a linear network under the MSE loss, from the data moments alone.

For :math:`\ell(\theta) = \tfrac12\sum_i \|F(x_i) - y_i\|^2` with
:math:`F(x) = T_{L+1}\cdots T_1 x` (the operators of :mod:`exacthess.hessian.chain`; biases
through the augmented operators and :math:`\tilde x = [x; 1]`):

* :math:`H_o = \sum_i J(\tilde x_i)^\top J(\tilde x_i)`, :math:`J(x)_{c,\theta} = \partial F_c(x)/\partial\theta`.
  :math:`J` is linear in :math:`x`, so with :math:`\tilde\Sigma = \sum_i \tilde x_i \tilde x_i^\top = R\,G R^\top`
  (:func:`~exacthess.hessian.problem.data_factorisation`),
  :math:`H_o = \mathcal J^\top (G\otimes I_K)\mathcal J`, where :math:`\mathcal J` stacks
  :math:`J(r_j)` over the columns :math:`r_j` of :math:`R`. When :math:`G` is positive definite,
  :math:`\mathrm{rank}\,H_o = \mathrm{rank}\,\mathcal J` over :math:`\mathbb Q`.
* :math:`H_f = \nabla^2_\theta\, \mathrm{tr}(\tilde\Omega^\top F)` with the residual moment
  :math:`\tilde\Omega = \sum_i (F(\tilde x_i) - y_i) \tilde x_i^\top = \hat F\tilde\Sigma - \hat Y`
  held fixed (:math:`\hat Y = \sum_i y_i \tilde x_i^\top`). Its diagonal blocks vanish; for
  layers :math:`l < m` and operator positions :math:`(r_1, c_1)` of layer l, :math:`(r_2, c_2)` of
  layer m, :math:`\partial^2/\partial T_l[r_1,c_1]\partial T_m[r_2,c_2] = P[c_1, r_2]\,M[c_2, r_1]`
  with :math:`P = T_{<l}\tilde\Omega^\top T_{>m}` and :math:`M = T_{m-1}\cdots T_{l+1}`. Each
  parameter's positions come from the layer's tap table, so the block is one matrix product.
* :math:`H_L = H_o + H_f`.

The data enter only through :math:`\tilde\Sigma` and :math:`\hat Y` (:class:`Moments`); the cost
after forming them does not depend on the number of samples.
:class:`~exacthess.hessian.persample.PerSample` computes the same blocks sample by sample.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .chain import OperatorChain
from .problem import Problem
from .route import Route
from .taps import gather_sources

__all__ = ["Moments", "SampleFree"]


class Moments:
    r"""The data moments of a problem over the domain of ``chain``, and their images under it.

    Attributes:
        sigma: :math:`\tilde\Sigma = \sum_i \tilde x_i\tilde x_i^\top` (``dim(0) x dim(0)``).
        yhat: :math:`\hat Y = \sum_i y_i \tilde x_i^\top` (``K x dim(0)``).
        R, G: :math:`\tilde\Sigma = R G R^\top`, ``G`` positive definite.
        gram_is_identity: ``G`` is the identity (``R`` holds the samples themselves).
    """

    def __init__(self, problem: Problem, chain: OperatorChain):
        self.chain = chain
        self._problem = problem
        self.gram_is_identity = problem.gram_is_identity

    @cached_property
    def sigma(self) -> np.ndarray:
        return self.chain.ring.convert(self._problem.sigma)

    @cached_property
    def yhat(self) -> np.ndarray:
        return self.chain.ring.convert(self._problem.yhat)

    @cached_property
    def R(self) -> np.ndarray:
        return self.chain.ring.convert(self._problem.R)

    @cached_property
    def G(self) -> np.ndarray:
        return self.chain.ring.convert(self._problem.G)

    @cached_property
    def forward_R(self) -> list:
        r"""``forward_R[l-1]`` = :math:`T_{<l} R`."""
        return self.chain.forward_all(self.R)

    def jacobian(self, l: int) -> np.ndarray:
        r""":math:`\mathcal J_l`: rows ``(j, c)`` = :math:`\partial F_c(r_j)/\partial\theta_l` over the
        columns ``r_j`` of R, for the network without its activations, :math:`F = T_{L+1}\cdots T_1`."""
        c = self.chain
        return c.contract(l, c.backward[l], self.forward_R[l - 1])

    @cached_property
    def forward_sigma(self) -> list:
        r"""``forward_sigma[l-1]`` = :math:`T_{<l}\tilde\Sigma`."""
        return self.chain.forward_all(self.sigma)


class SampleFree(Route):
    """The Hessian blocks of a linear network under the MSE loss from its :class:`Moments`.

    Args:
        chain: the layer operators over the domain.
        moments: the data moments over the same domain.
    """

    def __init__(self, chain: OperatorChain, moments: Moments):
        self.chain = chain
        self.moments = moments

    @cached_property
    def omega(self) -> np.ndarray:
        r""":math:`\tilde\Omega = \hat F\tilde\Sigma - \hat Y` (``K x dim(0)``)."""
        r = self.chain.ring
        return r.sub(r.matmul(self.chain.end_to_end, self.moments.sigma), self.moments.yhat)

    def jacobian(self, l: int) -> np.ndarray:
        r""":math:`\mathcal J_l` (:meth:`Moments.jacobian`)."""
        return self.moments.jacobian(l)

    @cached_property
    def jacobians(self) -> list:
        r"""``[J_1, ..., J_{L+1}]`` (:meth:`jacobian`): :math:`H_o = \mathcal J^\top (G \otimes I_K)\mathcal J`."""
        return [self.jacobian(l) for l in range(1, self.chain.L1 + 1)]

    def block_o(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        r""":math:`H_o^{(l,m)} = \mathcal J_l^\top (G \otimes I_K)\mathcal J_m`."""
        r = self.chain.ring
        Jl, Jm = self.jacobians[l - 1], self.jacobians[m - 1]
        if rows is not None:
            Jl = Jl[:, rows]
        if cols is not None:
            Jm = Jm[:, cols]
        G = self.moments.G
        rr = G.shape[0]
        if rr == 0:  # no data direction at all (every sample zero, no bias): H_o = 0
            return r.zeros((Jl.shape[1], Jm.shape[1]))
        if self.moments.gram_is_identity:
            GJm = Jm
        else:
            GJm = r.matmul(G, Jm.reshape(rr, -1)).reshape(Jm.shape)
        return r.matmul(np.ascontiguousarray(Jl.T), GJm)

    def block_f(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        """Block ``(l, m)`` of ``H_f`` (zero for l = m)."""
        B = self._whole_f(l, m)
        if rows is not None:
            B = B[rows]
        return B if cols is None else B[:, cols]

    def _whole_f(self, l: int, m: int) -> np.ndarray:
        r = self.chain.ring
        Ll, Lm = self.chain.layers[l - 1], self.chain.layers[m - 1]
        pl, pm = Ll.n_params, Lm.n_params
        if l == m:
            return r.zeros((pl, pm))
        if l > m:
            return np.ascontiguousarray(self._whole_f(m, l).T)
        P = r.matmul(self.forward_omega[l - 1], self.chain.backward[m])  # dim(l-1) x dim(m)
        M = self.chain.between(l, m)  # dim(m-1) x dim(l)
        Tl, Nl = Ll.sources.shape
        Tm, Nm = Lm.sources.shape
        Ph = gather_sources(r, P[:, : Lm.n_out], Ll)  # (Tl, Nl, m_m*Nm)
        Ph = Ph.reshape(Tl, Nl, Lm.c_out, Nm).transpose(0, 2, 1, 3).reshape(Tl * Lm.c_out, Nl * Nm)
        Mh = gather_sources(r, M[:, : Ll.n_out], Lm)  # (Tm, Nm, m_l*Nl)
        Mh = Mh.reshape(Tm, Nm, Ll.c_out, Nl).transpose(3, 1, 0, 2).reshape(Nl * Nm, Tm * Ll.c_out)
        C = r.matmul(np.ascontiguousarray(Ph), np.ascontiguousarray(Mh))
        C = C.reshape(Tl, Lm.c_out, Tm, Ll.c_out).transpose(3, 0, 1, 2).reshape(pl, pm)
        return C[np.ix_(Ll.tap_to_documented, Lm.tap_to_documented)]
