r"""The functional Hessian of a linear network: zero diagonal blocks, closed-form off-diagonal blocks.

For ``F(x) = T_{L+1} ... T_1 x`` (fully connected or convolutional; with biases through the
augmented operators ``T~_l = [[T_l, b_l 1], [0, 1]]``) and the MSE loss
``l = 1/2 sum_i ||F(x_i) - y_i||^2`` with residuals ``delta_i = F(x_i) - y_i``:

1. ``H_f := H_L - H_o = sum_i sum_c delta_ic grad^2 F_c(x_i)``, and its diagonal blocks vanish
   (``F`` is linear in each layer's parameters);
2. with ``Omega~ = sum_i delta_i x~_i^T = F^ Sigma~ - Yhat~`` (``F^ = T~_{>0}``,
   ``Sigma~ = sum_i x~_i x~_i^T``, ``Yhat~ = sum_i y_i x~_i^T``), for layers ``l < m`` and
   parameters ``a`` of layer l, ``b`` of layer m,

   .. math:: H_f[a, b] = \sum_{(r_1, c_1) \in pos(a)} \sum_{(r_2, c_2) \in pos(b)} P[c_1, r_2]\, M[c_2, r_1],
             \quad P = T_{<l}\,\tilde\Omega^\top T_{>m},\; M = T_{m-1}\cdots T_{l+1},

   where ``pos(a)`` are the operator positions that parameter ``a`` occupies (one for a
   fully-connected weight, several for a shared convolution tap) -- the formula of
   :mod:`exacthess.hessian.engine`;
3. exacthess's engine, run over the polynomial ring ``Q[theta, X, Y]``, returns exactly these
   ``H_f``, ``H_o`` and ``H_L``; and ``exacthess.hessian(arch, params=<sympy symbols>,
   data=(X, Y), domain="SR")`` (the public call, symbolic parameters, integer data) returns
   them with the data substituted.

Route: every weight, input and target entry is a variable of ``Q[theta, X, Y]``
(python-flint ``fmpq_mpoly``); the network is evaluated by an explicit convolution loop
(``proofs/linear_networks.py``), ``H_L`` by differentiating the expanded loss twice,
``H_o = sum_i J_i^T J_i`` from the derivatives of the outputs; the operators ``T~_l`` are read
off the same loop. Every identity is checked as an equality of polynomials.

Run: ``python proofs/linear_functional_hessian.py [--thorough]``.
"""

from __future__ import annotations

import sys

import numpy as np

from exacthess.models.architectures import CNN, FCN
from exacthess.proofs.linear_networks import SymbolicNetwork, short_name
from exacthess.proofs.support import assert_equal, assert_zero, covered, poly_matmul, poly_zeros, sympy_to_poly, thorough

__all__ = ["STATEMENT", "SIZES", "THOROUGH_SIZES", "CASES", "CASES_MORE", "positions",
           "test_functional_part_and_zero_diagonal_blocks", "test_closed_form_off_diagonal_blocks",
           "test_engine_over_polynomials", "test_public_hessian_symbolic_parameters"]

STATEMENT = ("functional Hessian of a linear network: H_f = sum delta grad^2 F, zero diagonal blocks, "
             "off-diagonal blocks P[c1,r2] M[c2,r1]; the engine's H_f/H_o/H_L equal the symbolic ones")

#: (architecture, number of samples); n <= dim(0) and n > dim(0) exercise both factorisations
CASES = [
    (FCN(2, (), 2), 2),
    (FCN(2, (2,), 2), 2),
    (FCN(2, (2,), 2), 3),
    (FCN(2, (2,), 2, bias=True), 2),
    (FCN(2, (2,), 3, bias=True), 4),
    (FCN(2, (2, 1), 2), 2),
    (FCN(2, (2, 2), 2, bias=True), 2),
    (CNN((3,), (2,), 2, 1, paddings=1), 2),
    (CNN((4,), (1,), 2, 2, strides=2, bias=True), 2),
    (CNN((2, 2), (1,), (2, 1), 1, in_channels=2), 3),
]
CASES_MORE = [
    (FCN(3, (3, 2), 2), 4),
    (FCN(2, (2, 2, 2), 2, bias=True), 2),
    (FCN(3, (2,), 3, bias=True), 5),
    (CNN((4,), (2, 2), 2, 1, paddings=1), 2),
    (CNN((5,), (2,), 3, 2, strides=2, paddings=1, bias=True), 2),
    (CNN((3, 3), (2,), 2, 1, paddings=1), 2),
]


def describe(arch, n) -> str:
    return f"{short_name(arch)} n={n}"


SIZES = "; ".join(describe(a, n) for a, n in CASES)
THOROUGH_SIZES = "also " + "; ".join(describe(a, n) for a, n in CASES_MORE)


def cases():
    return CASES + (CASES_MORE if thorough() else [])


def layer_ranges(net):
    return [range(s.start, s.stop) for s in (net.layer_slice(l) for l in range(1, len(net.arch.layers) + 1))]


