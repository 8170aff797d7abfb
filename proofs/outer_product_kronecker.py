r"""The outer-product Hessian of a linear network in the engine's Kronecker form.

Let ``F~(z) = [I_K 0] T~_{L+1} ... T~_1 z`` (``z = x~ = [x; 1]`` with biases, else ``z = x``),
linear in ``z``, and ``J(z) = dF~(z)/dtheta`` (``K x p``, parameters in exacthess's order).

1. **Gram factorisation.** For every factorisation ``Sigma~ = sum_i x~_i x~_i^T = R G R^T``
   (``R`` of size ``dim(0) x r``),
   ``H_o = sum_i J(x~_i)^T J(x~_i) = script-J^T (G (x) I_K) script-J`` where ``script-J``
   stacks ``J(R e_j)`` (rows ``(j, c)``, ``j`` major). Proven as two identities:
   ``sum_i J(x~_i)^T J(x~_i) = sum_{a,b} Sigma~_ab J(e_a)^T J(e_b)`` in ``Q[theta, X]`` and
   ``script-J(R)^T (G (x) I_K) script-J(R) = sum_{a,b} (R G R^T)_ab J(e_a)^T J(e_b)`` in
   ``Q[theta, R, G]`` with symbolic ``R`` and ``G``; and the engine's ``jacobian_stack`` is
   ``script-J(R)`` for the ``R`` it uses.
2. **Per-layer Kronecker form (FCN).** With ``h~ = T~_{<l} z`` (the layer's input, its last
   entry the constant with biases) and ``T_{>l}`` the first ``m_l`` columns of ``T~_{>l}``:
   ``J_l(z) = (T_{>l} (x) h~^T) Pi_l``, where ``Pi_l`` reorders the columns ``(r, s)`` to
   exacthess's order (``W_l`` row-major as ``torch.nn.Linear.weight``, then ``b_l``; the
   identity without biases). Hence
   ``H_o^{(l,m)} = Pi_l^T [(T_{>l}^T T_{>m}) (x) (T~_{<l} Sigma~ T~_{<m}^T)] Pi_m``.
   Checked against the derivatives of the loop outputs and against the engine's
   ``jacobian(l)`` and ``block_o(l, m)`` over ``Q[theta, X, Y]``.

Route: python-flint polynomials in every weight, input (and ``R``, ``G``) entry; outputs by an
explicit loop (``proofs/linear_networks.py``); equalities of polynomials.

Run: ``python proofs/outer_product_kronecker.py [--thorough]``.
"""

from __future__ import annotations

import sys

import numpy as np

from exacthess.models.architectures import CNN, FCN
from exacthess.proofs.linear_networks import SymbolicNetwork, short_name
from exacthess.proofs.support import assert_equal, covered, poly_matmul, poly_zeros, thorough

__all__ = ["STATEMENT", "SIZES", "THOROUGH_SIZES", "jacobian_of", "stacked", "kron", "column_order",
           "test_gram_factorisation", "test_fcn_kronecker_form"]

STATEMENT = ("outer-product Hessian: H_o = J^T (G (x) I_K) J for every Sigma~ = R G R^T, and the FCN "
             "per-layer Kronecker form J_l = (T_{>l} (x) (T_{<l} x~)^T) Pi_l in the engine's parameter order")

#: (architecture, n samples, r = columns of the symbolic R)
GRAM_CASES = [
    (FCN(2, (2,), 2), 2, 2),
    (FCN(2, (2,), 2, bias=True), 3, 2),
    (FCN(2, (2, 1), 2), 3, 1),
    (FCN(3, (2,), 2, bias=True), 2, 3),
    (CNN((3,), (2,), 2, 1, paddings=1), 2, 2),
    (CNN((4,), (1,), 2, 2, strides=2, bias=True), 2, 2),
]
GRAM_MORE = [
    (FCN(3, (2, 2), 2, bias=True), 4, 3),
    (CNN((2, 2), (2,), 2, 1, paddings=1), 3, 2),
]
#: (FCN, n samples)
KRON_CASES = [
    (FCN(2, (), 2), 2), (FCN(2, (2,), 2), 3), (FCN(2, (2,), 3, bias=True), 2), (FCN(3, (2, 1), 2), 2),
    (FCN(2, (2, 2), 2, bias=True), 4),
]
KRON_MORE = [(FCN(3, (3, 2), 2, bias=True), 3), (FCN(2, (2, 2, 2), 2), 3)]

