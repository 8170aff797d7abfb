r"""Hessian blocks sample by sample: any activation, any loss.

With :math:`u_{m,i} = \partial\varphi_i / \partial z_m` (backpropagated loss gradient,
:math:`\varphi_i = g_i^\top F(x_i)` with :math:`g_i = \nabla l_i` held fixed),
:math:`D_l = \mathrm{diag}\,\sigma'(z_l)` and
:math:`M^{(k \leftarrow l)}_i = \partial\tilde h_k/\partial z_l = D_k T_k \cdots T_{l+1} D_l`:

* :math:`H_o = \sum_i J_i^\top A_i J_i` with :math:`J_i = \partial F(x_i)/\partial\theta`,
  :math:`A_i = \nabla^2 l_i`;
* :math:`H_f = C_{\mathrm{cross}} + C_{\mathrm{act}}` where, for layers :math:`l < m`,

  .. math:: C_{\mathrm{cross}}[\theta_l, \theta_m] = \sum_i \sum_{(r, c) \in \mathrm{pos}(\theta_m)}
            u_{m,i}[r]\; \frac{\partial \tilde h_{m-1,i}[c]}{\partial\theta_l}

  (the second derivative of the bilinear map :math:`T_m \tilde h_{m-1}` with the activation
  derivatives frozen), and

  .. math:: C_{\mathrm{act}} = \sum_{k=1}^{L} \sum_i J_{z_k,i}^\top
            \mathrm{diag}\big(\sigma''(z_{k,i}) \odot \delta_{k,i}\big) J_{z_k,i},
            \qquad \delta_k = \partial\varphi/\partial h_k,

  the part coming from second derivatives of the activations (zero for linear and ReLU-type
  activations, whose within-layer blocks of :math:`H_f` therefore vanish).

This follows from :math:`d^2\varphi = \sum_k u_k\cdot 2\,dT_k\,d\tilde h_{k-1}
+ \sum_k \delta_k\cdot\sigma''(z_k)(dz_k)^2`. For a linear network and a quadratic loss the
sums over samples collapse to the data moments (:mod:`exacthess.hessian.samplefree`); this module is
the general route and the independent check of that one. The outputs' gradient moment is
:math:`\tilde\Omega = \sum_i g_i \tilde x_i^\top` (:math:`g_i = F(x_i) - y_i` under MSE).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .chain import OperatorChain
from .problem import Problem
from .route import Route
from .taps import contract_samples, gather_sources

__all__ = ["PerSample"]

_CHUNK = 20_000_000  # entries of the largest temporary array


class PerSample(Route):
    """The Hessian blocks of any network and loss, formed sample by sample.

    Args:
        problem: the exact problem; its exact forward pass
            (:attr:`~exacthess.hessian.problem.Problem.forward`) gives the activations, their
            derivatives and the loss derivatives at every sample.
        chain: the layer operators over the domain the blocks are computed in.
    """

    def __init__(self, problem: Problem, chain: OperatorChain):
        self.chain = chain
        self.ring = chain.ring
        fw = problem.forward
        conv = self.ring.convert
        self.post = [conv(h) for h in fw.post]
        self.d1 = [None] + [conv(d) for d in fw.d1[1:]]
        self.d2 = [None] + [None if d is None else conv(d) for d in fw.d2[1:]]
        self.g = conv(fw.gradients)  # (K, n)
        self.n = self.g.shape[1]
        self.fw = fw
        self.mse = problem.loss.name == "mse"
        self.curved = problem.arch.activation.has_curvature
        self._problem = problem

    def size(self, l: int) -> int:
        """``n_l`` (no constant coordinate); ``l = 0`` is the input."""
        layers = self.chain.layers
        return layers[0].n_in if l == 0 else layers[l - 1].n_out

    def T(self, l: int) -> np.ndarray:
        """The bias-free operator block of layer l: ``(n_l, n_{l-1})``."""
        return self.chain.ops[l - 1][: self.size(l), : self.size(l - 1)]

    def _apply(self, l: int, cur: np.ndarray) -> np.ndarray:
        """``T_l @ cur[i]`` for every sample: ``(n, n_{l-1}, c) -> (n, n_l, c)``."""
        n, _, c = cur.shape
        flat = np.ascontiguousarray(cur[:, : self.size(l - 1)].transpose(1, 0, 2)).reshape(self.size(l - 1), n * c)
        out = self.ring.matmul(self.T(l), flat)
        return np.ascontiguousarray(out.reshape(self.size(l), n, c).transpose(1, 0, 2))

    # ----- outputs and Jacobians ----------------------------------------------------------
    @cached_property
    def backward(self) -> list:
        r"""``backward[l]`` = :math:`\partial F/\partial z_l` per sample, ``(n, K, n_l)``."""
        r, L1, K = self.ring, self.chain.L1, self.chain.K
        out = [None] * (L1 + 1)
        out[L1] = np.broadcast_to(r.eye(K), (self.n, K, K)).copy()
        for l in range(L1 - 1, 0, -1):
            nxt = np.ascontiguousarray(out[l + 1].reshape(self.n * K, -1))
            out[l] = self._mask_rows(l, r.matmul(nxt, self.T(l + 1)).reshape(self.n, K, -1))
        return out

    def _mask_rows(self, l: int, cur: np.ndarray) -> np.ndarray:
        r"""Columns (units of layer l) scaled by :math:`\sigma'(z_l)` per sample."""
        return self.ring.mul(cur, self.d1[l].T[:, None, :])

    def jacobian(self, l: int) -> np.ndarray:
        r""":math:`\partial F(x_i)/\partial\theta_l`, ``(n, K, p_l)``."""
        return self._jacobians[l - 1]

    @cached_property
    def _jacobians(self) -> list:
        return [contract_samples(self.ring, self.chain.layers[l - 1], self.backward[l], self.post[l - 1])
                for l in range(1, self.chain.L1 + 1)]

    @cached_property
    def jacobians(self) -> list:
        r"""Per layer, :math:`J_{i,l}` stacked over the samples: rows ``(i, c)``, ``(n K, p_l)``."""
        return [self.jacobian(l).reshape(-1, self.chain.layers[l - 1].n_params) for l in range(1, self.chain.L1 + 1)]

    @cached_property
    def omega(self) -> np.ndarray:
        r""":math:`\tilde\Omega = \sum_i g_i \tilde x_i^\top` from the exact output gradients ``g_i``."""
        return self.ring.matmul(self.g, self.ring.convert(self._problem.X_aug))

    @cached_property
    def hessians(self):
        """:math:`A_i` over the domain, ``(n, K, K)``, or None for the identity (MSE)."""
        return None if self.mse else self.ring.convert(self.fw.hessians)

    def block_o(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        r""":math:`H_o^{(l,m)} = \sum_i J_{i,l}^\top A_i J_{i,m}` (:math:`A_i = I` under MSE)."""
        Jl, Jm = self.jacobian(l), self.jacobian(m)
        if rows is not None:
            Jl = Jl[:, :, rows]
        if cols is not None:
            Jm = Jm[:, :, cols]
        if self.hessians is not None:
            Jm = self.ring.bmatmul(self.hessians, Jm)
        n, K = Jl.shape[0], Jl.shape[1]
        return self.ring.matmul(np.ascontiguousarray(Jl.reshape(n * K, -1).T), np.ascontiguousarray(Jm.reshape(n * K, -1)))

    def factored_jacobian(self) -> np.ndarray | None:
        """``C J`` stacked over samples with ``ker C_i = ker A_i``, so ``rank H_o = rank (C J)``;
        None when the loss gives no such factor."""
        C = self.fw.kernel_factors
        if C is None:
            return None
        J = np.concatenate(self._jacobians, axis=2)  # (n, K, p)
        if not isinstance(C, str):
            J = self.ring.bmatmul(self.ring.convert(C), J)
        return np.ascontiguousarray(J.reshape(-1, J.shape[2]))

    # ----- functional part --------------------------------------------------------------------
    @cached_property
    def u(self) -> list:
        r"""``u[m]`` = :math:`\partial\varphi_i/\partial z_m`, ``(n, n_m)``."""
        g = self.g.T[:, None, :]  # (n, 1, K)
        return [None] + [self.ring.bmatmul(g, self.backward[m])[:, 0, :] for m in range(1, self.chain.L1 + 1)]

    def dh(self, l: int, k: int, samples=slice(None)) -> np.ndarray:
        r""":math:`\partial\tilde h_k/\partial z_l` for the given samples, ``(n, dim(k), n_l)``, ``k >= l``."""
        r = self.ring
        d = self.d1[l][:, samples]  # (n_l, ns)
        nl, ns = d.shape
        cur = r.zeros((ns, nl, nl))
        idx = np.arange(nl)
        cur[:, idx, idx] = d.T
        for q in range(l + 1, k + 1):
            cur = r.mul(self._apply(q, cur), self.d1[q][:, samples].T[:, :, None])
        if self.chain.aug:
            cur = np.concatenate([cur, r.zeros((ns, 1, nl))], axis=1)
        return cur

    def _chunks(self, per_sample: int):
        step = max(1, _CHUNK // max(per_sample, 1))
        for s in range(0, self.n, step):
            yield slice(s, min(self.n, s + step))

    def block_adjacent(self, l: int, rows=None) -> np.ndarray:
        r"""``C_cross[l, l+1]`` without the dense ``dh``: :math:`\partial\tilde h_l/\partial\theta_l` is
        diagonal in the units, so a parameter ``(o, tau)`` of layer ``l`` only meets the taps of layer
        ``l + 1`` that read channel ``o``, and

        .. math:: C[(o,\tau), (o', (o, a))] = \sum_i \sum_x u_{l+1,i}[o', x]\,\sigma'(z_{l,i})[o, s]\,
                  \tilde h_{l-1,i}[\mathrm{src}_l(\tau, s)], \quad s = \mathrm{src}_{l+1}((o, a), x).
        """
        r, ch = self.ring, self.chain
        Ll, Lm = ch.layers[l - 1], ch.layers[l]
        T_l, N_l = Ll.sources.shape
        T_m, N_m = Lm.sources.shape
        k_sp = Lm.kernel[0] * Lm.kernel[1]
        taps = np.arange(Lm.c_in * k_sp)  # the weight taps of layer l+1 (channel-major), bias excluded
        rows = np.arange(Ll.n_params) if rows is None else np.asarray(rows)
        out = r.zeros((Lm.c_out, len(taps) * T_l))
        for sl in self._chunks(N_m * len(taps) * T_l + T_l * N_l):
            patches = gather_sources(r, self.post[l - 1][:, sl], Ll)  # (T_l, N_l, ns)
            d = self.d1[l][:, sl].reshape(Ll.c_out, N_l, -1)  # (c_l, N_l, ns)
            ns = d.shape[2]
            # G[i, (c, s), tau] = sigma'(z_l)[c, s] * patch_i[s, tau]: the derivative of unit (c, s) in tap tau
            G = r.mul(d.transpose(2, 0, 1)[:, :, :, None], patches.transpose(2, 1, 0)[:, None, :, :])
            G = G.reshape(ns, Ll.c_out * N_l, T_l)
            src = Lm.sources[taps]  # (taps, N_m): the unit (channel, position) of layer l each tap reads
            Gp = np.concatenate([G, r.zeros((ns, 2, T_l))], axis=1)  # constant and padding rows read 0 here
            idx = np.where(src < Ll.n_out, src, Ll.n_out)
            Gg = Gp[:, idx]  # (ns, taps, N_m, T_l)
            J2 = np.ascontiguousarray(Gg.transpose(0, 2, 1, 3)).reshape(ns * N_m, len(taps) * T_l)
            U = self.u[l + 1][sl, : Lm.n_out].reshape(ns, Lm.c_out, N_m)
            U2 = np.ascontiguousarray(U.transpose(1, 0, 2)).reshape(Lm.c_out, ns * N_m)
            out = r.add(out, r.matmul(U2, J2))
        out = out.reshape(Lm.c_out, Lm.c_in, k_sp, T_l)  # (o', c, a, tau)
        C = r.zeros((Ll.n_params, Lm.n_params))
        inv_l = np.empty(Ll.n_params, dtype=np.int64)
        inv_l[Ll.tap_to_documented] = np.arange(Ll.n_params)
        inv_m = np.empty(Lm.n_params, dtype=np.int64)
        inv_m[Lm.tap_to_documented] = np.arange(Lm.n_params)
        for c in range(Ll.c_out):  # parameters (c, tau) of layer l meet taps (o', (c, a)) of layer l+1
            rows_c = inv_l[c * T_l + np.arange(T_l)]
            cols_c = inv_m[(np.arange(Lm.c_out)[:, None] * T_m + c * k_sp + np.arange(k_sp)[None, :]).ravel()]
            C[np.ix_(rows_c, cols_c)] = out[:, c].transpose(2, 0, 1).reshape(T_l, Lm.c_out * k_sp)
        return np.ascontiguousarray(C[rows])

    def block_cross(self, l: int, m: int, rows=None) -> np.ndarray:
        r""":math:`C_{\mathrm{cross}}[l, m]` for ``l < m``, ``(p_l, p_m)`` (only the given rows of layer l)."""
        if m == l + 1:
            return self.block_adjacent(l, rows)
        r, ch = self.ring, self.chain
        Ll, Lm = ch.layers[l - 1], ch.layers[m - 1]
        T, N = Lm.sources.shape
        rows = np.arange(Ll.n_params) if rows is None else np.asarray(rows)
        pl = len(rows)
        out = r.zeros((Lm.c_out, T * pl))
        for sl in self._chunks(ch.dim(m - 1) * (Ll.n_params + Ll.n_out) + T * N * pl):
            M = self.dh(l, m - 1, sl)  # (ns, dim(m-1), n_l)
            Jh = contract_samples(r, Ll, M, self.post[l - 1][:, sl])[:, :, rows]  # (ns, dim(m-1), pl)
            ns = Jh.shape[0]
            Jg = gather_sources(r, Jh, Lm, axis=1)  # (ns, T, N, pl)
            J2 = np.ascontiguousarray(Jg.transpose(0, 2, 1, 3)).reshape(ns * N, T * pl)
            U = self.u[m][sl, : Lm.n_out].reshape(ns, Lm.c_out, N)
            U2 = np.ascontiguousarray(U.transpose(1, 0, 2)).reshape(Lm.c_out, ns * N)
            out = r.add(out, r.matmul(U2, J2))
        C = out.reshape(Lm.c_out, T, pl).transpose(2, 0, 1).reshape(pl, Lm.n_params)
        return np.ascontiguousarray(C[:, Lm.tap_to_documented])

    def jacobian_z(self, k: int, l: int, samples=slice(None)) -> np.ndarray:
        r""":math:`\partial z_k/\partial\theta_l` per sample, ``(n, n_k, p_l)``, ``l <= k``."""
        r = self.ring
        if k == l:  # dz_l / dz_l is the identity
            ns = len(range(*samples.indices(self.n)))
            nl = self.size(l)
            left = np.broadcast_to(r.eye(nl), (ns, nl, nl)).copy()
        else:
            left = self._apply(k, self.dh(l, k - 1, samples))
        return contract_samples(r, self.chain.layers[l - 1], left, self.post[l - 1][:, samples])

    @cached_property
    def curvature_weights(self) -> list:
        r"""``w[k]`` = :math:`\sigma''(z_k) \odot \partial\varphi/\partial h_k`, ``(n, n_k)``; None when zero."""
        r, ch = self.ring, self.chain
        out = [None] * (ch.L1 + 1)
        for k in range(1, ch.L1):
            if self.d2[k] is None:
                continue
            delta = r.matmul(self.u[k + 1][:, : self.size(k + 1)], self.T(k + 1))  # (n, n_k)
            out[k] = r.mul(self.d2[k].T, delta)
        return out

    def block_act(self, l: int, m: int) -> np.ndarray:
        r""":math:`C_{\mathrm{act}}[l, m]`, ``(p_l, p_m)``."""
        r, ch = self.ring, self.chain
        pl, pm = ch.layers[l - 1].n_params, ch.layers[m - 1].n_params
        out = r.zeros((pl, pm))
        for k in range(max(l, m), ch.L1):
            w = self.curvature_weights[k]
            if w is None:
                continue
            for sl in self._chunks(self.size(k) * (pl + pm)):
                Jl = self.jacobian_z(k, l, sl)
                Jm = Jl if m == l else self.jacobian_z(k, m, sl)
                Jm = r.mul(Jm, w[sl][:, :, None])
                a = np.ascontiguousarray(Jl.reshape(-1, pl).T)
                out = r.add(out, r.matmul(a, np.ascontiguousarray(Jm.reshape(-1, pm))))
        return out

    def block_f(self, l: int, m: int, rows=None, cols=None) -> np.ndarray:
        r"""Block ``(l, m)`` of :math:`H_f = C_{\mathrm{cross}} + C_{\mathrm{act}}` (optionally only the
        given rows of layer l and columns of layer m)."""
        if l < m:
            cross = self.block_cross(l, m, rows)
            cross = cross if cols is None else cross[:, cols]
        elif l > m:
            cross = np.ascontiguousarray(self.block_cross(m, l, cols).T)
            cross = cross if rows is None else cross[rows]
        else:
            nr = self.chain.layers[l - 1].n_params if rows is None else len(rows)
            nc = self.chain.layers[m - 1].n_params if cols is None else len(cols)
            cross = self.ring.zeros((nr, nc))
        if not self.curved:
            return cross
        act = self.block_act(l, m)
        act = act if rows is None else act[rows]
        return self.ring.add(cross, act if cols is None else act[:, cols])
