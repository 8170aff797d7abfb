r"""Symmetry null vectors of the Hessians of a linear FCN, and the rank deficit they explain.

**Symmetries.** ``W_{l+1} W_l = (W_{l+1} G^{-1})(G W_l)`` for every invertible ``G`` acting on
hidden layer l (width ``m_l``); with biases the affine maps ``h_l -> G h_l + c`` act too
(``b_l -> G b_l + c``, ``b_{l+1} -> b_{l+1} - W_{l+1} G^{-1} c``). Their tangent vectors at
``theta``, for each hidden layer l:

* ``v_E`` for each elementary ``E = e_a e_b^T`` (``m_l^2`` vectors):
  ``W_l -> E W_l``, ``b_l -> E b_l``, ``W_{l+1} -> -W_{l+1} E``, 0 elsewhere;
* with biases, ``u_a`` for each ``a`` (``m_l`` vectors): ``b_l -> e_a``,
  ``b_{l+1} -> -W_{l+1} e_a``.

Statements (``J(x) = dF(x)/dtheta``, ``l = 1/2 sum_i ||F(x_i) - y_i||^2``,
``Dv = dv/dtheta``):

1. ``J(x) v = 0`` identically in ``Q[theta, x]`` for every such ``v``; hence
   ``H_o(theta) v(theta) = sum_i J(x_i)^T J(x_i) v = 0`` at every ``theta`` and for all data
   (also checked on the engine's ``H_o`` over ``Q[theta, X, Y]``).
2. ``grad l . v = 0`` and ``H_L v + (Dv)^T grad l = 0`` identically in ``Q[theta, X, Y]``
   (the loss is constant along the orbit; differentiate once more). Hence at every critical
   point (``grad l = 0``): ``H_L v = 0`` and ``H_f v = H_L v - H_o v = 0``.
3. **Rank deficit.** Let ``d_sym`` be the rank modulo a random 62-bit prime of the matrix of
   all these vectors at a random integer point ``theta_0``: a proven *lower bound* on the
   dimension of their span over ``Q(theta)`` (generic) and at ``theta_0``. By (1),
   ``rank H_o <= p - d_sym`` for generic parameters and every data set (a proven upper bound);
   the rank modulo the same prime of the stacked Jacobian at ``(theta_0, X_0)`` (``n = d + 1``
   random integer samples) is a proven *lower* bound on the generic ``rank H_o``. When the two
   meet, the generic rank is proven (for every ``n >= d + 1``: more samples add positive
   semidefinite terms, and the upper bound holds for all data), and the symmetries account
   for the whole kernel; it is
   compared with Singh et al.'s ``q (r + K - q)`` (``q = min(r, K, m_1..m_L)``, ``r = d``),
   i.e. the formula's deficit ``p - q (r + K - q)`` against ``d_sym`` and ``sum m_l^2``
   (the span has dimension ``sum m_l^2`` exactly when no nonzero ``E`` fixes ``theta``, e.g.
   ``(m_l - min(m_l, m_{l-1})) (m_l - min(m_l, m_{l+1})) = 0`` for one hidden layer). With
   biases it is compared with the registered conjecture ``q (r + K - q) + K``. Where the bounds
   do not meet the interval is reported: the remaining kernel is not from these symmetries.

Route: python-flint polynomials in every weight, bias, input and target entry; ``F`` by an
explicit loop (``proofs/linear_networks.py``); identities as equalities of polynomials; ranks
with FLINT's ``nmod_mat`` via ``exacthess.core.modular``.

Run: ``python proofs/symmetry_null_vectors.py [--thorough]``.
"""

from __future__ import annotations

import itertools
import sys

import numpy as np

from exacthess.core.modular import random_prime, rank_mod_p
from exacthess.models.architectures import FCN
from exacthess.proofs.linear_networks import SymbolicNetwork, short_name
from exacthess.proofs.support import assert_zero, covered, poly_matmul, poly_zeros, thorough

__all__ = ["STATEMENT", "SIZES", "THOROUGH_SIZES", "null_vectors", "rank_bounds",
           "test_jacobian_null_vectors", "test_critical_point_null_vectors", "test_rank_deficit"]

STATEMENT = ("symmetry null vectors of a linear FCN: J v = 0 identically (so H_o v = 0 at every theta), "
             "H_L v = 0 at every critical point, and the rank deficit they prove (rank mod p at a point)")

#: statements 1 and 2 (symbolic data: n samples)
IDENTITY_CASES = [(FCN(2, (2,), 2), 2), (FCN(2, (3,), 2, bias=True), 2), (FCN(2, (2, 2), 1), 2),
                  (FCN(3, (2, 1), 2, bias=True), 2)]
