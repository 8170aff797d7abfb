"""The attention symmetry statements (exacthess/statements/attention.py), the pattern they apply to
(models/attention_pattern.py) and the tangent vectors (hessian/attention_symmetry.py), against
independent routes: FLINT's rank of the dense exact Hessians, torch.func.jacobian in float64 at
few-bit dyadic points (exact there), and exact linear algebra written here."""

import numpy as np
import pytest
from flint import fmpq, fmpq_mat

import exacthess as eh
from exacthess.core.domains import QQ
from exacthess.hessian.attention_symmetry import symmetry_dimension, symmetry_proposal, symmetry_vectors
from exacthess.hessian.graph_forward import make_graph_problem
from exacthess.hessian.graph_route import GraphHessians
from exacthess.models.attention_pattern import attention_heads, value_outputs
from exacthess.models.graph import GraphBuilder
from exacthess.statements import get_statement


def rank(M):
    M = np.asarray(M, dtype=object)
    return fmpq_mat(M.shape[0], M.shape[1], [fmpq(v) for v in M.ravel()]).rank() if M.size else 0


def layer(T=3, d=3, dk=2, dv=2, K=3, bias=True, out=True, shift=0, residual=False):
    """Linear self-attention: q, k, v; scores scaled by 1/2 (plus a per-row shift); A V; an output projection."""
    b = GraphBuilder((T, d))
    q, k, v = (b.linear(b.input, w, bias=bias, name=n) for n, w in (("q", dk), ("k", dk), ("v", dv)))
    s = b.affine(b.matmul(q, b.transpose(k)), [fmpq(1, 2)] * T, [shift] * T)
    h = b.matmul(s, v)
    if residual:
        h = b.add(h, b.input)
    return b.build(b.linear(h, K, bias=bias, name="o") if out else h)


def dyadic_params(g, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(-4, 5, sh) / 4 for sh in g.param_shapes()]


# ----- the pattern ------------------------------------------------------------------------------------
def test_pattern_found_by_structure_not_names():
    g = layer()
    (h,) = attention_heads(g)
    assert (h.q, h.k, h.v, h.out, h.out_cols, h.homogeneous, h.row_shift) == ("q", "k", "v", "o", (0, 2), True, False)
    # the same graph with other names
    b = GraphBuilder((3, 2))
    a1, a2, a3 = (b.linear(b.input, 2, name=n) for n in ("x1", "x2", "x3"))
    g2 = b.build(b.linear(b.matmul(b.matmul(a2, b.transpose(a1)), a3), 2, name="zz"))
    (h2,) = attention_heads(g2)
    assert (h2.q, h2.k, h2.v, h2.out) == ("x2", "x1", "x3", "zz")


def test_pattern_refused_where_the_symmetry_breaks():
    assert not attention_heads(layer(shift=1))[0].homogeneous  # a shift: A(aS) != a A(S)
    assert attention_heads(layer(dv=3, residual=True))[0].out is None  # the head also feeds a residual sum
    assert value_outputs(layer(out=False)) == []
    b = GraphBuilder((3, 2))
    q, k = b.linear(b.input, 2, name="q"), b.linear(b.input, 2, name="k")
    g = b.build(b.add(b.matmul(b.matmul(q, b.transpose(k)), q), b.input))  # q read twice
    assert attention_heads(g) == []
    b = GraphBuilder((3, 2))
    q = b.linear(b.input, 2, name="q")
    assert attention_heads(b.build(b.matmul(q, b.transpose(q)))) == []  # shared query/key: not GL(d_k)
    assert attention_heads(eh.FCN(2, (2,), 1)) == []


# ----- the vectors: J v = 0 against torch, d_sym exact ---------------------------------------------------
@pytest.mark.parametrize("bias,out", [(False, True), (True, True), (True, False)])
def test_null_vectors_against_torch_jacobian(bias, out):
    torch = pytest.importorskip("torch")
    T, d, dk, dv, K, n = 3, 2, 2, 2, 2, 2
    g = layer(T, d, dk, dv, K, bias=bias, out=out)
    P = dyadic_params(g, 1)
    X = np.random.default_rng(2).integers(-4, 5, (n, T, d)) / 4
    prob = make_graph_problem(g, params=P, data=(X.reshape(n, -1), np.zeros((n, g.output_dim))))
    V, labels, fam = symmetry_vectors(prob)
    assert fam == ({"query-key": 4, "value-output": 4, "query-value scaling": 1} if out
                   else {"query-key": 4, "query-value scaling": 1})
    sizes = [int(np.prod(s)) for s in g.param_shapes()]
    Xt = torch.tensor(X)

    def F(theta):
        parts = dict(zip(g.param_order, theta.split(sizes)))
        lin = lambda x, name, w: x @ parts[(name, "weight")].reshape(w, -1).T + (  # noqa: E731
            parts[(name, "bias")] if (name, "bias") in parts else 0)
        h = (0.5 * lin(Xt, "q", dk) @ lin(Xt, "k", dk).transpose(1, 2)) @ lin(Xt, "v", dv)
        return (lin(h, "o", K) if out else h).reshape(-1)
    theta = torch.cat([torch.tensor(p, dtype=torch.float64).reshape(-1) for p in P])
    J = torch.func.jacrev(F)(theta).numpy()
    Vf = np.array([[float(x) for x in row] for row in V])
    assert np.abs(J @ Vf).max() == 0  # dyadic point: float64 is exact
    assert symmetry_dimension(V) == rank(V) == V.shape[1]  # independent here


