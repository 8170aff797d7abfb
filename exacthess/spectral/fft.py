"""Singular values of a circular convolution by the FFT method (Sedghi, Gupta & Long 2019).

Mathematics. Wrap the kernel to the input size (``W[o, i, t mod n] += K[o, i, t]``: taps are
*summed* modulo ``n``, never cropped). With stride ``s`` dividing ``n`` split every input channel
into its ``S = prod(s)`` polyphase components ``X_b[i, q] = X[i, s*q + b]``; the layer becomes a
stride-1 circular convolution on the ``n' = n / s`` grid with ``c_in * S`` input channels and
kernel ``W_b[o, i, j] = W[o, i, s*j + b]``. For every frequency ``u`` of that grid, put
``P(u)[o, (i, b)] = sum_j W_b[o, i, j] * zeta^(u.j)``; then, with ``V``/``V'`` the (scaled
unitary) Fourier bases, ``M V = V' diag(P(u))`` and

    sigma(M) = union over u of sigma(P(u))      (c_out x (c_in * S) blocks, n'^dim of them).

The cost is ``O(N m^2 (m + log N))`` instead of ``O(N^3 m^3)`` for the dense SVD.

>>> import numpy as np
>>> conv_singular_values(np.array([[[1.0, 2.0, 3.0]]]), (2,))   # wrapped kernel [4, 2]
array([6., 2.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._blas import single_threaded_blas
from ._input import ConvSpec, float_kernel, validate

__all__ = ["conv_singular_values", "polyphase_kernel", "frequency_blocks"]


def polyphase_kernel(values: np.ndarray, spec: ConvSpec, dtype: Any = np.float64) -> np.ndarray:
    """The wrapped polyphase kernel ``W`` of shape ``(c_out, c_in * S, *n')`` (see module doc).

    Works for float arrays and for object arrays of exact numbers (``dtype=object``).
    """
    nprime = spec.out_shape
    if dtype is object:
        w = np.empty((spec.c_out, spec.c_in) + spec.stride + nprime, dtype=object)
        w.fill(0)
    else:
        w = np.zeros((spec.c_out, spec.c_in) + spec.stride + nprime, dtype=dtype)
    for t in np.ndindex(*spec.ksize):
        tau = [t[d] % spec.n[d] for d in range(spec.dim)]
        b = tuple(tau[d] % spec.stride[d] for d in range(spec.dim))
        j = tuple(tau[d] // spec.stride[d] for d in range(spec.dim))
        w[(slice(None), slice(None)) + b + j] += values[(slice(None), slice(None)) + t]
    return w.reshape((spec.c_out, spec.c_in * spec.phases) + nprime)


def frequency_blocks(kernel: Any, input_shape: Any, stride: Any = 1) -> np.ndarray:
    """The per-frequency blocks ``P(u)`` as a complex array ``(prod(n'), c_out, c_in * S)``.

    NumPy's FFT uses ``exp(-2 pi i u j / n')``, i.e. the complex conjugate of ``P(u)`` above,
    which has the same singular values.
    """
    spec = validate(kernel, input_shape, stride, "circular")
    w = polyphase_kernel(float_kernel(kernel), spec)
    axes = tuple(range(2, 2 + spec.dim))
    p = np.fft.fftn(w, axes=axes)
    p = np.moveaxis(p, (0, 1), (-2, -1))
    return p.reshape((-1, spec.c_out, spec.c_in * spec.phases))


def conv_singular_values(
    kernel: Any, input_shape: Any, stride: Any = 1, *, certified: bool = False
):
    """All singular values of the circular convolution, by FFT and batched SVD.

    Args:
        kernel: ``[c_out, c_in, k]`` or ``[c_out, c_in, kh, kw]`` (PyTorch layout); kernels
            larger than the input wrap around.
        input_shape: spatial input size ``(n,)``/``n`` or ``(h, w)``.
        stride: int or per-axis ints, each dividing the input size.
        certified: if True return a
            :class:`~exacthess.spectral.enclosure.SingularValueEnclosure` with rigorous
            lower/upper bounds instead of plain floats.

    Returns:
        float64 array of the ``min(rows, cols)`` singular values of the operator, descending
        (or the enclosure when ``certified=True``).

    Example:
        >>> import numpy as np
        >>> k = np.zeros((1, 1, 3, 3)); k[0, 0, 1, 1] = 2.0     # 2 * identity
        >>> conv_singular_values(k, (4, 4))[:3]
        array([2., 2., 2.])
    """
    if certified:
        from .enclosure import certified_singular_values

        return certified_singular_values(kernel, input_shape, stride)
    with single_threaded_blas():  # batched tiny SVDs: BLAS threads only contend
        blocks = frequency_blocks(kernel, input_shape, stride)
        sv = np.linalg.svd(blocks, compute_uv=False).ravel()
    return np.sort(sv)[::-1]


def dense_singular_values(
    kernel: Any, input_shape: Any, stride: Any = 1, padding: Any = "circular"
) -> np.ndarray:
    """Reference: singular values of the explicit operator by dense SVD, ``O(N^3 m^3)``."""
    from .operator import conv_operator

    m = conv_operator(kernel, input_shape, stride, padding)
    return np.linalg.svd(m, compute_uv=False)


def count_singular_values(spec: ConvSpec) -> int:
    """``min(rows, cols)`` of the operator."""
    return min(spec.rows, spec.cols)


