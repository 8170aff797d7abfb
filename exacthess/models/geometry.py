r"""Layer geometry: one description of a convolution, shared by the Hessian and spectral halves.

A :class:`ConvLayer` is a 2-D cross-correlation (as in PyTorch) with ``c_in`` input and
``c_out`` output channels, kernel ``(kh, kw)``, stride, an optional per-channel bias and a
padding mode:

* ``padding_mode="zeros"`` (the default): the input is extended by ``padding = (p_h, p_w)``
  zeros on each side and nothing wraps; ``out = (n + 2p - k) // s + 1`` per axis;
* ``padding_mode="circular"`` (Sedghi, Gupta & Long 2019): indices wrap modulo the input
  size, ``out = n / s`` (the stride must divide ``n``), ``padding`` must be ``(0, 0)``; a
  kernel larger than the input wraps around, so taps that land on the same input coordinate
  **add**.

A fully-connected layer ``R^n -> R^m`` is the 1x1 case (``c_in = n``, ``c_out = m``, one
position); 1-D convolutions are maps of height 1.

Vectorisation is channel-major: a feature map ``h[c, y, x]`` is the vector with index
``c * (H * W) + y * W + x``. The *tap table* :attr:`ConvLayer.sources` says which input
coordinate each kernel tap reads at each output position; every operator, Jacobian and
Hessian block, and the wrapped kernel of the spectral half, is assembled from it.

>>> layer = ConvLayer(c_in=1, c_out=1, in_shape=(1, 4), kernel=(1, 2))
>>> layer.out_shape, layer.sources.tolist()
((1, 3), [[0, 1, 2], [1, 2, 3]])
>>> ConvLayer(1, 1, (1, 2), (1, 3), padding_mode="circular").sources.tolist()   # taps 0 and 2 meet
[[0, 1], [1, 0], [0, 1]]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..core.errors import (InvalidArchitectureError, InvalidInputShapeError, InvalidKernelError,
                           InvalidPaddingError, InvalidStrideError, InvalidTypeError, describe)
from ..core.validate import check_option, is_int

__all__ = [
    "ConvLayer", "PADDING_MODES", "conv_layer",
    "InvalidKernelError", "InvalidInputShapeError", "InvalidStrideError", "InvalidPaddingError",
]

PADDING_MODES = ("zeros", "circular")


def _pair(value, name: str, minimum: int, error: type) -> tuple[int, int]:
    if is_int(value):
        value = (value, value)
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list, np.ndarray)):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; "
                               f"expected an int >= {minimum} or a pair of them")
    if len(value) != 2:
        raise error(f"{name} = {describe(value)} has {len(value)} entries; expected 2 (height, width)")
    out = []
    for i, v in enumerate(value):
        if not is_int(v):
            raise InvalidTypeError(f"{name}[{i}] = {describe(v)} has type {type(v).__name__}; "
                                   f"expected an int >= {minimum}")
        if v < minimum:
            raise error(f"{name}[{i}] = {int(v)} is too small; expected an int >= {minimum}")
        out.append(int(v))
    return tuple(out)


@dataclass(frozen=True)
class ConvLayer:
    r"""One linear layer ``h_out = T(w) h_in + b`` written as a 2-D convolution.

    ``T(w)`` is the exact operator of the kernel ``w[c_out, c_in, kh, kw]``:

    .. math:: (T h)[o, y, x] = \sum_{i, a, b} w[o, i, a, b]\, h[i, \iota_h(s_h y + a - p_h),
              \iota_w(s_w x + b - p_w)]

    where ``iota`` is the identity with zero outside the map (``"zeros"``) or reduction
    modulo the input size (``"circular"``). Block ``(o, i)`` of ``T`` is a (doubly-block)
    banded Toeplitz matrix (zeros) or a (doubly-block) circulant (circular).

    Arguments are checked: wrong types raise
    :class:`~exacthess.core.errors.InvalidTypeError`, wrong values an
    :class:`~exacthess.core.errors.InvalidArchitectureError` subclass.
    """

    c_in: int
    c_out: int
    in_shape: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    bias: bool = False
    padding_mode: str = "zeros"

    def __post_init__(self):
        for name in ("c_in", "c_out"):
            v = getattr(self, name)
            if not is_int(v):
                raise InvalidTypeError(f"{name} = {describe(v)} has type {type(v).__name__}; expected an int >= 1")
            if v < 1:
                raise InvalidArchitectureError(f"{name} = {int(v)} is too small; expected an int >= 1")
            object.__setattr__(self, name, int(v))
        object.__setattr__(self, "in_shape", _pair(self.in_shape, "in_shape", 1, InvalidInputShapeError))
        object.__setattr__(self, "kernel", _pair(self.kernel, "kernel", 1, InvalidArchitectureError))
        object.__setattr__(self, "stride", _pair(self.stride, "stride", 1, InvalidStrideError))
        object.__setattr__(self, "padding", _pair(self.padding, "padding", 0, InvalidPaddingError))
        if not isinstance(self.bias, (bool, np.bool_)):
            raise InvalidTypeError(f"bias = {describe(self.bias)} has type {type(self.bias).__name__}; "
                                   "expected True or False")
        object.__setattr__(self, "bias", bool(self.bias))
        check_option(self.padding_mode, "padding_mode", PADDING_MODES)
        for a in range(2):
            n, k, s, p = self.in_shape[a], self.kernel[a], self.stride[a], self.padding[a]
            if self.padding_mode == "zeros" and k > n + 2 * p:
                raise InvalidArchitectureError(
                    f"kernel[{a}] = {k} is larger than the padded input in_shape[{a}] + 2 * padding[{a}] "
                    f"= {n + 2 * p}; expected a kernel no larger than the padded input")
            if self.padding_mode == "circular":
                if n % s:
                    raise InvalidStrideError(f"stride[{a}] = {s} does not divide in_shape[{a}] = {n}; "
                                             "expected a divisor of the input size for circular padding")
                if p:
                    raise InvalidPaddingError(f"padding[{a}] = {p} with padding_mode 'circular'; expected 0 "
                                              "(circular indices start at 0)")

    @property
    def circular(self) -> bool:
        return self.padding_mode == "circular"

    @property
    def out_shape(self) -> tuple[int, int]:
        if self.circular:
            return tuple(self.in_shape[a] // self.stride[a] for a in range(2))
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

    @property
    def wraps(self) -> bool:
        """True when two taps can read the same input coordinate at one output position
        (circular padding with a kernel larger than the input on some axis)."""
        return self.circular and any(k > n for k, n in zip(self.kernel, self.in_shape))

    @property
    def n_nonzeros(self) -> int:
        """Upper bound on the nonzero entries of the (augmented) operator: ``c_out * n_taps * positions``."""
        return self.c_out * self.n_taps * self.out_shape[0] * self.out_shape[1]

    @cached_property
    def sources(self) -> np.ndarray:
        """Gather table ``S[tau, pos]``: which input coordinate tap ``tau`` reads at output
        position ``pos``. Values are in ``[0, n_in + 1]``: ``n_in`` is the constant coordinate
        (bias tap) and ``n_in + 1`` stands for a zero (padding). Taps are ordered
        ``tau = (i * kh + a) * kw + b``, then the bias tap."""
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
                    if self.circular:
                        idx = i * hi * wi + (yy % hi) * wi + (xx % wi)
                        table[tau] = np.broadcast_to(idx, (ho, wo)).ravel()
                    else:
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


def _sizes(value, name: str, count: int, what: str, error: type) -> tuple[int, ...]:
    vals = (value,) * count if is_int(value) else value
    if isinstance(vals, (str, bytes)) or not isinstance(vals, (tuple, list, np.ndarray)):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected {what}")
    if len(vals) != count:
        raise error(f"{name} = {describe(value)} has {len(vals)} entries; expected {count} ({what})")
    out = []
    for i, v in enumerate(vals):
        if not is_int(v):
            raise InvalidTypeError(f"{name}[{i}] = {describe(v)} has type {type(v).__name__}; expected {what}")
        out.append(int(v))
    return tuple(out)


def conv_layer(kernel_shape, input_shape, stride=1, padding="circular", bias: bool = False) -> ConvLayer:
    """The :class:`ConvLayer` of a kernel of shape ``kernel_shape`` on ``input_shape``.

    This reads the arguments of :func:`~exacthess.models.toeplitz.conv_operator` (and of
    every spectral function) and checks them with messages in their own terms.

    Args:
        kernel_shape: ``(c_out, c_in, k)`` (1-D) or ``(c_out, c_in, kh, kw)`` (2-D).
        input_shape: spatial input size, ``(n,)`` / ``n`` or ``(h, w)``.
        stride: an int or one int per spatial axis (for circular padding it must divide the
            input size).
        padding: ``"circular"``, an int ``p >= 0`` (zeros on every side) or one int per axis.
        bias: the layer has a per-channel bias.

    Returns:
        A 2-D :class:`ConvLayer`; 1-D layers have height 1.

    >>> conv_layer((3, 2, 5), 8, stride=2).out_shape
    (1, 4)
    """
    shape = tuple(kernel_shape)
    if len(shape) not in (3, 4):
        raise InvalidKernelError(
            f"kernel has {len(shape)} dimension(s) (shape {shape}); expected 3 "
            "([c_out, c_in, k]) or 4 ([c_out, c_in, kh, kw])")
    if any(s == 0 for s in shape):
        raise InvalidKernelError(f"kernel has an empty axis (shape {shape}); expected sizes >= 1")
    dim = len(shape) - 2
    if dim == 1 and is_int(input_shape):
        input_shape = (int(input_shape),)
    n = _sizes(input_shape, "input_shape", dim,
               f"{dim} positive spatial size(s) for a {dim}-D kernel of shape {shape}", InvalidInputShapeError)
    for i, v in enumerate(n):
        if v < 1:
            raise InvalidInputShapeError(f"input_shape[{i}] = {v} is not a positive integer; expected "
                                         f"{dim} positive spatial size(s) for a {dim}-D kernel of shape {shape}")
    s = _sizes(stride, "stride", dim, f"{dim} positive integer stride(s)", InvalidStrideError)
    for i, v in enumerate(s):
        if v < 1:
            raise InvalidStrideError(f"stride[{i}] = {v} is not a positive integer; expected "
                                     f"{dim} positive integer stride(s)")
    ks = shape[2:]
    if isinstance(padding, str):
        if padding != "circular":
            raise InvalidPaddingError(
                f"padding = {padding!r} is not understood; expected 'circular' or an int >= 0")
        for i, (ni, si) in enumerate(zip(n, s)):
            if ni % si:
                raise InvalidStrideError(
                    f"stride[{i}] = {si} does not divide input_shape[{i}] = {ni}; expected a "
                    "divisor of the input size for circular padding")
        pad, mode = (0,) * dim, "circular"
    else:
        if isinstance(padding, (bool, np.bool_)) or not (is_int(padding) or isinstance(padding, (tuple, list))):
            raise InvalidTypeError(f"padding = {describe(padding)} has type {type(padding).__name__}; "
                                   "expected 'circular' or an int >= 0")
        pad = _sizes(padding, "padding", dim, "'circular' or ints >= 0", InvalidPaddingError)
        mode = "zeros"
        for i, p in enumerate(pad):
            if p < 0:
                raise InvalidPaddingError(f"padding = {describe(padding)} is negative; expected 'circular' or an int >= 0")
        for i, (ni, ki, pi) in enumerate(zip(n, ks, pad)):
            if ni + 2 * pi < ki:
                raise InvalidPaddingError(
                    f"padding = {describe(padding)} leaves input_shape[{i}] + 2*padding = {ni + 2 * pi} "
                    f"smaller than the kernel size {ki}; expected a padded input at least as large "
                    "as the kernel")
    lift = (lambda t, h: (h,) + tuple(t)) if dim == 1 else (lambda t, h: tuple(t))
    return ConvLayer(int(shape[1]), int(shape[0]), lift(n, 1), lift(ks, 1), lift(s, 1), lift(pad, 0),
                     bool(bias), mode)