def test_functional_part_and_zero_diagonal_blocks():
    """H_L - H_o = sum_i sum_c delta_ic grad^2 F_c(x_i) and every diagonal block of H_f is 0, in Q[theta, X, Y]"""
    for arch, n in cases():
        net = SymbolicNetwork(arch, n)
        expected = poly_zeros(net.ctx, (net.p, net.p))
        for i in range(n):
            for c in range(net.K):
                Fc = net.outputs[i, c]
                grad = [net.derivative(Fc, k) for k in range(net.p)]
                hess = np.empty((net.p, net.p), dtype=object)
                for a in range(net.p):
                    for b in range(net.p):
                        hess[a, b] = net.residuals[i, c] * net.derivative(grad[a], b)
                expected = expected + hess
        assert_equal(net.H_f, expected, f"H_L - H_o vs sum delta grad^2 F, {describe(arch, n)}")
        for rng in layer_ranges(net):
            assert_zero(net.H_f[np.ix_(rng, rng)], f"diagonal block of H_f, {describe(arch, n)}")
        covered(f"{describe(arch, n)} (p={net.p})")


def positions(net, l: int, k: int):
    """Operator positions ``(r, c)`` of parameter ``k`` in ``T~_l`` (entries of dT~_l/dtheta_k)."""
    T = net.operators[l - 1]
    out = []
    for (r, c), v in np.ndenumerate(T):
        dv = net.derivative(v, k)
        if not dv.is_zero():
            assert dv.is_one(), f"entry ({r}, {c}) of T~_{l} has derivative {dv}; expected 0 or 1"
            out.append((r, c))
    return out


def test_closed_form_off_diagonal_blocks():
    """Omega~ = F^ Sigma~ - Yhat~ and, for l < m, H_f[a, b] = sum over positions P[c1, r2] M[c2, r1] with P = T_{<l} Omega~^T T_{>m}, M = T_{m-1}...T_{l+1}"""
    for arch, n in cases():
        net = SymbolicNetwork(arch, n)
        prob = net.problem()
        F_hat = net.after(0)
        assert_equal(net.omega, poly_matmul(net.ctx, F_hat, prob.sigma) - prob.yhat,
                     f"Omega~ vs F^ Sigma~ - Yhat~, {describe(arch, n)}")
        L1 = len(arch.layers)
        ranges = layer_ranges(net)
        omega_t = np.ascontiguousarray(net.omega.T)
        for l in range(1, L1 + 1):
            pos_l = {k: positions(net, l, k) for k in ranges[l - 1]}
            for m in range(l + 1, L1 + 1):
                pos_m = {k: positions(net, m, k) for k in ranges[m - 1]}
                P = poly_matmul(net.ctx, poly_matmul(net.ctx, net.product(l - 1, 1), omega_t), net.after(m))
                M = net.product(m - 1, l + 1)
                block = np.empty((len(pos_l), len(pos_m)), dtype=object)
                for ia, a in enumerate(ranges[l - 1]):
                    for ib, b in enumerate(ranges[m - 1]):
                        total = net.zero
                        for r1, c1 in pos_l[a]:
                            for r2, c2 in pos_m[b]:
                                total = total + P[c1, r2] * M[c2, r1]
                        block[ia, ib] = total
                assert_equal(net.H_f[np.ix_(ranges[l - 1], ranges[m - 1])], block,
                             f"block ({l}, {m}) of H_f vs closed form, {describe(arch, n)}")
        covered(f"{describe(arch, n)} (p={net.p})")


def test_engine_over_polynomials():
    """exacthess's engine over Q[theta, X, Y] returns exactly the symbolic H_f, H_o and H_L"""
    for arch, n in cases():
        net = SymbolicNetwork(arch, n)
        eng = net.engine()
        for name, ref in (("H_f", net.H_f), ("H_o", net.H_o), ("H_L", net.H_L)):
            assert_equal(eng.full(name), ref, f"engine {name} vs symbolic, {describe(arch, n)}")
        covered(f"{describe(arch, n)} (p={net.p})")


def test_public_hessian_symbolic_parameters():
    """exacthess.hessian(arch, params=sympy symbols, data=integers, domain="SR") equals the symbolic H_L, H_o, H_f at those data, in Q[theta]"""
    import sympy
    from exacthess import hessian
    rng = np.random.default_rng(12)
    for arch, n in cases():
        net = SymbolicNetwork(arch, n)
        X = rng.integers(-5, 6, size=(n, net.d))
        Y = rng.integers(-5, 6, size=(n, net.K))
        symbols, params = {}, []
        shapes = arch.param_shapes()
        for name, shape in zip(net.param_names, shapes):
            flat = net.vars[name].ravel()
            syms = [sympy.Symbol(str(v)) for v in flat]
            symbols.update(zip(syms, flat))
            params.append(np.array(syms, dtype=object).reshape(shape))
        res = hessian(arch, params=params, data=(X, Y), domain="SR")
        at_data = {str(net.X[i, j]): int(X[i, j]) for i in range(n) for j in range(net.d)}
        at_data.update({str(net.Y[i, c]): int(Y[i, c]) for i in range(n) for c in range(net.K)})
        for name, ref in (("H_f", net.H_f), ("H_o", net.H_o), ("H_L", net.H_L)):
            got = getattr(res, name)
            conv = np.empty(got.shape, dtype=object)
            for idx, v in np.ndenumerate(got):
                conv[idx] = sympy_to_poly(v, net.ctx, symbols)
            want = np.empty(ref.shape, dtype=object)
            for idx, v in np.ndenumerate(ref):
                want[idx] = v.subs(at_data)
            assert_equal(conv, want, f"hessian(..., domain='SR').{name} vs symbolic, {describe(arch, n)}")
        covered(f"{describe(arch, n)} (p={net.p})")


if __name__ == "__main__":
    from exacthess.cli.prove import script_main
    sys.exit(script_main(sys.modules[__name__]))
