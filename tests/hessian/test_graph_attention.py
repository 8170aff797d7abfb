"""Attention's operations in the graph engine (softmax, causal mask, concat, products) against
independent routes: ``torch.nn.MultiheadAttention`` through ``torch.func.hessian`` in float64, an
explicit torch forward for linear attention (exact at few-bit dyadic points), sympy's symbolic
Hessian with the exponentials replaced by the stand-ins, and FLINT's rank of the dense exact matrix."""

from __future__ import annotations

import math

import numpy as np
import pytest
from flint import fmpq, fmpq_mat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exacthess as eh
from exacthess.models.attention import transformer_block
from exacthess.models.graph import GraphBuilder


def _dyadic(rng, shape, bits=2):
    return rng.integers(-4, 5, shape) / 2 ** bits


def _torch_block(torch, g, theta, X, cfg):
    """An explicit torch forward of ``transformer_block(**cfg)`` (linear or softmax attention)."""
    shapes = g.param_shapes()
    parts = dict(zip(g.param_order, (t.reshape(s) for t, s in zip(theta.split([math.prod(s) for s in shapes]),
                                                                     shapes))))

    def lin(x, name):
        out = x @ parts[(name, "weight")].T
        return out + parts[(name, "bias")] if (name, "bias") in parts else out
    T = X.shape[1]
    heads, c = cfg.get("heads", 1), float(g.by_name["attn.weights0"].attrs["scale"]) if cfg["attention"] == "softmax" \
        else float(g.by_name["attn.weights0"].attrs["scale"][0])
    upper = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    outs = []
    for h in range(heads):
        s = lin(X, f"attn.q{h}") @ lin(X, f"attn.k{h}").transpose(1, 2)
        if cfg["attention"] == "softmax":
            a = torch.softmax((c * s).masked_fill(upper, float("-inf")) if cfg.get("causal") else c * s, dim=-1)
        else:
            a = c * (s.masked_fill(upper, 0.0) if cfg.get("causal") else s)
        outs.append(a @ lin(X, f"attn.v{h}"))
    h = lin(torch.cat(outs, dim=-1), "attn.out")
    if cfg.get("residual"):
        h = X + h
    if cfg.get("ffn"):
        act = {"linear": lambda t: t, "relu": torch.relu, "poly(0, 0, 1)": lambda t: t * t}[cfg["ffn"]]
        f = lin(act(lin(h, "ffn.fc1")), "ffn.fc2")
        h = h + f if cfg.get("residual") else f
    if cfg.get("output_dim"):
        h = lin(h, "readout")
    return h.reshape(X.shape[0], -1)


@st.composite
def blocks(draw):
    heads = draw(st.integers(1, 2))
    cfg = dict(attention=draw(st.sampled_from(["linear", "softmax"])), heads=heads,
               causal=draw(st.booleans()), residual=draw(st.booleans()), bias=draw(st.booleans()),
               ffn=draw(st.sampled_from([None, "linear", "relu", "poly(0, 0, 1)"])), ffn_width=draw(st.integers(1, 3)),
               output_dim=draw(st.sampled_from([None, 1, 2])), scale=fmpq(1, draw(st.sampled_from([1, 2, 4]))))
    if cfg["ffn"] is None:
        cfg["ffn_width"] = None
    d = heads * draw(st.integers(1, 2))
    T = draw(st.integers(1, 3))
    return d, T, cfg


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(block=blocks(), seed=st.integers(0, 2 ** 16), n=st.integers(1, 3))
def test_transformer_blocks_equal_torch_float64(block, seed, n):
    """Every option of :func:`transformer_block` against an explicit torch forward: linear attention
    exactly (few-bit dyadic point), softmax (its values are stand-ins within 2^-64, far below float64's
    resolution) and a squaring feed-forward block (entries of more bits than float64 holds) within float64
    rounding."""
    torch = pytest.importorskip("torch")
    d, T, cfg = block
    g = transformer_block(d, T, **cfg)
    rng = np.random.default_rng(seed)
    P = [_dyadic(rng, s) for s in g.param_shapes()]
    X, Y = _dyadic(rng, (n, T * d)), _dyadic(rng, (n, g.output_dim))
    try:
        H = eh.hessian(g, params=P, data=(X, Y))
    except eh.errors.NonDifferentiableError:
        return  # a ReLU input exactly at 0: refused, as it must be
    flat = torch.cat([torch.tensor(p).reshape(-1) for p in P])
    Xt, Yt = torch.tensor(X).reshape(n, T, d), torch.tensor(Y)
    want = torch.func.hessian(lambda th: 0.5 * (_torch_block(torch, g, th, Xt, cfg) - Yt).pow(2).sum())(flat).numpy()
    got = np.array(H.H_L, dtype=float)
    if cfg["attention"] == "linear" and cfg["ffn"] != "poly(0, 0, 1)":  # few bits: float64 is exact
        assert np.array_equal(got, want)
    else:
        assert np.abs(got - want).max() <= 1e-12 * max(1.0, np.abs(want).max())


