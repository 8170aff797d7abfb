"""One convolution geometry: ConvLayer (zero and circular padding), its tap table and the one
operator builder, against an independent route: an explicit convolution loop written from the
definition (plain Python, exact integers or sympy), and torch's conv2d with circular padding if
installed."""

import itertools
import warnings

import numpy as np
import pytest
import sympy as sp
from flint import fmpq
from hypothesis import given
from hypothesis import strategies as st

from exacthess import CNN
from exacthess.models import ConvLayer
from exacthess.spectral import conv_matrix, conv_operator, parameter_map, parameter_map_matrix, toeplitz_operator
from exacthess.core.errors import (ExactHessError, InvalidArchitectureError, InvalidDataError, InvalidOptionError,
                                   InvalidTypeError, InvalidValueError, ProblemTooLargeError)
from exacthess.models.geometry import InvalidPaddingError, InvalidStrideError, conv_layer


def loop_conv(w, x, stride, padding, circular, bias=None):
    """Y[o, y, x] = sum_{i,a,b} w[o,i,a,b] X[i, s y + a - p, s x + b - p] (+ b[o]) by plain loops;
    circular: indices mod the input size (all taps add), zeros: out-of-range taps dropped."""
    c_out, c_in, kh, kw = w.shape
    _, h, wd = x.shape
    if circular:
        ho, wo = h // stride[0], wd // stride[1]
    else:
        ho = (h + 2 * padding[0] - kh) // stride[0] + 1
        wo = (wd + 2 * padding[1] - kw) // stride[1] + 1
    out = np.empty((c_out, ho, wo), dtype=object)
    for o, yy, xx in itertools.product(range(c_out), range(ho), range(wo)):
        acc = 0 if bias is None else bias[o]
        for i, a, b in itertools.product(range(c_in), range(kh), range(kw)):
            r, c = yy * stride[0] + a - padding[0], xx * stride[1] + b - padding[1]
            if circular:
                r, c = r % h, c % wd
            elif not (0 <= r < h and 0 <= c < wd):
                continue
            acc = acc + w[o, i, a, b] * x[i, r, c]
        out[o, yy, xx] = acc
    return out.ravel()


@st.composite
def circular_layers(draw):
    """Circular layers, kernels often larger than the input (wrap-around), strides dividing n."""
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, wd = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    sh = draw(st.sampled_from([d for d in range(1, h + 1) if h % d == 0]))
    sw = draw(st.sampled_from([d for d in range(1, wd + 1) if wd % d == 0]))
    return ConvLayer(c_in, c_out, (h, wd), (kh, kw), (sh, sw), (0, 0), False, "circular")


@given(circular_layers(), st.data())
def test_circular_operator_equals_loop(layer, data):
    ints = st.integers(-5, 5)
    w = np.array(data.draw(st.lists(ints, min_size=layer.c_out * layer.n_taps, max_size=layer.c_out * layer.n_taps)),
                 dtype=object).reshape(layer.weight_shape)
    x = np.array(data.draw(st.lists(ints, min_size=layer.n_in, max_size=layer.n_in)), dtype=object)
    b = data.draw(st.none() | st.lists(ints, min_size=layer.c_out, max_size=layer.c_out))
    T = conv_matrix(layer, None, w, bias=b)
    y = T.dot(np.concatenate([x, [1]]) if b is not None else x)
    y = y[:-1] if b is not None else y
    ref = loop_conv(w, x.reshape(layer.c_in, *layer.in_shape), layer.stride, (0, 0), True, b)
    assert [int(v) for v in y] == [int(v) for v in ref]
    # the same through conv_operator (the function conv_matrix aliases), float64 and GF(p)
    k = w.astype(np.int64)
    M = conv_operator(k, layer.in_shape, layer.stride, "circular")
    assert np.array_equal(M @ x.astype(np.int64), np.array(ref, dtype=np.int64) - (0 if b is None else np.repeat(
        np.array(b), layer.out_shape[0] * layer.out_shape[1])))
    p = 10007
    Mp = conv_operator(k, layer.in_shape, layer.stride, "circular", domain=f"GF({p})")
    yp = (Mp @ (x.astype(np.int64) % p)) % p
    assert np.array_equal(yp, (M @ x.astype(np.int64)) % p)


