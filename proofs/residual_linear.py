r"""Deep linear residual networks with identity skips: a plain network reparameterised by V = I + W.

**Network** (width ``M`` inside, ``L`` residual blocks, biases on every layer or none)::

    h_0 = W_in x + b_in,   h_l = h_{l-1} + W_l h_{l-1} + b_l  (l = 1..L),   F(x) = W_out h_L + b_out,

i.e. ``F(x) = W_out (I + W_L) ... (I + W_1) W_in x`` without biases; without projections
(``d = K = M``) ``h_0 = x`` and ``F(x) = h_L``. Parameters ``(W_in, b_in, W_1, b_1, ..., W_out,
b_out)``, each weight row-major, then its bias. The **plain network** is the same with ``V_l`` in
place of ``I + W_l``: the FCN ``d-(M, ..., M)-K`` with ``L + 1`` hidden layers (``L - 1`` without
projections). ``l = 1/2 sum_i ||F(x_i) - y_i||^2``, ``H_o = sum_i J_i^T J_i``, ``H_f = H_L - H_o``.

1. **Reparameterisation.** ``F_res(x; W) = F_plain(x; V)|_{V = I + W}``; ``W_l -> I + W_l`` is a
   translation (its Jacobian is the identity), so ``J``, ``H_L``, ``H_o``, ``H_f`` of the
   residual network at ``W`` equal those of the plain network at ``V = I + W`` entry by entry:
   identities in ``Q[theta, X, Y]``, the plain side differentiated independently
   (``proofs/linear_networks.py``) and computed by exacthess's engine over the same ring.
2. **Closed form at the identity initialisation** ``W_1 = ... = W_L = 0`` (biases free). With
   ``c_l = b_in + sum_{k<l} b_k`` and ``h = W_in x + c_l`` the input of block ``l``
   (``W_in = I``, ``W_out = I``, no ``b_in`` without projections):
   ``J_{(W_l, b_l)}(x) = W_out (x) [h; 1]^T``, ``J_{(W_out, b_out)}(x) = I_K (x) [h_L; 1]^T``
   (drop the ``1`` without biases), ``J_l = J_first T_l`` with
   ``T_l (dW, db) = (dW W_in, dW c_l + db)`` (``J_first``: the block of ``(W_in, b_in)``, of block 1
   without projections), and ``H_o^{(l,m)} = (W_out^T W_out) (x) sum_i [h_l(x_i); 1][h_m(x_i); 1]^T``:
   identities in ``Q[W_in, W_out, b, X]``. So every column of ``J_l`` lies in the span of the
   columns of ``J_first`` (``(dW_l, dW_first, db_first) = (E, -E W_in, -E c_l)`` are exact null
   vectors of ``H_o``) and rank ``H_o`` is that of the one-hidden-layer network ``(W_in, W_out)``.
3. **Rank of H_o at W = 0**: ``beta r~ + K u - beta u`` with ``beta = rank W_out``,
   ``r~ = rank [X, 1]`` (``rank X`` without biases) and ``u`` the rank of the matrix of rows
   ``[h_L(x_i); 1]`` (``rank X W_in^T`` without biases); proof in ``docs/statements.md``. Checked
   by **exact ranks over Q** at integer points, random and degenerate (an exact rank at a point
   is the rank there, not a bound). At random points (no biases) it is ``q (r + K - q)``,
   ``q = min(r, K, M)``, as at a random ``W``: since ``q (r + K - q)`` bounds the rank of a linear
   network's ``H_o`` at every point, this proves the generic rank at ``W = 0`` (over ``W_in``,
   ``W_out``) equals the residual network's generic rank, for those data.
4. **H_f and H_L at W = 0** (no biases): exact ranks at one random integer point (projections,
   data, targets) equal Singh et al.'s generic formulas for the plain FCN and the ranks at a
   random ``W``. A rank at a point never exceeds the generic rank, so at these sizes ``W = 0`` is
   not a rank-degenerate point; the formulas themselves are the published theorem, not proven here.

Route: python-flint polynomials in every weight, bias, input and target entry; outputs by an
explicit loop (``proofs/residual_networks.py``); identities as equalities of polynomials; ranks
of exact integer matrices with FLINT's ``fmpq_mat``.

Run: ``python proofs/residual_linear.py [--thorough]``.
"""

