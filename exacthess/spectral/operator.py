"""The explicit matrix of a multi-channel convolution layer.

Convention (cross-correlation, as in PyTorch). For circular padding and stride ``s``::

    Y[o, r] = sum_i sum_t X[i, (s*r + t) mod n] * K[o, i, t]

(multi-indices in 2-D), and for zero padding ``p`` the input is extended by ``p`` zeros on
every side and no index wraps. Vectorisation is channel-major: the input index of
``X[i, q]`` is ``i * prod(n) + ravel(q)`` (row-major spatial position) and likewise for ``Y``.
A kernel larger than the input wraps around: all taps ``t`` with equal ``t mod n`` add up.

>>> import numpy as np
>>> conv_operator(np.array([[[1.0, 2.0, 3.0]]]), (2,))   # k = 3 > n = 2: taps 0 and 2 add
array([[4., 2.],
       [2., 4.]])
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from flint import fmpq

from .errors import InvalidKernelError
from ._input import ConvSpec, exact_kernel, float_kernel, validate

__all__ = ["conv_operator", "kernel_from_tensorflow", "tap_positions"]


def tap_positions(spec: ConvSpec):
    """Yield ``(t, out_idx, in_idx)`` for every kernel tap ``t`` (a tuple): the flat output
    positions and the flat input positions that tap connects (invalid zero-padding links are
    dropped). Within one tap the pairs are distinct."""
    out_shape = spec.out_shape
    grids = np.meshgrid(*[np.arange(m) for m in out_shape], indexing="ij")
    out_flat = np.ravel_multi_index(tuple(g.ravel() for g in grids), out_shape) if out_shape else None
    for t in itertools.product(*[range(k) for k in spec.ksize]):
        valid = np.ones(out_flat.shape, dtype=bool)
        coords = []
        for d in range(spec.dim):
            q = spec.stride[d] * grids[d].ravel() + t[d]
            if spec.padding == "circular":
                q = q % spec.n[d]
            else:
                q = q - int(spec.padding)
                valid &= (q >= 0) & (q < spec.n[d])
            coords.append(q)
        coords = [c[valid] for c in coords]
        in_flat = np.ravel_multi_index(tuple(coords), spec.n)
        yield t, out_flat[valid], in_flat


def build_operator(values: np.ndarray, spec: ConvSpec, dtype: Any) -> np.ndarray:
    """Assemble the ``rows x cols`` operator from a kernel array of the given dtype."""
    n_out = math.prod(spec.out_shape)
    n_in = math.prod(spec.n)
    if dtype is object:
        m4 = np.empty((spec.c_out, n_out, spec.c_in, n_in), dtype=object)
        m4.fill(fmpq(0))
    else:
        m4 = np.zeros((spec.c_out, n_out, spec.c_in, n_in), dtype=dtype)
    for t, ro, ri in tap_positions(spec):
        if len(ro):
            m4[:, ro, :, ri] += values[(slice(None), slice(None)) + t]
    return m4.reshape(spec.rows, spec.cols)


def conv_operator(
    kernel: Any,
    input_shape: Any,
    stride: Any = 1,
    padding: str | int = "circular",
    *,
    exact: bool = False,
) -> np.ndarray:
    """Return the matrix ``M`` of the convolution ``X -> Y`` (see the module docstring).

    ``M`` has ``c_out * prod(out_shape)`` rows and ``c_in * prod(input_shape)`` columns, where
    ``out_shape = n / s`` for circular padding and ``(n + 2p - k) // s + 1`` for zero padding
    ``p``. Kernels larger than the input wrap around (circular); ``c_in != c_out``,
    non-square kernels and inputs are all allowed.

    Args:
        kernel: ``[c_out, c_in, k]`` (1-D) or ``[c_out, c_in, kh, kw]`` (2-D), PyTorch layout;
            see :func:`kernel_from_tensorflow` for TensorFlow's ``[kh, kw, c_in, c_out]``.
        input_shape: spatial input size, ``(n,)`` / ``n`` or ``(h, w)``.
        stride: an int or one int per spatial axis. For circular padding it must divide the
            input size.
        padding: ``"circular"`` or an int ``p >= 0`` of zeros on every side.
        exact: return an object array of exact ``flint.fmpq`` (floats converted exactly)
            instead of float64.

    Returns:
        ``numpy.ndarray`` of float64, or of ``fmpq`` objects when ``exact=True``.

    Raises:
        InvalidKernelError, InvalidInputShapeError, InvalidStrideError, InvalidPaddingError,
        NonFiniteError: on bad input (all ``ValueError`` subclasses).

    Example:
        >>> M = conv_operator([[[1, 1]]], 3, exact=True)
        >>> M.tolist()
        [[1, 1, 0], [0, 1, 1], [1, 0, 1]]
    """
    spec = validate(kernel, input_shape, stride, padding)
    if exact:
        return build_operator(exact_kernel(kernel), spec, object)
    return build_operator(float_kernel(kernel), spec, np.float64)


def kernel_from_tensorflow(kernel: Any) -> np.ndarray:
    """Convert a TensorFlow kernel to the PyTorch layout used by this package.

    TensorFlow stores 2-D kernels as ``[kh, kw, c_in, c_out]`` and 1-D kernels as
    ``[k, c_in, c_out]``; both frameworks compute a cross-correlation, so the conversion is a
    pure transpose to ``[c_out, c_in, kh, kw]`` (resp. ``[c_out, c_in, k]``).

    >>> import numpy as np
    >>> kernel_from_tensorflow(np.zeros((3, 5, 2, 7))).shape
    (7, 2, 3, 5)
    """
    arr = kernel if isinstance(kernel, np.ndarray) else np.asarray(kernel, dtype=object)
    if arr.ndim == 4:
        return np.transpose(arr, (3, 2, 0, 1)).copy()
    if arr.ndim == 3:
        return np.transpose(arr, (2, 1, 0)).copy()
    raise InvalidKernelError(
        f"kernel has {arr.ndim} dimension(s) (shape {arr.shape}); expected a TensorFlow kernel "
        "[kh, kw, c_in, c_out] (4) or [k, c_in, c_out] (3)"
    )
