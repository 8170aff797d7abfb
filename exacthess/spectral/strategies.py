"""Hypothesis strategies for convolution kernels and shapes.

``conv_cases()`` draws ``(kernel, input_shape, stride)`` covering 1-D and 2-D layers,
``c_in != c_out``, non-square kernels and inputs, kernels larger than the input (wrap-around)
and strides dividing the input size. Sizes are kept small so that dense references stay cheap.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

__all__ = ["conv_shapes", "conv_cases", "integer_kernels", "float_kernels"]


@st.composite
def conv_shapes(draw, max_channels: int = 3, max_n: int = 6, max_k: int = 5, dims=(1, 2)):
    """``(kernel_shape, input_shape, stride)`` with every stride dividing its input size."""
    dim = draw(st.sampled_from(dims))
    c_out = draw(st.integers(1, max_channels))
    c_in = draw(st.integers(1, max_channels))
    n, k, s = [], [], []
    for _ in range(dim):
        ni = draw(st.integers(1, max_n if dim == 1 else max(2, max_n - 2)))
        n.append(ni)
        k.append(draw(st.integers(1, max_k)))
        s.append(draw(st.sampled_from([d for d in range(1, ni + 1) if ni % d == 0])))
    return (c_out, c_in, *k), tuple(n), tuple(s)


def integer_kernels(shape, lo: int = -3, hi: int = 3):
    """Integer numpy kernels of the given shape."""
    size = int(np.prod(shape))
    return st.lists(st.integers(lo, hi), min_size=size, max_size=size).map(
        lambda v: np.array(v, dtype=np.int64).reshape(shape)
    )


def float_kernels(shape):
    """Float64 kernels with moderate, finite entries."""
    size = int(np.prod(shape))
    return st.lists(
        st.floats(-4, 4, allow_nan=False, allow_infinity=False, width=64), min_size=size, max_size=size
    ).map(lambda v: np.array(v, dtype=np.float64).reshape(shape))


@st.composite
def conv_cases(draw, integer: bool = False, **kw):
    """``(kernel, input_shape, stride)`` for a random small circular convolution."""
    kshape, n, s = draw(conv_shapes(**kw))
    kernel = draw(integer_kernels(kshape) if integer else float_kernels(kshape))
    return kernel, n, s