SIZES = ("Gram factorisation: " + "; ".join(f"{short_name(a)} n={n} r={r}" for a, n, r in GRAM_CASES)
         + ". Kronecker form: " + "; ".join(f"{short_name(a)} n={n}" for a, n in KRON_CASES))
THOROUGH_SIZES = ("also " + "; ".join(f"{short_name(a)} n={n} r={r}" for a, n, r in GRAM_MORE) + "; "
                  + "; ".join(f"{short_name(a)} n={n}" for a, n in KRON_MORE))


def jacobian_of(net, vec: np.ndarray) -> np.ndarray:
    """``dF~(z)/dtheta`` for ``z = vec`` (``K x p``), ``F~(z) = T~_{>0} z``."""
    out = poly_matmul(net.ctx, net.after(0), vec.reshape(-1, 1)).ravel()
    J = np.empty((net.K, net.p), dtype=object)
    for c in range(net.K):
        for k in range(net.p):
            J[c, k] = net.derivative(out[c], k)
    return J


def stacked(net, R: np.ndarray) -> np.ndarray:
    """``script-J(R)``: rows ``(j, c)``, ``dF~(R e_j)_c / dtheta``."""
    return np.concatenate([jacobian_of(net, R[:, j]) for j in range(R.shape[1])], axis=0)


def gram_sum(net, S: np.ndarray, basis_J: list) -> np.ndarray:
    """``sum_{a,b} S_ab J(e_a)^T J(e_b)``."""
    H = poly_zeros(net.ctx, (net.p, net.p))
    for a in range(S.shape[0]):
        Ja_t = np.ascontiguousarray(basis_J[a].T)
        for b in range(S.shape[1]):
            prod = poly_matmul(net.ctx, Ja_t, basis_J[b])
            s_ab = S[a, b]
            H = H + np.vectorize(lambda v, s=s_ab: s * v, otypes=[object])(prod)
    return H


def kron_i(net, G: np.ndarray, K: int) -> np.ndarray:
    """``G (x) I_K`` over the polynomial ring."""
    r = G.shape[0]
    out = poly_zeros(net.ctx, (r * K, r * K))
    for j in range(r):
        for k in range(r):
            for c in range(K):
                out[j * K + c, k * K + c] = G[j, k]
    return out


def test_gram_factorisation():
    """sum_i J(x~_i)^T J(x~_i) = sum_ab Sigma~_ab J(e_a)^T J(e_b) and J(R)^T (G (x) I_K) J(R) = sum_ab (R G R^T)_ab J(e_a)^T J(e_b); the engine's Jacobian stack is J(R)"""
    for arch, n, r in GRAM_CASES + (GRAM_MORE if thorough() else []):
        dim0 = arch.input_dim + int(arch.bias)
        net = SymbolicNetwork(arch, n, extra=[("R", (dim0, r)), ("G", (r, r))])
        # F~(x~_i) is the loop's output, so J(x~_i) = J_i
        for i in range(n):
            z = net.inputs_aug[i]
            assert_equal(poly_matmul(net.ctx, net.after(0), z.reshape(-1, 1)).ravel(), net.outputs[i],
                         f"F~(x~_{i}) vs loop output, {short_name(arch)}")
        eye = np.empty((dim0, dim0), dtype=object)
        for a in range(dim0):
            for b in range(dim0):
                eye[a, b] = net.one if a == b else net.zero
        basis_J = [jacobian_of(net, eye[:, a]) for a in range(dim0)]
        sigma = net.problem().sigma
        assert_equal(net.H_o, gram_sum(net, sigma, basis_J), f"H_o vs sum Sigma_ab J(e_a)^T J(e_b), {short_name(arch)}")
        R, G = net.vars["R"], net.vars["G"]
        JR = stacked(net, R)
        lhs = poly_matmul(net.ctx, poly_matmul(net.ctx, np.ascontiguousarray(JR.T), kron_i(net, G, net.K)), JR)
        RGRt = poly_matmul(net.ctx, poly_matmul(net.ctx, R, G), np.ascontiguousarray(R.T))
        assert_equal(lhs, gram_sum(net, RGRt, basis_J), f"J(R)^T (G (x) I) J(R), {short_name(arch)} r={r}")
        eng = net.engine()
        assert_equal(eng.jacobian_stack, stacked(net, net.problem().R), f"engine jacobian_stack, {short_name(arch)}")
        covered(f"{short_name(arch)} n={n} r={r} (p={net.p})")


