r"""Singular values of a circular convolution by the FFT method (Sedghi, Gupta & Long 2019).

Mathematics. Wrap the kernel to the input size (``W[o, i, t mod n] += K[o, i, t]``: taps are
*summed* modulo ``n``, never cropped); ``W`` is the first row of every output channel's block of
the operator, read off the layer's tap table. With stride ``s`` dividing ``n`` split every input
channel into its ``S = prod(s)`` polyphase components ``X_b[i, q] = X[i, s*q + b]``; the layer
becomes a stride-1 circular convolution on the ``n' = n / s`` grid with ``c_in * S`` input
channels and kernel ``W_b[o, i, j] = W[o, i, s*j + b]``. For every frequency ``u`` of that grid,
put ``P(u)[o, (i, b)] = sum_j W_b[o, i, j] * zeta^(u.j)``; then, with ``V``/``V'`` the (scaled
unitary) Fourier bases, ``M V = V' diag(P(u))`` and

    sigma(M) = union over u of sigma(P(u))      (c_out x (c_in * S) blocks, n'^dim of them).

The cost is ``O(N m^2 (m + log N))`` instead of ``O(N^3 m^3)`` for the dense SVD. The kernel is
scaled exactly by a power of two before the float work (:mod:`exacthess.spectral.scaling`), so
huge and tiny kernels neither overflow nor underflow.

>>> import numpy as np
>>> conv_singular_values(np.array([[[1.0, 2.0, 3.0]]]), (2,))   # wrapped kernel [4, 2]
array([6., 2.])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.calls import interruptible
from ..core.resources import require_memory
from ..core.validate import check_bool
from ..models.geometry import ConvLayer, conv_layer
from ..models.kernels import float_kernel, kernel_shape
from ..models.toeplitz import conv_operator
from .blas import single_threaded_blas
from .polyphase import circular_layer, dense_svd_bytes, fft_bytes, phases, polyphase_kernel
from .scaling import scale_values, scaled_float_kernel

__all__ = ["conv_singular_values", "frequency_blocks", "dense_singular_values"]


def frequency_blocks(kernel: Any, input_shape: Any, stride: Any = 1) -> np.ndarray:
    """The per-frequency blocks ``P(u)`` as a complex array ``(prod(n'), c_out, c_in * S)``.

    NumPy's FFT uses ``exp(-2 pi i u j / n')``, i.e. the complex conjugate of ``P(u)`` above,
    which has the same singular values. Values are those of the kernel itself (unscaled).
    """
    layer = circular_layer(kernel, input_shape, stride)
    require_memory(fft_bytes(layer), f"the FFT blocks of a {layer.n_out} x {layer.n_in} operator")
    return _blocks(float_kernel(kernel), layer)


def _blocks(values: np.ndarray, layer: ConvLayer) -> np.ndarray:
    w = polyphase_kernel(values, layer)
    p = np.fft.fftn(w, axes=(2, 3))
    p = np.moveaxis(p, (0, 1), (-2, -1))
    return p.reshape((-1, layer.c_out, layer.c_in * phases(layer)))


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
            :class:`~exacthess.spectral.enclosure.SingularValueEnclosure` with rigorous,
            finite lower/upper bounds instead of plain floats.

    Returns:
        float64 array of the ``min(rows, cols)`` singular values of the operator, descending
        (or the enclosure when ``certified=True``).

    Raises:
        InvalidTypeError, InvalidKernelError, InvalidInputShapeError, InvalidStrideError,
        NonFiniteError: bad input. KernelRangeError: the singular values exceed float64.
        ProblemTooLargeError: the work would not fit in memory.

    Example:
        >>> import numpy as np
        >>> k = np.zeros((1, 1, 3, 3)); k[0, 0, 1, 1] = 2.0     # 2 * identity
        >>> conv_singular_values(k, (4, 4))[:3]
        array([2., 2., 2.])
    """
    if check_bool(certified, "certified"):
        from .enclosure import certified_singular_values

        return certified_singular_values(kernel, input_shape, stride)
    layer = circular_layer(kernel, input_shape, stride)
    require_memory(fft_bytes(layer), f"the FFT blocks of a {layer.n_out} x {layer.n_in} operator")
    scaled = scaled_float_kernel(kernel)
    with single_threaded_blas():  # batched tiny SVDs: BLAS threads only contend
        blocks = _blocks(scaled.values, layer)
        sv = interruptible(np.linalg.svd, blocks, compute_uv=False).ravel()
    return scale_values(np.sort(sv)[::-1], scaled.exponent)


def dense_singular_values(
    kernel: Any, input_shape: Any, stride: Any = 1, padding: Any = "circular"
) -> np.ndarray:
    """Reference: singular values of the explicit operator by dense SVD, ``O(N^3 m^3)``.

    Refuses (:class:`~exacthess.core.errors.ProblemTooLargeError`) an SVD that would not fit
    in memory, before allocating."""
    layer = conv_layer(kernel_shape(kernel), input_shape, stride, padding)
    require_memory(dense_svd_bytes(layer), f"a dense SVD of the {layer.n_out} x {layer.n_in} operator")
    scaled = scaled_float_kernel(kernel)
    m = conv_operator(scaled.values, input_shape, stride, padding)
    return scale_values(interruptible(np.linalg.svd, m, compute_uv=False), scaled.exponent)  # Ctrl-C at once