@given(circular_layers(), st.data())
def test_parameter_map_circular_is_the_linear_map(layer, data):
    """vec(T(theta)) = G theta, with T(theta) applied to x checked by the loop (wrap: G has sums)."""
    ints = st.integers(-4, 4)
    theta = np.array(data.draw(st.lists(ints, min_size=layer.n_params, max_size=layer.n_params)), dtype=np.int64)
    x = np.array(data.draw(st.lists(ints, min_size=layer.n_in, max_size=layer.n_in)), dtype=np.int64)
    G = parameter_map_matrix(layer)
    T = (G @ theta).reshape(layer.n_out, layer.n_in)
    ref = loop_conv(theta.astype(object).reshape(layer.weight_shape), x.astype(object).reshape(layer.c_in, *layer.in_shape),
                    layer.stride, (0, 0), True)
    assert list(T @ x) == [int(v) for v in ref]
    if layer.wraps:
        assert G.max() >= 1


def test_kernel_larger_than_input_taps_add():
    # 1 x 5 kernel on a width-2 circle: taps 0, 2, 4 read position 0 at output 0 and add up
    layer = conv_layer((1, 1, 5), (2,))
    assert layer.wraps and layer.circular
    T = toeplitz_operator(layer, np.array([[1, 2, 3, 4, 5]], dtype=object) * fmpq(1))
    assert T.tolist() == [[9, 6], [6, 9]]


def test_symbolic_domain():
    """SR: the operator of a symbolic kernel applied to symbols equals the loop, expanded."""
    a, b, c = sp.symbols("a b c")
    xs = sp.symbols("x0:3")
    M = conv_operator([[[a, b, c]]], 3, domain="SR")
    ref = loop_conv(np.array([[[[a, b, c]]]], dtype=object), np.array([[list(xs)]], dtype=object), (1, 1), (0, 0), True)
    assert [sp.expand(v - r) for v, r in zip(M.dot(np.array(xs, dtype=object)), ref)] == [0, 0, 0]


def test_zero_padding_layer_matches_hessian_side():
    """conv_matrix of a CNN layer (zero padding) is conv_operator with that layer's geometry."""
    net = CNN((5, 4), (2,), (3, 2), 3, in_channels=2, strides=(2, 1), paddings=(1, 0))
    layer = net.layers[0]
    w = np.arange(1, 1 + layer.c_out * layer.n_taps).reshape(layer.weight_shape)
    T = conv_matrix(net, 1, w)
    M = conv_operator(w, layer.in_shape, layer.stride, layer.padding, domain="QQ")
    assert T.tolist() == M.tolist()
    x = np.arange(layer.n_in, dtype=object)
    assert list(T.dot(x)) == list(loop_conv(w.astype(object), x.reshape(2, 5, 4), (2, 1), (1, 0), False))