def test_multihead_attention_module_equals_torch():
    """``nn.MultiheadAttention(8, 2, batch_first=True)`` (biases, d_k = 4 so the scale 1/2 is exact), with and
    without a causal mask: its parameters, flattened in ``named_parameters`` order, are the graph's."""
    torch = pytest.importorskip("torch")
    T, d, n = 3, 8, 2
    for causal in (False, True):
        mha = torch.nn.MultiheadAttention(d, 2, batch_first=True).double()
        g = transformer_block(d, T, heads=2, bias=True, causal=causal)
        assert g.n_params == sum(p.numel() for p in mha.parameters())
        rng = np.random.default_rng(1)
        flat = torch.tensor(_dyadic(rng, g.n_params, 3))
        X, Y = _dyadic(rng, (n, T, d)), _dyadic(rng, (n, T * d))
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), 1) if causal else None
        names = [k for k, _ in mha.named_parameters()]
        sizes = [p.numel() for p in mha.parameters()]

        def loss(theta):
            ps = {k: t.reshape(p.shape) for k, t, p in zip(names, theta.split(sizes), mha.parameters())}
            Xt = torch.tensor(X)
            out = torch.func.functional_call(mha, ps, (Xt, Xt, Xt), {"attn_mask": mask, "need_weights": True})[0]
            return 0.5 * (out.reshape(n, -1) - torch.tensor(Y)).pow(2).sum()
        want = torch.func.hessian(loss)(flat).numpy()
        H = eh.hessian(g, params=flat.numpy(), data=(X, Y))
        assert np.abs(np.array(H.H_L, dtype=float) - want).max() <= 1e-12 * np.abs(want).max()


def test_softmax_attention_equals_sympy_at_the_standins():
    """Two tokens of width 1, softmax attention: sympy's Hessian of the loss with each row's exponential an
    opaque function ``e_i`` (``e_i' = e_i``; one per row, so that nothing merges across rows), then each
    ``e_i(c q_i k_j)`` replaced by the stand-in of its softmax entry (a row's softmax is invariant to a
    common factor of its exponentials), equals the engine's exact Hessian entry by entry."""
    sp = pytest.importorskip("sympy")
    from exacthess.models.standins import softmax as standin

    class RowExp(sp.Function):
        def fdiff(self, argindex=1):
            return self.func(*self.args)
    exps = [type(f"e{i}", (RowExp,), {}) for i in range(2)]
    wq, wk, wv = sp.symbols("wq wk wv")
    x, y = [fmpq(3, 4), fmpq(-1, 2)], [fmpq(1, 4), fmpq(5, 4)]
    P = [fmpq(1, 2), fmpq(-3, 4), fmpq(5, 4)]
    c = fmpq(1, 2)

    def q(v):
        return sp.Rational(int(v.p), int(v.q))
    z = [[q(c) * wq * q(x[i]) * wk * q(x[j]) for j in range(2)] for i in range(2)]
    E = [[exps[i](z[i][j]) for j in range(2)] for i in range(2)]
    F = [sum(E[i][j] * wv * q(x[j]) for j in range(2)) / (E[i][0] + E[i][1]) for i in range(2)]
    L = sum((F[i] - q(y[i])) ** 2 for i in range(2)) / 2
    th = (wq, wk, wv)
    point = dict(zip(th, map(q, P)))
    subs = {}
    for i in range(2):
        s = standin([c * P[0] * x[i] * P[1] * x[j] for j in range(2)])
        for j in range(2):
            subs[exps[i](z[i][j].subs(point))] = q(s[j])
    want = [[sp.simplify(sp.diff(L, a, b).subs(point).subs(subs)) for b in th] for a in th]
    b = GraphBuilder((2, 1))
    qn, kn, vn = (b.linear(b.input, 1, name=nm) for nm in ("q", "k", "v"))
    g = b.build(b.matmul(b.softmax(b.matmul(qn, b.transpose(kn)), scale=c), vn))
    H = eh.hessian(g, params=[np.array([[p]], dtype=object) for p in P],
                   data=(np.array([x], dtype=object), np.array([y], dtype=object)))
    got = [[q(H.H_L[a, b_]) for b_ in range(3)] for a in range(3)]
    assert got == want


@pytest.mark.parametrize("attention", ["linear", "softmax"])
def test_attention_ranks_certified_equal_flint(attention):
    """Certified ranks of a two-head block with a causal mask and a feed-forward block equal FLINT's
    rank of the dense exact matrices; ``H_o`` and ``H_L`` computed over GF(p) agree with Q mod p."""
    g = transformer_block(4, 3, heads=2, attention=attention, causal=True, residual=True, ffn="relu", ffn_width=2,
                          scale=fmpq(1, 2))
    H = eh.hessian(g, n_samples=2, seed=3)
    report = eh.verify(g, n_samples=2, seed=3, progress=False, float_check=False)
    for name in ("H_o", "H_f", "H_L"):
        M = getattr(H, name)
        assert report.rank_info[name].certified
        assert report.ranks[name] == fmpq_mat(M.shape[0], M.shape[1], list(M.ravel())).rank()
    p = 1000003
    Hp = eh.hessian(g, n_samples=2, seed=3, domain=f"GF({p})")
    for name in ("H_o", "H_L"):
        exact = getattr(H, name)
        want = np.array([[int(v.p) * pow(int(v.q), -1, p) % p for v in row] for row in exact])
        assert np.array_equal(np.asarray(getattr(Hp, name), dtype=np.int64) % p, want)