IDENTITY_MORE = [(FCN(3, (3, 2), 2), 3), (FCN(2, (2, 2, 2), 2, bias=True), 2)]
#: statement 3: (architecture, whether the bounds are expected to meet)
RANK_CASES = [
    (FCN(2, (2,), 2), True), (FCN(2, (3,), 2), True), (FCN(3, (2,), 3), True), (FCN(2, (3,), 3), True),
    (FCN(4, (3,), 2), False), (FCN(3, (2, 2), 3), True), (FCN(3, (4, 2), 2), True), (FCN(2, (3, 3), 2), True),
    (FCN(5, (3,), 5), True), (FCN(2, (2,), 2, bias=True), True), (FCN(3, (2, 2), 3, bias=True), True),
]
RANK_MORE = [(FCN(25, (5, 10), 10), True), (FCN(4, (3, 3, 3), 4), True), (FCN(4, (2, 3), 3, bias=True), True),
             (FCN(6, (4, 2), 5), False)]

SIZES = ("identities: " + "; ".join(f"{short_name(a)} n={n}" for a, n in IDENTITY_CASES)
         + ". rank deficit: " + "; ".join(short_name(a) for a, _ in RANK_CASES))
THOROUGH_SIZES = ("also identities: " + "; ".join(f"{short_name(a)} n={n}" for a, n in IDENTITY_MORE)
                  + "; rank deficit: " + "; ".join(short_name(a) for a, _ in RANK_MORE)
                  + " (the notebook's 25-(5,10)-10)")


def null_vectors(net) -> list:
    """The tangent vectors ``(label, v)`` of the symmetries (polynomial vectors of length p)."""
    arch = net.arch
    sizes = (arch.input_dim,) + tuple(arch.widths) + (arch.output_dim,)
    out = []
    for l in range(1, len(sizes) - 1):
        m = sizes[l]
        W_l, b_l = net.layer_params(l)
        W_next, _ = net.layer_params(l + 1)
        W_l, W_next = W_l.reshape(m, sizes[l - 1]), W_next.reshape(sizes[l + 1], m)
        for a, b in itertools.product(range(m), range(m)):
            v = poly_zeros(net.ctx, (net.p,))
            dW = poly_zeros(net.ctx, W_l.shape)
            dW[a, :] = W_l[b, :]  # E W_l: row a of the result is row b of W_l
            v[_weight_slice(net, l)] = dW.ravel()
            if b_l is not None:
                v[_bias_slice(net, l).start + a] = b_l[b]
            dV = poly_zeros(net.ctx, W_next.shape)
            dV[:, b] = -W_next[:, a]  # -W_{l+1} E: column b of the result is -column a
            v[_weight_slice(net, l + 1)] = dV.ravel()
            out.append((f"E_{a}{b} on layer {l}", v))
        if b_l is not None:
            for a in range(m):
                v = poly_zeros(net.ctx, (net.p,))
                v[_bias_slice(net, l).start + a] = net.one
                v[_bias_slice(net, l + 1)] = -W_next[:, a]
                out.append((f"translation {a} on layer {l}", v))
    return out


def _weight_slice(net, l: int) -> slice:
    s = net.layer_slice(l)
    layer = net.arch.layers[l - 1]
    return slice(s.start, s.start + layer.c_out * layer.c_in)


def _bias_slice(net, l: int) -> slice:
    s = net.layer_slice(l)
    return slice(s.stop - net.arch.layers[l - 1].c_out, s.stop)


def directional(net, f, v) -> object:
    """``grad f . v`` (only the nonzero entries of v contribute)."""
    total = net.zero
    for k, vk in enumerate(v):
        if not vk.is_zero():
            total = total + vk * net.derivative(f, k)
    return total


def jacobian_of_v(net, v) -> np.ndarray:
    """``Dv`` with ``Dv[k, j] = d v_k / d theta_j`` (constants for these vectors)."""
    D = np.empty((net.p, net.p), dtype=object)
    for k in range(net.p):
        for j in range(net.p):
            D[k, j] = net.derivative(v[k], j)
    return D


def test_jacobian_null_vectors():
    """J(x) v = 0 identically in Q[theta, x] for every GL (and, with biases, translation) tangent vector v, so H_o v = 0 at every theta; the engine's H_o too"""
    for arch, n in IDENTITY_CASES + (IDENTITY_MORE if thorough() else []):
        net = SymbolicNetwork(arch, n)
        vecs = null_vectors(net)
        H_o = net.engine().full("H_o")
        for label, v in vecs:
            for i in range(n):
                for c in range(net.K):
                    d = directional(net, net.outputs[i, c], v)
                    assert d.is_zero(), f"{short_name(arch)}: J(x_{i}) v[{label}] row {c} is {d}, not 0"
            assert_zero(poly_matmul(net.ctx, H_o, v.reshape(-1, 1)), f"engine H_o v[{label}], {short_name(arch)}")
        covered(f"{short_name(arch)} n={n} (p={net.p}, {len(vecs)} vectors)")


