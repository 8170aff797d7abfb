r"""The split of the loss Hessian: grad^2 l = J^T (grad^2 l_out) J + sum_c (dl/df_c) grad^2 f_c.

For a network ``f(theta) = f(x; theta)`` with ``K`` outputs and a loss
``l(theta) = l_out(f(theta), y)`` that is twice differentiable in the outputs,

.. math::
    \nabla^2_\theta l = J^\top \,\nabla^2_f l_{out}\, J + \sum_c \frac{\partial l_{out}}{\partial f_c}\,
    \nabla^2_\theta f_c, \qquad J = \partial f / \partial\theta,

the first term is the outer-product Hessian ``H_o``, the second the functional Hessian
``H_f`` (for the MSE loss ``dl/df_c`` is the residual ``delta_c`` and ``grad^2 l_out = I``).
Networks: fully connected, ``f = W_{L+1} s_L(W_L ... s_1(W_1 x + b_1) ... + b_L) + b_{L+1}``,
2 and 3 layers (L = 1, 2), with and without biases, parameters in exacthess's order.

Two routes, both exact:

* **general functions** (sympy): every activation ``s_l`` is an undefined sympy ``Function``
  and the loss an undefined ``Function`` ``l_out(f_1, ..., f_K, y_1, ..., y_K)``. For each
  entry ``(i, j)`` the left side is sympy's ``d^2/dtheta_i dtheta_j`` of
  ``l_out(F_1, ..., F_K, y)`` with undefined ``F_c(theta_i, theta_j)`` (a partial derivative
  holds the other parameters fixed); the derivatives of ``F_c`` in it are then replaced by
  those of the network (computed once by sympy, used on both sides) and the derivatives of
  ``l_out`` at ``f(theta)`` are named by symbols (``g_c`` and ``h_cd = h_dc``). The right side
  is assembled as the matrix product ``J^T H J`` plus ``sum_c g_c hessian(f_c)``. This proves
  the index structure of the split (which factor is transposed, which derivative multiplies
  which) for general C^2 functions.
* **polynomials, no chain rule** (python-flint ``fmpq_mpoly``): activations
  ``s_l(z) = a_l0 + a_l1 z + a_l2 z^2`` and a loss that is a general polynomial of degree D in
  the outputs, every coefficient a variable. The left side is obtained by expanding
  ``l_out(f(theta))`` into one polynomial in weights, inputs and coefficients and
  differentiating it twice; the right side composes ``grad l_out`` and ``grad^2 l_out`` with
  ``u = f(theta)``. The difference is the zero polynomial.

Run: ``python proofs/hessian_split.py [--thorough]``.
"""

from __future__ import annotations

import itertools
import sys

import numpy as np
import sympy as sp

from exacthess.proofs.support import (assert_equal, covered, poly_hessian, poly_matmul, poly_ring, poly_scale,
                                      poly_zeros,
                                      thorough)

__all__ = ["STATEMENT", "SIZES", "THOROUGH_SIZES", "sympy_network", "check_general",
           "check_polynomial", "test_split_general_functions", "test_split_polynomials"]

STATEMENT = "grad^2 l = J^T (grad^2 l_out) J + sum_c (dl/df_c) grad^2 f_c for 2- and 3-layer networks"

#: (d, widths, K, bias) for undefined activations and loss (sympy)
GENERAL = [(2, (2,), 2, False), (2, (2,), 2, True), (2, (2, 1), 2, False), (2, (2, 1), 2, True)]
GENERAL_MORE = [(3, (2,), 3, True), (2, (2, 2), 2, True)]
#: (d, widths, K, bias, loss degree) for polynomial activations and loss (flint)
POLYNOMIAL = [(2, (2,), 2, False, 3), (2, (2,), 2, True, 4), (2, (2, 2), 2, False, 2), (2, (2, 1), 2, True, 2)]
POLYNOMIAL_MORE = [(3, (3,), 2, True, 3), (2, (2, 2), 2, True, 2), (2, (2, 2), 2, False, 3)]


def describe(d, widths, K, bias) -> str:
    return f"d={d} widths={widths} K={K}{' bias' if bias else ''}"


def _listing(general, polynomial) -> str:
    return ("undefined C^2 activations and loss: " + ", ".join(describe(*s) for s in general)
            + "; polynomial activations and losses: "
            + ", ".join(f"{describe(*s[:4])} degree {s[4]}" for s in polynomial))


