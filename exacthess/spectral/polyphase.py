r"""The polyphase layout of a circular convolution: the wrapped kernel and memory estimates.

With stride ``s`` dividing ``n``, every input channel splits into ``S = prod(s)`` polyphase
components :math:`X_b[i, q] = X[i, s q + b]`; the layer becomes a stride-1 circular convolution on
the ``n / s`` grid with ``c_in S`` input channels and the wrapped kernel
:math:`W_b[o, i, j] = W[o, i, s j + b]` (taps that wrap onto one coordinate add).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..models.geometry import ConvLayer, conv_layer
from ..models.kernels import kernel_shape

__all__ = ["circular_layer", "phases", "polyphase_kernel", "fft_bytes", "dense_svd_bytes"]


def circular_layer(kernel: Any, input_shape: Any, stride: Any = 1) -> ConvLayer:
    """The (checked) circular :class:`ConvLayer` of *kernel* on *input_shape* (1-D: height 1)."""
    return conv_layer(kernel_shape(kernel), input_shape, stride, "circular")


def phases(layer: ConvLayer) -> int:
    """``S = prod(stride)``: the number of polyphase components per input channel."""
    return layer.stride[0] * layer.stride[1]


def polyphase_kernel(values: np.ndarray, layer: ConvLayer, dtype: Any = np.float64) -> np.ndarray:
    """The wrapped polyphase kernel ``W`` of shape ``(c_out, c_in * S, h', w')`` (see module doc).

    ``values`` holds the kernel (any shape with ``c_out * c_in * kh * kw`` entries, tap order);
    tap ``tau`` adds into the input coordinate ``layer.sources[tau, 0]`` it reads at output
    position 0, so taps that wrap onto one coordinate add. Works for float arrays and for object
    arrays of exact numbers (``dtype=object``).
    """
    taps = np.asarray(values).reshape(layer.c_out, -1)
    if dtype is object:
        w = np.empty((layer.c_out, layer.n_in), dtype=object)
        w.fill(0)
    else:
        w = np.zeros((layer.c_out, layer.n_in), dtype=dtype)
    np.add.at(w.T, layer.sources[:, 0], taps.T)
    (h, wd), (sh, sw) = layer.in_shape, layer.stride
    w = w.reshape(layer.c_out, layer.c_in, h // sh, sh, wd // sw, sw).transpose(0, 1, 3, 5, 2, 4)
    return w.reshape((layer.c_out, layer.c_in * phases(layer)) + layer.out_shape)


def fft_bytes(layer: ConvLayer) -> int:
    """Estimated peak memory of the float FFT method: the complex blocks and the SVD's copies."""
    blocks = layer.out_shape[0] * layer.out_shape[1] * layer.c_out * layer.c_in * phases(layer)
    return 16 * 4 * blocks + 8 * layer.c_out * layer.n_in


def dense_svd_bytes(layer: ConvLayer) -> int:
    """Estimated peak memory of a dense float64 SVD of the operator (matrix, LAPACK's copy, work)."""
    return 8 * 3 * layer.n_out * layer.n_in + 8 * 8 * min(layer.n_out, layer.n_in) ** 2