def test_critical_point_null_vectors():
    """grad l . v = 0 and H_L v + (Dv)^T grad l = 0 identically in Q[theta, X, Y]; so H_L v = H_f v = 0 wherever grad l = 0 (engine's H_L too)"""
    for arch, n in IDENTITY_CASES + (IDENTITY_MORE if thorough() else []):
        net = SymbolicNetwork(arch, n)
        g = net.gradient
        H_L_engine = net.engine().full("H_L")
        for label, v in null_vectors(net):
            gv = directional(net, net.loss, v)
            assert gv.is_zero(), f"{short_name(arch)}: grad l . v[{label}] is {gv}, not 0"
            Dv_t = np.ascontiguousarray(jacobian_of_v(net, v).T)
            correction = poly_matmul(net.ctx, Dv_t, g.reshape(-1, 1))
            for H, who in ((net.H_L, "symbolic"), (H_L_engine, "engine")):
                assert_zero(poly_matmul(net.ctx, H, v.reshape(-1, 1)) + correction,
                            f"{who} H_L v + Dv^T grad l, v[{label}], {short_name(arch)}")
        covered(f"{short_name(arch)} n={n} (p={net.p})")


def evaluate(poly_array, values):
    """Integer values of polynomials at a point (all variables of the ring assigned)."""
    out = np.empty(np.shape(poly_array), dtype=object)
    for idx, p in np.ndenumerate(np.asarray(poly_array, dtype=object)):
        val = p(*values)
        assert val.q == 1, "expected an integer value"
        out[idx] = int(val.p)
    return out


def rank_bounds(arch, seed: int = 0) -> dict:
    """Prove J v = 0 for ``arch`` (one symbolic sample) and bound the generic rank of H_o."""
    net = SymbolicNetwork(arch, 1)
    vecs = null_vectors(net)
    for label, v in vecs:
        for c in range(net.K):
            d = directional(net, net.outputs[0, c], v)
            assert d.is_zero(), f"{short_name(arch)}: J(x) v[{label}] row {c} is {d}, not 0"
    rng = np.random.default_rng([seed, arch.n_params])
    prime = random_prime(rng)
    d = arch.input_dim
    theta0 = [int(t) for t in rng.integers(-999, 1000, size=net.p)]
    n = d + 1  # r = rank X = d, and the augmented data have full rank d + 1 with biases
    X0 = rng.integers(-999, 1000, size=(n, d))
    ctx_names = net.ctx.names()
    index = {name: i for i, name in enumerate(ctx_names)}

    def point(x):
        vals = [0] * len(ctx_names)
        for t, val in zip(net.theta, theta0):
            vals[index[str(t)]] = val
        for j in range(d):
            vals[index[str(net.X[0, j])]] = int(x[j])
        return vals
    V = evaluate(np.stack([v for _, v in vecs], axis=1), point(X0[0]))
    d_sym = rank_mod_p(np.array([[int(e) % prime for e in row] for row in V], dtype=np.int64), prime)
    J = net.jacobians[0]
    stack = np.concatenate([evaluate(J, point(X0[i])) for i in range(n)], axis=0)
    lower = rank_mod_p(np.array([[int(e) % prime for e in row] for row in stack], dtype=np.int64), prime)
    widths = tuple(arch.widths)
    q = min((d, arch.output_dim) + widths)
    formula = q * (d + arch.output_dim - q) + (arch.output_dim if arch.bias else 0)
    return dict(p=net.p, vectors=len(vecs), d_sym=d_sym, upper=net.p - d_sym, lower=lower,
                sum_m2=sum(m * m for m in widths), formula=formula, prime=prime)


def test_rank_deficit():
    """d_sym = rank mod p of the symmetry vectors at a random point bounds their span from below; rank_p J <= generic rank H_o <= p - d_sym, compared with q(r + K - q)"""
    for arch, tight in RANK_CASES + (RANK_MORE if thorough() else []):
        b = rank_bounds(arch)
        assert b["lower"] <= b["upper"], f"{short_name(arch)}: rank bounds cross ({b})"
        name = "[q(r+K-q)+K] (bias conjecture)" if arch.bias else "q(r+K-q)"
        text = (f"{short_name(arch)}: p={b['p']}, {b['vectors']} vectors span >= {b['d_sym']} "
                f"(sum m_l^2 = {b['sum_m2']}), formula deficit p - {name} = {b['p'] - b['formula']}; ")
        if b["lower"] == b["upper"]:
            text += f"generic rank H_o = {b['lower']} proven" + (
                f" = {name}" if b["lower"] == b["formula"] else f", NOT {name} = {b['formula']}")
            assert b["lower"] == b["formula"], f"{short_name(arch)}: proven generic rank differs from {name}: {b}"
        else:
            text += (f"{b['lower']} <= generic rank H_o <= {b['upper']} ({name} = {b['formula']}); "
                     "the symmetries do not explain the whole kernel")
        assert (b["lower"] == b["upper"]) == tight, f"{short_name(arch)}: expected the bounds to {'' if tight else 'not '}meet: {b}"
        covered(text)


if __name__ == "__main__":
    from exacthess.cli.prove import script_main
    sys.exit(script_main(sys.modules[__name__]))
