r"""The operator of a convolution, built from its tap table: one builder for both halves.

A layer's convolution ``w * x`` (cross-correlation, as in PyTorch, with stride and zero or
circular padding; see :class:`~exacthess.models.geometry.ConvLayer`) is the matrix product
``T(w) vec(x)``. Block ``(o, i)`` of ``T`` (size ``H_out W_out x H_in W_in``) holds the taps of
``w[o, i]``:

.. math:: T[(o, y, x), (i, \iota(s_h y + a - p_h), \iota(s_w x + b - p_w))] \mathrel{+}= w[o, i, a, b],

with rows and columns vectorised channel-major; ``iota`` drops positions outside the map (zero
padding) or reduces them modulo the input size (circular padding, where taps that meet **add**).
``T`` is linear in ``w``: the *parameter map* ``G`` with ``vec(T) = G theta`` is a 0/1 matrix,
given here by its positions (:func:`parameter_map`). A fully-connected layer is the 1x1 case,
where ``T = W``.

:func:`toeplitz_operator` assembles ``T`` from the tap table over any domain; the Hessian engine
calls it for every layer and :func:`conv_operator` (the public function of both halves) calls it
for a kernel and an input shape. :func:`conv_matrix` is the same function addressed by
``(architecture, layer index)``.

>>> conv_operator([[[1, 2]]], (4,), padding=0, domain="QQ").tolist()
[[1, 2, 0, 0], [0, 1, 2, 0], [0, 0, 1, 2]]
>>> conv_operator(np.array([[[1.0, 2.0, 3.0]]]), (2,))   # circular, k = 3 > n = 2: taps 0 and 2 add
array([[4., 2.],
       [2., 4.]])
>>> from exacthess import CNN
>>> conv_matrix(CNN((4,), (1,), 2, 1), 1, [[[1, 2]]]).tolist()
[[1, 2, 0, 0], [0, 1, 2, 0], [0, 0, 1, 2]]
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import sympy

from ..core.domains import F64, GF, QQ, SR, Ring, resolve_domain
from ..core.errors import (InvalidArchitectureError, InvalidDataError, InvalidTypeError,
                           InvalidValueError, ParamsMismatchError, describe)
from ..core.exact import to_rational
from ..core.resources import require_memory
from ..core.validate import is_int
from .geometry import ConvLayer, conv_layer
from .kernels import exact_kernel, float_kernel, kernel_shape

__all__ = ["operator_bytes", "toeplitz_operator", "conv_operator", "conv_matrix",
           "parameter_map", "parameter_map_matrix"]

#: the number domains of an operator (``"GF(p)"`` for a prime ``2 < p < 2**31``)
def operator_bytes(layer: ConvLayer, ring: Ring = QQ, aug: bool = False) -> int:
    """Estimated peak memory of :func:`toeplitz_operator`: the dense matrix (8 bytes an entry:
    float64, int64 or an object pointer), index temporaries per stored tap, and one Python
    object per stored entry for object domains."""
    dense = (layer.n_out + aug) * (layer.n_in + aug) * 8
    per_nnz = 48 + (64 if ring in (QQ, SR) else 0)
    return dense + layer.n_nonzeros * per_nnz


def toeplitz_operator(layer: ConvLayer, weights: np.ndarray, ring: Ring = QQ, aug: bool = False) -> np.ndarray:
    """The exact operator matrix ``T(w)`` of one layer (``n_out x n_in``, channel-major).

    Block ``(o, i)`` is the (doubly-block) banded Toeplitz (zero padding) or circulant
    (circular padding) matrix of ``w[o, i]``; taps that meet on one input coordinate add. With
    ``aug`` the matrix is ``[[T, b 1], [0, 1]]`` of size ``(n_out + 1) x (n_in + 1)``.

    Args:
        layer: the layer.
        weights: ``(c_out, n_taps)`` array in tap ordering (see :attr:`ConvLayer.sources`),
            already in ``ring``.
        ring: the domain of the entries.
        aug: return the augmented matrix (bias column and a constant row).

    Raises:
        InvalidTypeError: ``layer`` is not a :class:`ConvLayer`.
        ParamsMismatchError: ``weights`` does not have shape ``(c_out, n_taps)``.
        ProblemTooLargeError: the dense matrix would not fit in memory.
    """
    if not isinstance(layer, ConvLayer):
        raise InvalidTypeError(f"layer = {describe(layer)} has type {type(layer).__name__}; expected a ConvLayer")
    if np.shape(weights) != (layer.c_out, layer.n_taps):
        raise ParamsMismatchError(f"weights has shape {np.shape(weights)}; expected (c_out, n_taps) = "
                                  f"{(layer.c_out, layer.n_taps)} in tap ordering")
    require_memory(operator_bytes(layer, ring, aug),
                   f"the dense {layer.n_out + aug} x {layer.n_in + aug} operator over {ring}")
    n_out, n_in = layer.n_out, layer.n_in
    A = ring.zeros((n_out + aug, n_in + aug))
    src = layer.sources  # (T, N_out)
    N_out = src.shape[1]
    if not layer.wraps:  # every (row, column) receives at most one tap: one scatter
        o, tau, x = np.meshgrid(np.arange(layer.c_out), np.arange(layer.n_taps), np.arange(N_out), indexing="ij")
        cols = src[tau, x]
        ok = cols <= n_in if aug else cols < n_in
        A[(o * N_out + x)[ok], cols[ok]] = weights[o[ok], tau[ok]]
    else:  # taps meet: accumulate tap by tap (within one tap the pairs are distinct)
        base = np.arange(layer.c_out)[:, None] * N_out
        for tau in range(layer.n_taps):
            cols = src[tau]
            ok = np.flatnonzero(cols <= n_in if aug else cols < n_in)
            if not ok.size:
                continue
            rows = base + ok[None, :]
            c = np.broadcast_to(cols[ok][None, :], rows.shape)
            A[rows, c] = ring.add(A[rows, c], weights[:, tau][:, None])
    if aug:
        A[n_out, n_in] = ring.one
    return A


def _values(values: Any, ring: Ring, name: str) -> np.ndarray:
    """*values* as an array in ``ring`` (floats exactly for exact rings; sympy objects kept in SR)."""
    if ring is F64:
        return float_kernel(values, name)
    if ring is SR:
        arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values.astype(object)
        out = np.empty(arr.shape, dtype=object)
        for idx, v in np.ndenumerate(arr):
            where = f"{name}[{', '.join(map(str, idx))}]"
            out[idx] = v if isinstance(v, sympy.Basic) else SR.convert(np.array([to_rational(v, where)]))[0]
        return out
    exact = exact_kernel(values, name)
    if isinstance(ring, GF):
        for idx, v in np.ndenumerate(exact):
            if int(v.q) % ring.p == 0:
                raise InvalidDataError(f"{name}[{', '.join(map(str, idx))}] = {v} has a denominator divisible "
                                       f"by p = {ring.p}; expected values defined modulo p")
    return ring.convert(exact)


def _resolve_exact(domain, exact) -> Any:
    if exact is None:
        return domain
    warnings.warn("conv_operator(exact=...) is deprecated since 0.2.0 and removed in 0.4.0; use domain='QQ' (exact rationals) or "
                  "domain='float64'", DeprecationWarning, stacklevel=3)
    if not isinstance(exact, (bool, np.bool_)):
        raise InvalidTypeError(f"exact = {describe(exact)} has type {type(exact).__name__}; expected True or False")
    wanted = "QQ" if exact else "float64"
    if domain != "float64" and resolve_domain(domain) is not resolve_domain(wanted):
        raise InvalidValueError(f"exact = {bool(exact)} contradicts domain = {domain!r}; expected only domain=")
    return wanted


def conv_operator(
    kernel: Any,
    input_shape: Any,
    stride: Any = 1,
    padding: Any = "circular",
    *,
    bias: Any = None,
    domain: Any = "float64",
    exact: bool | None = None,
) -> np.ndarray:
    """The matrix ``M`` of the convolution ``X -> Y`` (cross-correlation, as in PyTorch).

    For circular padding and stride ``s`` (dividing ``n``)
    ``Y[o, r] = sum_i sum_t X[i, (s*r + t) mod n] K[o, i, t]`` (multi-indices in 2-D); for
    zero padding ``p`` the input is extended by ``p`` zeros on every side and nothing wraps.
    Vectorisation is channel-major: ``X[i, q]`` has index ``i * prod(n) + ravel(q)``. A kernel
    larger than the input wraps around: all taps with equal ``t mod n`` add up.

    ``M`` has ``c_out * prod(out_shape)`` rows and ``c_in * prod(input_shape)`` columns, where
    ``out_shape = n / s`` (circular) or ``(n + 2p - k) // s + 1`` (zero padding).

    Args:
        kernel: ``[c_out, c_in, k]`` (1-D) or ``[c_out, c_in, kh, kw]`` (2-D), PyTorch layout;
            see :func:`~exacthess.models.kernels.kernel_from_tensorflow` for TensorFlow's.
        input_shape: spatial input size, ``(n,)`` / ``n`` or ``(h, w)``.
        stride: an int or one int per spatial axis.
        padding: ``"circular"``, an int ``p >= 0`` of zeros on every side, or one int per axis.
        bias: optional ``[c_out]``; then the augmented ``[[M, b 1], [0, 1]]`` is returned.
        domain: ``"float64"`` (default), ``"QQ"`` (exact ``flint.fmpq``; floats convert
            exactly), ``"GF(p)"`` (int64 residues) or ``"SR"`` (sympy; symbols allowed).
        exact: deprecated; ``exact=True`` is ``domain="QQ"``.

    Returns:
        ``numpy.ndarray``: float64, object (``fmpq`` or sympy) or int64 (``GF(p)``).

    Raises:
        InvalidTypeError: an argument of the wrong type.
        InvalidKernelError, InvalidInputShapeError, InvalidStrideError, InvalidPaddingError,
        NonFiniteError, InvalidOptionError: wrong values (``ValueError`` subclasses).
        ProblemTooLargeError: the dense matrix would not fit in memory.

    Example:
        >>> conv_operator([[[1, 1]]], 3, domain="QQ").tolist()
        [[1, 1, 0], [0, 1, 1], [1, 0, 1]]
    """
    domain = _resolve_exact(domain, exact)
    ring = resolve_domain(domain)
    layer = conv_layer(kernel_shape(kernel), input_shape, stride, padding, bias=bias is not None)
    require_memory(operator_bytes(layer, ring, bias is not None),
                   f"the dense {layer.n_out} x {layer.n_in} operator over {ring}")
    taps = _values(kernel, ring, "kernel").reshape(layer.c_out, -1)
    if bias is not None:
        if kernel_shape(bias, "bias") not in ((layer.c_out,), (layer.c_out, 1)):
            raise ParamsMismatchError(f"bias has shape {kernel_shape(bias, 'bias')}; expected ({layer.c_out},)")
        taps = np.concatenate([taps, _values(bias, ring, "bias").reshape(layer.c_out, 1)], axis=1)
    return toeplitz_operator(layer, taps, ring, aug=bias is not None)


def _layer(arch_or_layer, l) -> ConvLayer:
    if isinstance(arch_or_layer, ConvLayer):
        return arch_or_layer
    layers = getattr(arch_or_layer, "layers", None)
    if not isinstance(layers, tuple):
        raise InvalidTypeError(f"arch = {describe(arch_or_layer)} has type {type(arch_or_layer).__name__}; "
                               "expected an architecture (FCN, CNN) or a ConvLayer")
    if not is_int(l):
        raise InvalidTypeError(f"l = {describe(l)} has type {type(l).__name__}; expected a layer index 1..{len(layers)}")
    if not 1 <= l <= len(layers):
        raise InvalidArchitectureError(f"l = {l!r} is not a layer index; expected 1..{len(layers)}")
    return layers[l - 1]


def conv_matrix(arch, l: int | None, weight, bias=None, domain="QQ", *, field=None) -> np.ndarray:
    """The operator ``T(w)`` of layer ``l`` (1-based) of ``arch``: :func:`conv_operator` with
    that layer's geometry (input shape, stride, padding).

    Args:
        arch: an architecture (or a :class:`ConvLayer`, with ``l=None``).
        l: layer index.
        weight: ``[c_out, c_in, k]`` (1-D) or ``[c_out, c_in, kh, kw]``; for an FCN layer the
            matrix ``(out, in)``; any array with that many entries is read row-major. Floats
            are converted exactly.
        bias: optional ``[c_out]``; then the augmented ``[[T, b 1], [0, 1]]`` is returned.
        field: the domain, as ``domain=`` of :func:`conv_operator`: ``"QQ"`` (default),
            ``"GF(p)"``, ``"SR"`` or ``"float64"``.
    """
    layer = _layer(arch, l)
    if field is not None:
        import warnings
        warnings.warn("conv_matrix(field=...) is deprecated since 0.2.0 and removed in 0.4.0; use domain=...", DeprecationWarning, stacklevel=2)
        domain = field
    ring = resolve_domain(domain)
    w = _values(weight, ring, "weight")
    nw = layer.c_in * layer.kernel[0] * layer.kernel[1]
    if w.size != layer.c_out * nw:
        raise ParamsMismatchError(
            f"weight has {w.size} entries (shape {w.shape}); expected {layer.c_out * nw} "
            f"(c_out={layer.c_out}, c_in={layer.c_in}, kernel={layer.kernel})")
    padding = "circular" if layer.circular else layer.padding
    return conv_operator(w.reshape(layer.weight_shape), layer.in_shape, layer.stride, padding,
                         bias=bias, domain=ring)


def _check_layer(layer) -> ConvLayer:
    if not isinstance(layer, ConvLayer):
        raise InvalidTypeError(f"layer = {describe(layer)} has type {type(layer).__name__}; expected a ConvLayer")
    return layer


def parameter_map(layer: ConvLayer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of every parameter in the (augmented) operator: ``(rows, cols, param)``.

    ``T[rows[j], cols[j]] += theta[param[j]]`` for all ``j`` reproduces ``T(theta)`` with
    ``theta`` in the documented order (weights row-major, then biases; the bias column is
    ``n_in``)."""
    _check_layer(layer)
    require_memory(layer.n_nonzeros * 56, f"the parameter map of a layer with {layer.n_nonzeros} taps")
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
    """The matrix ``G`` with ``vec_row(T) = G theta`` (``T`` augmented by a bias column
    when the layer has a bias; row-major vectorisation). Entries are 0/1, or larger where
    circular taps meet."""
    _check_layer(layer)
    width = layer.n_in + int(layer.bias)
    require_memory(layer.n_out * width * layer.n_params * 8,
                   f"the dense {layer.n_out * width} x {layer.n_params} parameter map")
    rows, cols, par = parameter_map(layer)
    G = np.zeros((layer.n_out * width, layer.n_params), dtype=np.int64)
    np.add.at(G, (rows * width + cols, par), 1)
    return G
