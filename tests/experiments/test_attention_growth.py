"""Growth of the self-attention Hessian blocks with the data and weight scales, against independent routes.

* the interpolated polynomials against the exact squared norms computed directly at fresh rational
  scales (not among the interpolation points);
* the same against ``torch.func.hessian`` / ``torch.func.jacrev`` in float64 of an explicit forward of
  the layer, at a point whose every entry is 0 or +-2^k (all products and sums exact in float64),
  the float entries read back exactly as rationals;
* the polynomials coefficient by coefficient against sympy's Hessian of the layer written out by hand
  on a tiny case (``d = 2``, ``T = 2``), and the exponents against the hand derivation: with
  :math:`F(tX) = t^3 F(X)`, :math:`H_o(t) = t^6 H_o(1)` and :math:`H_f(t) = t^3 (t^3 P - Q)`; the
  diagonal blocks of :math:`H_f` vanish since :math:`F` is linear in each of :math:`W_Q, W_K, W_V`.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from flint import fmpq

from exacthess.core.errors import InvalidArchitectureError, InvalidOptionError, InvalidValueError
from exacthess.experiments.attention_growth import PAPER, growth_table
from exacthess.experiments.attention_norms import (BLOCKS, SCALE_KINDS, block_norms, degree_bound, interpolate,
                                                   norm_polynomials, valuation)
from exacthess.hessian.graph_forward import make_graph_problem
from exacthess.models.attention import transformer_block

def _point(d, T, n, seed=0, attention="linear"):
    g = transformer_block(d, T, attention=attention, out_proj=False)
    prob = make_graph_problem(g, n_samples=n, seed=seed)
    return g, prob.params, (prob.X, prob.Y)


@pytest.mark.parametrize("kind", SCALE_KINDS)
def test_polynomials_equal_direct_norms_at_fresh_scales(kind):
    """Every block's polynomial equals the exact squared norm computed directly at t = 7/3, 1/5, -3/2."""
    g, params, data = _point(2, 3, 2, seed=1)
    polys = norm_polynomials(g, params, data, kind)
    for t in (fmpq(7, 3), fmpq(1, 5), fmpq(-3, 2)):
        direct = block_norms(g, params, data, kind, t)
        assert {k: p(t) for k, p in polys.items()} == direct


def test_degree_bounds_and_refusals():
    g, params, data = _point(2, 2, 1)
    assert [degree_bound(g, k) for k in SCALE_KINDS] == [3, 3, 1, 1, 1]
    biased = transformer_block(2, 2, attention="linear", out_proj=True, bias=True)
    assert degree_bound(biased, "weights") == 4 and degree_bound(biased, "data") == 3
    with pytest.raises(InvalidArchitectureError, match="not a polynomial"):
        degree_bound(transformer_block(2, 2, attention="softmax", out_proj=False), "data")
    with pytest.raises(InvalidOptionError, match="scale kind"):
        degree_bound(g, "X")
    with pytest.raises(InvalidOptionError, match="mse"):
        norm_polynomials(g, params, data, "data", loss="cross_entropy")
    assert interpolate([0, 1, 2, 5], [1, 2, 5, 26]) == interpolate([3, 4, 6, 7], [10, 17, 37, 50])


def _pow2_point(rng, shape):
    """Entries 0, +-1/2, +-1 (a power of two or 0: float64 products and sums of them stay exact here)."""
    return rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], size=shape)


