r"""The exact operations of an architecture graph, as index tables.

Every parameterised operation of a :class:`~exacthess.models.graph.Graph` is *bilinear* in its
weight ``w`` and its input ``u`` (flattened row-major, as torch flattens), and is written as a
tap table ``(out, in, w)``:

.. math:: z[o] = \sum_{t:\ \mathrm{out}_t = o} w[\mathrm{w}_t]\; u[\mathrm{in}_t] \;(+\ b[\mathrm{bias}_o]),

so one table gives the operator :math:`T(w)` (``T[out_t, in_t] += w[w_t]``), the derivative in the
weight :math:`\partial z / \partial w` (``D[out_t, w_t] += u[in_t]``) and its contraction with a
vector of the output space (``M[w_t, in_t] += delta[out_t]``). Linear layers act on the last axis
of their input (``nn.Linear``); convolutions act on ``[C, *spatial]`` maps in 1, 2 or 3 spatial
dimensions with stride, zero or circular padding, dilation and groups (``nn.Conv1d/2d/3d``):

.. math:: z[o, q] = \sum_{c \in g(o)} \sum_{a} w[o, c - c_0(o), a]\; u[c, \iota(s q + d a - p)]

with :math:`\iota` the identity (zero outside the map) or reduction modulo the map (circular).
Pooling is a fixed linear map (average pooling, padding counted as in torch's default
``count_include_pad=True``) or a selection read from the point (max pooling: :func:`pool_windows`).

>>> out, inp, w = linear_taps((2,), 3)
>>> list(zip(out.tolist(), inp.tolist(), w.tolist()))[:3]
[(0, 0, 0), (0, 1, 1), (1, 0, 2)]
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["linear_taps", "conv_taps", "conv_output_shape", "channel_taps", "pool_windows", "pool_output_shape"]


def linear_taps(in_shape: tuple, out_features: int):
    """The tap table of ``nn.Linear(in_shape[-1], out_features)`` applied to a map of ``in_shape``
    (the last axis is the features; weight ``[out_features, in_features]`` row-major).

    Returns:
        int64 arrays ``(out, in, w)``; the bias of output ``o`` is ``o % out_features``.
    """
    n_in = int(in_shape[-1])
    lead = int(np.prod(in_shape[:-1], dtype=np.int64))
    pos, o, i = np.meshgrid(np.arange(lead), np.arange(out_features), np.arange(n_in), indexing="ij")
    return ((pos * out_features + o).ravel(), (pos * n_in + i).ravel(), (o * n_in + i).ravel())


def conv_output_shape(in_shape: tuple, out_channels: int, kernel, stride, padding, dilation) -> tuple:
    """``[C_out, *spatial]`` as torch computes it: ``floor((S + 2p - d (k - 1) - 1) / s) + 1`` per axis."""
    spatial = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                    for n, k, s, p, d in zip(in_shape[1:], kernel, stride, padding, dilation))
    return (int(out_channels),) + spatial


def _positions(in_spatial, kernel, stride, padding, dilation, circular: bool, out_spatial):
    """``src[q, a]``: the flat input position read by output position ``q`` at kernel offset ``a``
    (``-1`` in zero padding)."""
    axes = []
    for n, k, s, p, d, m in zip(in_spatial, kernel, stride, padding, dilation, out_spatial):
        idx = np.arange(m)[:, None] * s + np.arange(k)[None, :] * d - p  # (m, k)
        if circular:
            idx = idx % n
        else:
            idx = np.where((idx >= 0) & (idx < n), idx, -1)
        axes.append(idx)
    q_count = int(np.prod(out_spatial, dtype=np.int64))
    k_count = int(np.prod(kernel, dtype=np.int64))
    src = np.zeros((q_count, k_count), dtype=np.int64)
    for qi, q in enumerate(itertools.product(*(range(m) for m in out_spatial))):
        for ai, a in enumerate(itertools.product(*(range(k) for k in kernel))):
            flat, bad = 0, False
            for axis, (qq, aa) in enumerate(zip(q, a)):
                v = axes[axis][qq, aa]
                if v < 0:
                    bad = True
                    break
                flat = flat * in_spatial[axis] + int(v)
            src[qi, ai] = -1 if bad else flat
    return src


def conv_taps(in_shape: tuple, out_channels: int, kernel, stride, padding, dilation, groups: int,
              padding_mode: str = "zeros"):
    """The tap table of a convolution on ``[C_in, *spatial]`` (weight ``[C_out, C_in / groups, *kernel]``
    row-major, as torch stores it); the bias of output ``o`` is ``o // prod(out_spatial)``."""
    c_in = int(in_shape[0])
    out_shape = conv_output_shape(in_shape, out_channels, kernel, stride, padding, dilation)
    src = _positions(in_shape[1:], kernel, stride, padding, dilation, padding_mode == "circular", out_shape[1:])
    n_sp_in = int(np.prod(in_shape[1:], dtype=np.int64))
    q_count, k_count = src.shape
    cig, cog = c_in // groups, out_channels // groups
    o, ci, q, a = np.meshgrid(np.arange(out_channels), np.arange(cig), np.arange(q_count), np.arange(k_count),
                              indexing="ij")
    chan = (o // cog) * cig + ci
    s = src[q, a]
    keep = s >= 0
    out = (o * q_count + q)[keep]
    inp = (chan * n_sp_in + s)[keep]
    w = ((o * cig + ci) * k_count + a)[keep]
    return out.astype(np.int64), inp.astype(np.int64), w.astype(np.int64)


def channel_taps(shape: tuple):
    """The tap table of a per-channel scale ``z[c, q] = w[c] u[c, q]`` on ``[C, *spatial]`` (``(C,)``: per
    feature): eval-mode batch normalisation's ``weight``; the bias of output ``o`` is its channel."""
    n = int(np.prod(shape, dtype=np.int64))
    per = n // int(shape[0])
    idx = np.arange(n, dtype=np.int64)
    return idx, idx, idx // per


def pool_output_shape(in_shape: tuple, kernel, stride, padding, dilation=None) -> tuple:
    """``[C, *spatial]`` after pooling (torch's floor mode)."""
    dilation = dilation or (1,) * len(kernel)
    return conv_output_shape(in_shape, in_shape[0], kernel, stride, padding, dilation)


def pool_windows(in_shape: tuple, kernel, stride, padding, dilation=None):
    """``win[o, a]``: the flat input entry read by pooled output ``o`` at window offset ``a`` (``-1`` in
    padding), for a map ``[C, *spatial]`` pooled channel by channel."""
    dilation = dilation or (1,) * len(kernel)
    out_shape = pool_output_shape(in_shape, kernel, stride, padding, dilation)
    src = _positions(in_shape[1:], kernel, stride, padding, dilation, False, out_shape[1:])
    n_sp_in = int(np.prod(in_shape[1:], dtype=np.int64))
    C = int(in_shape[0])
    win = np.repeat(src[None], C, axis=0)  # (C, q, a)
    base = (np.arange(C) * n_sp_in)[:, None, None]
    win = np.where(win >= 0, win + base, -1)
    return win.reshape(C * src.shape[0], src.shape[1])
