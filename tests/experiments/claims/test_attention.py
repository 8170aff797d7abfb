"""The self-attention Hessian blocks (exacthess/experiments/claims/attention.py, attention_claims.py).

Independent routes: the graph engine over Q (a different computation: node-by-node Jacobians and
the matmul H_f rule), torch.func.hessian in float64 at few-bit dyadic points (exact there for
linear attention), and an explicit loop over parameter entries for the layout.
"""

import numpy as np
import pytest
from flint import fmpq
from hypothesis import given

import exacthess as eh
from exacthess.core.errors import InvalidOptionError, InvalidValueError
from exacthess.experiments.claims import attention as at
from exacthess.experiments.claims.attention_claims import (ATTENTION_CLAIMS, _engine, attention_case,
                                                           attention_claim, attention_points, search_attention)
from exacthess.strategies import attention_points as drawn_points


def _torch_parts(point, softmax: bool):
    """H_o = J^T J and H_f = H - H_o of 1/2 sum ||F - Y||^2 by torch.func (float64), exacthess's layout."""
    torch = pytest.importorskip("torch")
    f = lambda a: torch.tensor(np.array(a, dtype=float))  # noqa: E731
    X, Y = f(point["X"]), f(point["Y"])
    d, k = point["W_Q"].shape
    m = point["W_V"].shape[1]
    s = float(point["scale"])

    def F(theta):
        wq, wk = theta[:d * k].reshape(k, d).T, theta[d * k:2 * d * k].reshape(k, d).T
        wv = theta[2 * d * k:].reshape(m, d).T
        S = s * (X @ wq) @ (X @ wk).transpose(1, 2)
        return (torch.softmax(S, -1) if softmax else S) @ (X @ wv)
    theta = torch.cat([f(point[w]).T.reshape(-1) for w in ("W_Q", "W_K", "W_V")])
    H = torch.func.hessian(lambda t: 0.5 * ((F(t) - Y) ** 2).sum())(theta).numpy()
    J = torch.func.jacrev(F)(theta).reshape(-1, theta.numel()).numpy()
    return J.T @ J, H - J.T @ J


def _formulas(point):
    A = at.attention_matrix(point["X"], point["W_Q"], point["W_K"], scale=point["scale"], kind=point["kind"])
    return at.attention_blocks(point["X"], point["W_Q"], point["W_K"], point["W_V"], point["Y"], A,
                               scale=point["scale"], kind=point["kind"])


@given(point=drawn_points("linear"))
def test_linear_attention_formulas_equal_the_engine_exactly(point):
    mine, engine = _formulas(point), _engine(point)
    for part in ("Ho", "Hf"):
        assert (at.assemble(mine, part) == engine[part]).all(), part


@given(point=drawn_points("linear", max_tokens=2))
def test_linear_attention_formulas_equal_torch_float64_exactly(point):
    """Entries are multiples of 1/4 up to 2, scale 1 or 1/2: every float64 operation is exact."""
    Ho, Hf = _torch_parts(point, softmax=False)
    mine = _formulas(point)
    assert (np.array(at.assemble(mine, "Ho"), dtype=float) == Ho).all()
    assert (np.array(at.assemble(mine, "Hf"), dtype=float) == Hf).all()


@given(point=drawn_points("softmax", max_tokens=3))
def test_softmax_formulas_against_torch_float64_with_a_tolerance(point):
    """FLOAT comparison (softmax values are irrational): the formulas at the exact stand-ins against
    torch.func in float64, up to 1e-12 relatively. Decides nothing; the exact check is against the
    engine's softmax op (test_softmax_attention_formulas_equal_the_engine_exactly)."""
    Ho, Hf = _torch_parts(point, softmax=True)
    mine = _formulas(point)
    for got, want in ((at.assemble(mine, "Ho"), Ho), (at.assemble(mine, "Hf"), Hf)):
        got = np.array(got, dtype=float)
        assert np.abs(got - want).max() <= 1e-12 * max(1.0, np.abs(want).max())


