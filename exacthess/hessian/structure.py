r"""Cheap rank certificates from the structure of linear-network Hessians.

Generic certification (:func:`exacthess.rank`) costs about ``k * bits / 61`` modular ranks of
the whole ``p x p`` matrix. The Hessians of linear networks have structure that gives the
upper bound almost for free:

**Chains of tensor subspaces.** Write every quantity in operator coordinates (a layer-l
parameter direction is a matrix ``Z`` in ``R^{n_l x n_{l-1}}``, read through the layer's
Toeplitz position map). Differentiating ``grad_{T_l} = T_{>l}^T Omega T_{<l}^T`` shows that
the image of block row ``l`` of ``H_f`` is contained in

.. math:: \sum_{m>l} \mathrm{row}(M_{lm}) \otimes \mathrm{col}(P_{lm})
          + \sum_{m<l} \mathrm{row}(P_{ml}) \otimes \mathrm{col}(M_{ml}),

with :math:`P_{lm} = T_{<l}\tilde\Omega^\top T_{>m}` and :math:`M_{lm} = T_{m-1}\cdots T_{l+1}`
(and ``H_o`` adds :math:`\mathrm{row}(T_{>l}) \otimes \mathrm{col}(T_{<l}\tilde\Sigma)`).
Ordered ``m = l+1, ..., L+1, [H_o], 1, ..., l-1`` the left factors *decrease* and the right
factors *increase* (each is a product of the next), so the sum is the direct sum
:math:`\bigoplus_i X_i \otimes (Y_i \ominus Y_{i-1})` and its dimension is
:math:`\sum_i \dim X_i(\dim Y_i - \dim Y_{i-1})` -- computed from *certified ranks of small
matrices*. Likewise the rows of the stacked Jacobian ``J`` lie in
:math:`\sum_l \mathrm{col}(T_{>l}) \otimes \mathrm{row}(T_{<l}R)`, a chain over layers, which
bounds ``rank H_o = rank J``.

**Restriction to a core** (:mod:`exacthess.certify.core`). If the column space of the symmetric ``H`` lies in
:math:`\bigoplus_l \mathrm{col}(E_l)` and the rows ``I_l`` of ``E_l`` have
:math:`\mathrm{rank}_p E_l[I_l] = |I_l| = ` the certified dimension bound, then restricting to
the coordinates ``I = \cup I_l`` is injective on that space and
:math:`\mathrm{rank}\, H = \mathrm{rank}\, H[I, I]` exactly. When the core ``H[I, I]`` has full
rank modulo ``p``, the rank is certified with one modular rank of a matrix of the size of the
answer. A layer whose bound cannot be certified keeps all its coordinates (always valid).

**Weight sharing.** For convolutions the chain is loose (it lets the other layers' directions
be arbitrary matrices). :mod:`exacthess.hessian.composite` gives a second bound per block row from
the channel x spatial structure of products of convolutions; the smaller certified bound is
used.
"""

from __future__ import annotations

import numpy as np

from ..certify.small import SmallRanks
from ..certify.bounds import UPPER, Bound
from ..certify.core import BlockRowSpace
from ..core.modular import pivot_cols, pivot_rows
from .engine import Engine

__all__ = ["StructureHints"]