SIZES = _listing(GENERAL, POLYNOMIAL)
THOROUGH_SIZES = "also " + _listing(GENERAL_MORE, POLYNOMIAL_MORE)


def sizes_general():
    return GENERAL + (GENERAL_MORE if thorough() else [])


def sizes_polynomial():
    return POLYNOMIAL + (POLYNOMIAL_MORE if thorough() else [])


# ----- route 1: undefined functions (sympy) ----------------------------------------------
def sympy_network(d: int, widths: tuple, K: int, bias: bool):
    """``(theta, x, f)``: parameters in exacthess's order, inputs, outputs of the network
    with one undefined activation per hidden layer."""
    sizes = (d,) + tuple(widths) + (K,)
    x = sp.Matrix(sp.symbols(f"x0:{d}"))
    theta, h = [], x
    for l in range(1, len(sizes)):
        W = sp.Matrix(sizes[l], sizes[l - 1], lambda i, j: sp.Symbol(f"W{l}_{i}{j}"))
        theta += list(W)  # row-major, as torch.nn.Linear.weight
        z = W * h
        if bias:
            b = sp.Matrix(sp.symbols(f"b{l}_0:{sizes[l]}"))
            theta += list(b)
            z = z + b
        h = z.applyfunc(sp.Function(f"s{l}")) if l < len(sizes) - 1 else z
    return theta, x, h


def check_general(d: int, widths: tuple, K: int, bias: bool) -> None:
    theta, _, f = sympy_network(d, widths, K, bias)
    n = len(theta)
    y = sp.symbols(f"y0:{K}")
    l_out = sp.Function("l_out")
    # the derivatives of l_out (evaluated at f(theta)) are named by symbols g_c, h_cd = h_dc
    g = sp.symbols(f"g0:{K}")
    hs = {(c, e): sp.Symbol(f"h{min(c, e)}{max(c, e)}") for c in range(K) for e in range(K)}
    # derivatives of the network (sympy), used on both sides
    grad_f = [[f[c].diff(t) for t in theta] for c in range(K)]
    hess_f = [{(i, j): grad_f[c][i].diff(theta[j]) for i in range(n) for j in range(i, n)} for c in range(K)]
    J = sp.Matrix(K, n, lambda c, i: grad_f[c][i])
    JtH = J.T * sp.Matrix(K, K, lambda c, e: hs[(c, e)])
    for i in range(n):
        for j in range(i, n):
            # left side: sympy's d^2/dtheta_i dtheta_j of l_out(F_1, ..., F_K, y) for undefined
            # F_c(theta_i, theta_j) (a partial derivative holds the other parameters fixed);
            # then the derivatives of F_c are those of the network and those of l_out are named
            args = (theta[i],) if i == j else (theta[i], theta[j])
            F = [sp.Function(f"F{c}")(*args) for c in range(K)]
            loss = l_out(*F, *y)
            lhs = loss.diff(theta[i]).diff(theta[j])
            names = {}
            for der in lhs.atoms(sp.Derivative):
                var = sorted(theta.index(v) if v in theta else -1 - F.index(v)
                             for v, k in der.variable_count for _ in range(k))
                if der.expr == loss:
                    idx = sorted(-1 - a for a in var)
                    names[der] = g[idx[0]] if len(idx) == 1 else hs[(idx[0], idx[1])]
                else:
                    c = F.index(der.expr)
                    names[der] = grad_f[c][var[0]] if len(var) == 1 else hess_f[c][(var[0], var[1])]
            lhs = lhs.xreplace(names)
            assert not lhs.has(l_out) and not any(lhs.has(Fc) for Fc in F), f"unnamed derivative in {lhs}"
            # right side: [J^T (grad^2 l_out) J]_ij + sum_c g_c [grad^2 f_c]_ij
            rhs = (JtH[i, :] * J[:, j])[0, 0] + sum(g[c] * hess_f[c][(i, j)] for c in range(K))
            diff = sp.expand(lhs - rhs)
            assert diff == 0, f"{describe(d, widths, K, bias)}: entry ({i}, {j}) of lhs - rhs is {diff}, not 0"