@given(point=drawn_points("softmax", max_tokens=2))
def test_softmax_attention_formulas_equal_the_engine_exactly(point):
    mine, engine = _formulas(point), _engine(point)
    for part in ("Ho", "Hf"):
        assert (at.assemble(mine, part) == engine[part]).all(), part


def test_layout_is_the_column_stacking_vec_of_the_papers_matrices():
    """An explicit loop: W_Q[i, a] of the paper is exacthess's weight_Q[a, i], flat index a * d + i."""
    W_Q = np.array([[fmpq(1), fmpq(2), fmpq(3)], [fmpq(4), fmpq(5), fmpq(6)]], dtype=object)  # d = 2, d_K = 3
    [wq, _, _] = at.exacthess_params(W_Q, W_Q, W_Q)
    flat = wq.ravel()
    for i in range(2):
        for a in range(3):
            assert flat[a * 2 + i] == W_Q[i, a]
    assert all((x == y).all() for x, y in zip(at.paper_weights([wq, wq, wq]), [W_Q] * 3))


def test_linear_attention_blocks_are_the_kronecker_products_of_the_docstring():
    p = attention_points("linear")[0]
    X, Y, WQ, WK, WV, s = (p[k] for k in ("X", "Y", "W_Q", "W_K", "W_V", "scale"))
    b = _formulas(p)
    want_qq = sum(np.kron(s * s * WK.T @ x.T @ x @ WV @ WV.T @ x.T @ x @ WK, x.T @ x) for x in X)
    assert (b["Ho.QQ"] == want_qq).all()
    R = [s * x @ WQ @ WK.T @ x.T @ x @ WV - y for x, y in zip(X, Y)]
    eye = np.array([[fmpq(int(a == c)) for c in range(2)] for a in range(2)], dtype=object)
    want_qk = sum(np.kron(eye, s * x.T @ r @ WV.T @ x.T @ x) for x, r in zip(X, R))
    assert (b["Hf.QK"] == want_qk).all()
    assert not any(v for v in b["Hf.QQ"].ravel()) and not any(v for v in b["Hf.KK"].ravel())


@pytest.mark.parametrize("cid", [c for c in ATTENTION_CLAIMS if ".linear." in c])
def test_linear_claims_hold_at_every_fixed_point(cid):
    r = eh.claims.claim(cid)
    assert str(r.verdict) == "holds" and r.agrees and r.certified
    assert [c.note for c in r.cases] == ["none", "d_K = 4, scale 1/sqrt(4)", "zero_weights", "zero_inputs",
                                         "repeated_tokens", "T = 1"]
    assert all(c.numbers[f"{cid.split('.', 2)[2]}: formula == engine"] for c in r.cases)


@pytest.mark.parametrize("cid", [c for c in ATTENTION_CLAIMS if ".softmax." in c])
def test_softmax_claims_hold_at_every_fixed_point(cid):
    r = attention_claim(cid)
    assert str(r.verdict) == "holds" and r.certified


def test_a_transposed_formula_is_refuted_with_its_point(monkeypatch):
    """The row-stacking vec (W_Q[i, a] at i * d_K + a) instead of exacthess's column stacking: a wrong
    layout of H_o(Q, Q) -- refuted at the generic point (d = d_K = 2), with the point in the case."""
    real = at._layout

    def row_major(H4):
        d1, k1, d2, k2 = H4.shape
        return H4.reshape(d1 * k1, d2 * k2)
    monkeypatch.setattr(at, "_layout", row_major)
    case = attention_case(attention_points("linear")[0], ("Ho.QQ",))
    assert str(case.verdict) == "refuted" and case.numbers["Ho.QQ: |formula - engine|_F^2"] > 0
    assert case.numbers["X"][:2] == ["1", "-1"]
    monkeypatch.setattr(at, "_layout", real)
    assert str(attention_case(attention_points("linear")[0], ("Ho.QQ",)).verdict) == "holds"


def test_search_finds_nothing_for_a_true_closed_form_and_is_reachable_by_id():
    r = eh.search("attention.linear.Hf.QK", max_examples=5)
    assert r.counterexample is None and r.examples == 5
    with pytest.raises(InvalidOptionError, match="attention.linear.Ho.QQ"):
        search_attention("attention.bogus")