@pytest.mark.parametrize("kind", ["data", "weights", "W_V"])
def test_polynomials_equal_torch_float64_at_a_dyadic_scale(kind):
    torch = pytest.importorskip("torch")
    d, T, n = 4, 2, 2                                     # c = 1/sqrt(4) = 1/2 exactly
    g = transformer_block(d, T, attention="linear", out_proj=False)
    rng = np.random.default_rng(3)
    params = [_pow2_point(rng, s) for s in g.param_shapes()]
    X, Y = _pow2_point(rng, (n, T * d)), _pow2_point(rng, (n, T * d))
    polys = norm_polynomials(g, params, (X, Y), kind)
    t = 2.0
    scaled = {"data": set(), "weights": {0, 1, 2}, "W_V": {2}}[kind]
    theta0 = torch.tensor(np.concatenate([p.ravel() * (t if i in scaled else 1.0) for i, p in enumerate(params)]),
                          dtype=torch.float64)
    Xt = torch.tensor(X * (t if kind == "data" else 1.0), dtype=torch.float64).reshape(n, T, d)
    Yt = torch.tensor(Y, dtype=torch.float64)

    def forward(theta):
        Wq, Wk, Wv = (theta[i * d * d:(i + 1) * d * d].reshape(d, d) for i in range(3))
        A = 0.5 * (Xt @ Wq.T) @ (Xt @ Wk.T).transpose(1, 2)
        return (A @ (Xt @ Wv.T)).reshape(n, -1)

    H_L = torch.func.hessian(lambda th: 0.5 * (forward(th) - Yt).pow(2).sum())(theta0).numpy()
    J = torch.func.jacrev(forward)(theta0).reshape(-1, theta0.numel()).numpy()
    H_o = J.T @ J
    exact = {"H_L": H_L, "H_o": H_o}
    cols = {"Q": slice(0, 16), "K": slice(16, 32), "V": slice(32, 48)}
    for (part, block), p in polys.items():
        def sq(M):
            return sum((fmpq(Fraction(v).numerator, Fraction(v).denominator) ** 2
                        for v in M[cols[block[0]], cols[block[1]]].ravel()), fmpq(0))
        want = sq(exact[part]) if part != "H_f" else sum(
            ((fmpq(Fraction(a).numerator, Fraction(a).denominator) - fmpq(Fraction(b).numerator,
                                                                           Fraction(b).denominator)) ** 2
             for a, b in zip(H_L[cols[block[0]], cols[block[1]]].ravel(), H_o[cols[block[0]], cols[block[1]]].ravel())),
            fmpq(0))
        assert p(fmpq(2)) == want, (part, block)


def _sympy_norms(kind):
    """The squared block norms of the d = 2, T = 2, one-sample layer as polynomials in s, in sympy's
    sparse polynomial ring over QQ: the layer written out with the 12 weights and s as variables, its
    loss differentiated there, then the weights replaced by their values (times s where scaled)."""
    pytest.importorskip("sympy")
    from sympy.polys.domains import QQ
    from sympy.polys.rings import ring
    g, params, data = _point(2, 2, 1, seed=5)
    R, *gens = ring([f"{m}{i}" for m in "qkv" for i in range(4)] + ["s"], QQ)
    flat, s = gens[:12], gens[12]
    q = lambda v: QQ(int(fmpq(v).p), int(fmpq(v).q))  # noqa: E731
    c = q(g.by_name["attn.weights0"].attrs["scale"][0])

    def mat(entries):
        return [entries[0:2], entries[2:4]]

    def mul(A, B):
        return [[A[i][0] * B[0][j] + A[i][1] * B[1][j] for j in range(2)] for i in range(2)]

    def tr(A):
        return [[A[j][i] for j in range(2)] for i in range(2)]
    X = mat([q(v) * (s if kind == "data" else 1) for v in data[0][0]])
    Wq, Wk, Wv = (mat(flat[4 * m:4 * m + 4]) for m in range(3))
    F = [c * v for row in mul(mul(mul(X, tr(Wq)), tr(mul(X, tr(Wk)))), mul(X, tr(Wv))) for v in row]
    loss = sum((f - q(y)) ** 2 for f, y in zip(F, data[1][0])) / 2
    values = [q(v) for p in params for v in np.asarray(p).ravel()]
    point = [(x, R(v) * (s if (kind == "weights" or (kind == "W_V" and i >= 8)) else 1))
             for i, (x, v) in enumerate(zip(flat, values))]
    H_L = [[loss.diff(a).diff(b).compose(point) for b in flat] for a in flat]
    J = [[f.diff(b).compose(point) for b in flat] for f in F]
    H_o = [[sum(J[k][i] * J[k][j] for k in range(4)) for j in range(12)] for i in range(12)]
    mats = {"H_o": H_o, "H_f": [[a - b for a, b in zip(r, o)] for r, o in zip(H_L, H_o)], "H_L": H_L}
    idx = {"Q": range(0, 4), "K": range(4, 8), "V": range(8, 12)}
    out = {}
    for part, M in mats.items():
        for b in BLOCKS:
            poly = sum(R(M[i][j]) ** 2 for i in idx[b[0]] for j in idx[b[1]])
            out[(part, b)] = [poly.coeff(s ** k) for k in range(poly.degree(s) + 1)] if poly else []
    return g, params, data, out


