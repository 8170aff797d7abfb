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

Layers with one output position (fully-connected layers; :func:`~exacthess.hessian.taps.one_position`)
share no weight: parameter :math:`(o, \tau)` of layer l sits at the single position
:math:`(o, s)`, :math:`s = \mathrm{src}(\tau)`, so
:math:`\partial F(\tilde x)/\partial\theta = T_{>l}[:, o]\,(T_{<l}\tilde x)[s]`. For two such layers the
blocks are entrywise products of small factors, with no product over the ``r K`` rows of
:math:`\mathcal J`:

.. math:: H_o^{(l,m)}[(o,\tau), (o',\tau')] = (T_{>l}^\top T_{>m})[o, o']\;
          (T_{<l}\tilde\Sigma T_{<m}^\top)[s, s'],

the Kronecker product :math:`(T_{>l}^\top T_{>m}) \otimes (T_{<l}\tilde\Sigma T_{<m}^\top)` in the tap
order of the parameters (for an FCN :math:`\mathrm{vec}_\mathrm{row}[W_l\ b_l]`; the documented order
lists :math:`\mathrm{vec}_\mathrm{row}(W_l)`, then :math:`b_l`), with
:math:`T_{<l}\tilde\Sigma T_{<m}^\top = (T_{<l}R)\,G\,(T_{<m}R)^\top`; and for :math:`l < m`

.. math:: H_f^{(l,m)}[(o,\tau), (o',\tau')] = P[s, o']\; M[s', o].

Only the rows of the factors at the selected parameters' positions are formed, and the entries
by indexing them (:func:`~exacthess.hessian.taps.gather_pairs`): selected rows and columns cost
time and memory proportional to their number of entries. Blocks of weight-shared
(convolution) layers are formed from :math:`\mathcal J` and the tap tables.

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
from .taps import extend_rows, gather_pairs, gather_sources, one_position, positions

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


def _indices(n: int, sel) -> np.ndarray:
    """The parameter indices ``range(n)[sel]`` (all of them when ``sel`` is None): ``sel`` is a
    sequence or array of indices, a boolean mask or a slice."""
    idx = np.arange(n)
    if sel is None:
        return idx
    if isinstance(sel, slice):
        return idx[sel]
    sel = np.asarray(sel)
    return idx[sel] if sel.dtype == bool else idx[sel.astype(np.int64).reshape(-1)]


class SampleFree(Route):
    """The Hessian blocks of a linear network under the MSE loss from its :class:`Moments`.

    Args:
        chain: the layer operators over the domain.
        moments: the data moments over the same domain.
    """

    def __init__(self, chain: OperatorChain, moments: Moments):
        self.chain = chain
        self.moments = moments
        self._jacobian = {}

    @cached_property
    def omega(self) -> np.ndarray:
        r""":math:`\tilde\Omega = \hat F\tilde\Sigma - \hat Y` (``K x dim(0)``)."""
        r = self.chain.ring
        return r.sub(r.matmul(self.chain.end_to_end, self.moments.sigma), self.moments.yhat)

    def jacobian(self, l: int) -> np.ndarray:
        r""":math:`\mathcal J_l` (:meth:`Moments.jacobian`), formed once."""
        if l not in self._jacobian:
            self._jacobian[l] = self.moments.jacobian(l)
        return self._jacobian[l]

    @cached_property
    def jacobians(self) -> list:
        r"""``[J_1, ..., J_{L+1}]`` (:meth:`jacobian`): :math:`H_o = \mathcal J^\top (G \otimes I_K)\mathcal J`."""
        return [self.jacobian(l) for l in range(1, self.chain.L1 + 1)]

    def _unshared(self, l: int, m: int) -> bool:
        layers = self.chain.layers
        return one_position(layers[l - 1]) and one_position(layers[m - 1])

    def block_o(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        r""":math:`H_o^{(l,m)} = \mathcal J_l^\top (G \otimes I_K)\mathcal J_m`; for two layers with one
        output position the entries of :math:`(T_{>l}^\top T_{>m}) \otimes (T_{<l}\tilde\Sigma T_{<m}^\top)`
        (module docstring) at the selected parameters."""
        r = self.chain.ring
        Ll, Lm = self.chain.layers[l - 1], self.chain.layers[m - 1]
        rows, cols = _indices(Ll.n_params, rows), _indices(Lm.n_params, cols)
        G = self.moments.G
        rr = G.shape[0]
        if rr == 0 or not len(rows) or not len(cols):  # no data direction (every sample zero, no bias): H_o = 0
            return r.zeros((len(rows), len(cols)))
        if self._unshared(l, m):
            return self._kron_o(l, m, rows, cols)
        Jl, Jm = self.jacobian(l)[:, rows], self.jacobian(m)[:, cols]
        if self.moments.gram_is_identity:
            GJm = Jm
        else:
            GJm = r.matmul(G, Jm.reshape(rr, -1)).reshape(Jm.shape)
        return r.matmul(np.ascontiguousarray(Jl.T), GJm)

    def _kron_o(self, l: int, m: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        r""":math:`H_o^{(l,m)}[\text{rows}, \text{cols}]` of two one-position layers:
        ``B[o, o'] S[s, s']`` with :math:`B = T_{>l}^\top T_{>m}` over the selected output units
        (inner dimension ``K``) and :math:`S = (T_{<l}R)\,G\,(T_{<m}R)^\top` over the selected input
        coordinates (inner dimension ``r``)."""
        r, c, mo = self.chain.ring, self.chain, self.moments
        Ll, Lm = c.layers[l - 1], c.layers[m - 1]
        (o_r, s_r), (o_c, s_c) = positions(Ll, rows), positions(Lm, cols)
        (uo_r, io_r), (uo_c, io_c) = _unique(o_r), _unique(o_c)
        (us_r, is_r), (us_c, is_c) = _unique(s_r), _unique(s_c)
        B = r.matmul(np.ascontiguousarray(c.backward[l][:, uo_r].T), np.ascontiguousarray(c.backward[m][:, uo_c]))
        left = np.ascontiguousarray(extend_rows(r, mo.forward_R[l - 1], Ll.n_in + 2)[us_r])
        right = np.ascontiguousarray(extend_rows(r, mo.forward_R[m - 1], Lm.n_in + 2)[us_c].T)
        if not mo.gram_is_identity:
            right = r.matmul(mo.G, right)
        S = r.matmul(left, right)
        return gather_pairs(r, B, io_r, io_c, S, is_r, is_c)

    def block_f(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        """Block ``(l, m)`` of ``H_f`` (zero for l = m); for two layers with one output position only the
        selected entries are formed (module docstring)."""
        Ll, Lm = self.chain.layers[l - 1], self.chain.layers[m - 1]
        rows, cols = _indices(Ll.n_params, rows), _indices(Lm.n_params, cols)
        if l == m or not len(rows) or not len(cols):
            return self.chain.ring.zeros((len(rows), len(cols)))
        if l > m:
            return np.ascontiguousarray(self.block_f(m, l, cols, rows).T)
        if self._unshared(l, m):
            return self._kron_f(l, m, rows, cols)
        return self._whole_f(l, m)[np.ix_(rows, cols)]

    def _kron_f(self, l: int, m: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        r""":math:`H_f^{(l,m)}[\text{rows}, \text{cols}]` (``l < m``) of two one-position layers:
        ``P[s, o'] M[s', o]`` with :math:`P = T_{<l}\tilde\Omega^\top T_{>m}` over the selected input
        coordinates of layer l and output units of layer m (inner dimension ``K``) and
        :math:`M = T_{m-1}\cdots T_{l+1}` over the selected output units of layer l."""
        r, c = self.chain.ring, self.chain
        Ll, Lm = c.layers[l - 1], c.layers[m - 1]
        (o_r, s_r), (o_c, s_c) = positions(Ll, rows), positions(Lm, cols)
        (uo_r, io_r), (uo_c, io_c) = _unique(o_r), _unique(o_c)
        (us_r, is_r), (us_c, is_c) = _unique(s_r), _unique(s_c)
        omega = np.ascontiguousarray(extend_rows(r, self.forward_omega[l - 1], Ll.n_in + 2)[us_r])
        P = r.matmul(omega, np.ascontiguousarray(c.backward[m][:, uo_c]))
        M = r.zeros((c.dim(l), len(uo_r)))  # the selected units of layer l, then T_{m-1} ... T_{l+1}
        for j, o in enumerate(uo_r):  # one entry at a time: a ring element may look like a sequence to numpy
            M[o, j] = r.one
        for k in range(l + 1, m):
            M = r.matmul(c.ops[k - 1], M)
        Mt = np.ascontiguousarray(extend_rows(r, M, Lm.n_in + 2)[us_c].T)
        return gather_pairs(r, P, is_r, io_c, Mt, io_r, is_c)

    def _whole_f(self, l: int, m: int) -> np.ndarray:
        """The whole block ``(l, m)``, ``l < m``, of ``H_f`` through the tap tables (any layers)."""
        r = self.chain.ring
        Ll, Lm = self.chain.layers[l - 1], self.chain.layers[m - 1]
        pl, pm = Ll.n_params, Lm.n_params
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


def _unique(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, inverse)``: the distinct values of ``idx`` (sorted) and ``idx = values[inverse]``."""
    values, inverse = np.unique(idx, return_inverse=True)
    return values, inverse.reshape(-1)
