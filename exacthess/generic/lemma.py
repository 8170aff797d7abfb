r"""The rank-one lemma, verified in the polynomial ring with free vectors ``u`` and ``a``.

For a dense layer ``l`` (a full matrix ``[W_l, b_l]``) and a direction :math:`D = u a^\top`
(``u`` in :math:`\mathbb R^{n_l}`, ``a`` in :math:`\mathbb R^{n_{l-1}+b}`), each part of the
Hessian applied to ``D`` factors through two vectors, one linear in ``u`` and one in ``a``:

* ``o``: :math:`D\tilde\mu[D] = (B_l u)(\tilde C_l^\top a)^\top`;
* ``f``, layer ``m > l``: :math:`(H_f D)_k = \sum_{(r,c) \in \mathrm{pos}_m(k)}
  (\tilde T_{m-1}\cdots\tilde T_{l+1}\iota u)_c\,(B_m^\top\tilde\Omega\tilde C_l^\top a)_r`;
* ``f``, layer ``m < l``: :math:`(H_f D)_k = \sum_{(r,c) \in \mathrm{pos}_m(k)}
  (\iota^\top\tilde T_{m+1}^\top\cdots\tilde T_{l-1}^\top a)_r\,(\tilde C_m\tilde\Omega^\top B_l u)_c`,

where :math:`\mathrm{pos}_m(k)` are the operator positions ``(row, col)`` of parameter ``k`` of
layer ``m`` (its Toeplitz positions; one for a dense layer). Each vector is a product of
factors applied to ``u`` or ``a``: a *condition* ``(u-lists, a-lists)``. The identities are
checked here with ``u`` and ``a`` free variables, against the Hessian obtained by
differentiating :math:`g = \langle\tilde\Omega, \tilde\mu\rangle` (``f``) or by Leibniz's rule
for the product of the layers' operators (``o``), not against the lemma's closed forms.

**Consequence** (the factored proof). If the partial product :math:`P_u` that defines a space
of ``u``'s is a prefix (the first factors to act) of a condition's ``u``-list, every ``u`` with
:math:`P_u u = 0` kills that part; likewise for ``a``. So a rank-one vector with
:math:`P_u u \equiv 0` and :math:`P_a a \equiv 0` (the Laplace identity of its cofactor basis)
is a null vector as soon as every condition of the quantity is met by ``u`` or by ``a`` --
without ever expanding the (possibly huge) product :math:`H\,(u a^\top)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.toeplitz import parameter_map
from .polymat import obj_array, poly_matmul

__all__ = ["Condition", "Lemma"]


@dataclass(frozen=True)
class Condition:
    """One part of the Hessian applied to ``u a^T``: zero when a ``u``-list or an ``a``-list
    annihilates its vector. ``part`` is ``"o"`` or ``("f", m)``."""

    layer: int
    part: object
    u_lists: tuple
    a_lists: tuple

    def met_by(self, u_prefix: tuple, a_prefix: tuple) -> bool:
        def pre(prefix, lists):
            return bool(prefix) and any(tuple(lst[: len(prefix)]) == prefix for lst in lists)
        return pre(u_prefix, self.u_lists) or pre(a_prefix, self.a_lists)


class Lemma:
    """Conditions of the rank-one lemma for one network and their verification."""

    def __init__(self, net, resolve):
        self.net, self.resolve = net, resolve
        self.verified: dict = {}

    # ---- factor lists -----------------------------------------------------------------
    def pad(self, n) -> list:
        r"""The factor :math:`\iota = [I; 0]` appending the constant coordinate (with biases)."""
        return [("pad", n)] if self.net.aug else []

    def proj(self, n) -> list:
        r"""The factor :math:`\iota^\top = [I, 0]` dropping the constant coordinate (with biases)."""
        return [("proj", n)] if self.net.aug else []

    def om(self) -> list:
        return [("w",)] if self.net.regime == "moments" else [("Xt",), ("Z",)]

    def omT(self) -> list:
        return [("wT",)] if self.net.regime == "moments" else [("ZT",), ("XtT",)]

    def B(self, l):
        return [("lin", k) for k in range(l + 1, self.net.L1 + 1)]

    def Ct(self, l):
        return [("opT", k) for k in range(l - 1, 0, -1)]

    def conditions(self, l: int, part: str) -> list[Condition]:
        """Conditions of quantity part ``"o"`` (:math:`H_o`) or ``"f"`` (:math:`H_f`) for layer l."""
        net = self.net
        if part == "o":
            a = self.Ct(l) + ([("Xt",)] if net.regime == "samples" else [])
            return [Condition(l, "o", (tuple(self.B(l)),), (tuple(a),))]
        out = []
        for m in range(1, net.L1 + 1):
            if m > l:
                u = [("lin", k) for k in range(l + 1, m)] + self.pad(net.size(m - 1))
                a = self.Ct(l) + self.om() + [("linT", k) for k in range(net.L1, m, -1)]
                out.append(Condition(l, ("f", m), (tuple(u),), (tuple(a),)))
            elif m < l:
                u = self.B(l) + self.omT() + [("op", k) for k in range(1, m)]
                a1 = [("opT", k) for k in range(l - 1, m, -1)] + self.proj(net.size(m))
                a2 = self.proj(net.size(l - 1)) + [("linT", k) for k in range(l - 1, m, -1)]
                out.append(Condition(l, ("f", m), (tuple(u),), (tuple(a1), tuple(a2))))
        return out

    # ---- verification -----------------------------------------------------------------
    def apply(self, keys, vec: np.ndarray) -> np.ndarray:
        zero = self.net.ring.zero
        cur = vec.reshape(-1, 1)
        for key in keys:
            cur = poly_matmul(self.resolve(key)[0], cur, zero)
        return cur.ravel()

    def verify(self, cond: Condition) -> bool:
        """Check the identity of ``cond`` with free ``u`` and ``a`` (cached)."""
        key = (cond.layer, cond.part)
        if key not in self.verified:
            self.verified[key] = self._verify(cond)
        return self.verified[key]

    def _verify(self, cond: Condition) -> bool:
        net, l = self.net, cond.layer
        layer = net.layers[l - 1]
        u = obj_array(net.free_u[: layer.c_out], (layer.c_out,))
        a = obj_array(net.free_a[: layer.n_taps], (layer.n_taps,))
        pairs = [(net.param_index(l, o, t), u[o] * a[t]) for o in range(len(u)) for t in range(len(a))]
        if cond.part == "o":
            lhs = net.directional(dict(pairs))
            Bu = self.apply(cond.u_lists[0], u)
            Ca = self.apply(self.Ct(l), a)
            return all((lhs[i, k] - Bu[i] * Ca[k]).is_zero() for i in range(len(Bu)) for k in range(len(Ca)))
        m = cond.part[1]
        vu = self.apply(cond.u_lists[0], u)
        va = self.apply(cond.a_lists[0], a)
        for alt in cond.a_lists[1:]:
            if any(not (x - y).is_zero() for x, y in zip(self.apply(alt, a), va)):
                return False
        rows, cols, par = parameter_map(net.layers[m - 1])
        rhs: dict = {}
        for r, c, q in zip(rows, cols, par):
            term = vu[c] * va[r] if m > l else va[r] * vu[c]
            rhs[int(q)] = rhs[int(q)] + term if int(q) in rhs else term
        for q in range(net.layers[m - 1].n_params):
            k = net.offsets[m - 1] + q
            lhs = net.ring.zero
            for j, w in pairs:
                h = net.hess_f_entry(k, j)
                if not h.is_zero():
                    lhs = lhs + h * w
            if not (lhs - rhs.get(q, net.ring.zero)).is_zero():
                return False
        return True
