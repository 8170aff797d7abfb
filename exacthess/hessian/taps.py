r"""Gathers through a layer's tap table: the one way Jacobians and Hessian blocks reach parameters.

A parameter :math:`\theta = (o, \tau)` of a layer (output channel ``o``, tap ``tau``) sits in
the operator at the positions :math:`((o, x), \mathrm{src}(\tau, x))` over the output
positions ``x`` (:attr:`~exacthess.models.geometry.ConvLayer.sources`; the bias tap reads the
constant coordinate, padding reads a zero). Every derivative with respect to
:math:`\theta` is therefore a sum over ``x`` of a left factor at row ``(o, x)`` times a right
factor at row ``src(tau, x)``: :func:`contract_samples` computes it for all samples at once.

A layer with one output position (a fully-connected layer, or a convolution whose kernel covers
its padded input: :func:`one_position`) shares no weight: parameter :math:`(o, \tau)` sits at the
single position :math:`(o, \mathrm{src}(\tau))` (:func:`positions`), so a second derivative with
respect to a parameter of such a layer and one of another is a product of two factor entries,
one indexed by each parameter's position. :func:`gather_pairs` forms those products for
selected parameters only (the Kronecker structure of the sample-free blocks,
:mod:`exacthess.hessian.samplefree`).
"""

from __future__ import annotations

import numpy as np

from ..models.geometry import ConvLayer

__all__ = ["gather_sources", "contract_samples", "one_position", "positions", "extend_rows", "gather_pairs"]

#: entries of the largest temporary array of :func:`gather_pairs`
PAIR_CHUNK = 1 << 22


def gather_sources(ring, mat: np.ndarray, layer: ConvLayer, axis: int = 0) -> np.ndarray:
    """``mat`` indexed along ``axis`` by the tap table: shape ``(..., T, N, ...)``.

    Rows ``n_in`` (constant coordinate, present with biases) and ``n_in + 1`` (padding) are
    zero-extended as needed."""
    return np.take(extend_rows(ring, mat, layer.n_in + 2, axis), layer.sources, axis=axis)


def extend_rows(ring, mat: np.ndarray, n: int, axis: int = 0) -> np.ndarray:
    """``mat`` with zero rows (along ``axis``) appended up to ``n`` rows; unchanged when it has ``n`` or more."""
    extra = n - mat.shape[axis]
    if extra <= 0:
        return mat
    shape = list(mat.shape)
    shape[axis] = extra
    return np.concatenate([mat, ring.zeros(tuple(shape))], axis=axis)


def contract_samples(ring, layer: ConvLayer, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    r"""Per sample ``i``: ``out[i, a, theta] = sum_{(row, col) in pos(theta)} left[i, a, row] right[col, i]``.

    Args:
        left: ``(n, A, >= n_out)`` (rows of the layer's output space; extra rows ignored).
        right: ``(>= n_in, n)``, the layer's (augmented) input for each sample.

    Returns:
        ``(n, A, n_params)`` in the documented parameter order.
    """
    n, A = left.shape[0], left.shape[1]
    T, N = layer.sources.shape
    Rg = gather_sources(ring, right, layer)  # (T, N, n)
    Rg = np.ascontiguousarray(Rg.transpose(2, 1, 0))  # (n, N, T)
    Lr = np.ascontiguousarray(left[:, :, : layer.n_out]).reshape(n, A * layer.c_out, N)
    out = ring.bmatmul(Lr, Rg)  # (n, A * c_out, T)
    return out.reshape(n, A, layer.c_out * T)[:, :, layer.tap_to_documented]


def one_position(layer: ConvLayer) -> bool:
    """The layer has one output position: each parameter sits at one position of the operator and
    no two positions share a parameter (no weight sharing)."""
    return layer.sources.shape[1] == 1


def positions(layer: ConvLayer, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""The operator positions ``(rows, cols)`` of the parameters ``idx`` (documented order) of a
    :func:`one_position` layer.

    Parameter :math:`(o, \tau)` (tap order ``o * n_taps + tau``) sits at row ``o`` and column
    ``src(tau)`` of the augmented operator: an input coordinate, ``n_in`` (the constant coordinate
    of the bias tap) or ``n_in + 1`` (padding, a zero)."""
    t = layer.tap_to_documented[np.asarray(idx, dtype=np.int64)]
    return t // layer.n_taps, layer.sources[t % layer.n_taps, 0]


def gather_pairs(ring, A: np.ndarray, ai: np.ndarray, aj: np.ndarray,
                 B: np.ndarray, bi: np.ndarray, bj: np.ndarray) -> np.ndarray:
    """``out[s, t] = A[ai[s], aj[t]] * B[bi[s], bj[t]]`` (``ring.mul``), ``len(ai) x len(aj)``.

    Time and memory are ``O(len(ai) len(aj))``: rows are formed in chunks of at most
    :data:`PAIR_CHUNK` entries, so the temporaries stay small beside the result. ``bi`` has the
    length of ``ai`` and ``bj`` that of ``aj``."""
    n, m = len(ai), len(aj)
    if n == 0 or m == 0:
        return ring.zeros((n, m))
    step = max(1, PAIR_CHUNK // m)
    out = None
    for s in range(0, n, step):
        part = ring.mul(np.take(np.take(A, ai[s:s + step], axis=0), aj, axis=1),
                        np.take(np.take(B, bi[s:s + step], axis=0), bj, axis=1))
        if step >= n:
            return part
        if out is None:
            out = np.empty((n, m), dtype=part.dtype)
        out[s:s + step] = part
    return out
