r"""Null vectors of :math:`H_o` that compensate a direction of an early layer with the last layer.

When the last layer is dense (every FCN, a CNN's fully-connected output layer), its part of the
Jacobian is :math:`D \mapsto D\,\tilde C` with :math:`\tilde C = \tilde C_{L+1}` (times
:math:`\tilde X^\top` with few samples). Put :math:`A = \tilde C` (moments) or
:math:`A = \tilde C\tilde X^\top` (samples), :math:`G = A^\top A` and :math:`s = \det G`. For a
parameter ``j`` of an earlier layer, with :math:`M_j = D\tilde\mu[e_j]` (times
:math:`\tilde X^\top`),

.. math:: v_j = s\, e_j \;\oplus\; D_j, \qquad D_j = -M_j\,\mathrm{adj}(G)\,A^\top
          \quad\text{(the last layer's part)},

satisfies :math:`D\tilde\mu[v_j]\,(\tilde X^\top) = s M_j + D_j A = s M_j - M_j\,\mathrm{adj}(G)\,G = 0`
by Cramer's rule :math:`\mathrm{adj}(G)\,G = \det(G)\,I` (Laplace's expansion), identically in
the parameters and data. So every direction of the earlier layers is compensated by the last
layer whenever ``A`` has full column rank (``s`` is not the zero polynomial; the vectors are
independent at the point only then).

**Proof used.** The entries of ``adj(G)`` are huge (minors of a Gram matrix), so nothing is
expanded: the only symbolic check is the rank-one lemma of the last layer
(:math:`D\tilde\mu[D] = D\tilde C`, verified with a free ``D`` by
:mod:`~exacthess.generic.lemma`), and linearity of :math:`D\tilde\mu` together with Cramer's rule
does the rest. The values at the point are computed from the evaluated matrices (``det`` and
``adj`` modulo p), which are the evaluations of the polynomial vectors.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from ..core.domains import GF
from ..core.modular import adjugate_mod_p, det_mod_p
from ..models.toeplitz import parameter_map
from .candidate import Candidate
from .polymat import det, poly_matmul

__all__ = ["compensations"]


def compensations(cat) -> Iterator:
    """Candidates ``v_j`` (module docstring) for every parameter of the layers before the last,
    from a :class:`~exacthess.generic.nullvectors.Catalogue`."""
    net, p = cat.net, cat.p
    L1 = net.L1
    if L1 < 2 or not net.is_dense(L1):
        return
    gf = GF(p)
    ops = [cat.factor(("op", l))[1] for l in range(1, L1 + 1)]
    n0 = net.n0 + net.aug
    right = [np.eye(n0, dtype=np.int64)]
    for l in range(1, L1):
        right.append(gf.matmul(ops[l - 1], right[-1]))
    left = [None] * (L1 + 1)
    cur = np.eye(net.K + net.aug, dtype=np.int64)[: net.K]
    for l in range(L1, 0, -1):
        left[l] = cur
        cur = gf.matmul(cur, ops[l - 1])
    Xt = cat.factor(("Xt",))[1] if net.regime == "samples" else None
    A = right[L1 - 1] if Xt is None else gf.matmul(right[L1 - 1], np.ascontiguousarray(Xt.T))
    At = np.ascontiguousarray(A.T)
    G = gf.matmul(At, A)
    s = det_mod_p(G, p)
    if s == 0:
        return  # A is rank-deficient at the point: no independent compensations here
    Q = gf.matmul(adjugate_mod_p(G, p), At)  # adj(G) A^T
    last = net.layers[L1 - 1]
    last_idx = np.array([[net.param_index(L1, o, t) for t in range(last.n_taps)] for o in range(last.c_out)])
    for l in range(1, L1):
        rows, cols, par = parameter_map(net.layers[l - 1])
        lft, rgt = left[l], right[l - 1]
        if Xt is not None:
            rgt = gf.matmul(rgt, np.ascontiguousarray(Xt.T))
        for q in range(net.layers[l - 1].n_params):
            sel = par == q
            M = np.zeros((net.K, rgt.shape[1]), dtype=np.int64)
            for r, c in zip(rows[sel], cols[sel]):
                M = (M + np.outer(lft[:, r], rgt[c])) % p
            D = (-gf.matmul(M, Q)) % p
            v = np.zeros(net.P, dtype=np.int64)
            v[net.offsets[l - 1] + q] = s
            v[last_idx] = D
            yield Candidate(("comp", l, q), f"compensation by layer {L1}", l, v,
                            lambda l=l, q=q: symbolic_compensation(net, l, q), proof="cramer")


def symbolic_compensation(net, l: int, q: int) -> dict:
    """The polynomial vector ``v_j`` (expanded: for small networks and tests only)."""
    zero, one = net.ring.zero, net.ring.one
    A = net.right[net.L1 - 1]
    j = net.offsets[l - 1] + q
    M = net.directional({j: one})
    if net.regime == "samples":
        Xt_T = np.ascontiguousarray(net.X_tilde.T)
        A = poly_matmul(A, Xt_T, zero)
        M = poly_matmul(M, Xt_T, zero)
    At = np.ascontiguousarray(A.T)
    G = poly_matmul(At, A, zero)
    n = G.shape[0]
    adj = np.empty((n, n), dtype=object)
    for a in range(n):
        for b in range(n):
            minor = det(G[np.ix_([r for r in range(n) if r != b], [c for c in range(n) if c != a])]) if n > 1 else one
            adj[a, b] = minor if (a + b) % 2 == 0 else -minor
    D = poly_matmul(poly_matmul(M, adj, zero), At, zero)
    last = net.layers[net.L1 - 1]
    out = {j: det(G)}
    for o in range(last.c_out):
        for t in range(last.n_taps):
            if not D[o, t].is_zero():
                out[net.param_index(net.L1, o, t)] = -D[o, t]
    return out
