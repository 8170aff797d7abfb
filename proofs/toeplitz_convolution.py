r"""The Toeplitz expansion of a convolution layer equals the convolution.

For a cross-correlation layer (as in PyTorch) with ``c_in`` input and ``c_out`` output
channels, kernel ``w[o, i, a, b]``, stride ``s``, zero padding ``p`` and bias ``b[o]``,

.. math:: y[o, u, v] = \sum_{i, a, b} w[o, i, a, b]\, x_{pad}[i, s_h u + a, s_w v + b] + b[o],

where ``x_pad`` is ``x`` surrounded by ``p`` zeros on every side, exacthess's operator
(``exacthess.models.toeplitz.toeplitz_operator``, behind ``exacthess.spectral.conv_matrix`` and the
Hessian engine) satisfies ``T~(w, b) [vec(x); 1] = [vec(y); 1]`` (channel-major
vectorisation), and its parameter map (``exacthess.spectral.parameter_map``) places every parameter
exactly where the loop uses it: ``vec_row(T~) = G theta`` with ``theta`` in exacthess's
order (kernel row-major, then bias).

Route: the kernel, the bias and the input are variables of a python-flint polynomial ring;
the loop below pads the input explicitly and reads ``x_pad[i, s u + a, s v + b]`` (an
implementation independent of exacthess's tap tables); the operator is built by exacthess
over the same ring; ``T~ [x; 1]`` and the loop output are compared as polynomials. Every
configuration in the listed ranges is covered (every kernel size that fits the padded
input, every stride and padding), with and without bias; ``exacthess.spectral.conv_matrix(...,
domain="SR")`` with sympy kernels is checked on the bias-free configurations of the 1-D sweep.

Run: ``python proofs/toeplitz_convolution.py [--thorough]``.
"""

from __future__ import annotations

import itertools
import sys

import numpy as np

from exacthess.models.geometry import ConvLayer
from exacthess.models.toeplitz import conv_matrix, parameter_map, toeplitz_operator
from exacthess.proofs.support import (PolynomialDomain, assert_equal, covered, poly_matmul, poly_ring,
                                      poly_vector, sympy_to_poly, thorough)

__all__ = ["STATEMENT", "SIZES", "THOROUGH_SIZES", "loop_convolution", "check_layer", "sweep",
           "test_one_dimensional", "test_two_dimensional", "test_fully_connected_layers"]

STATEMENT = ("Toeplitz expansion = convolution: T~(w, b)[x; 1] equals an explicit convolution loop for "
             "symbolic kernels, biases and inputs, 1-D and 2-D, every stride and padding in range")

#: 1-D: input length n, channels, strides, paddings (all kernels k <= n + 2p)
ONE_D = dict(n=range(1, 5), channels=[(1, 1), (1, 2), (2, 1), (2, 2)], strides=(1, 2, 3), paddings=(0, 1, 2))
ONE_D_MORE = dict(n=range(1, 7), channels=list(itertools.product((1, 2, 3), (1, 2, 3))), strides=(1, 2, 3, 4),
                  paddings=(0, 1, 2, 3))
#: 2-D: input height and width, (c_in, c_out), strides and paddings per axis
TWO_D = dict(n=range(1, 4), channels=[(1, 2), (2, 1)], strides=(1, 2), paddings=(0, 1))
TWO_D_MORE = dict(n=range(1, 5), channels=[(1, 2), (2, 1), (2, 2)], strides=(1, 2, 3), paddings=(0, 1, 2),
                  square=True)
#: fully-connected layers (1x1 maps): inputs and outputs
FC = dict(n_in=range(1, 5), n_out=range(1, 5))


def _text(spec: dict, dims: int) -> str:
    n = list(spec["n"])
    size = f"n = {n[0]}..{n[-1]}" if dims == 1 else f"h, w = {n[0]}..{n[-1]}"
    chans = ", ".join(f"{a}->{b}" for a, b in spec["channels"])
    axes = "" if dims == 1 else (" (equal on both axes)" if spec.get("square") else " per axis")
    return (f"{dims}-D {size}, channels {chans}, strides {set(spec['strides'])}{axes}, "
            f"paddings {set(spec['paddings'])}{axes}, every kernel that fits, with and without bias")


SIZES = (_text(ONE_D, 1) + "; " + _text(TWO_D, 2) + f"; fully-connected {FC['n_in'][-1]}x{FC['n_out'][-1]} "
         "and smaller; conv_matrix(domain='SR') on the bias-free 1-D sweep")
THOROUGH_SIZES = _text(ONE_D_MORE, 1) + "; " + _text(TWO_D_MORE, 2)


def loop_convolution(x, w, b, stride, padding):
    """``y[o, u, v] = sum_{i,a,b} w[o,i,a,b] x_pad[i, s_h u + a, s_w v + b] + b[o]``, plain loops.

    ``x`` is ``(c_in, H, W)``, ``w`` is ``(c_out, c_in, kh, kw)``, ``b`` is ``(c_out,)`` or None;
    ``x_pad`` has ``padding`` zeros on every side. Returns ``(c_out, H_out, W_out)``."""
    c_in, H, W = x.shape
    c_out, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    zero = x.flat[0] * 0
    xp = np.empty((c_in, H + 2 * ph, W + 2 * pw), dtype=object)
    xp.fill(zero)
    xp[:, ph:ph + H, pw:pw + W] = x
    H_out = (H + 2 * ph - kh) // sh + 1
    W_out = (W + 2 * pw - kw) // sw + 1
    y = np.empty((c_out, H_out, W_out), dtype=object)
    for o in range(c_out):
        for u in range(H_out):
            for v in range(W_out):
                acc = zero
                for i in range(c_in):
                    for a in range(kh):
                        for bb in range(kw):
                            acc = acc + w[o, i, a, bb] * xp[i, sh * u + a, sw * v + bb]
                y[o, u, v] = acc + (b[o] if b is not None else zero)
    return y


