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
from ..certify.certificate import Theorem
from ..certify.core import BlockRowSpace
from ..core.domains import GF, QQ
from ..core.modular import pivot_cols, pivot_rows

__all__ = ["StructureHints"]


class StructureHints:
    """Structural hints for the Hessians of one problem: named matrices and their certified ranks.

    Args:
        source: the matrix source (:class:`~exacthess.hessian.source.ProblemSource`).
        p: the prime of the hints.
        small: certified ranks of small named matrices (:class:`~exacthess.certify.small.SmallRanks`).
    """

    def __init__(self, source, p: int, small: SmallRanks):
        self.source, self.small, self.p = source, small, p
        self.qq, self.gf = source.engine(QQ), source.engine(GF(p))
        self.output_factor = None
        self._of_parts = ()

    def use_output_factor(self, C) -> bool:
        """Bound ``H_o``'s rows through ``C T_{>l}`` (``C`` rational, ``K' x K``, the same for every
        sample, ``ker C = ker A_i``), valid when every output gradient lies in ``row(C)`` (checked
        exactly: certified ``rank [C; G^T] = rank C``); then also ``row(P_ml) <= row(C T_{>l})``
        and the H_L chain keeps its order. Returns whether ``C`` is used."""
        c, cg = self.small.get("C"), self.small.get("C+G")
        if c is not None and cg is not None and c.value == cg.value:
            self.output_factor = np.asarray(C, dtype=object)
            self._of_parts = (c, cg)
        return self.output_factor is not None

    def _b(self, l: int) -> str:
        return f"{'CB' if self.output_factor is not None else 'B'}{l}"

    def chain(self, l: int, with_o: bool) -> list:
        """The chain ``[(X, Y), ...]`` of names for block row l (:mod:`exacthess.hessian.source`)."""
        L1 = self.qq.L1
        out = []
        for m in range(l + 1, L1 + 1):
            out.append((f"M{l},{m}[:,:n{l}]", f"P{l},{m}"))
        if with_o:
            out.append((self._b(l), f"S{l}"))
        # A direction of an earlier layer m has a zero constant row, so the lower part only meets
        # M_{ml} on layer m's own coordinates: col(M_{ml}[:, :n_m]). That space no longer contains
        # the constant coordinate the upper part reaches, so it is used only when there is no upper
        # part (the output layer of H_f); otherwise the whole col(M_{ml}) keeps the chain nested.
        lower_only = not out
        for m in range(1, l):
            out.append((f"P{m},{l}[:,:n{l}]", f"M{m},{l}" + ("[:,:n]" if lower_only else "")))
        return out

    def _theorem(self, name: str, pairs, args: dict, how: str) -> Theorem | None:
        certs = []
        for x, y in pairs:
            cx, cy = self.small.get(x), self.small.get(y)
            if cx is None or cy is None:
                return None
            certs += [cx, cy]
        args = dict(args, output_factor=self.output_factor is not None)
        return Theorem(name=name, args=args, parts=tuple(certs) + self._of_parts, how=how)

    def chain_space(self, l: int, with_o: bool) -> BlockRowSpace | None:
        r"""Chain bound for block row l of ``H_f`` (or ``H_L``); None when a small rank is not certified.

        The bound is :math:`\sum_i \dim X_i (\dim Y_i - \dim Y_{i-1})`; when it is below the
        layer's parameter count, ``E_l`` holds the contractions of pivot rows of each ``X_i``
        with the new pivot columns of ``Y_i`` (mod p)."""
        gf, p, src = self.gf, self.p, self.source
        n_params = self.qq.layers[l - 1].n_params
        chain = self.chain(l, with_o)
        node = self._theorem("chain", chain, {"layer": l, "with_o": with_o}, "layer chain theorem")
        if node is None:
            return None
        dim, prev_y = 0, 0
        for x, y in chain:
            dx, dy = self.small.value(x), self.small.value(y)
            if dy < prev_y:  # not a chain: no bound
                return None
            dim += dx * (dy - prev_y)
            prev_y = dy
        bound = Bound(dim, UPPER, "structure", "chain of tensor subspaces", certificate=node)
        if dim >= n_params:
            return BlockRowSpace(bound, None, "chain")
        cols = []
        ybasis = np.zeros((gf.dim(l - 1), 0), dtype=np.int64)
        for x, y in chain:
            Xp, Yp = src.mod(x, p), src.mod(y, p)
            xr = Xp[pivot_rows(Xp, p)]
            both = np.concatenate([ybasis, Yp], axis=1)
            piv = pivot_cols(both, p)
            new = [c for c in piv if c >= ybasis.shape[1]]
            ybasis = both[:, piv]
            if xr.shape[0] and new:
                cols.append(np.ascontiguousarray(gf.contract(l, xr, both[:, new]).T))
        E = np.concatenate(cols, axis=1) if cols else np.zeros((n_params, 0), dtype=np.int64)
        return BlockRowSpace(bound, E, "chain")

    def jacobian_bound(self) -> Bound | None:
        """Certified bound on ``rank (C J)`` from the chain over layers (None if a small rank is
        uncertified); ``C`` is the output factor (:meth:`use_output_factor`), if any."""
        L1 = self.qq.L1
        pairs = [(f"R{l}", self._b(l)) for l in range(1, L1 + 1)]
        node = self._theorem("jacobian_chain", pairs, {}, "layer chain of J")
        if node is None:
            return None
        dim, prev = 0, 0
        for x, y in pairs:
            dx, dy = self.small.value(x), self.small.value(y)
            if dy < prev:
                return None
            dim += dx * (dy - prev)
            prev = dy
        what = "rank J" if self.output_factor is None else "rank (C J), ker C = ker of the loss Hessian,"
        return Bound(dim, UPPER, "structure", f"rank H_o = {what} <= layer chain bound", certificate=node)
