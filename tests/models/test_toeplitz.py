"""Toeplitz expansions against an explicit convolution loop and against torch (if installed)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, strategies as st

from exacthess.spectral import conv_matrix, parameter_map_matrix
from exacthess.strategies import cnn_architectures


def loop_conv(layer, w, b, x):
    """Direct cross-correlation with stride and zero padding (the definition)."""
    (hi, wi), (ho, wo) = layer.in_shape, layer.out_shape
    x = np.asarray(x, dtype=object).reshape(layer.c_in, hi, wi)
    w = np.asarray(w, dtype=object).reshape(layer.c_out, layer.c_in, *layer.kernel)
    out = np.zeros((layer.c_out, ho, wo), dtype=object)
    for o, y, xx in itertools.product(range(layer.c_out), range(ho), range(wo)):
        acc = 0 if b is None else b[o]
        for i, a, c in itertools.product(range(layer.c_in), range(layer.kernel[0]), range(layer.kernel[1])):
            yy = y * layer.stride[0] + a - layer.padding[0]
            xc = xx * layer.stride[1] + c - layer.padding[1]
            if 0 <= yy < hi and 0 <= xc < wi:
                acc += w[o, i, a, c] * x[i, yy, xc]
        out[o, y, xx] = acc
    return out.ravel()


def _draw_layer(data, dims):
    arch = data.draw(cnn_architectures(dims=dims, max_input=7, max_channels=3, max_depth=2))
    l = data.draw(st.integers(1, len(arch.layers)))
    layer = arch.layers[l - 1]
    ints = st.integers(-9, 9)
    nw = layer.c_out * layer.c_in * layer.kernel[0] * layer.kernel[1]
    w = np.array(data.draw(st.lists(ints, min_size=nw, max_size=nw)), dtype=object)
    x = np.array(data.draw(st.lists(ints, min_size=layer.n_in, max_size=layer.n_in)), dtype=object)
    b = data.draw(st.none() | st.lists(ints, min_size=layer.c_out, max_size=layer.c_out))
    return arch, l, layer, w, x, b


@pytest.mark.parametrize("dims", [1, 2])
@given(data=st.data())
def test_toeplitz_equals_loop_convolution(dims, data):
    arch, l, layer, w, x, b = _draw_layer(data, dims)
    T = conv_matrix(arch, l, w.reshape(layer.c_out, -1), bias=b)
    xt = np.concatenate([x, [1]]) if b is not None else x
    y = T.dot(xt)
    y = y[:-1] if b is not None else y
    assert list(y) == list(loop_conv(layer, w, b, x))


@given(data=st.data())
def test_parameter_map_is_the_linear_map(data):
    arch, l, layer, w, x, b = _draw_layer(data, data.draw(st.sampled_from([1, 2])))
    theta = np.concatenate([w, np.array(b if (b is not None and layer.bias) else [0] * layer.c_out * layer.bias, dtype=object)])
    G = parameter_map_matrix(layer)
    T = conv_matrix(layer, None, w, bias=(b if layer.bias and b is not None else ([0] * layer.c_out if layer.bias else None)))
    width = layer.n_in + int(layer.bias)
    assert (G.dot(theta) == T[: layer.n_out, :width].ravel()).all()


@pytest.mark.parametrize("dims", [1, 2])
@given(data=st.data())
def test_toeplitz_equals_torch(dims, data):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    arch, l, layer, w, x, b = _draw_layer(data, dims)
    T = conv_matrix(arch, l, w, bias=b)
    xt = np.concatenate([x, [1]]) if b is not None else x
    y = np.array([float(v) for v in T.dot(xt)])[: layer.n_out]
    wt = torch.tensor([float(v) for v in w], dtype=torch.float64).reshape(layer.c_out, layer.c_in, *layer.kernel)
    xt_ = torch.tensor([float(v) for v in x], dtype=torch.float64).reshape(1, layer.c_in, *layer.in_shape)
    bt = None if b is None else torch.tensor([float(v) for v in b], dtype=torch.float64)
    ref = F.conv2d(xt_, wt, bt, stride=layer.stride, padding=layer.padding)
    if dims == 1:  # also through conv1d
        ref1 = F.conv1d(xt_[:, :, 0, :], wt[:, :, 0, :], bt, stride=layer.stride[1], padding=layer.padding[1])
        assert np.array_equal(ref1.numpy().ravel(), ref.numpy().ravel())
    assert np.array_equal(ref.numpy().ravel(), y)  # small integers: float64 is exact here