class StructureHints:
    """Structural hints for the Hessians of one problem: engines over QQ and GF(p), small ranks.

    Args:
        qq: the exact engine.
        gf: the same problem over GF(p).
        small: certified ranks of small matrices (:class:`~exacthess.certify.bounds.SmallRanks`).
    """

    def __init__(self, qq: Engine, gf: Engine, small: SmallRanks):
        self.qq, self.gf, self.small = qq, gf, small
        self.p = gf.ring.p
        self.output_factor = None

    def use_output_factor(self, C) -> bool:
        """Bound ``H_o``'s rows through ``C T_{>l}`` (``C`` rational, ``K' x K``, the same for every
        sample, ``ker C = ker A_i``), valid when every output gradient lies in ``row(C)`` (checked
        exactly: certified ``rank [C; G^T] = rank C``); then also ``row(P_ml) <= row(C T_{>l})``
        and the H_L chain keeps its order. Returns whether ``C`` is used."""
        Cq = np.asarray(C, dtype=object)
        r_c = self.rank("C", lambda e: e.ring.convert(Cq))
        r_cg = self.rank("C+G", lambda e: np.concatenate([e.ring.convert(Cq), e.per_sample.g.T], axis=0))
        if r_c is not None and r_c == r_cg:
            self.output_factor = Cq
        return self.output_factor is not None

    def back(self, e: Engine, l: int) -> np.ndarray:
        """``C T_{>l}`` restricted to layer l's outputs (``T_{>l}`` without an output factor)."""
        B = e.backward[l][:, : e.layers[l - 1].n_out]
        return B if self.output_factor is None else e.ring.matmul(e.ring.convert(self.output_factor), B)

    # P_{lm} = T_{<l} Omega^T T_{>m};  M_{lm} = T_{m-1} ... T_{l+1}
    @staticmethod
    def P(e: Engine, l: int, m: int):
        return e.ring.matmul(e.forward_omega[l - 1], e.backward[m])

    def _ops(self, layers) -> list:
        """Factor specs ``(key, fn)`` of the operators of the given layers."""
        return [(("T", k), lambda e, k=k: e.ops[k - 1]) for k in layers]

    def _omega(self) -> tuple:
        """``Omega~ = Delta X~`` (residuals times data): its rank, certified from those factors."""
        self.rank("Omega", lambda e: e.omega, [("Delta", lambda e: e.per_sample.g),
                                              ("X", lambda e: e.ring.convert(e.problem.X_aug))])
        return ("Omega", lambda e: e.omega)

    def rank(self, key, fn, factors=()) -> int | None:
        """Certified rank of ``fn(engine)`` over Q, using ``factors`` (``(key, fn)``: a product
        containing it) to avoid Hadamard's bound on big entries (see :class:`SmallRanks`)."""
        qq, gf = self.qq, self.gf
        return self.small.get(key, lambda: fn(qq), mod_p=lambda: fn(gf),
                              factors=[(k, lambda f=f: f(qq), lambda f=f: f(gf)) for k, f in factors])

    def chain(self, l: int, with_o: bool):
        """The chain ``[(X, Y), ...]`` for block row l; each of ``X``, ``Y`` is ``(key, fn, factors)``
        with ``fn`` mapping an engine to the matrix and ``factors`` a product containing it."""
        L1 = self.qq.L1
        n_l = self.qq.layers[l - 1].n_out
        omega = self._omega()
        out = []
        for m in range(l + 1, L1 + 1):
            out.append(((f"M{l},{m}[:,:n{l}]", lambda e, m=m: e.between(l, m)[:, :n_l], self._ops(range(l + 1, m))),
                        (f"P{l},{m}", lambda e, m=m: self.P(e, l, m),
                         self._ops(range(1, l)) + [omega] + self._ops(range(m + 1, L1 + 1)))))
        if with_o:
            out.append(((f"B{l}", lambda e: self.back(e, l), self._ops(range(l + 1, L1 + 1))),
                        (f"S{l}", lambda e: e.forward_sigma[l - 1],
                         self._ops(range(1, l)) + [("X", lambda e: e.ring.convert(e.problem.X_aug))])))
        # A direction of an earlier layer m has a zero constant row, so the lower part only meets
        # M_{ml} on layer m's own coordinates: col(M_{ml}[:, :n_m]). That space no longer contains
        # the constant coordinate the upper part reaches, so it is used only when there is no upper
        # part (the output layer of H_f); otherwise the whole col(M_{ml}) keeps the chain nested.
        lower_only = not out
        for m in range(1, l):
            n_m = self.qq.layers[m - 1].n_out
            own = (lambda e, m=m, n_m=n_m: e.between(m, l)[:, :n_m]) if lower_only else (lambda e, m=m: e.between(m, l))
            out.append(((f"P{m},{l}[:,:n{l}]", lambda e, m=m: self.P(e, m, l)[:, :n_l],
                         self._ops(range(1, m)) + [omega] + self._ops(range(l + 1, L1 + 1))),
                        (f"M{m},{l}" + ("[:,:n]" if lower_only else ""), own, self._ops(range(m + 1, l)))))
        return out

    def chain_space(self, l: int, with_o: bool) -> BlockRowSpace | None:
        r"""Chain bound for block row l of ``H_f`` (or ``H_L``); None when a small rank is not certified.

        The bound is :math:`\sum_i \dim X_i (\dim Y_i - \dim Y_{i-1})`; when it is below the
        layer's parameter count, ``E_l`` holds the contractions of pivot rows of each ``X_i``
        with the new pivot columns of ``Y_i`` (mod p)."""
        qq, gf, p = self.qq, self.gf, self.p
        n_params = qq.layers[l - 1].n_params
        chain = self.chain(l, with_o)
        dim, prev_y = 0, 0
        for (xk, xf, xfac), (yk, yf, yfac) in chain:
            dx, dy = self.rank(xk, xf, xfac), self.rank(yk, yf, yfac)
            if dx is None or dy is None or dy < prev_y:  # uncertified, or not a chain: no bound
                return None
            dim += dx * (dy - prev_y)
            prev_y = dy
            if dim >= n_params:
                return BlockRowSpace(Bound(dim, UPPER, "structure", "chain of tensor subspaces"), None, "chain")
        cols = []
        ybasis = np.zeros((gf.dim(l - 1), 0), dtype=np.int64)
        for (xk, xf, _), (yk, yf, _) in chain:
            Xp, Yp = xf(gf), yf(gf)
            xr = Xp[pivot_rows(Xp, p)]
            both = np.concatenate([ybasis, Yp], axis=1)
            piv = pivot_cols(both, p)
            new = [c for c in piv if c >= ybasis.shape[1]]
            ybasis = both[:, piv]
            if xr.shape[0] and new:
                cols.append(np.ascontiguousarray(gf.contract(l, xr, both[:, new]).T))
        E = np.concatenate(cols, axis=1) if cols else np.zeros((n_params, 0), dtype=np.int64)
        return BlockRowSpace(Bound(dim, UPPER, "structure", "chain of tensor subspaces"), E, "chain")

    def jacobian_bound(self) -> Bound | None:
        """Certified bound on ``rank (C J)`` from the chain over layers (None if a small rank is
        uncertified); ``C`` is the output factor (:meth:`use_output_factor`), if any."""
        qq = self.qq
        dim, prev = 0, 0
        R = ("R", lambda e: e.R)
        for l in range(1, qq.L1 + 1):
            dx = self.rank(f"R{l}", lambda e: e.forward_R[l - 1], self._ops(range(1, l)) + [R])
            dy = self.rank(f"B{l}", lambda e: self.back(e, l), self._ops(range(l + 1, qq.L1 + 1)))
            if dx is None or dy is None or dy < prev:
                return None
            dim += dx * (dy - prev)
            prev = dy
        what = "rank J" if self.output_factor is None else "rank (C J), ker C = ker of the loss Hessian,"
        return Bound(dim, UPPER, "structure", f"rank H_o = {what} <= layer chain bound")