def test_search_finds_and_shrinks_a_counterexample_to_a_wrong_formula(monkeypatch):
    """Hf.VV reported as H_o's (V, V) block: false unless A X = 0."""
    real = at.attention_blocks

    def wrong(*args, **kw):
        b = real(*args, **kw)
        return {**b, "Hf.VV": b["Ho.VV"]}
    monkeypatch.setattr("exacthess.experiments.claims.attention_claims.attention_blocks", wrong)
    r = search_attention("attention.linear.Hf.VV", max_examples=20)
    assert r.counterexample is not None and str(r.counterexample.verdict) == "refuted"


def test_cli_search_reaches_the_attention_claims(capsys):
    from exacthess.cli.main import main
    assert main(["search", "attention.linear.Ho.VV", "--max-examples", "3"]) == 0
    assert "no counterexample in 3 examples" in capsys.readouterr().out


def test_bad_arguments_are_refused():
    p = attention_points("linear")[0]
    with pytest.raises(InvalidOptionError, match="kind"):
        at.attention_matrix(p["X"], p["W_Q"], p["W_K"], scale=1, kind="relu")
    with pytest.raises(InvalidValueError, match="not exact"):
        at.attention_matrix(np.array([[0.5]]), [[1]], [[1]], scale=1, kind="linear")
    A = at.attention_matrix(p["X"], p["W_Q"], p["W_K"], scale=1, kind="linear")
    with pytest.raises(InvalidValueError, match="paper's matrices"):
        at.attention_blocks(p["X"], p["W_Q"].T[:1], p["W_K"], p["W_V"], p["Y"], A, scale=1, kind="linear")
    with pytest.raises(InvalidOptionError, match="part"):
        at.assemble({}, "H")


def test_one_token_softmax_is_constant_so_q_and_k_blocks_vanish():
    """T = 1: softmax of one logit is 1, A X W_V does not depend on W_Q, W_K -- every Q/K block is 0."""
    p = {**attention_points("softmax")[0]}
    p["X"], p["Y"] = p["X"][:, :1], p["Y"][:, :1]
    b = _formulas(p)
    for key in at.BLOCKS:
        if key.split(".")[1] != "VV":
            assert not any(v for v in b[key].ravel()), key


def test_softmax_q_and_k_functional_blocks_do_not_vanish_where_linear_ones_do():
    """At the generic fixed point: H_f(Q, Q), H_f(K, K) are 0 for linear attention, not for softmax
    (the exact checks of the softmax forms are not vacuous)."""
    lin, soft = _formulas(attention_points("linear")[0]), _formulas(attention_points("softmax")[0])
    for key in ("Hf.QQ", "Hf.KK"):
        assert not any(v for v in lin[key].ravel()) and any(v for v in soft[key].ravel()), key


# --- the blocks as printed ([ormaniec2025] Thms. 3.1-3.2, Lemma C.1, restated in [petrov2025]) -----------------

from exacthess.experiments.claims import attention_printed as ap  # noqa: E402
from exacthess.experiments.claims.attention_structure import (GROWTH, PRINTED_CLAIMS, STRUCTURE_CLAIMS,  # noqa: E402
                                                              structure_claim)



@pytest.mark.parametrize("cid", [c for c in PRINTED_CLAIMS if not c.endswith("literal")])
def test_printed_blocks_equal_the_engine_at_every_fixed_point(cid):
    r = eh.claims.claim(cid)
    assert str(r.verdict) == "holds" and r.certified and len(r.cases) == 6
    block = cid.rsplit("printed.", 1)[1]
    assert all(c.numbers[f"{block}: printed == engine"] for c in r.cases)
    if block != "Hf.VV":   # not vacuous: the engine's block is nonzero at the generic point
        assert r.cases[0].numbers["engine block nonzero"]