def test_exact_keyword_is_deprecated():
    with pytest.warns(DeprecationWarning, match="domain='QQ'"):
        M = conv_operator([[[0.5, 1]]], 2, exact=True)
    assert M[0, 0] == fmpq(1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert conv_operator([[[0.5, 1]]], 2, domain="QQ")[0, 0] == fmpq(1, 2)
    with pytest.raises(InvalidValueError, match="contradicts"), pytest.warns(DeprecationWarning):
        conv_operator([[[1, 1]]], 2, exact=True, domain="GF(7)")


@pytest.mark.parametrize("call, error, words", [
    (lambda: ConvLayer("2", 1, (3, 3), (2, 2)), InvalidTypeError, "c_in = '2'"),
    (lambda: ConvLayer(0, 1, (3, 3), (2, 2)), InvalidArchitectureError, "c_in = 0"),
    (lambda: ConvLayer(1, 1, (3, 3), (4, 4)), InvalidArchitectureError, "kernel[0] = 4"),
    (lambda: ConvLayer(1, 1, (3, 3), (2, 2), stride=(2, 1), padding_mode="circular"), InvalidStrideError, "stride[0] = 2"),
    (lambda: ConvLayer(1, 1, (4, 4), (2, 2), padding=1, padding_mode="circular"), InvalidPaddingError, "padding[0] = 1"),
    (lambda: ConvLayer(1, 1, (4, 4), (2, 2), padding_mode="reflect"), InvalidOptionError, "padding_mode = 'reflect'"),
    (lambda: ConvLayer(1, 1, (4, 4), (2, 2), bias="yes"), InvalidTypeError, "bias = 'yes'"),
    (lambda: parameter_map("x"), InvalidTypeError, "layer = 'x'"),
    (lambda: parameter_map_matrix(None), InvalidTypeError, "layer = None"),
    (lambda: toeplitz_operator("x", np.zeros((1, 1))), InvalidTypeError, "layer = 'x'"),
    (lambda: toeplitz_operator(ConvLayer(1, 1, (2, 2), (1, 1)), np.zeros((2, 1))), InvalidDataError, "weights has shape"),
    (lambda: conv_matrix("net", 1, [1]), InvalidTypeError, "arch = 'net'"),
    (lambda: conv_matrix(CNN((4,), (1,), 2, 1), "1", [1, 2]), InvalidTypeError, "l = '1'"),
    (lambda: conv_matrix(CNN((4,), (1,), 2, 1), 9, [1, 2]), InvalidArchitectureError, "l = 9"),
    (lambda: conv_matrix(CNN((4,), (1,), 2, 1), 1, [1, 2, 3]), InvalidDataError, "weight has 3 entries"),
    (lambda: conv_operator([[[1, 2]]], 3, domain="float16"), InvalidOptionError, "domain = 'float16'"),
    (lambda: conv_operator([[[1, 2]]], 3, domain="GF(8)"), InvalidValueError, "domain = 'GF(8)'"),
    (lambda: conv_operator([[[1, 2]]], 3, domain=3.5), InvalidTypeError, "domain = 3.5"),
    (lambda: conv_operator([[[fmpq(1, 7), 2]]], 3, domain="GF(7)"), InvalidDataError, "kernel[0, 0, 0] = 1/7"),
    (lambda: conv_operator("abc", 3), InvalidTypeError, "kernel = 'abc'"),
    (lambda: conv_operator([[["a", 2]]], 3), InvalidTypeError, "kernel[0, 0, 0] = 'a'"),
    (lambda: conv_operator([[[1, 2]]], "3"), InvalidTypeError, "input_shape = '3'"),
    (lambda: conv_operator([[[1, 2]]], 3, stride=1.5), InvalidTypeError, "stride = 1.5"),
    (lambda: conv_operator([[[1, 2]]], 3, padding=1.0), InvalidTypeError, "padding = 1.0"),
    (lambda: conv_operator([[[1, 2]]], 3, bias=[1, 2]), InvalidDataError, "bias has shape"),
    (lambda: conv_operator([[[10**400, 2]]], 3), InvalidValueError, "too large for float64"),
])
def test_bad_input_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, ExactHessError)
    assert isinstance(info.value, TypeError if error is InvalidTypeError else ValueError)
    assert words in str(info.value)


def test_dense_work_is_refused_before_allocating():
    with pytest.raises(ProblemTooLargeError, match=r"needs about [\d.]+ (GiB|TiB) of memory; expected at most"):
        conv_operator(np.ones((64, 64, 3, 3)), (128, 128))
    with pytest.raises(ProblemTooLargeError, match="parameter map"):
        parameter_map_matrix(ConvLayer(512, 512, (1, 1), (1, 1)))
    with pytest.raises(ProblemTooLargeError):
        conv_matrix(CNN((300, 300), (64,), 3, 2, in_channels=64, paddings=1), 1, np.zeros((64, 64, 3, 3)))


def test_against_torch_circular_wrap():
    """torch: pad circularly by k - 1 on the far side (k <= n), then a plain strided conv2d."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    k = rng.standard_normal((2, 3, 3, 4))
    x = rng.standard_normal((3, 6, 4))
    xp = torch.nn.functional.pad(torch.tensor(x)[None], (0, 3, 0, 2), mode="circular")
    y = torch.nn.functional.conv2d(xp, torch.tensor(k), stride=(3, 2))[0].numpy()
    np.testing.assert_allclose(conv_operator(k, (6, 4), (3, 2)) @ x.ravel(), y.ravel(), atol=1e-12)