from __future__ import annotations

import sys

import numpy as np

from exacthess.proofs.residual_networks import Case, ResidualNetwork, evaluate, exact_rank, grid, integer_point
from exacthess.proofs.support import assert_equal, covered, poly_matmul, thorough

__all__ = ["STATEMENT", "SIZES", "THOROUGH_SIZES", "rank_formula", "singh_formulas", "test_reparameterisation",
           "test_identity_initialisation_jacobian", "test_identity_initialisation_rank",
           "test_identity_initialisation_functional_ranks"]

STATEMENT = ("deep linear residual network W_out (I + W_L)...(I + W_1) W_in x: J, H_o, H_f, H_L at W equal the "
             "plain network's at V = I + W; at W = 0 a closed-form J and rank H_o = beta r~ + K u - beta u")


CASES = [Case(2, 2, 2, 1), Case(2, 2, 1, 2), Case(1, 2, 2, 1, bias=True), Case(2, 2, 2, 2, proj=False),
         Case(2, 2, 2, 1, proj=False, bias=True)]
MORE = [Case(3, 2, 2, 2, n=3), Case(2, 3, 2, 2), Case(2, 2, 2, 2, bias=True), Case(2, 2, 2, 3, proj=False)]
#: statement 3 (exact ranks of integer matrices: larger sizes are cheap)
RANK_CASES = [Case(2, 2, 2, 1, n=3), Case(3, 2, 2, 2, n=4), Case(2, 3, 4, 2, n=3), Case(4, 3, 2, 2, n=2),
              Case(3, 2, 3, 2, bias=True, n=4), Case(2, 3, 2, 1, bias=True, n=2),
              Case(3, 3, 3, 2, proj=False, n=2)]
RANK_MORE = [Case(5, 3, 4, 3, n=6), Case(4, 4, 3, 3, bias=True, n=3), Case(4, 4, 4, 3, proj=False, bias=True, n=5)]
#: H_f and H_L at W = 0 (no biases: the published formulas)
FUNCTIONAL_CASES = [Case(2, 2, 2, 1, n=3), Case(3, 2, 2, 1, n=4), Case(2, 2, 3, 2, n=3),
                    Case(3, 3, 3, 2, proj=False, n=4)]
FUNCTIONAL_MORE = [Case(2, 3, 2, 1, n=3), Case(3, 2, 3, 2, n=2), Case(2, 2, 2, 3, proj=False, n=3)]

SIZES = ("identities: " + "; ".join(c.describe() for c in CASES)
         + ". ranks (exact over Q, random and degenerate integer points): "
         + "; ".join(c.describe() for c in RANK_CASES)
         + ". H_f, H_L at W = 0 (exact over Q, random integer projections, data, targets): "
         + "; ".join(c.describe() for c in FUNCTIONAL_CASES))
THOROUGH_SIZES = ("also identities: " + "; ".join(c.describe() for c in MORE)
                  + "; ranks: " + "; ".join(c.describe() for c in RANK_MORE)
                  + "; H_f, H_L at W = 0: " + "; ".join(c.describe() for c in FUNCTIONAL_MORE))


def rank_formula(case: Case, W_in, W_out, X, offset) -> int:
    """``beta r~ + K u - beta u`` (statement 3) from exact ranks of integer matrices."""
    X = np.asarray(X, dtype=object)
    Xt = np.concatenate([X, np.ones((X.shape[0], 1), dtype=object)], axis=1) if case.bias else X
    r = exact_rank(Xt)
    H = X.dot(np.asarray(W_in, dtype=object).T) + np.asarray(offset, dtype=object)
    if case.bias:
        H = np.concatenate([H, np.ones((H.shape[0], 1), dtype=object)], axis=1)
    beta, u = exact_rank(W_out), exact_rank(H)
    return beta * r + case.K * u - beta * u