def check_layer(layer: ConvLayer, with_conv_matrix: bool = False) -> None:
    kh, kw = layer.kernel
    H, W = layer.in_shape
    ctx, v = poly_ring([("w", layer.weight_shape), ("b", (layer.c_out,)), ("x", (layer.c_in, H, W))])
    w, x = v["w"], v["x"]
    b = v["b"] if layer.bias else None
    y = loop_convolution(x, w, b, layer.stride, layer.padding).ravel()
    ring = PolynomialDomain(ctx)
    taps = w.reshape(layer.c_out, -1)
    if layer.bias:
        taps = np.concatenate([taps, b.reshape(-1, 1)], axis=1)
    T = toeplitz_operator(layer, taps, ring, aug=layer.bias)
    xv = x.ravel()
    if layer.bias:
        xv = np.concatenate([xv, poly_vector([ctx.constant(1)])])
    Tx = poly_matmul(ctx, T, xv.reshape(-1, 1)).ravel()
    expected = np.concatenate([y, poly_vector([ctx.constant(1)])]) if layer.bias else y
    assert_equal(Tx, expected, f"T~ [x; 1] vs loop, {layer}")
    # the parameter map: T~[rows, cols] += theta[param] rebuilds the weight/bias part of T~
    theta = np.concatenate([w.ravel(), b.ravel()]) if layer.bias else w.ravel()
    rows, cols, par = parameter_map(layer)
    rebuilt = np.empty(T.shape, dtype=object)
    rebuilt.fill(ctx.constant(0))
    for r, c, k in zip(rows, cols, par):
        rebuilt[r, c] = rebuilt[r, c] + theta[k]
    if layer.bias:
        rebuilt[layer.n_out, layer.n_in] = ctx.constant(1)
    assert_equal(rebuilt, T, f"parameter_map vs operator, {layer}")
    if with_conv_matrix:
        import sympy
        sw = np.array([sympy.Symbol(str(g)) for g in w.ravel()], dtype=object).reshape(layer.weight_shape)
        M = conv_matrix(layer, None, sw, domain="SR")
        symbols = dict(zip(sw.ravel(), w.ravel()))
        conv = np.empty(M.shape, dtype=object)
        for idx, e in np.ndenumerate(M):
            conv[idx] = sympy_to_poly(e, ctx, symbols)
        assert_equal(poly_matmul(ctx, conv, x.ravel().reshape(-1, 1)).ravel(), y,
                     f"conv_matrix(domain='SR') vs loop, {layer}")


def sweep(spec: dict, dims: int):
    """Every layer in the ranges of ``spec`` (all kernels that fit), with and without bias."""
    n_range = spec["n"]
    shapes = [(1, n) for n in n_range] if dims == 1 else list(itertools.product(n_range, n_range))
    if dims == 1:
        def axis_vals(vals):
            return [(1, v) for v in vals]
    elif spec.get("square"):
        def axis_vals(vals):
            return [(v, v) for v in vals]
    else:
        def axis_vals(vals):
            return list(itertools.product(vals, vals))
    pads = [(0, p) for p in spec["paddings"]] if dims == 1 else axis_vals(spec["paddings"])  # 1-D: height 1
    for shape, (c_in, c_out), stride, pad in itertools.product(
            shapes, spec["channels"], axis_vals(spec["strides"]), pads):
        kh_range = [1] if dims == 1 else range(1, shape[0] + 2 * pad[0] + 1)
        for kh, kw in itertools.product(kh_range, range(1, shape[1] + 2 * pad[1] + 1)):
            for bias in (False, True):
                yield ConvLayer(c_in, c_out, shape, (kh, kw), stride, pad, bias)


def test_one_dimensional():
    """T~(w, b)[x; 1] = loop convolution, parameter_map rebuilds T~, and conv_matrix(domain='SR') agrees, for every 1-D layer in range"""
    count = 0
    spec = ONE_D_MORE if thorough() else ONE_D
    for layer in sweep(spec, 1):
        check_layer(layer, with_conv_matrix=not layer.bias and not thorough() and layer.c_in * layer.c_out <= 2)
        count += 1
    covered(f"{_text(spec, 1)} ({count} layers)")


def test_two_dimensional():
    """T~(w, b)[x; 1] = loop convolution and parameter_map rebuilds T~, for every 2-D layer in range"""
    count = 0
    spec = TWO_D_MORE if thorough() else TWO_D
    for layer in sweep(spec, 2):
        check_layer(layer)
        count += 1
    covered(f"{_text(spec, 2)} ({count} layers)")


def test_fully_connected_layers():
    """A fully-connected layer (1x1 map, c_in = inputs, c_out = outputs) is T~ = [[W, b], [0, 1]] = the loop"""
    count = 0
    for n_in, n_out in itertools.product(FC["n_in"], FC["n_out"]):
        for bias in (False, True):
            check_layer(ConvLayer(n_in, n_out, (1, 1), (1, 1), bias=bias), with_conv_matrix=not bias)
            count += 1
    covered(f"n_in, n_out = 1..{FC['n_in'][-1]}, with and without bias ({count} layers)")


if __name__ == "__main__":
    from exacthess.cli.prove import script_main
    sys.exit(script_main(sys.modules[__name__]))