def test_the_literal_last_term_of_printed_hf_qk_is_not_well_formed():
    """S is printed d_V^2 x d_V but its formula gives d_V^3 x d_V; with S kron I_{d_K} as one factor the
    term is 2 x 4 at d_V = d_K = 2, not a 4 x 4 block: refuted, the shapes pinned."""
    r = structure_claim("attention.softmax.printed.Hf.QK.literal")
    assert str(r.verdict) == "refuted"
    n = r.cases[0].numbers
    assert n["S as printed"] == [4, 2] and n["S as its formula gives"] == [8, 2]
    assert n["(... (Z_1 x I)) shape"] == [2, 8] and n["(S x I_{d_K}) shape (printed S)"] == [8, 4]


def test_commutation_matrix_against_its_definition():
    A = np.arange(6).reshape(2, 3)
    K = np.array(ap.commutation(2, 3), dtype=int)
    assert (K @ A.reshape(-1, order="F") == A.T.reshape(-1, order="F")).all()


def test_lemma_c1_softmax_second_derivative_against_sympy():
    """Lemma C.1 (as used by softmax_second) against sympy's exact second derivatives of
    exp(t_u) / sum_l exp(t_l), at T-rows 0 and (1, 0, -2)."""
    sp = pytest.importorskip("sympy")
    t = sp.symbols("t0:3")
    soft = [sp.exp(ti) / sum(sp.exp(tj) for tj in t) for ti in t]
    for row in ([0, 0, 0], [1, 0, -2]):
        at = dict(zip(t, row))
        a = [s.subs(at) for s in soft]
        for u in range(3):
            for k in range(3):
                for m in range(3):
                    lemma = a[u] * (2 * a[k] * a[m] + (1 if u == k == m else 0) - (a[k] if k == m else 0)
                                    - (a[m] if u == k else 0) - (a[k] if u == m else 0))
                    assert sp.simplify(lemma - sp.diff(soft[u], t[k], t[m]).subs(at)) == 0


def test_softmax_second_places_lemma_c1_in_the_vec_r_layout():
    """An explicit loop over one 2 x 2 attention matrix: entry [(t*L+u)*L^2 + t*L+k, t*L+m] is Lemma C.1's."""
    h = fmpq(1, 2)
    A = np.array([[h, h], [fmpq(1, 4), fmpq(3, 4)]], dtype=object)
    H = ap.softmax_second(A)
    assert H.shape == (16, 4)
    for t in range(2):
        a = A[t]
        for u in range(2):
            for k in range(2):
                for m in range(2):
                    e = [fmpq(int(i == u)) for i in range(2)]
                    want = a[u] * (2 * a[k] * a[m] + e[k] * e[m] - (a[k] if k == m else 0) - e[k] * a[m] - a[k] * e[m])
                    assert H[(t * 2 + u) * 4 + t * 2 + k, t * 2 + m] == want
    assert not any(H[(0 * 2 + 0) * 4 + 1 * 2 + k, m] for k in range(2) for m in range(4))   # rows do not mix


def test_printed_cross_term_is_x_d_x_and_a_transposition_would_be_caught():
    """The printed Hf.QK minus its Z_2 term is s (X^T D X) kron I_{d_K} (vec_r order), D = A o (G - gbar 1^T),
    G = R V^T computed here by loops; X^T D X is not symmetric at the generic point, so the transposed
    reading would differ from the printed block, which equals the engine's (test above)."""
    p = attention_points("softmax")[0]
    x, y, WQ, WK, WV, s = p["X"][0], p["Y"][0], p["W_Q"], p["W_K"], p["W_V"], p["scale"]
    L, d = x.shape
    k = WQ.shape[1]
    op = ap.printed_operators(x, WQ, WK, WV, y, scale=s)
    A = op["A"]
    G = (A @ x @ WV - y) @ (x @ WV).T
    D = np.array([[A[t, u] * (G[t, u] - sum((A[t, v] * G[t, v] for v in range(L)), fmpq(0))) for u in range(L)]
                  for t in range(L)], dtype=object)
    XDX = x.T @ D @ x
    assert (XDX != XDX.T).any()
    eye = lambda n: np.array([[fmpq(int(i == j)) for j in range(n)] for i in range(n)], dtype=object)  # noqa: E731
    c = fmpq(2, L * d)
    z2_term = c * s * s * np.kron(op["R"], eye(d * k)) @ np.kron(np.kron(np.kron(eye(L), WV.T), eye(d)), WK.T) \
        @ op["Z2"] @ np.kron(WQ, eye(d)) @ ap.commutation(k, d)
    full = ap.printed_blocks(x, WQ, WK, WV, y, scale=s)["Hf.QK"]
    assert (full - z2_term == c * s * np.kron(XDX, eye(k))).all()
    assert not (full - z2_term == c * s * np.kron(XDX.T, eye(k))).all()


