r"""Gathers through a layer's tap table: the one way Jacobians and Hessian blocks reach parameters.

A parameter :math:`\theta = (o, \tau)` of a layer (output channel ``o``, tap ``tau``) sits in
the operator at the positions :math:`((o, x), \mathrm{src}(\tau, x))` over the output
positions ``x`` (:attr:`~exacthess.models.geometry.ConvLayer.sources`; the bias tap reads the
constant coordinate, padding reads a zero). Every derivative with respect to
:math:`\theta` is therefore a sum over ``x`` of a left factor at row ``(o, x)`` times a right
factor at row ``src(tau, x)``: :func:`contract_samples` computes it for all samples at once.
"""

from __future__ import annotations

import numpy as np

from ..models.geometry import ConvLayer

__all__ = ["gather_sources", "contract_samples"]


def gather_sources(ring, mat: np.ndarray, layer: ConvLayer, axis: int = 0) -> np.ndarray:
    """``mat`` indexed along ``axis`` by the tap table: shape ``(..., T, N, ...)``.

    Rows ``n_in`` (constant coordinate, present with biases) and ``n_in + 1`` (padding) are
    zero-extended as needed."""
    extra = layer.n_in + 2 - mat.shape[axis]
    if extra > 0:
        shape = list(mat.shape)
        shape[axis] = extra
        mat = np.concatenate([mat, ring.zeros(tuple(shape))], axis=axis)
    return np.take(mat, layer.sources, axis=axis)


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
