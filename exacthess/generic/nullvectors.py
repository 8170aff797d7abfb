r"""Explicit null vectors of the Hessians of linear networks, identically in the parameters and data.

Notation: layer ``l`` has the (augmented, with biases) operator :math:`\tilde T_l`, linear part
:math:`T_l`; :math:`B_l = T_{L+1}\cdots T_{l+1}` (``K x n_l``, linear parts: a bias never
multiplies a later direction), :math:`\tilde C_l = \tilde T_{l-1}\cdots\tilde T_1`,
:math:`\tilde\mu = B_0` with biases, :math:`\tilde\Omega` the residual moment. A direction of a
*dense* layer ``l`` (every FCN layer, a CNN's last) is a matrix ``D`` (``n_l x (n_{l-1}+b)``,
weights then bias), and :math:`D\tilde\mu[D] = B_l D \tilde C_l`.

**Symmetries** (:math:`H_o` only). For a hidden layer with ``m`` channels, :math:`G\in GL(m)`
acting on its output channels and :math:`G^{-1}` on the next layer's input channels leaves
:math:`\tilde\mu` unchanged (a convolution is linear in its channels, so this holds for CNNs
too); the tangent vectors for :math:`G = I + tE_{ab}` satisfy :math:`D\tilde\mu[v] \equiv 0`.
With biases, :math:`h_l \mapsto h_l + c` compensated by the next bias is another symmetry when
the next layer reads no padding. These are not null vectors of :math:`H_f` or :math:`H_L` at
generic (non-critical) points: differentiating :math:`\nabla\ell\cdot v \equiv 0` gives
:math:`H_L v = -(Dv)^\top\nabla\ell \ne 0`.

**Rank-one directions** :math:`D = u a^\top` of a dense layer ``l``. Then
:math:`D\tilde\mu[D] = (B_l u)(a^\top\tilde C_l)`, and the part of
:math:`\langle\tilde\Omega, D^2\tilde\mu[E, D]\rangle` coming from a direction ``E`` of layer ``m`` is

* ``m > l``: :math:`(a^\top \tilde C_l\tilde\Omega^\top B_m)\,E\,(T_{m-1}\cdots T_{l+1}u)`,
* ``m < l``: :math:`(a^\top \tilde T_{l-1}\cdots\tilde T_{m+1}|_{n_m})\,E\,(\tilde C_m\tilde\Omega^\top B_l u)`,

so ``D`` is a null vector of :math:`H_f` when, for every ``m``, one of the two factors vanishes.
The conditions on ``u`` weaken as ``m`` moves away from ``l`` and those on ``a`` strengthen, so
every choice is a *split* ``(m*, m'')``: ``u`` kills the ``m >= m*`` terms and ``a`` the
``l < m < m*`` ones, ``a`` the ``m < m''`` terms and ``u`` the ``m'' <= m < l`` ones. Each side
reduces to the kernel of ONE product (the others contain it):

====================  =========================================  ====================================
space                 kernel of                                   used when
====================  =========================================  ====================================
``Uw(l, m*)``         :math:`T_{m^*-1}\cdots T_{l+1}`             ``m* <= L+1``; ``m* = L+2``: :math:`B_l`
``UO(l, m'')``        :math:`\tilde C_{m''}\tilde\Omega^\top B_l`  ``m* = L+2``, ``m'' < l``
``Aw(l, m'')``        :math:`(\tilde T_{l-1}\cdots\tilde T_{m''})^\top` ``m'' >= 2``
``Aw+(l, m'')``       the same on the weight part, bias entry free ``m'' >= 2``, biases, ``l = L+1``
``AO(l, m*)``         :math:`B_{m^*-1}^\top\tilde\Omega\tilde C_l^\top`  ``m'' = 1``, ``m* >= l+2``
``AX(l)``             :math:`\tilde X\tilde C_l^\top`                 (for :math:`H_o`)
====================  =========================================  ====================================

:math:`H_o` null vectors: :math:`u \in \ker B_l` or :math:`a \in \mathrm{AX}(l)`. :math:`H_L`
null vectors: both conditions, which again reduce to single products (``Uw`` and :math:`\ker B_l`
lie in every ``u``-space that applies; ``Aw`` lies in ``AX`` and ``AO``). **Dead taps** (a
convolution tap that reads only zero padding) are null vectors of everything. **Block-column
cofactors**: when the other layers have few parameters (a CNN's last layer against its
convolutions), the cofactor vectors of the block column :math:`H_f[:, l]` itself are null vectors
of :math:`H_f` by Laplace's identity (its diagonal block is zero: ``g`` is multilinear in the
layers, which is checked on the polynomial). **Compensations** (:math:`H_o`): a direction of an
early layer undone by the dense last layer (:mod:`~exacthess.generic.compensation`).

Every vector kept by :func:`select` is then proven in the polynomial ring: symmetries,
translations and dead taps by expanding :math:`D\tilde\mu[v]` or :math:`H_f v`
(:meth:`~exacthess.generic.network.SymbolicNetwork.check_o`,
:meth:`~exacthess.generic.network.SymbolicNetwork.check_f`); rank-one vectors by the factored
proof of :mod:`~exacthess.generic.lemma` (their cofactor entries can have :math:`10^5` terms, so
``H v`` is never expanded); the derivation above only says where to look.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..core.domains import GF
from ..core.modular import pivot_rows
from .candidate import Candidate
from .lemma import Lemma
from .spaces import AllSpace, KernelSpace, Space

__all__ = ["Candidate", "Catalogue", "select", "BLOCK_ROWS"]

#: largest number of rows (other layers' parameters) of a block column whose cofactor kernel is tried
BLOCK_ROWS = 24


def _prod(name: str, hi: int, lo: int) -> str:
    """``T3..T2``-style label of a product (``I`` when empty)."""
    if hi < lo:
        return "I"
    return f"{name}{hi}" if hi == lo else f"{name}{hi}..{name}{lo}"


class Catalogue:
    """The candidate families of one network at one point (see the module docstring)."""

    def __init__(self, net, pt):
        self.net, self.pt, self.p = net, pt, pt.p
        self.spaces: dict = {}
        self._num: dict = {}
        self.lemma = Lemma(net, self.factor)

    # ---- factors: key -> (symbolic, numeric mod p) -------------------------------------
    def factor(self, key: tuple):
        if key in self._num:
            return self._num[key]
        net, kind = self.net, key[0]
        if kind in ("lin", "linT", "op", "opT"):
            M = net.lin(key[1]) if kind.startswith("lin") else net.op(key[1])
            sym = np.ascontiguousarray(M.T) if kind.endswith("T") else M
        elif kind in ("pad", "proj"):
            n = key[1]
            sym = np.empty((n + 1, n), dtype=object)
            sym.fill(net.ring.zero)
            for i in range(n):
                sym[i, i] = net.ring.one
            sym = sym if kind == "pad" else np.ascontiguousarray(sym.T)
        else:
            base = {"w": "omega_vars", "wT": "omega_vars", "Xt": "X_tilde", "XtT": "X_tilde",
                    "Z": "Z_vars", "ZT": "Z_vars"}[kind]
            M = getattr(net, base)
            sym = np.ascontiguousarray(M.T) if kind.endswith("T") else M
        self._num[key] = (sym, net.evaluate(sym, self.pt))
        return self._num[key]

    def _n(self, key, sym):
        if key not in self._num:
            self._num[key] = (sym, self.net.evaluate(sym, self.pt))
        return self._num[key][1]

    # ---- spaces -----------------------------------------------------------------------
    def space(self, key: tuple) -> Space:
        if key in self.spaces:
            return self.spaces[key]
        net, p, one, lem = self.net, self.p, self.net.ring.one, self.lemma
        kind, l = key[0], key[1]
        L1 = net.L1
        n_u, n_a = net.size(l), net.size(l - 1) + net.aug
        if kind in ("all_u", "all_a"):
            sp = AllSpace("all", n_u if kind == "all_u" else n_a, one, p)
        elif kind == "Uw":
            ms = key[2]
            keys = [("lin", k) for k in range(l + 1, min(ms, L1 + 1))]
            label = f"ker {_prod('T', ms - 1, l + 1)}" if ms <= L1 else f"ker B{l}"
            sp = KernelSpace(label, keys, self.factor, n_u, p, one)
        elif kind == "UO":
            md = key[2]
            keys = lem.B(l) + lem.omT() + [("op", k) for k in range(1, md)]
            sp = KernelSpace(f"ker C{md} Omega^T B{l}", keys, self.factor, n_u, p, one)
        elif kind == "Aw":
            md = key[2]
            sp = KernelSpace(f"leftker {_prod('T', l - 1, md)}", [("opT", k) for k in range(l - 1, md - 1, -1)],
                             self.factor, n_a, p, one)
        elif kind == "Aw+":
            md = key[2]
            keys = lem.proj(net.size(l - 1)) + [("linT", k) for k in range(l - 1, md - 1, -1)]
            sp = KernelSpace(f"leftker {_prod('T', l - 1, md)} on weights (bias free)", keys, self.factor, n_a, p,
                             one)
        elif kind == "AX":
            keys = lem.Ct(l) + ([("Xt",)] if net.regime == "samples" else [])
            sp = KernelSpace(f"leftker C{l} X^T", keys, self.factor, n_a, p, one)
        elif kind == "AO":
            ms = key[2]
            keys = lem.Ct(l) + lem.om() + [("linT", k) for k in range(L1, ms - 1, -1)]
            sp = KernelSpace(f"ker B{ms - 1}^T Omega C{l}^T", keys, self.factor, n_a, p, one)
        else:  # pragma: no cover - internal keys only
            raise KeyError(key)
        self.spaces[key] = sp
        return sp

    # ---- families ---------------------------------------------------------------------
    def f_pairs(self, l: int) -> list:
        """``(u-space key, a-space key)`` pairs of rank-one :math:`H_f` null vectors of layer l."""
        L1, aug = self.net.L1, self.net.aug
        out = []
        for ms in range(l + 1, L1 + 2):
            for md in range(1, l + 1):
                if ms <= L1:
                    if ms == l + 1:
                        continue  # u would have to vanish
                    u = ("Uw", l, ms)
                else:
                    u = ("UO", l, md) if md <= l - 1 else ("all_u", l)
                if md >= 2:
                    a = ("Aw+", l, md) if (aug and ms == l + 1) else ("Aw", l, md)
                else:
                    a = ("AO", l, ms) if ms >= l + 2 else ("all_a", l)
                out.append((u, a))
        return out

    def l_pairs(self, l: int) -> list:
        """Pairs for :math:`H_L`: an :math:`H_f` pair with the :math:`H_o` condition on one side."""
        L1 = self.net.L1
        out = []
        for u, a in self.f_pairs(l):
            uB = u if u[0] == "Uw" else ("Uw", l, L1 + 1)
            aX = ("Aw", l, a[2]) if a[0] in ("Aw", "Aw+") else ("AX", l)
            for pair in ((uB, a), (u, aX)):
                if pair not in out:
                    out.append(pair)
        return out

    def o_pairs(self, l: int) -> list:
        return [(("Uw", l, self.net.L1 + 1), ("all_a", l)), (("all_u", l), ("AX", l))]

    def rank_one(self, l: int, pairs: list) -> Iterator[Candidate]:
        net = self.net
        layer = net.layers[l - 1]
        idx = np.array([[net.param_index(l, o, t) for t in range(layer.n_taps)] for o in range(layer.c_out)])
        for ukey, akey in pairs:
            U, A = self.space(ukey), self.space(akey)
            for i in range(U.count):
                for j in range(A.count):
                    v = np.zeros(net.P, dtype=np.int64)
                    v[idx] = np.outer(U.numeric(i), A.numeric(j)) % self.p

                    def build(U=U, A=A, i=i, j=j):
                        u, a = U.symbolic(i), A.symbolic(j)
                        return {int(idx[o, t]): u[o] * a[t] for o in range(len(u)) for t in range(len(a))
                                if not (u[o].is_zero() or a[t].is_zero())}
                    yield Candidate(("r1", l, ukey, i, akey, j), f"rank-one {U.label} x {A.label}", l, v, build,
                                    (U, A))

    def symmetries(self) -> Iterator[Candidate]:
        net = self.net
        for l in range(1, net.L1):
            w, w2 = net.taps(l), net.taps(l + 1)
            wn, w2n = self._n(("taps", l), w), self._n(("taps", l + 1), w2)
            nxt = net.layers[l]
            per = nxt.kernel[0] * nxt.kernel[1]
            m = net.layers[l - 1].c_out
            for a in range(m):
                for b in range(m):
                    entries = [(net.param_index(l, a, t), w[b, t], wn[b, t]) for t in range(w.shape[1])]
                    entries += [(net.param_index(l + 1, o, b * per + s), -w2[o, a * per + s], -w2n[o, a * per + s])
                                for o in range(w2.shape[0]) for s in range(per)]
                    yield self._vector(("sym", l, a, b), f"GL({m}) symmetry of layer {l}", l, entries)
            if net.aug:
                for a in range(m):
                    entries = [(net.param_index(l, a, w.shape[1] - 1), net.ring.one, 1)]
                    for o in range(w2.shape[0]):
                        s = net.ring.zero
                        sn = 0
                        for t in range(a * per, (a + 1) * per):
                            s, sn = s - w2[o, t], sn - int(w2n[o, t])
                        entries.append((net.param_index(l + 1, o, w2.shape[1] - 1), s, sn))
                    yield self._vector(("trans", l, a), f"translation of layer {l}", l, entries)

    def dead(self) -> Iterator[Candidate]:
        net = self.net
        for l, layer in enumerate(net.layers, start=1):
            dead_taps = np.flatnonzero((layer.sources == layer.n_in + 1).all(axis=1))
            for t in dead_taps:
                for o in range(layer.c_out):
                    j = net.param_index(l, o, int(t))
                    yield self._vector(("dead", j), "tap reading only padding", l, [(j, net.ring.one, 1)])

    def _vector(self, key, family, layer, entries) -> Candidate:
        v = np.zeros(self.net.P, dtype=np.int64)
        for j, _, num in entries:
            v[j] = (int(v[j]) + int(num)) % self.p
        sym = list(entries)

        def build():
            out: dict = {}
            for j, s, _ in sym:
                out[j] = out[j] + s if j in out else s
            return out
        return Candidate(key, family, layer, v, build)

    def candidates(self, quantity: str, layer: int | None = None) -> Iterator[Candidate]:
        """Candidates for ``"H_o"``, ``"H_f"`` or ``"H_L"`` (optionally one layer only)."""
        net = self.net
        layers = [layer] if layer is not None else list(range(1, net.L1 + 1))
        yield from (c for c in self.dead() if c.layer in layers)
        if quantity == "H_o":
            if layer is None:
                yield from self.symmetries()
        for l in layers:
            if not net.is_dense(l):
                continue
            pairs = {"H_o": self.o_pairs, "H_f": self.f_pairs, "H_L": self.l_pairs}[quantity](l)
            yield from self.rank_one(l, pairs)
        if quantity == "H_f":
            for l in layers:
                yield from self.block_kernel(l)
        if quantity == "H_o" and layer is None:
            from .compensation import compensations
            yield from compensations(self)

    def block_kernel(self, l: int) -> Iterator[Candidate]:
        r"""Cofactor vectors of the block column :math:`H_f[:, l]` itself (rows: the other layers'
        parameters), when those are at most :data:`BLOCK_ROWS`: with full row rank,
        :math:`H_f[:, l]\, v \equiv 0` is Laplace's identity (the diagonal block is zero)."""
        net = self.net
        start, width = net.offsets[l - 1], net.layers[l - 1].n_params
        rows = [k for k in range(net.P) if not start <= k < start + width]
        if not rows or len(rows) > BLOCK_ROWS:
            return
        key = ("HB", l)
        if key not in self.spaces:
            sym = net.block_f(rows, range(start, start + width))
            self._num[key] = (sym, net.evaluate(sym, self.pt))
            self.spaces[key] = KernelSpace(f"ker H_f[:,{l}]", [key], self.factor, width, self.p, net.ring.one)
        sp = self.spaces[key]
        if not sp.count or len(sp.R) < sp.num.shape[0]:
            return  # not of full row rank at the point: Laplace alone would not prove it
        for i in range(sp.count):
            v = np.zeros(net.P, dtype=np.int64)
            v[start:start + width] = sp.numeric(i)

            def build(i=i):
                vec = sp.symbolic(i)
                return {start + t: vec[t] for t in range(width) if not vec[t].is_zero()}
            yield Candidate(("HB", l, i), f"cofactor kernel of H_f[:,{l}]", l, v, build, None, sp)


def select(cands: Iterator[Candidate], H: np.ndarray, p: int, target: int, chunk: int = 64) -> tuple[list, int]:
    """Greedily keep candidates that are null vectors of ``H`` modulo p and enlarge the span (in
    order, :func:`~exacthess.core.modular.pivot_rows`), until the span has dimension ``target``.
    Returns ``(kept, rejected_count)``; a rejected candidate is not a null vector at this point
    (e.g. a translation across zero padding)."""
    gf = GF(p)
    kept: list = []
    pending: list = []
    rejected = 0

    def flush():
        nonlocal kept, pending
        if pending:
            both = kept + pending
            rows = pivot_rows(np.array([c.numeric for c in both], dtype=np.int64), p)
            kept = [both[i] for i in rows]  # the kept ones are independent: they stay first
            pending = []

    for c in cands:
        if len(kept) >= target:
            break
        if (gf.matmul(H, c.numeric.reshape(-1, 1)) % p).any():
            rejected += 1
            continue
        pending.append(c)
        if len(pending) >= chunk:
            flush()
    flush()
    return kept[:max(target, 0)], rejected