def test_exact_rank_of_H_o_against_the_bound_at_random_points():
    """FLINT's rank of the dense exact H_o never exceeds p - d_sym; with enough samples it meets it."""
    for seed, (T, d, dk, dv, K, bias) in enumerate([(3, 2, 2, 2, 2, False), (3, 3, 2, 2, 3, True),
                                                    (3, 2, 1, 1, 2, False), (4, 2, 3, 1, 2, True)]):
        g = layer(T, d, dk, dv, K, bias=bias)
        for n in (1, 2, 6):
            prob = make_graph_problem(g, n_samples=n, seed=seed)
            d_sym = symmetry_dimension(symmetry_vectors(prob)[0])
            Ho = GraphHessians(prob, QQ).full("H_o")
            r = rank(Ho)
            assert r <= g.n_params - d_sym
            if n == 6:
                assert r == g.n_params - d_sym, (T, d, dk, dv, K, bias, r, g.n_params, d_sym)


def test_d_sym_is_the_exact_dimension_where_a_symmetry_fixes_the_point():
    """d_k > d: the query-key vectors are dependent (E with E^T W_q = 0 and E W_k = 0 fixes theta), so
    d_sym < number of vectors; the span's dimension is 2 d_k d - d^2 (+ the others) exactly."""
    g = layer(T=3, d=1, dk=2, dv=1, K=1, bias=False)
    prob = make_graph_problem(g, n_samples=4, seed=0)
    V, _, fam = symmetry_vectors(prob)
    assert fam["query-key"] == 4 and symmetry_dimension(V) == rank(V) == (2 * 2 * 1 - 1) + 1 + 1
    assert rank(GraphHessians(prob, QQ).full("H_o")) <= g.n_params - symmetry_dimension(V)


# ----- the statements through verify --------------------------------------------------------------------
def test_verify_judges_H_o_and_certifies_with_the_symmetry_vectors():
    g = layer()
    r = eh.verify(g, n_samples=6, progress=False, float_check=False)
    Ho = eh.hessian(g, n_samples=6).H_o
    assert r.ranks["H_o"] == rank(Ho) == g.n_params - 9
    assert r.rank_info["H_o"].certified and "null vectors" in r.rank_info["H_o"].method
    row = {x.statement: x for x in r.rows}
    assert row["attention.qk.H_o"].verdict == "holds" and row["attention.qk.H_o"].predicted == g.n_params - 9
    assert "critical" in row["attention.qk.H_L"].note or row["attention.qk.H_L"].verdict.startswith("n/a")


def test_H_L_bound_fails_away_from_critical_points():
    """The pinned point: rank H_L = p = 33 > p - d_sym = 24 (seeded point, 6 samples)."""
    g = layer()
    H = eh.hessian(g, n_samples=6, seed=0)
    prob = make_graph_problem(g, n_samples=6, seed=0)
    d_sym = symmetry_dimension(symmetry_vectors(prob)[0])
    assert (g.n_params, d_sym, rank(H.H_L), rank(H.H_o)) == (33, 9, 33, 24)


