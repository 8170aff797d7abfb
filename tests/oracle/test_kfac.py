"""KFAC's exact factors (exacthess.oracle.kfac) against an independent route: torch in float64 at
few-bit dyadic points (weights and data k/16, |k| <= 8: every product and sum below is exact in
float64), layer inputs read by forward hooks, output-side Jacobians by ``torch.func.jacrev`` of the
network's output in a perturbation of the layer's output, the factors summed by explicit loops.
MSE here is exacthess's ``1/2 |f - y|^2``: its Hessian is the identity."""

import numpy as np
import pytest
from flint import fmpq

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import exacthess as eh  # noqa: E402
from exacthess.errors import InvalidArchitectureError, InvalidOptionError, InvalidTypeError  # noqa: E402
from exacthess.models.graph import GraphBuilder  # noqa: E402
from exacthess.oracle.kfac import KFACBlock, kfac_error, kfac_factors, kfac_matrix  # noqa: E402

TOL = 1e-12


def _dyadic(shape, gen):
    return torch.randint(-8, 9, shape, generator=gen).to(torch.float64) / 16


def _point(model, input_shape, n, seed):
    """Dyadic weights and data with no pre-activation of a ReLU exactly 0 (exacthess refuses kinks)."""
    gen = torch.Generator().manual_seed(seed)
    for _ in range(50):
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(_dyadic(p.shape, gen))
        X = _dyadic((n,) + tuple(input_shape), gen)
        kinks = []
        hooks = [m.register_forward_hook(lambda m, a, o: kinks.append(bool((a[0] == 0).any())))
                 for m in model.modules() if isinstance(m, nn.ReLU)]
        with torch.no_grad():
            out = model(X)
        for h in hooks:
            h.remove()
        if not any(kinks):
            return X, _dyadic(tuple(out.reshape(n, -1).shape), gen)
    raise AssertionError("no point off the kinks")