def test_per_token_cross_entropy_equals_torch():
    """``loss="cross_entropy(T)"``: a softmax per token over its ``V`` logits, class-index targets ``(n, T)``,
    against ``F.cross_entropy(reduction="sum")`` on the ``(n T, V)`` logits; a bad split is refused."""
    torch = pytest.importorskip("torch")
    T, d, V, n = 2, 2, 3, 2
    g = transformer_block(d, T, scale=fmpq(1, 2), output_dim=V, residual=True)
    rng = np.random.default_rng(0)
    flat, X = _dyadic(rng, g.n_params), _dyadic(rng, (n, T * d))
    Y = np.array([[0, 2], [1, 1]])
    H = eh.hessian(g, params=flat, data=(X, Y), loss="cross_entropy(2)")
    shapes = g.param_shapes()

    def loss(theta):
        ps = dict(zip(g.param_order, (t.reshape(s) for t, s in zip(theta.split([math.prod(s) for s in shapes]),
                                                                       shapes))))

        def lin(x, nm):
            return x @ ps[(nm, "weight")].T
        Xt = torch.tensor(X).reshape(n, T, d)
        A = torch.softmax(0.5 * lin(Xt, "attn.q0") @ lin(Xt, "attn.k0").transpose(1, 2), -1)
        out = lin(Xt + lin(A @ lin(Xt, "attn.v0"), "attn.out"), "readout")
        return torch.nn.functional.cross_entropy(out.reshape(n * T, V), torch.tensor(Y).reshape(-1), reduction="sum")
    want = torch.func.hessian(loss)(torch.tensor(flat)).numpy()
    assert np.abs(np.array(H.H_L, dtype=float) - want).max() <= 1e-12 * np.abs(want).max()
    with pytest.raises(eh.errors.InvalidValueError, match="splits 3 outputs into 2 tokens"):
        eh.models.loss("cross_entropy(2)").gradient([0, 0, 0], [0, 0, 0])


def test_linear_attention_equals_sympy():
    """Three tokens of width 1, linear attention with a causal mask, biases and a residual: sympy's symbolic
    Hessian of the loss, evaluated at the point, equals the engine's exact Hessian entry by entry."""
    sp = pytest.importorskip("sympy")
    T, d = 3, 1
    g = transformer_block(d, T, heads=1, attention="linear", causal=True, residual=True, bias=True, out_proj=False,
                          scale=fmpq(1, 2))
    rng = np.random.default_rng(5)
    P = [np.array([[fmpq(int(v), 4) for v in row] for row in np.atleast_2d(rng.integers(-4, 5, s))],
                  dtype=object).reshape(s) for s in g.param_shapes()]
    X = np.array([[fmpq(int(v), 4) for v in rng.integers(-4, 5, T * d)]], dtype=object)
    Y = np.array([[fmpq(int(v), 4) for v in rng.integers(-4, 5, T * d)]], dtype=object)
    syms = [sp.Matrix(*s, lambda i, j, k=k: sp.Symbol(f"t{k}_{i}_{j}")) if len(s) == 2 else
            sp.Matrix(s[0], 1, lambda i, j, k=k: sp.Symbol(f"t{k}_{i}")) for k, s in enumerate(g.param_shapes())]
    W = dict(zip(g.param_order, syms))

    def q(v):
        return sp.Rational(int(v.p), int(v.q))
    Xs = sp.Matrix(T, d, [q(v) for v in X[0]])

    def lin(name):
        out = Xs * W[(name, "weight")].T
        return out + sp.ones(T, 1) * W[(name, "bias")].T
    S = lin("attn.q0") * lin("attn.k0").T / 2
    S = sp.Matrix(T, T, lambda i, j: S[i, j] if j <= i else 0)
    F = Xs + S * lin("attn.v0")
    L = sum((F[i] - q(Y[0, i])) ** 2 for i in range(T * d)) / 2
    flat = [v for m in syms for v in m]
    point = {v: q(x) for v, x in zip(flat, (x for p in P for x in p.ravel()))}
    H = eh.hessian(g, params=P, data=(X, Y))
    grad = [sp.diff(L, v) for v in flat]
    for a in range(len(flat)):
        for b in range(a, len(flat)):
            assert q(H.H_L[a, b]) == q(H.H_L[b, a]) == sp.diff(grad[a], flat[b]).xreplace(point)