def singh_formulas(case: Case, r: int) -> tuple:
    """Singh et al.'s generic ``(rank H_o, rank H_f, rank H_L)`` for the plain FCN of ``case``
    (no biases; ``q = min(r, K, M)``, ``s = min(r, K)``, ``L'`` hidden layers of width ``M``)."""
    hidden = case.plain().widths
    q, s, Lh = min((r, case.K) + tuple(hidden)), min(r, case.K), len(hidden)
    return (q * (r + case.K - q), 2 * q * sum(hidden) + 2 * q * s - (Lh + 1) * q * q,
            2 * q * sum(hidden) - (Lh + 1) * q * q + q * (r + case.K))


def _describe(case: Case, net: ResidualNetwork) -> str:
    plain = case.plain()
    return f"{case.describe()} (p={net.p}; plain FCN {plain.input_dim}-{tuple(plain.widths)}-{case.K})"


def test_reparameterisation():
    """J, H_L, H_o, H_f of the residual network at W equal those of the plain network (symbolic and exacthess's engine) at V = I + W, in Q[theta, X, Y]"""
    for case in CASES + (MORE if thorough() else []):
        net = ResidualNetwork(case)
        F = net.outputs()
        J, H_L, H_o, H_f = net.derivatives(F)
        images = net.to_residual()
        assert_equal(F, net.substitute(net.plain.outputs, images), f"F, {case.describe()}")
        for i in range(case.n):
            assert_equal(J[i], net.substitute(net.plain.jacobians[i], images), f"J(x_{i}), {case.describe()}")
        engine = net.plain.engine()
        for name, res, sym in (("H_L", H_L, net.plain.H_L), ("H_o", H_o, net.plain.H_o),
                               ("H_f", H_f, net.plain.H_f)):
            where = f"{case.describe()}"
            assert_equal(res, net.substitute(sym, images), f"{name} residual vs plain at V = I + W, {where}")
            assert_equal(res, net.substitute(engine.full(name), images), f"{name} residual vs engine, {where}")
        covered(_describe(case, net))


def test_identity_initialisation_jacobian():
    """At W = 0: J_l(x) = W_out (x) [h; 1]^T, J_out(x) = I_K (x) [h_L; 1]^T, J_l = J_first T_l, and H_o^(l,m) = (W_out^T W_out) (x) sum_i h~_l h~_m^T, in Q[W_in, W_out, b, X]"""
    for case in CASES + (MORE if thorough() else []):
        net = ResidualNetwork(case)
        J, _, H_o, _ = net.derivatives(net.outputs())
        zero = net.at_identity()
        J0 = [net.substitute(Ji, zero) for Ji in J]
        first = net.block_columns(1)
        for i in range(case.n):
            assert_equal(J0[i], net.expected_jacobian(net.plain.X[i]),
                         f"closed form of J(x_{i}) at W = 0, {case.describe()}")
            for l, j in net.block.items():
                assert_equal(J0[i][:, net.block_columns(j)], poly_matmul(net.ctx, J0[i][:, first], net.transfer(l)),
                             f"J_{l} = J_first T_{l} at x_{i}, {case.describe()}")
        H0 = net.substitute(H_o, zero)
        for l, j in net.block.items():
            for m, k in net.block.items():
                assert_equal(H0[net.block_columns(j), net.block_columns(k)], net.expected_block(l, m),
                             f"H_o block ({l}, {m}) at W = 0, {case.describe()}")
        covered(_describe(case, net))


