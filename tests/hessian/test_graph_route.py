"""The graph engine against independent routes.

* the chain engine (``PerSample`` / ``SampleFree``: tap tables, Toeplitz operators) on FCNs written
  as graphs, over Q, entry by entry;
* ``torch.func.hessian`` in float64 of a torch evaluation of the same graph written in this file
  (``F.conv1d/2d/3d``, ``F.linear``, pooling, ...) at few-bit dyadic points, where float64 is
  exact for these sizes: random graphs of every op, degenerate points included (zero weights,
  zero inputs, sigma(0) != 0);
* FLINT's exact rank of the dense matrix (``fmpq_mat.rank``) for every certified rank;
* every FCN and CNN written as a graph (``models/graph_chains``): the chain engine's Hessians.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from flint import fmpq, fmpq_mat
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import exacthess as eh
from exacthess.core.domains import GF, QQ
from exacthess.core.errors import NonDifferentiableError
from exacthess.hessian.graph_forward import make_graph_problem
from exacthess.hessian.graph_route import GraphHessians
from exacthess.hessian.problem import seeded_data, seeded_params
from exacthess.hessian.saved import documented_params
from exacthess.models.graph import GraphBuilder

ACTS = ["linear", "relu", "leaky_relu(1/4)", "poly(1/2,1,1/2,1/4)", "poly(0,1,0,-1/2)"]


def _fcn_graph(d, widths, K, act, bias):
    b = GraphBuilder((d,))
    h = b.input
    for w in widths:
        h = b.act(b.linear(h, w, bias=bias), act)
    return b.build(b.linear(h, K, bias=bias))


@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("loss", ["mse", "cross_entropy", "bce"])
def test_fcn_as_a_graph_equals_the_chain_engine(act, loss):
    K = 1 if loss == "bce" else 2
    arch = eh.FCN(3, (4, 3), K, bias=True, activation=act)
    g = _fcn_graph(3, (4, 3), K, act, True)
    P = seeded_params(arch, 5)
    X, Y = seeded_data(arch, 4, 5)
    if loss != "mse":
        Y = np.array([[fmpq(1, 3)] * K] * 4, dtype=object) if loss == "bce" else \
            np.array([[fmpq(1), fmpq(0)]] * 4, dtype=object)
    chain = eh.hessian(arch, params=P, data=(X, Y), loss=loss)
    for ring in (QQ, GF(1000003)):
        graph = GraphHessians(make_graph_problem(g, params=P, data=(X, Y), loss=loss), ring)
        for name in ("H_o", "H_f", "H_L"):
            want = getattr(chain, name) if ring is QQ else ring.convert(getattr(chain, name))
            assert (graph.full(name) == want).all(), (name, ring)


# ----- an independent torch evaluation of a graph -------------------------------------------------
def _torch_forward(graph, flat, X):
    import torch
    import torch.nn.functional as F
    shapes = graph.param_shapes()
    params, off = {}, 0
    for key, s in zip(graph.param_order, shapes):
        params[key] = flat[off:off + math.prod(s)].reshape(s)
        off += math.prod(s)
    vals = {}
    for node in graph.nodes:
        a = node.attrs
        if node.op == "input":
            vals[node.name] = X.reshape((X.shape[0],) + graph.input_shape)
            continue
        u = vals[node.inputs[0]]
        dims = u.dim() - 2
        if node.op == "linear":
            v = F.linear(u, params[(node.name, "weight")], params.get((node.name, "bias")))
        elif node.op == "conv":
            pad = tuple(a["padding"])
            if a["padding_mode"] == "circular":
                u = F.pad(u, sum(((p, p) for p in reversed(pad)), ()), mode="circular")
                pad = 0
            conv = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]
            v = conv(u, params[(node.name, "weight")], params.get((node.name, "bias")), stride=a["stride"],
                     padding=pad, dilation=a["dilation"], groups=a["groups"])
        elif node.op == "act":
            act = a["activation"]
            if act.piecewise:
                v = torch.where(u > 0, u, u * float(act.slope))
            elif act.kind == "poly":
                v = sum(float(c) * u ** k for k, c in enumerate(act.coeffs))
            else:
                v = u
        elif node.op == "add":
            v = u + vals[node.inputs[1]]
        elif node.op == "avgpool":
            v = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[dims - 1](u, a["kernel"], a["stride"], a["padding"])
        elif node.op == "maxpool":
            v = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[dims - 1](u, a["kernel"], a["stride"], a["padding"],
                                                                   a["dilation"])
        elif node.op in ("batchnorm", "affine"):
            shape = (1, -1) + (1,) * dims
            a0 = torch.tensor([float(v) for v in a["mean" if node.op == "batchnorm" else "shift"]]).reshape(shape)
            s = torch.tensor([float(v) for v in a["scale"]]).reshape(shape)
            if node.op == "affine":
                v = u * s + a0
            else:
                v = (u - a0) * s
                if a["affine"]:
                    v = v * params[(node.name, "weight")].reshape(shape) + params[(node.name, "bias")].reshape(shape)
        elif node.op == "matmul":
            v = torch.matmul(u, vals[node.inputs[1]])
        elif node.op == "transpose":
            v = u.transpose(1, 2)
        elif node.op == "reshape":
            v = u.reshape((u.shape[0],) + a["shape"])
        else:
            raise AssertionError(node.op)
        vals[node.name] = v
    return vals[graph.output].reshape(X.shape[0], -1)


@st.composite
def graphs(draw):
    """Random graphs of every op on 1-D to 3-D maps, a residual sum, pooling, flattening and dense layers."""
    dims = draw(st.integers(1, 3))
    C = draw(st.integers(1, 2))
    spatial = tuple(draw(st.integers(3, 5)) for _ in range(dims)) if dims < 3 else (3, 3, 3)
    b = GraphBuilder((C,) + spatial)
    act = draw(st.sampled_from(ACTS))
    groups = draw(st.sampled_from([1, C]))
    out_ch = groups * draw(st.integers(1, 2))
    k = draw(st.integers(1, 2))
    h = b.conv(b.input, out_ch, k, stride=draw(st.integers(1, 2)), padding=draw(st.integers(0, 1)),
               dilation=draw(st.integers(1, 2)) if k > 1 else 1, groups=groups, bias=draw(st.booleans()),
               padding_mode=draw(st.sampled_from(["zeros", "circular"])))
    h = b.act(h, act)
    if draw(st.booleans()):  # residual block with a same-shape convolution
        h = b.add(h, b.act(b.conv(h, out_ch, 1, bias=draw(st.booleans())), draw(st.sampled_from(ACTS))))
    norm = draw(st.sampled_from(["none", "batchnorm", "fixed", "affine"]))
    if norm != "none":
        quarter = st.integers(-4, 4).map(lambda v: fmpq(v, 4))
        one, two = (tuple(draw(quarter) for _ in range(out_ch)) for _ in range(2))
        h = b.affine(h, one, two) if norm == "affine" else b.batchnorm(h, one, two, affine=norm == "batchnorm")
    if dims == 1 and draw(st.booleans()):  # a self-attention-like block on the (channels, length) map: h + (h h^T) h
        h = b.add(h, b.matmul(b.matmul(h, b.transpose(h)), h))
    pool = draw(st.sampled_from(["none", "avg", "max"]))
    if pool != "none" and min(b._shape(h)[1:]) >= 2:
        h = (b.avgpool if pool == "avg" else b.maxpool)(h, 2, stride=1)
    h = b.flatten(h)
    if draw(st.booleans()):
        h = b.act(b.linear(h, 3, bias=draw(st.booleans())), draw(st.sampled_from(ACTS)))
    return b.build(b.linear(h, draw(st.integers(1, 2)), bias=draw(st.booleans())))


def _dyadic(draw, shape, zeros: bool):
    vals = draw(st.lists(st.integers(-8, 8) if zeros else st.integers(1, 8).map(lambda v: v * (-1) ** v),
                         min_size=math.prod(shape), max_size=math.prod(shape)))
    return np.array([fmpq(v, 8) for v in vals], dtype=object).reshape(shape)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_random_graphs_equal_torch_float64_and_their_ranks_flint(data):
    torch = pytest.importorskip("torch")
    g = data.draw(graphs())
    assume(g.n_params <= 120)
    zeros = data.draw(st.booleans())
    params = [_dyadic(data.draw, s, zeros) for s in g.param_shapes()]
    n = data.draw(st.integers(1, 3))
    X = _dyadic(data.draw, (n, g.input_dim), zeros)
    Y = _dyadic(data.draw, (n, g.output_dim), True)
    try:
        H = eh.hessian(g, params=params, data=(X, Y))
        Ho, Hf, HL = H.H_o, H.H_f, H.H_L
    except NonDifferentiableError:
        assume(False)
    flat = torch.tensor([float(v) for p in params for v in p.ravel()], dtype=torch.float64)
    Xt = torch.tensor(np.array(X, dtype=float))
    Yt = torch.tensor(np.array(Y, dtype=float))

    def loss(theta):
        return 0.5 * ((_torch_forward(g, theta, Xt) - Yt) ** 2).sum()
    want = torch.func.hessian(loss)(flat).numpy()
    got = np.array(HL, dtype=float)
    scale = max(1.0, float(np.abs(want).max()))
    assert np.abs(got - want).max() <= 1e-9 * scale
    r = eh.verify(g, params=params, data=(X, Y), float_check=False, progress=False)
    for name, M in (("H_o", Ho), ("H_f", Hf), ("H_L", HL)):
        assert r.rank_info[name].certified
        assert r.ranks[name] == fmpq_mat(M.shape[0], M.shape[1], list(M.ravel())).rank(), name


def test_kinks_and_ties_are_refused_naming_the_node():
    b = GraphBuilder((2,))
    g = b.build(b.linear(b.act(b.linear(b.input, 2, name="fc1"), "relu", name="r1"), 1))
    params = [np.array([[1, -1], [1, 0]]), np.array([[1, 1]])]
    with pytest.raises(NonDifferentiableError, match="node 'r1'.*unit 0"):
        eh.hessian(g, params=params, data=([[1, 1]], [[0]]))
    b = GraphBuilder((1, 4))
    g = b.build(b.linear(b.flatten(b.maxpool(b.conv(b.input, 1, 1, name="c"), 2, name="pool")), 1))
    with pytest.raises(NonDifferentiableError, match="node 'pool'.*output 0"):
        eh.hessian(g, params=[np.array([[[1]]]), np.array([[1, 1]])], data=([[2, 2, 1, 3]], [[0]]))
    # a tie among locally constant entries (zero inputs, no bias) is no kink
    H = eh.hessian(g, params=[np.array([[[1]]]), np.array([[1, 1]])], data=([[0, 0, 1, 3]], [[0]]))
    assert H.H_L.shape == (3, 3)


@given(data=st.data())
def test_chains_are_special_cases_of_graphs(data):
    from exacthess.models.graph_chains import chain_graph
    from exacthess.strategies import cnn_architectures, fcn_architectures
    spec = data.draw(st.one_of(fcn_architectures(max_size=4, max_depth=2, bias=None),
                               cnn_architectures(dims=1, max_input=6, bias=None),
                               cnn_architectures(dims=2, max_input=4, max_depth=1, bias=None))).to_spec()
    act = data.draw(st.sampled_from(ACTS))
    arch = eh.models.architectures.from_spec({**spec, "activation": act})
    assume(arch.n_params <= 80)
    loss = data.draw(st.sampled_from(["mse", "cross_entropy"])) if arch.output_dim > 1 else "mse"
    g = chain_graph(arch)
    assert [tuple(s) for s in g.param_shapes()] == [tuple(s) for s in arch.param_shapes()]
    seed = data.draw(st.integers(0, 1000))
    try:
        H = eh.hessian(arch, n_samples=data.draw(st.integers(1, 4)), seed=seed, loss=loss)
        P = documented_params(H.engine.problem)
        X, Y = H.engine.problem.X, H.engine.problem.Y
        want = [H.H_o, H.H_f]
    except NonDifferentiableError:
        assume(False)
    G = eh.hessian(g, params=P, data=(X, Y), loss=loss)
    assert (G.H_o == want[0]).all() and (G.H_f == want[1]).all()


@pytest.mark.parametrize("n", [4, 12])
def test_linear_self_attention_equals_torch(n):
    """A linear self-attention layer (W_Q, W_K, W_V, scores scaled by 1/2, a residual connection) on 3 tokens
    of width 2: the exact Hessian against torch.func.hessian (few-bit dyadic point: float64 is exact), and
    its certified ranks against FLINT. With n = 12 > d + 1 samples: attention is not affine in x, so the
    sample-free route of affine graphs must not be taken (it was, and gave a wrong Hessian)."""
    torch = pytest.importorskip("torch")
    T, d = 3, 2
    b = GraphBuilder((T, d))
    q, k, v = (b.linear(b.input, d, name=n) for n in ("W_Q", "W_K", "W_V"))
    s = b.affine(b.matmul(q, b.transpose(k)), [fmpq(1, 2)] * T, [0] * T)
    g = b.build(b.add(b.matmul(s, v), b.input))
    rng = np.random.default_rng(0)
    P = [rng.integers(-4, 5, sh) / 4 for sh in g.param_shapes()]
    X, Y = rng.integers(-4, 5, (n, T * d)) / 4, rng.integers(-4, 5, (n, T * d)) / 4
    Xt, Yt = torch.tensor(X).reshape(n, T, d), torch.tensor(Y)

    def loss(theta):
        wq, wk, wv = theta.split([4, 4, 4])
        qq, kk, vv = Xt @ wq.reshape(2, 2).T, Xt @ wk.reshape(2, 2).T, Xt @ wv.reshape(2, 2).T
        return 0.5 * (((0.5 * qq @ kk.transpose(1, 2)) @ vv + Xt).reshape(n, -1) - Yt).pow(2).sum()
    H = eh.hessian(g, params=P, data=(X, Y))
    flat = torch.cat([torch.tensor(p).reshape(-1) for p in P])
    assert np.abs(np.array(H.H_L, dtype=float) - torch.func.hessian(loss)(flat).numpy()).max() == 0
    report = eh.verify(g, params=P, data=(X, Y), progress=False, float_check=False)
    for name in ("H_o", "H_f", "H_L"):
        M = getattr(H, name)
        assert report.rank_info[name].certified
        assert report.ranks[name] == fmpq_mat(M.shape[0], M.shape[1], list(M.ravel())).rank()
