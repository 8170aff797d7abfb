r"""Exact loss Hessians of linear networks, assembled from Toeplitz-structured layers.

For the MSE loss :math:`\ell(\theta) = \tfrac12\sum_i \|F(x_i) - y_i\|^2` of
:math:`F(x) = T_{L+1}\cdots T_1 x` (each :math:`T_l = T_l(\theta_l)` linear in its own
parameters; biases enter through the augmented operators
:math:`\tilde T_l = \begin{pmatrix} T_l & b_l \otimes 1 \\ 0 & 1\end{pmatrix}`):

* :math:`H_o = \sum_i J(x_i)^\top J(x_i)`, :math:`J(x)_{c,\theta} = \partial F_c(x)/\partial\theta`.
  With :math:`\tilde\Sigma = \sum_i \tilde x_i \tilde x_i^\top = R\,G R^\top`,
  :math:`H_o = \mathcal J^\top (G\otimes I_K)\mathcal J`, where :math:`\mathcal J`
  stacks :math:`J(r_j)` over the columns of :math:`R` (:math:`J` is linear in :math:`x`).
  When :math:`G` is positive definite, :math:`\mathrm{rank}\,H_o = \mathrm{rank}\,\mathcal J`
  over :math:`\mathbb Q`.
* :math:`H_f = \nabla^2_\theta\, \mathrm{tr}(\tilde\Omega^\top F)` with the residual
  moment :math:`\tilde\Omega = \sum_i \delta_i \tilde x_i^\top = \hat F\tilde\Sigma - \hat Y`
  held fixed. Its diagonal blocks vanish; for layers :math:`l < m` and operator positions
  :math:`(r_1, c_1)` of layer l, :math:`(r_2, c_2)` of layer m,
  :math:`\partial^2/\partial T_l[r_1,c_1]\partial T_m[r_2,c_2] = P[c_1, r_2]\,M[c_2, r_1]`
  with :math:`P = T_{<l}\tilde\Omega^\top T_{>m}` and :math:`M = T_{m-1}\cdots T_{l+1}`.
  Each parameter's positions come from the layer's Toeplitz gather table, so the block is
  one matrix product.
* :math:`H_L = H_o + H_f`.

The data enter only through :math:`\tilde\Sigma` and :math:`\hat Y`; the cost after forming
them does not depend on the number of samples. Everything is computed over one
:class:`~exacthess.rings.Ring`: exact rationals, GF(p), or sympy symbols.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..models.architectures import Architecture
from .persample import PerSample
from .taps import gather_sources
from ..core.validate import check_option
from .problem import Problem
from ..core.domains import QQ, Ring
from ..models.toeplitz import toeplitz_operator

__all__ = ["Engine"]


class Engine:
    """All Hessian pieces of one :class:`~exacthess.data.Problem` over one ring.

    Blocks are returned in the documented parameter ordering of the architecture.
    Layer indices are 1-based (``1..L+1``) as in the papers.
    """

    def __init__(self, problem: Problem, ring: Ring = QQ):
        self.problem = problem
        self.arch: Architecture = problem.arch
        self.ring = ring
        self.aug = problem.aug
        self.layers = self.arch.layers
        self.K = self.arch.output_dim
        self.L1 = len(self.layers)  # L + 1
        conv = ring.convert
        self.weights = [conv(w) for w in problem.weights]
        self.sigma = conv(problem.sigma)
        self.yhat = conv(problem.yhat)
        self.R = conv(problem.R)
        self.G = conv(problem.G)
        self.sample_free = problem.sample_free

    @cached_property
    def per_sample(self) -> PerSample:
        """The general, per-sample route (:mod:`exacthess.hessian.persample`)."""
        return PerSample(self)

    # ----- operators and products -------------------------------------------------------
    @cached_property
    def ops(self) -> list:
        """``ops[l-1]`` = augmented operator of layer l."""
        return [toeplitz_operator(layer, w, self.ring, self.aug) for layer, w in zip(self.layers, self.weights)]

    def dim(self, l: int) -> int:
        """Size of the (augmented) space after layer l (l = 0 is the input)."""
        n = self.layers[0].n_in if l == 0 else self.layers[l - 1].n_out
        return n + self.aug

    @cached_property
    def backward(self) -> list:
        """``backward[l]`` = ``T_{>l}`` restricted to the K outputs, shape ``K x dim(l)``."""
        r = self.ring
        out = [None] * (self.L1 + 1)
        top = r.zeros((self.K, self.dim(self.L1)))
        top[:, : self.K] = r.eye(self.K)
        out[self.L1] = top
        for l in range(self.L1, 0, -1):
            out[l - 1] = r.matmul(out[l], self.ops[l - 1])
        return out

    @cached_property
    def end_to_end(self) -> np.ndarray:
        """``F^ = T_{L+1} ... T_1`` (K x dim(0)); with biases its last column is the offset."""
        return self.backward[0]

    @cached_property
    def omega(self) -> np.ndarray:
        """Residual moment ``Omega~ = sum_i delta_i x~_i^T = F^ Sigma~ - Yhat~`` (K x dim(0)); for other
        losses ``sum_i g_i x~_i^T`` with the output gradients ``g_i`` (linear networks only)."""
        r = self.ring
        if not self.sample_free:  # any loss: Omega~ = sum_i g_i x~_i^T (exact gradients g_i)
            return r.matmul(self.per_sample.g, r.convert(self.problem.X_aug))
        return r.sub(r.matmul(self.end_to_end, self.sigma), self.yhat)

    def forward_all(self, cols: np.ndarray) -> list:
        """``[cols, T_1 cols, T_2 T_1 cols, ...]``: ``out[l-1] = T_{<l} cols``."""
        out = [cols]
        for l in range(1, self.L1):
            out.append(self.ring.matmul(self.ops[l - 1], out[-1]))
        return out  # out[l-1] = T_{<l} cols

    @cached_property
    def forward_R(self) -> list:
        """``forward_R[l-1] = T_{<l} R``."""
        return self.forward_all(self.R)

    @cached_property
    def forward_omega(self) -> list:
        """``forward_omega[l-1] = T_{<l} Omega~^T``."""
        return self.forward_all(np.ascontiguousarray(self.omega.T))

    @cached_property
    def forward_sigma(self) -> list:
        """``forward_sigma[l-1] = T_{<l} Sigma~``."""
        return self.forward_all(self.sigma)

    def between(self, l: int, m: int) -> np.ndarray:
        """``M = T_{m-1} ... T_{l+1}`` (``dim(m-1) x dim(l)``; identity when m = l + 1)."""
        cur = self.ring.eye(self.dim(l))
        for k in range(l + 1, m):
            cur = self.ring.matmul(self.ops[k - 1], cur)
        return cur

    # ----- parameter-space contractions -------------------------------------------------
    def contract(self, l: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """``out[(b, a), theta] = sum_{(row, col) in pos(theta)} left[a, row] right[col, b]``.

        ``left`` has shape ``(A, dim(l))`` and ``right`` ``(dim(l-1), B)``; the result has
        ``B * A`` rows (``b`` major) and the layer's parameters as columns (documented order).
        This is ``J``-type gathering through the Toeplitz position table of layer l."""
        r = self.ring
        layer = self.layers[l - 1]
        src = layer.sources
        T, N = src.shape
        A, B = left.shape[0], right.shape[1]
        Lr = left[:, : layer.n_out].reshape(A * layer.c_out, N)
        Rg = gather_sources(r, right, layer)  # (T, N, B)
        C = r.matmul(Lr, np.ascontiguousarray(Rg.transpose(1, 0, 2).reshape(N, T * B)))
        C = C.reshape(A, layer.c_out, T, B).transpose(3, 0, 1, 2).reshape(B * A, layer.c_out * T)
        return C[:, layer.tap_to_documented]

    def jacobian(self, l: int) -> np.ndarray:
        """``J_l``: rows ``(j, c)`` = ``dF_c(r_j) / d theta_l`` for the columns ``r_j`` of R."""
        return self.contract(l, self.backward[l], self.forward_R[l - 1])

    @cached_property
    def jacobians(self) -> list:
        """Per layer, the stacked Jacobian rows: over the columns of R (fast path) or per sample."""
        if not self.sample_free:
            return [self.per_sample.jacobian(l).reshape(-1, self.layers[l - 1].n_params)
                    for l in range(1, self.L1 + 1)]
        return [self.jacobian(l) for l in range(1, self.L1 + 1)]

    @cached_property
    def jacobian_stack(self) -> np.ndarray:
        """``script J`` (``rK x p``, rows ``(j, c)``): ``H_o = J^T (G (x) I_K) J``."""
        return np.concatenate(self.jacobians, axis=1)

    def block_o(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        """Block ``(l, m)`` of ``H_o`` (optionally only the given rows and columns)."""
        if not self.sample_free:
            return self.per_sample.block_o(l, m, rows, cols)
        r = self.ring
        Jl, Jm = self.jacobians[l - 1], self.jacobians[m - 1]
        if rows is not None:
            Jl = Jl[:, rows]
        if cols is not None:
            Jm = Jm[:, cols]
        rr = self.G.shape[0]
        if rr == 0:  # no data direction at all (every sample zero, no bias): H_o = 0
            return r.zeros((Jl.shape[1], Jm.shape[1]))
        if self.problem.gram_is_identity:
            GJm = Jm
        else:
            GJm = r.matmul(self.G, Jm.reshape(rr, -1)).reshape(Jm.shape)
        return r.matmul(np.ascontiguousarray(Jl.T), GJm)

    def block_f(self, l: int, m: int) -> np.ndarray:
        """Block ``(l, m)`` of ``H_f`` (zero for l = m on the fast path)."""
        if not self.sample_free:
            return self.per_sample.block_f(l, m)
        r = self.ring
        pl, pm = self.layers[l - 1].n_params, self.layers[m - 1].n_params
        if l == m:
            return r.zeros((pl, pm))
        if l > m:
            return np.ascontiguousarray(self.block_f(m, l).T)
        Ll, Lm = self.layers[l - 1], self.layers[m - 1]
        P = r.matmul(self.forward_omega[l - 1], self.backward[m])  # dim(l-1) x dim(m)
        M = self.between(l, m)  # dim(m-1) x dim(l)
        Sl, Sm = Ll.sources, Lm.sources
        Tl, Nl = Sl.shape
        Tm, Nm = Sm.shape
        Ph = gather_sources(r, P[:, : Lm.n_out], Ll)  # (Tl, Nl, m_m*Nm)
        Ph = Ph.reshape(Tl, Nl, Lm.c_out, Nm).transpose(0, 2, 1, 3).reshape(Tl * Lm.c_out, Nl * Nm)
        Mh = gather_sources(r, M[:, : Ll.n_out], Lm)  # (Tm, Nm, m_l*Nl)
        Mh = Mh.reshape(Tm, Nm, Ll.c_out, Nl).transpose(3, 1, 0, 2).reshape(Nl * Nm, Tm * Ll.c_out)
        C = r.matmul(np.ascontiguousarray(Ph), np.ascontiguousarray(Mh))
        C = C.reshape(Tl, Lm.c_out, Tm, Ll.c_out).transpose(3, 0, 1, 2).reshape(pl, pm)
        return C[np.ix_(Ll.tap_to_documented, Lm.tap_to_documented)]

    def block(self, name: str, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        """Block ``(l, m)`` of ``name``; ``rows``/``cols`` select parameters of layers l and m."""
        def sub(B):
            if rows is not None:
                B = B[rows]
            return B if cols is None else B[:, cols]
        if name == "H_o":
            return self.block_o(l, m, rows, cols)
        check_option(name, "name", ("H_L", "H_o", "H_f"))
        Hf = self.per_sample.block_f(l, m, rows, cols) if not self.sample_free else sub(self.block_f(l, m))
        if name == "H_f":
            return Hf
        return self.ring.add(self.block_o(l, m, rows, cols), Hf)

    def full(self, name: str) -> np.ndarray:
        rows = [np.concatenate([self.block(name, l, m) for m in range(1, self.L1 + 1)], axis=1)
                for l in range(1, self.L1 + 1)]
        return np.concatenate(rows, axis=0)

    def block_column(self, name: str, m: int) -> np.ndarray:
        """Block column ``H^{.m}``: all rows, the columns of layer m."""
        return np.concatenate([self.block(name, l, m) for l in range(1, self.L1 + 1)], axis=0)