def _points(net: ResidualNetwork, rng) -> list:
    """``(label, values)``: a random integer point, and degenerate ones (rank-deficient ``W_out`` or
    ``W_in``, a repeated sample)."""
    c, X = net.case, net.plain.X
    out = [("random", integer_point(net, rng))]
    if c.proj:
        W_in, W_out = net.vars["W1"], net.vars[f"W{c.L + 2}"]
        out.append(("W_out row 0 = 0", integer_point(net, rng, {str(v): 0 for v in W_out[0]})))
        out.append(("rank W_in = 1", integer_point(net, rng, {str(W_in[a, e]): (a + 1) * (e - 1)
                                                        for a in range(c.M) for e in range(c.d)})))
    vals = integer_point(net, rng)
    vals.update({str(X[c.n - 1, e]): vals[str(X[0, e])] for e in range(c.d)})
    out.append(("x_n = x_1", vals))
    return out


def test_identity_initialisation_rank():
    """rank H_o at W = 0 is beta r~ + K u - beta u (exact rank over Q at integer points, random and degenerate); at random points it is q(r + K - q), as at a random W"""
    rng = np.random.default_rng(2024)
    for case in RANK_CASES + (RANK_MORE if thorough() else []):
        net = ResidualNetwork(case)
        J = net.jacobians(net.outputs())
        J0 = [net.substitute(Ji, net.at_identity()) for Ji in J]
        W_in, W_out = net.projections()
        results = []
        for label, vals in _points(net, rng):
            def value(arr):
                return evaluate(arr, net, vals)

            def rank_H_o(jacobians):
                """``rank sum_i J_i^T J_i`` of the exact integer values (the Gram matrix of the stacked J)."""
                Js = [value(Ji) for Ji in jacobians]
                return exact_rank(sum(Ji.T.dot(Ji) for Ji in Js))
            rank = rank_H_o(J0)
            expected = rank_formula(case, value(W_in), value(W_out), value(net.plain.X),
                                    value(grid([net.offset(case.L + 1)])[0]))
            assert rank == expected, f"{case.describe()} ({label}): rank H_o at W = 0 is {rank}, formula {expected}"
            text = f"{label}: {rank}"
            if label == "random":
                r = exact_rank(value(net.plain.X))
                q = min(r, case.K, case.M)
                at_random_W = rank_H_o(J)
                formula = q * (r + case.K - q)
                assert case.bias or rank == formula == at_random_W, (
                    f"{case.describe()}: rank {rank} at W = 0, {at_random_W} at a random W, q(r+K-q) = {formula}")
                text += f" (a random W: {at_random_W}" + ("" if case.bias else f"; q(r+K-q) = {formula}") + ")"
            results.append(text)
        covered(f"{case.describe()} (p={net.p}): rank H_o at W = 0 = formula at " + ", ".join(results))


def test_identity_initialisation_functional_ranks():
    """At W = 0 with random integer projections, data and targets, rank H_o, H_f, H_L (exact over Q) equal Singh et al.'s generic formulas for the plain FCN, as at a random W"""
    rng = np.random.default_rng(7)
    for case in FUNCTIONAL_CASES + (FUNCTIONAL_MORE if thorough() else []):
        net = ResidualNetwork(case)
        _, H_L, H_o, H_f = net.derivatives(net.outputs())
        vals = integer_point(net, rng)
        random_W = [exact_rank(evaluate(H, net, vals)) for H in (H_o, H_f, H_L)]
        vals.update({name: 0 for name in net.at_identity()})
        at_zero = [exact_rank(evaluate(H, net, vals)) for H in (H_o, H_f, H_L)]
        formulas = singh_formulas(case, exact_rank(evaluate(net.plain.X, net, vals)))
        assert tuple(at_zero) == formulas == tuple(random_W), (
            f"{case.describe()}: ranks (H_o, H_f, H_L) {at_zero} at W = 0, {random_W} at a random W, "
            f"formulas {formulas}")
        covered(f"{case.describe()} (p={net.p}): ranks (H_o, H_f, H_L) = {tuple(at_zero)} at W = 0 "
                "= Singh et al.'s formulas = at a random W")


if __name__ == "__main__":
    from exacthess.cli.prove import script_main
    sys.exit(script_main(sys.modules[__name__]))
