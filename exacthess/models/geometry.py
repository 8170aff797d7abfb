"""Layer geometry: one description of a convolution, shared by the Hessian and spectral halves.

A :class:`ConvLayer` is a 2-D cross-correlation (as in PyTorch) with ``c_in`` input and
``c_out`` output channels, kernel ``(kh, kw)``, stride and zero padding, and an optional
per-channel bias. A fully-connected layer ``R^n -> R^m`` is the 1x1 case (``c_in = n``,
``c_out = m``, one position); 1-D convolutions are maps of height 1.

Vectorisation is channel-major: a feature map ``h[c, y, x]`` is the vector with index
``c * (H * W) + y * W + x``. The *tap table* :attr:`ConvLayer.sources` says which input
coordinate each kernel tap reads at each output position; every operator, Jacobian and
Hessian block is assembled from it.

>>> layer = ConvLayer(c_in=1, c_out=1, in_shape=(1, 4), kernel=(1, 2))
>>> layer.out_shape, layer.sources.tolist()
((1, 3), [[0, 1, 2], [1, 2, 3]])
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["ConvLayer"]


@dataclass(frozen=True)
class ConvLayer:
    """One linear layer ``h_out = T(w) h_in + b`` written as a 2-D convolution.

    ``T(w)`` is the exact Toeplitz operator of the kernel ``w[c_out, c_in, kh, kw]``:
    ``(T h)[o, y, x] = sum_{i, a, b} w[o, i, a, b] h[i, s_h y + a - p_h, s_w x + b - p_w]``
    (zero outside the map). Block ``(o, i)`` of ``T`` is a (doubly-block) banded Toeplitz
    matrix of size ``(H_out W_out) x (H_in W_in)``.
    """

    c_in: int
    c_out: int
    in_shape: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    bias: bool = False

    @property
    def out_shape(self) -> tuple[int, int]:
        return tuple(
            (self.in_shape[a] + 2 * self.padding[a] - self.kernel[a]) // self.stride[a] + 1
            for a in range(2)
        )

    @property
    def n_in(self) -> int:
        return self.c_in * self.in_shape[0] * self.in_shape[1]

    @property
    def n_out(self) -> int:
        return self.c_out * self.out_shape[0] * self.out_shape[1]

    @property
    def n_taps(self) -> int:
        """Kernel taps per output channel, including the bias tap."""
        return self.c_in * self.kernel[0] * self.kernel[1] + int(self.bias)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.c_out, self.c_in, self.kernel[0], self.kernel[1])

    @property
    def n_params(self) -> int:
        return self.c_out * self.n_taps

    @cached_property
    def sources(self) -> np.ndarray:
        """Gather table ``S[tau, pos]``: which input coordinate tap ``tau`` reads at output
        position ``pos``. Values are in ``[0, n_in]``: ``n_in`` is the constant coordinate
        (bias tap) and ``n_in + 1`` stands for a zero (padding)."""
        (hi, wi), (ho, wo) = self.in_shape, self.out_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        pad_index = self.n_in + 1
        ys = np.arange(ho)[:, None] * sh - ph  # (ho, 1)
        xs = np.arange(wo)[None, :] * sw - pw
        table = np.full((self.n_taps, ho * wo), pad_index, dtype=np.int64)
        tau = 0
        for i in range(self.c_in):
            for a in range(kh):
                for b in range(kw):
                    yy, xx = ys + a, xs + b
                    ok = (yy >= 0) & (yy < hi) & (xx >= 0) & (xx < wi)
                    idx = i * hi * wi + np.clip(yy, 0, hi - 1) * wi + np.clip(xx, 0, wi - 1)
                    table[tau] = np.where(ok, idx, pad_index).ravel()
                    tau += 1
        if self.bias:
            table[tau] = self.n_in
        return table

    @cached_property
    def tap_to_documented(self) -> np.ndarray:
        """``perm`` with ``documented_vector = tap_ordered_vector[perm]``.

        Tap ordering is ``o * n_taps + tau``; documented ordering is the weight tensor
        row-major followed by the bias."""
        nw = self.c_in * self.kernel[0] * self.kernel[1]
        T = self.n_taps
        w = (np.arange(self.c_out)[:, None] * T + np.arange(nw)[None, :]).ravel()
        if not self.bias:
            return w
        b = np.arange(self.c_out) * T + nw
        return np.concatenate([w, b])
