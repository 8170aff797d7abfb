"""Public Hypothesis strategies for architectures and sample counts.

>>> from hypothesis import given
>>> @given(fcn_architectures(max_size=4))
... def test(arch):
...     assert arch.n_params >= 1
"""

from __future__ import annotations

from hypothesis import strategies as st

from .models.architectures import CNN, FCN
from .core.errors import InvalidArchitectureError

__all__ = ["fcn_architectures", "cnn_architectures", "residual_architectures", "sample_counts",
           "architectures_with_samples", "attention_points"]


@st.composite
def fcn_architectures(draw, max_size: int = 6, max_depth: int = 3, bias=False):
    """FCNs with sizes in ``1..max_size`` and ``0..max_depth`` hidden layers.

    Bottlenecks, output dims larger than widths and so on arise naturally. ``bias`` is a bool
    or None (drawn)."""
    d = draw(st.integers(1, max_size))
    depth = draw(st.integers(0, max_depth))
    widths = tuple(draw(st.lists(st.integers(1, max_size), min_size=depth, max_size=depth)))
    k = draw(st.integers(1, max_size))
    b = draw(st.booleans()) if bias is None else bias
    return FCN(d, widths, k, bias=b)


@st.composite
def cnn_architectures(draw, dims: int = 1, max_input: int = 8, max_channels: int = 3, max_depth: int = 2,
                      max_kernel: int = 4, max_output: int = 4, strides: bool = True, paddings: bool = True,
                      bias=False, max_in_channels: int = 2):
    """Valid linear CNNs (1-D or 2-D) with strides, paddings and several channels.

    Draws are filtered to architectures whose maps stay non-empty."""
    def size():
        return draw(st.integers(1, max_input))
    shape = (size(),) if dims == 1 else (draw(st.integers(1, max_input // 2 + 1)), draw(st.integers(1, max_input // 2 + 1)))
    depth = draw(st.integers(1, max_depth))
    chans = tuple(draw(st.integers(1, max_channels)) for _ in range(depth))
    def per_dim(lo, hi):
        if dims == 1:
            return draw(st.integers(lo, hi))
        return (draw(st.integers(lo, hi)), draw(st.integers(lo, hi)))
    kernels = [per_dim(1, max_kernel) for _ in range(depth)]
    ss = [per_dim(1, 2) if strides else (1 if dims == 1 else (1, 1)) for _ in range(depth)]
    ps = [per_dim(0, 1) if paddings else (0 if dims == 1 else (0, 0)) for _ in range(depth)]
    k = draw(st.integers(1, max_output))
    m0 = draw(st.integers(1, max_in_channels))
    b = draw(st.booleans()) if bias is None else bias
    try:
        return CNN(shape, chans, kernels, k, in_channels=m0, strides=ss, paddings=ps, bias=b)
    except InvalidArchitectureError:
        from hypothesis import assume
        assume(False)


@st.composite
def residual_architectures(draw, max_size: int = 4, max_blocks: int = 3, bias=False, activations=("linear",),
                           identity_skips: bool = False):
    """Residual networks as :class:`~exacthess.models.graph.Graph` s: an input projection (or none
    when the input already has the width), ``1..max_blocks`` blocks ``h + f(h)`` (``f`` one linear
    layer, or two with an activation between; now and then a block that changes the width, with a
    projection skip), an output projection. ``bias``: a bool or None (drawn). ``identity_skips``: only
    the deep linear residual networks ``W_out (I + W_L) ... (I + W_1) W_in`` (projections optional)."""
    from .models.graph import GraphBuilder
    b_ = draw(st.booleans()) if bias is None else bias
    d = draw(st.integers(1, max_size))
    b = GraphBuilder((d,))
    width = draw(st.integers(1, max_size))
    h = b.input
    if identity_skips:
        proj = width != d or draw(st.booleans())
        h = b.linear(h, width, bias=b_) if proj else h
        for _ in range(draw(st.integers(1, max_blocks))):
            h = b.add(h, b.linear(h, width, bias=b_))
        return b.build(b.linear(h, draw(st.integers(1, max_size)), bias=b_) if proj else h)
    if width != d or draw(st.booleans()):
        h = b.linear(h, width, bias=b_)
    for _ in range(draw(st.integers(1, max_blocks))):
        act = draw(st.sampled_from(activations))
        new = width if draw(st.integers(0, 3)) else draw(st.integers(1, max_size))
        if draw(st.booleans()):
            body = b.linear(b.act(b.linear(h, draw(st.integers(1, max_size)), bias=b_), act), new, bias=b_)
        else:
            body = b.linear(h, new, bias=b_)
        skip = h if new == width else b.linear(h, new)
        h = b.act(b.add(body, skip), act) if draw(st.booleans()) else b.add(body, skip)
        width = new
    return b.build(b.linear(h, draw(st.integers(1, max_size)), bias=b_))


def sample_counts(arch, min_value: int = 1):
    """Sample counts below, at and above the input dimension."""
    d = arch.input_dim + int(arch.bias)
    return st.integers(min_value, 2 * d + 2)


@st.composite
def architectures_with_samples(draw, arch_strategy):
    """``(arch, n_samples)`` pairs, ``n`` ranging below and above the input size."""
    arch = draw(arch_strategy)
    return arch, draw(sample_counts(arch))


@st.composite
def attention_points(draw, kind: str = "linear", max_tokens: int = 3, max_width: int = 2, max_samples: int = 2):
    r"""Exact points of one self-attention layer (:mod:`exacthess.experiments.claims.attention`): a dict
    with ``kind``, ``scale``, ``X`` ``(n, T, d)``, ``Y`` ``(n, T, d_V)`` and the paper's ``W_Q``, ``W_K``
    ``(d, d_K)``, ``W_V`` ``(d, d_V)``, entries multiples of 1/4 in ``[-2, 2]``.

    ``T`` from 1 (a single token) to ``max_tokens``, ``d_K`` in 1, 2, 4, the score scale
    :math:`1/\sqrt{d_K}` (exact for ``d_K = 1, 4``) or the rational stand-in 1/2 for ``d_K = 2``.
    Degenerate points are drawn on purpose: zero weights (one matrix or all), zero inputs,
    repeated tokens (every row of a sample equal)."""
    import numpy as np
    from flint import fmpq

    def block(shape, zero=False):
        vals = [0] * int(np.prod(shape)) if zero else draw(st.lists(st.integers(-8, 8), min_size=int(np.prod(shape)),
                                                                      max_size=int(np.prod(shape))))
        return np.array([fmpq(v, 4) for v in vals], dtype=object).reshape(shape)
    n, T = draw(st.integers(1, max_samples)), draw(st.integers(1, max_tokens))
    d, dK, dV = draw(st.integers(1, max_width)), draw(st.sampled_from([1, 2, 4])), draw(st.integers(1, max_width))
    degenerate = draw(st.sampled_from(["none", "none", "zero_weights", "zero_WQ", "zero_WV", "zero_inputs",
                                       "repeated_tokens"]))
    X = block((n, T, d), zero=degenerate == "zero_inputs")
    if degenerate == "repeated_tokens":
        X = np.array([[x[0]] * T for x in X], dtype=object).reshape(n, T, d)
    W_Q = block((d, dK), zero=degenerate in ("zero_weights", "zero_WQ"))
    W_K = block((d, dK), zero=degenerate == "zero_weights")
    W_V = block((d, dV), zero=degenerate in ("zero_weights", "zero_WV"))
    scale = {1: fmpq(1), 2: fmpq(1, 2), 4: fmpq(1, 2)}[dK]
    return {"kind": kind, "scale": scale, "X": X, "Y": block((n, T, dV)), "W_Q": W_Q, "W_K": W_K, "W_V": W_V,
            "degenerate": degenerate}