def column_order(m_out: int, m_in: int, bias: bool) -> list:
    """``Pi_l`` as an index list: interleaved column ``(r, s)`` (``s`` over ``m_in`` inputs
    and, with biases, the constant) for each parameter in exacthess's order."""
    width = m_in + int(bias)
    order = [r * width + s for r in range(m_out) for s in range(m_in)]
    if bias:
        order += [r * width + m_in for r in range(m_out)]
    return order


def kron(net, A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """The Kronecker product ``A (x) B`` over the polynomial ring."""
    out = np.empty((A.shape[0] * B.shape[0], A.shape[1] * B.shape[1]), dtype=object)
    for (i, j), a in np.ndenumerate(A):
        for (k, m), b in np.ndenumerate(B):
            out[i * B.shape[0] + k, j * B.shape[1] + m] = a * b
    return out


def test_fcn_kronecker_form():
    """FCN: J_l(x~) = (T_{>l} (x) (T~_{<l} x~)^T) Pi_l and H_o^(l,m) = Pi_l^T [(T_{>l}^T T_{>m}) (x) (T~_{<l} Sigma~ T~_{<m}^T)] Pi_m, also as returned by the engine"""
    for arch, n in KRON_CASES + (KRON_MORE if thorough() else []):
        net = SymbolicNetwork(arch, n)
        eng = net.engine()
        prob = net.problem()
        sizes = (arch.input_dim,) + tuple(arch.widths) + (arch.output_dim,)
        L1 = len(arch.layers)
        for l in range(1, L1 + 1):
            sl = net.layer_slice(l)
            order_l = column_order(sizes[l], sizes[l - 1], arch.bias)
            T_after = net.after(l)[:, : sizes[l]]
            below = net.product(l - 1, 1)
            for i in range(n):
                h = poly_matmul(net.ctx, below, net.inputs_aug[i].reshape(-1, 1))
                form = kron(net, T_after, np.ascontiguousarray(h.T))[:, order_l]
                assert_equal(net.jacobians[i][:, sl], form, f"J_{l}(x_{i}) vs Kronecker form, {short_name(arch)}")
            # the engine's per-layer Jacobian: rows (j, c) for the columns r_j of its R
            R = prob.R
            h_R = poly_matmul(net.ctx, below, R)
            form = np.concatenate([kron(net, T_after, np.ascontiguousarray(h_R[:, [j]].T))[:, order_l]
                                   for j in range(R.shape[1])], axis=0)
            assert_equal(eng.jacobian(l), form, f"engine jacobian({l}) vs Kronecker form, {short_name(arch)}")
            for m in range(l, L1 + 1):
                order_m = column_order(sizes[m], sizes[m - 1], arch.bias)
                left = poly_matmul(net.ctx, np.ascontiguousarray(T_after.T), net.after(m)[:, : sizes[m]])
                right = poly_matmul(net.ctx, poly_matmul(net.ctx, below, prob.sigma),
                                    np.ascontiguousarray(net.product(m - 1, 1).T))
                block = kron(net, left, right)[np.ix_(order_l, order_m)]
                assert_equal(net.H_o[sl, net.layer_slice(m)], block, f"H_o block ({l}, {m}), {short_name(arch)}")
                assert_equal(eng.block_o(l, m), block, f"engine block_o({l}, {m}), {short_name(arch)}")
        covered(f"{short_name(arch)} n={n} (p={net.p})")


if __name__ == "__main__":
    from exacthess.cli.prove import script_main
    sys.exit(script_main(sys.modules[__name__]))