def test_H_L_and_H_f_bounds_at_a_critical_point_with_nonzero_residuals():
    """Targets Y = F(X) - delta with J^T delta = 0, delta != 0: grad l = 0 exactly, H_f != 0; the statements
    apply and hold (FLINT's ranks)."""
    g = layer(T=3, d=2, dk=1, dv=1, K=2, bias=False)
    n = 6
    prob = make_graph_problem(g, n_samples=n, seed=3)
    J = GraphHessians(prob, QQ).jacobian_stack  # (n K, p)
    Jt = fmpq_mat(J.shape[1], J.shape[0], [fmpq(v) for v in np.ascontiguousarray(J.T).ravel()])
    R, r = Jt.rref()  # a vector of ker J^T from the reduced echelon form, written here
    pivots = [next(j for j in range(Jt.ncols()) if R[i, j] != 0) for i in range(r)]
    free = next(j for j in range(Jt.ncols()) if j not in pivots)
    delta = np.full(Jt.ncols(), fmpq(0), dtype=object)
    delta[free] = fmpq(1)
    for i, j in enumerate(pivots):
        delta[j] = -R[i, free]
    assert all(v == 0 for v in (Jt * fmpq_mat(len(delta), 1, list(delta))).entries())
    delta = delta.reshape(n, g.output_dim)
    F = np.ascontiguousarray(prob.forward.outputs.T)  # (n, K)
    X, Y = prob.X, F - delta
    params = prob.params
    H = eh.hessian(g, params=params, data=(X, Y))
    d_sym = symmetry_dimension(symmetry_vectors(prob)[0])
    assert any(v != 0 for v in np.asarray(H.H_f).flat)
    assert rank(H.H_L) <= g.n_params - d_sym and rank(H.H_f) <= g.n_params - d_sym
    r = eh.verify(g, params=params, data=(X, Y), progress=False, float_check=False)
    row = {x.statement: x for x in r.rows}
    for q in ("H_L", "H_f", "H_o"):
        assert row[f"attention.qk.{q}"].verdict == "holds", row[f"attention.qk.{q}"]
        assert row[f"attention.qk.{q}"].predicted == g.n_params - d_sym


def test_statements_registered():
    for q in ("H_o", "H_f", "H_L"):
        st = get_statement(f"attention.qk.{q}")
        assert st.quantity == q and str(st.kind) == "derived" and "graph" in st.family


def test_proposal_is_independent_and_checked():
    g = layer()
    prob = make_graph_problem(g, n_samples=2, seed=0)
    nv = symmetry_proposal(prob, 2147483647)
    assert len(nv.pivots) == 9
    V = nv.blocks[0].vectors
    assert rank(V[[nv.blocks[0].rows.index(i) for i in nv.pivots]]) == 9


# ----- softmax attention and heads joined by concat (the self_attention builder) ----------------------------
@pytest.mark.parametrize("kw,families", [
    (dict(attention="softmax", bias=True), {"query-key": 16, "key bias": 4, "value-output": 16, "value bias": 4}),
    (dict(attention="softmax", bias=True, heads=2, causal=True),
     {"query-key": 8, "key bias": 4, "value-output": 8, "value bias": 4}),
    (dict(attention="linear", bias=True, heads=2, causal=True),
     {"query-key": 8, "value-output": 8, "query-value scaling": 2})])
def test_softmax_and_multi_head_layers_meet_the_bound(kw, families):
    """FLINT's rank of the dense exact H_o (softmax at its rational stand-ins) equals p - d_sym with 12 samples;
    verify certifies it with the symmetry vectors and judges attention.qk.H_o."""
    from exacthess.models.attention import self_attention
    b = GraphBuilder((3, 4))
    g = b.build(self_attention(b, b.input, **kw))
    prob = make_graph_problem(g, n_samples=12, seed=0)
    V, _, fam = symmetry_vectors(prob)
    assert fam == families
    d_sym = symmetry_dimension(V)
    Ho = GraphHessians(prob, QQ).full("H_o")
    assert rank(Ho) == g.n_params - d_sym
    r = eh.verify(g, n_samples=12, progress=False, float_check=False)
    assert r.ranks["H_o"] == g.n_params - d_sym and r.rank_info["H_o"].certified
    assert {x.statement: x.verdict for x in r.rows}["attention.qk.H_o"] == "holds"


def test_key_bias_directions_bound_H_L_everywhere_under_softmax():
    """Softmax with biases at a non-critical point: rank H_L = p - d_bk (F does not depend on b_k), above
    p - d_sym; attention.qk.H_L applies with p - d_bk there and holds (FLINT's rank)."""
    from exacthess.models.attention import self_attention
    b = GraphBuilder((3, 4))
    g = b.build(self_attention(b, b.input, attention="softmax", bias=True))
    H = eh.hessian(g, n_samples=12, seed=0)
    assert rank(H.H_L) == g.n_params - 4 > g.n_params - 40
    r = eh.verify(g, n_samples=12, progress=False, float_check=False)
    row = {x.statement: x for x in r.rows}["attention.qk.H_L"]
    assert row.verdict == "holds" and row.predicted == g.n_params - 4
