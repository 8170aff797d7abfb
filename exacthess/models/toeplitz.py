"""Exact Toeplitz expansions of convolutions.

A layer's convolution ``w * x`` (cross-correlation, as in PyTorch, with stride and zero
padding) is the matrix product ``T(w) vec(x)`` with a (doubly-block) banded Toeplitz matrix:
block ``(o, i)`` of ``T`` (size ``H_out W_out x H_in W_in``) holds the taps of ``w[o, i]``,

.. math:: T[(o, y, x), (i, s_h y + a - p_h, s_w x + b - p_w)] = w[o, i, a, b],

with rows and columns vectorised channel-major. ``T`` is linear in ``w``: the *parameter map*
``G`` with ``vec(T) = G theta`` is a 0/1 matrix, given here by its positions
(:func:`parameter_map`). A fully-connected layer is the 1x1 case, where ``T = W``.

>>> from exacthess import CNN
>>> net = CNN((4,), (1,), 2, 1)
>>> T = conv_matrix(net, 1, [[[1, 2]]])
>>> T.tolist()
[[1, 2, 0, 0], [0, 1, 2, 0], [0, 0, 1, 2]]
"""

from __future__ import annotations

import numpy as np

from .architectures import Architecture, ConvLayer
from ..core.errors import InvalidArchitectureError, ParamsMismatchError
from ..core.exact import rational_array
from ..core.domains import QQ, Ring, get_ring

__all__ = ["toeplitz_operator", "conv_matrix", "parameter_map", "parameter_map_matrix"]


def toeplitz_operator(layer: ConvLayer, weights: np.ndarray, ring: Ring = QQ, aug: bool = False) -> np.ndarray:
    """The exact operator matrix ``T(w)`` of one layer (``n_out x n_in``, channel-major).

    Block ``(o, i)`` is the (doubly-block) banded Toeplitz matrix of ``w[o, i]``. With
    ``aug`` the matrix is ``[[T, b 1], [0, 1]]`` of size ``(n_out + 1) x (n_in + 1)``.

    Args:
        layer: the layer.
        weights: ``(c_out, n_taps)`` array in tap ordering, already in ``ring``.
    """
    n_out, n_in = layer.n_out, layer.n_in
    A = ring.zeros((n_out + aug, n_in + aug))
    src = layer.sources  # (T, N_out)
    N_out = src.shape[1]
    o, tau, x = np.meshgrid(np.arange(layer.c_out), np.arange(layer.n_taps), np.arange(N_out), indexing="ij")
    cols = src[tau, x]
    ok = cols <= n_in if aug else cols < n_in
    A[(o * N_out + x)[ok], cols[ok]] = weights[o[ok], tau[ok]]
    if aug:
        A[n_out, n_in] = ring.one
    return A



def _layer(arch_or_layer, l):
    if isinstance(arch_or_layer, ConvLayer):
        return arch_or_layer
    if not isinstance(l, int) or not 1 <= l <= len(arch_or_layer.layers):
        raise InvalidArchitectureError(
            f"l = {l!r} is not a layer index; expected 1..{len(arch_or_layer.layers)}")
    return arch_or_layer.layers[l - 1]


def conv_matrix(arch: Architecture | ConvLayer, l: int | None, weight, bias=None, field="QQ") -> np.ndarray:
    """The exact operator matrix ``T(w)`` of layer ``l`` (1-based) of ``arch``.

    Args:
        arch: an architecture (or a :class:`ConvLayer`, with ``l=None``).
        l: layer index.
        weight: ``[c_out, c_in, k]`` (1-D) or ``[c_out, c_in, kh, kw]``; for an FCN layer the
            matrix ``(out, in)``. Floats are converted exactly.
        bias: optional ``[c_out]``; then the augmented ``[[T, b 1], [0, 1]]`` is returned.
        field: ``"QQ"``, ``"GF(p)"`` or ``"SR"``.
    """
    layer = _layer(arch, l)
    ring = get_ring(field)
    w = rational_array(weight, "weight") if ring is not get_ring("SR") else np.asarray(weight, dtype=object)
    nw = layer.c_in * layer.kernel[0] * layer.kernel[1]
    if w.size != layer.c_out * nw:
        raise ParamsMismatchError(
            f"weight has {w.size} entries (shape {w.shape}); expected {layer.c_out * nw} "
            f"(c_out={layer.c_out}, c_in={layer.c_in}, kernel={layer.kernel})")
    taps = w.reshape(layer.c_out, nw)
    aug = bias is not None
    if aug:
        b = rational_array(bias, "bias").reshape(layer.c_out, 1)
        if not layer.bias:
            layer = ConvLayer(layer.c_in, layer.c_out, layer.in_shape, layer.kernel, layer.stride, layer.padding, True)
        taps = np.concatenate([taps, b], axis=1)
    elif layer.bias:
        taps = np.concatenate([taps, np.array([[0]] * layer.c_out, dtype=object)], axis=1)
    return toeplitz_operator(layer, ring.convert(taps), ring, aug)


def parameter_map(layer: ConvLayer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of every parameter in the (augmented) operator: ``(rows, cols, param)``.

    ``T[rows[j], cols[j]] += theta[param[j]]`` for all ``j`` reproduces ``T(theta)`` with
    ``theta`` in the documented order (weights row-major, then biases; the bias column is
    ``n_in``)."""
    src = layer.sources
    T, N = src.shape
    o, tau, x = np.meshgrid(np.arange(layer.c_out), np.arange(T), np.arange(N), indexing="ij")
    cols = src[tau, x]
    ok = cols <= layer.n_in
    inv = np.empty(layer.n_params, dtype=np.int64)
    inv[layer.tap_to_documented] = np.arange(layer.n_params)
    tap_index = (o * T + tau)[ok]
    return (o * N + x)[ok], cols[ok], inv[tap_index]


def parameter_map_matrix(layer: ConvLayer) -> np.ndarray:
    """The 0/1 matrix ``G`` with ``vec_row(T) = G theta`` (``T`` augmented by a bias column
    when the layer has a bias; row-major vectorisation)."""
    rows, cols, par = parameter_map(layer)
    width = layer.n_in + int(layer.bias)
    G = np.zeros((layer.n_out * width, layer.n_params), dtype=np.int64)
    G[rows * width + cols, par] = 1
    return G