@pytest.mark.parametrize("kind", ["data", "weights", "W_V"])
def test_polynomials_equal_sympy_on_a_tiny_layer(kind):
    g, params, data, want = _sympy_norms(kind)
    got = norm_polynomials(g, params, data, kind)
    for key, p in got.items():
        assert p.coeffs() == [fmpq(int(c.numerator), int(c.denominator)) for c in want[key]], key


def test_exponents_by_hand():
    """Data scale: H_o = t^6 H_o(1) (a monomial t^12 in the squared norm, every block); H_f = t^3 (t^3 P - Q)
    (valuation 6, degree 12 off the diagonal; zero on it). All weights: J ~ t^2, d2F/dW_A dW_B ~ t."""
    g, params, data = _point(3, 3, 2, seed=2)
    data_p = norm_polynomials(g, params, data, "data")
    w_p = norm_polynomials(g, params, data, "weights")
    for b in BLOCKS:
        ho = data_p[("H_o", b)]
        assert (ho.degree(), valuation(ho)) == (12, 12)
        assert (w_p[("H_o", b)].degree(), valuation(w_p[("H_o", b)])) == (8, 8)
        hf, hw = data_p[("H_f", b)], w_p[("H_f", b)]
        if b[0] == b[1]:
            assert hf == 0 and hw == 0
        else:
            assert (hf.degree(), valuation(hf)) == (12, 6)
            assert (hw.degree(), valuation(hw)) == (8, 2)


def test_growth_table_rows_and_paper_comparison():
    tab = growth_table(d=2, T=3, n_samples=1, scales=[fmpq(1, 256), fmpq(1, 128), fmpq(1, 2), fmpq(1)],
                       kinds=("data", "W_Q"))
    rows = list(tab)
    assert len(rows) == 2 * 2 * 3 * 6 and set(rows[0]) == set(tab.columns())
    claimed = tab.select(claimed=True)
    assert {(r["attention"], r["part"], r["block"]) for r in claimed} == set(PAPER)
    assert all(r["agrees"] for r in claimed)
    assert all(r["proven"] for r in tab.select(attention="linear"))
    assert not any(r["proven"] for r in tab.select(attention="softmax"))
    assert all(r["paper_claim"] is None for r in tab.select(kind="W_Q"))
    assert tab.select(attention="softmax", kind="data", part="H_f", block="VV")[0]["zero"]
    assert "| linear | data | H_o | QQ | 6 | 6 | proven | 6 | yes |" in tab.table()
    fig = tab.figure("data")
    assert len(fig.axes) == 4
    with pytest.raises(InvalidValueError, match="not computed"):
        tab.figure("weights")


def test_two_tokens_break_the_papers_softmax_query_exponent():
    """With T = 2 a row softmax is a sigmoid of the score difference, whose second derivative vanishes
    at 0 (the uniform attention of small data): the sigma^5 term of H_f's query block vanishes and the
    measured slope is 7, not the paper's 5 (T >= 3 gives 5, test above)."""
    tab = growth_table(d=2, T=2, n_samples=1, scales=[fmpq(1, 256), fmpq(1, 128)], attentions=("softmax",),
                       kinds=("data",))
    row = tab.select(part="H_f", block="QQ")[0]
    assert abs(row["exponent"] - 7) < 0.1 and row["agrees"] is False and not row["proven"]


def test_growth_table_refuses_bad_arguments():
    with pytest.raises(InvalidValueError, match="increasing"):
        growth_table(d=2, T=2, scales=[1, 1])
    with pytest.raises(InvalidOptionError, match="softmax"):
        growth_table(d=2, T=2, attentions=("relu",))
    with pytest.raises(InvalidOptionError, match="scale kind"):
        growth_table(d=2, T=2, kinds=("sigma",))