def test_split_general_functions():
    """grad^2 l_out(f(theta)) = J^T (grad^2 l_out) J + sum_c (dl_out/df_c) grad^2 f_c for undefined C^2 activations and loss (sympy)"""
    for d, widths, K, bias in sizes_general():
        check_general(d, widths, K, bias)
        sizes = (d,) + tuple(widths) + (K,)
        p = sum(sizes[l] * (sizes[l - 1] + int(bias)) for l in range(1, len(sizes)))
        covered(describe(d, widths, K, bias) + f" (p={p})")


# ----- route 2: polynomial activations and loss (flint), no chain rule ------------------
def monomials(K: int, degree: int):
    """Exponent tuples of the monomials of degree 1..degree in K variables."""
    return [e for e in itertools.product(range(degree + 1), repeat=K) if 1 <= sum(e) <= degree]


def check_polynomial(d: int, widths: tuple, K: int, bias: bool, degree: int) -> int:
    sizes = (d,) + tuple(widths) + (K,)
    L1 = len(sizes) - 1
    groups = []
    for l in range(1, L1 + 1):
        groups.append((f"W{l}", (sizes[l], sizes[l - 1])))
        if bias:
            groups.append((f"b{l}", (sizes[l],)))
    n_theta = sum(int(np.prod(s)) for _, s in groups)
    mons = monomials(K, degree)
    groups += [("x", (d,)), ("a", (L1 - 1, 3)), ("u", (K,)), ("c", (len(mons),))]
    ctx, v = poly_ring(groups)
    theta = np.concatenate([v[name].ravel() for name, _ in groups[: len(groups) - 4]])
    assert len(theta) == n_theta
    # the network, expanded
    h = v["x"].reshape(d, 1)
    for l in range(1, L1 + 1):
        z = poly_matmul(ctx, v[f"W{l}"], h)
        if bias:
            z = z + v[f"b{l}"].reshape(-1, 1)
        if l < L1:
            a = v["a"][l - 1]
            z = np.vectorize(lambda t, a=a: a[0] + a[1] * t + a[2] * t * t, otypes=[object])(z)
        h = z
    f = h.ravel()
    # the loss: a general polynomial of the given degree in u (every coefficient a variable)
    u = v["u"]
    loss_u = ctx.constant(0)
    for coeff, e in zip(v["c"], mons):
        term = coeff
        for c in range(K):
            term = term * u[c] ** e[c]
        loss_u = loss_u + term
    gens = list(ctx.gens())
    u_index = [gens.index(uc) for uc in u]

    def at_f(p):
        """``p(u = f(theta))`` (composition in the polynomial ring)."""
        images = list(gens)
        for c, k in enumerate(u_index):
            images[k] = f[c]
        return p.compose(*images)

    # left side: expand l_out(f(theta)) and differentiate twice
    lhs = poly_hessian(at_f(loss_u), theta)
    # right side: J^T (grad^2 l_out)(f) J + sum_c (dl_out/du_c)(f) grad^2 f_c
    J = np.empty((K, n_theta), dtype=object)
    for c in range(K):
        for k, t in enumerate(theta):
            J[c, k] = f[c].derivative(str(t))
    H_out = poly_zeros(ctx, (K, K))
    grad_out = []
    for c in range(K):
        dc = loss_u.derivative(str(u[c]))
        grad_out.append(at_f(dc))
        for e in range(K):
            H_out[c, e] = at_f(dc.derivative(str(u[e])))
    rhs = poly_matmul(ctx, poly_matmul(ctx, np.ascontiguousarray(J.T), H_out), J)
    for c in range(K):
        rhs = rhs + poly_scale(grad_out[c], poly_hessian(f[c], theta))
    assert_equal(lhs, rhs, f"polynomial split, {describe(d, widths, K, bias)}, degree {degree}")
    return n_theta


def test_split_polynomials():
    """grad^2 l = J^T (grad^2 l_out) J + sum_c (dl_out/df_c) grad^2 f_c for polynomial activations and losses with symbolic coefficients, left side by expanding l_out(f(theta)) (flint)"""
    for d, widths, K, bias, degree in sizes_polynomial():
        p = check_polynomial(d, widths, K, bias, degree)
        covered(f"{describe(d, widths, K, bias)} loss degree {degree} (p={p})")


if __name__ == "__main__":
    from exacthess.cli.prove import script_main
    sys.exit(script_main(sys.modules[__name__]))