def test_printed_layout_matters_row_stacking_order_is_refuted():
    """Without the vec_r -> vec permutation (only the loss factor L d_V / 2), printed Ho.QQ differs from the engine."""
    p = attention_points("softmax")[0]
    L, d = p["X"].shape[1:]
    total = sum(ap.printed_blocks(x, p["W_Q"], p["W_K"], p["W_V"], y, scale=p["scale"])["Ho.QQ"]
                for x, y in zip(p["X"], p["Y"]))
    eng = _engine(p)["Ho"][:4, :4]
    assert (ap.to_exacthess(total, (2, 2), (2, 2), L, d) == eng).all()
    assert not (fmpq(L * d, 2) * total == eng).all()


def test_printed_formulas_refuse_a_non_square_value_matrix():
    p = attention_points("linear")[0]
    with pytest.raises(InvalidValueError, match="square"):
        ap.printed_operators(p["X"][0], p["W_Q"], p["W_K"], p["W_V"][:, :1], p["Y"][0][:, :1], scale=p["scale"])


@pytest.mark.parametrize("kind", ["linear", "softmax"])
def test_outer_product_hessian_is_psd_never_definite_at_the_fixed_points(kind):
    r = eh.claims.claim(f"attention.{kind}.Ho.psd")
    assert str(r.verdict) == "holds" and r.certified
    assert not any(c.numbers["H_o positive definite"] for c in r.cases)
    assert all(c.numbers["rank H_o"] < c.numbers["size"] for c in r.cases)


@pytest.mark.parametrize("kind", ["linear", "softmax"])
def test_functional_hessian_is_indefinite_with_checked_certificates(kind):
    """The certificate vectors re-checked here by an explicit double loop over the engine's H_f."""
    r = eh.claims.claim(f"attention.{kind}.Hf.indefinite")
    assert str(r.verdict) == "holds"
    case = r.cases[0]
    assert case.note == "none" and case.numbers["H_f indefinite (exact)"]
    H = _engine(attention_points(kind)[0])["Hf"]
    for name, sign in (("v (v^T H_f v < 0)", -1), ("w (w^T H_f w > 0)", 1)):
        v = [fmpq(s) if "/" not in s else fmpq(*map(int, s.split("/"))) for s in case.numbers[name]]
        q = sum((v[i] * H[i, j] * v[j] for i in range(len(v)) for j in range(len(v))), fmpq(0))
        assert q * sign > 0
    assert [c.numbers["H_f indefinite (exact)"] for c in r.cases][2:4] == [False, False]   # zero weights, inputs


@pytest.mark.parametrize("key", list(GROWTH))
def test_growth_laws_in_the_input_scale_hold_exactly(key):
    kind, block = key
    r = eh.claims.claim(f"attention.{kind}.growth.{block}")
    assert str(r.verdict) == "holds" and r.certified
    assert r.cases[0].numbers[f"C_{GROWTH[key][0]} nonzero"]   # the smallest exponent is attained (generic point)


def test_structure_ids_are_registered_and_unknown_ones_refused():
    assert set(PRINTED_CLAIMS) | set(STRUCTURE_CLAIMS) <= set(eh.claims.ATTENTION)
    assert set(ATTENTION_CLAIMS) <= set(eh.claims.ATTENTION)   # the derived ids keep working
    with pytest.raises(InvalidOptionError, match="attention.softmax.printed.Ho.QQ"):
        structure_claim("attention.softmax.printed.bogus")