def _torch_kfac(model, X, kind):
    """``[(A, B, block)]`` per Linear/Conv2d layer by explicit loops (module doc)."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    inputs, outs, pert = {}, {}, {}

    def hook(m, args, out):
        inputs[m], outs[m] = args[0].detach(), out.shape
        return out + pert[m] if m in pert else out
    handles = [m.register_forward_hook(hook) for m in layers]
    N = X.shape[0]

    def f(deltas):
        pert.clear()
        pert.update(zip(layers, deltas))
        out = model(X).reshape(N, -1)
        pert.clear()
        return out
    model(X)
    jacs = torch.func.jacrev(f)(tuple(torch.zeros(outs[m], dtype=torch.float64) for m in layers))
    for h in handles:
        h.remove()
    jacs = [j.detach() for j in jacs]
    res = []
    for m, jac in zip(layers, jacs):
        x = inputs[m]
        if isinstance(m, nn.Conv2d):
            a = nn.functional.unfold(x, m.kernel_size, padding=m.padding, stride=m.stride).transpose(1, 2)
        else:
            a = x.reshape(N, -1, x.shape[-1])
        if m.bias is not None:
            a = torch.cat([a, torch.ones(a.shape[:2] + (1,), dtype=torch.float64)], dim=2)
        S, d_in, d_out = a.shape[1], a.shape[2], m.weight.shape[0]
        A = torch.zeros(d_in, d_in, dtype=torch.float64)
        B = torch.zeros(d_out, d_out, dtype=torch.float64)
        block = torch.zeros(d_out * d_in, d_out * d_in, dtype=torch.float64)
        for i in range(N):
            J = jac[i, :, i]  # (K, *z)
            J = J.reshape(J.shape[0], d_out, S).transpose(1, 2) if isinstance(m, nn.Conv2d) else \
                J.reshape(J.shape[0], S, d_out)
            Jw = sum(torch.kron(J[:, s], a[i, s][None]) for s in range(S))  # dF/dvec_r([W b])
            block += Jw.T @ Jw
            if kind == "expand":
                for s in range(S):
                    A += torch.outer(a[i, s], a[i, s]) / (N * S)
                    B += J[:, s].T @ J[:, s]
            else:
                abar, Jbar = a[i].sum(0), J.sum(1)
                A += torch.outer(abar, abar) / (N * S * S)
                B += Jbar.T @ Jbar
        res.append((A, B, block))
    return res


def _flt(M):
    return np.array([[float(v) for v in row] for row in M])


def _token():
    return nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 2, bias=False), nn.Flatten()), (3, 2)


def _conv_expand():
    return nn.Sequential(nn.Conv2d(1, 2, 2, padding=1), nn.Conv2d(2, 2, 1), nn.Flatten()), (1, 2, 3)


def _conv_reduce():
    return nn.Sequential(nn.Conv2d(2, 2, 2, stride=1), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(2, 2)), (2, 3, 3)


def _relu_fcn():
    return nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2)), (3,)


MODELS = {"relu_fcn": _relu_fcn, "token": _token, "conv_expand": _conv_expand, "conv_reduce": _conv_reduce}


@pytest.mark.parametrize("kind", ["expand", "reduce"])
@pytest.mark.parametrize("which", list(MODELS))
def test_factors_match_an_independent_torch_route(which, kind):
    torch.manual_seed(0)
    model, shape = MODELS[which]()
    model = model.double()
    X, Y = _point(model, shape, 3, seed=len(which))
    arch, params = eh.from_torch(model, shape)
    C = eh.curvature(arch, params=params, data=(X.reshape(3, -1).numpy(), Y.numpy()))
    blocks = kfac_factors(C, kind)
    ref = _torch_kfac(model, X, kind)
    assert len(blocks) == len(ref)
    for b, (A, B, block) in zip(blocks, ref):
        assert isinstance(b, KFACBlock) and b.kind == kind
        assert b.A.shape == tuple(A.shape) and b.B.shape == tuple(B.shape)
        np.testing.assert_allclose(_flt(b.A), A.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(_flt(b.B), B.numpy(), rtol=0, atol=TOL)
        np.testing.assert_allclose(_flt(b.block), block.numpy(), rtol=0, atol=TOL)  # the parameter layout


def _exact(C, kind):
    return [e.exact for e in kfac_error(C, kind)]


def test_exact_for_a_deep_linear_fcn_both_kinds():
    C = eh.curvature(eh.FCN(3, (3, 2), 2, bias=True), n_samples=4)
    for kind in ("expand", "reduce"):
        assert _exact(C, kind) == [True, True, True]
        for b in C.kfac(kind):  # fmpq equality, entry by entry
            assert all(x == y for x, y in zip(b.approx.flat, b.block.flat))


def test_linear_cnn_expand_and_reduce_settings():
    """Position-wise linear layers with one loss term per position (expand), or averaged before a
    linear head (reduce): each flavour is exact in its own setting, not in the other."""
    model, shape = _conv_expand()
    model = model.double()
    X, Y = _point(model, shape, 3, seed=1)
    arch, params = eh.from_torch(model, shape)
    C = eh.curvature(arch, params=params, data=(X.reshape(3, -1).numpy(), Y.numpy()))
    assert _exact(C, "expand") == [True, True] and _exact(C, "reduce") == [False, False]
    model, shape = _conv_reduce()
    model = model.double()
    X, Y = _point(model, shape, 3, seed=2)
    arch, params = eh.from_torch(model, shape)
    C = eh.curvature(arch, params=params, data=(X.reshape(3, -1).numpy(), Y.numpy()))
    assert _exact(C, "reduce") == [True, True] and _exact(C, "expand") == [False, True]


def test_relu_network_differs():
    C = eh.curvature(eh.FCN(3, (3,), 2, bias=True, activation="relu"), n_samples=4)
    errs = kfac_error(C, "expand")
    assert [e.exact for e in errs] == [False, True]  # the last layer sees a constant J: exact with MSE
    assert errs[0].fro2 > 0 and errs[0].block_fro2 > 0


def test_stacked_3x3_convolutions_are_outside_the_expand_setting():
    """A second 3-wide convolution mixes positions: KFAC-expand drops the cross-position terms of the
    first layer, even for a linear network with one loss term per position."""
    b = GraphBuilder((1, 5))
    h = b.conv(b.input, 2, (3,), padding=(1,), name="c1")
    g = b.build(b.reshape(b.conv(h, 1, (3,), padding=(1,), name="c2"), (5,)))
    C = eh.curvature(g, n_samples=3)
    assert _exact(C, "expand") == [False, True]


def test_row_major_convention_is_kron_B_A():
    """One sample, one layer: the GGN block of vec_r(W) is (J^T L J)[o, o'] a_i a_i' = kron(B, A)."""
    C = eh.curvature(eh.FCN(3, (), 2), params=[[[1, 2, 0], [0, 1, -1]]], data=([[1, 2, 3]], [[0, 0]]))
    [b] = C.kfac()
    assert b.shape == (2, 3) and b.params == ("layer1.weight",)
    assert all(x == y for x, y in zip(np.kron(b.B, b.A).flat, C.ggn.flat))
    assert any(x != y for x, y in zip(np.kron(b.A, b.B).flat, C.ggn.flat))


def test_bias_joins_the_weight_as_a_column_of_ones():
    C = eh.curvature(eh.FCN(2, (), 2, bias=True), n_samples=3)
    [b] = C.kfac()
    p_w = 4
    assert b.params == ("layer1.weight", "layer1.bias") and b.shape == (2, 3)
    assert b.index.tolist() == [0, 1, p_w + 0, 2, 3, p_w + 1]
    assert b.A[2, 2] == 1  # the mean of 1 * 1 over the samples


def test_kfac_matrix_is_block_diagonal_in_parameter_order():
    C = eh.curvature(eh.FCN(2, (2,), 1, bias=True), n_samples=3)
    blocks = C.kfac("reduce")
    M = kfac_matrix(blocks)
    assert M.shape == (C.n_params, C.n_params)
    G = C.ggn
    for b in blocks:  # exact on a linear FCN: each block is the GGN's
        assert all(x == y for x, y in zip(M[np.ix_(b.index, b.index)].flat, G[np.ix_(b.index, b.index)].flat))
    other = np.setdiff1d(np.arange(C.n_params), blocks[0].index)
    assert all(v == 0 for v in M[np.ix_(blocks[0].index, other)].flat)


def test_cross_entropy_uses_the_loss_hessian():
    C = eh.curvature(eh.FCN(2, (), 2), n_samples=2, loss="cross_entropy")
    [b] = C.kfac()
    L = C.problem.forward.hessians
    assert all(x == y for x, y in zip(b.B.flat, (L[0] + L[1]).flat))  # one layer: J_i = I
    assert isinstance(kfac_error(C)[0].fro2, fmpq)


def test_errors_name_the_argument():
    C = eh.curvature(eh.FCN(2, (), 1), n_samples=2)
    with pytest.raises(InvalidOptionError, match=r"kind = 'diag' is not a known option; expected one of 'expand', "
                                                 r"'reduce'"):
        kfac_factors(C, "diag")
    with pytest.raises(InvalidTypeError, match=r"curv = .* expected a Curvature"):
        kfac_factors(C.ggn)
    with pytest.raises(InvalidTypeError, match="expected kfac_factors"):
        kfac_matrix([])
    b = GraphBuilder((2, 3))
    g = b.build(b.reshape(b.conv(b.input, 2, (2,), groups=2, name="grouped"), (4,)))
    with pytest.raises(InvalidArchitectureError, match=r"node 'grouped'.*groups = 2; expected groups = 1"):
        kfac_factors(eh.curvature(g, n_samples=2))
