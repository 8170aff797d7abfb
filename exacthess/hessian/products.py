r"""Jacobian-vector products by forward-mode differentiation, sample by sample.

For a direction :math:`v = (v_1, \dots, v_{L+1})` in parameter space (documented order) the
output tangent of sample ``i`` is the forward pass differentiated along ``v``:

.. math:: \dot z_1 = \dot T_1 \tilde h_0,\qquad
          \dot z_l = \tilde T_l \dot h_{l-1} + \dot T_l \tilde h_{l-1},\qquad
          \dot h_l = \sigma'(z_l) \odot \dot z_l \ (\text{constant coordinate: } 0),

where :math:`\dot T_l` is the layer operator built from :math:`v_l` (the operator is linear in
its weights; the constant row of the augmented operator does not depend on them), and
:math:`J_i v = \dot z_{L+1}` restricted to the ``K`` outputs. This is a second, independent route to
the rows of ``J_f`` (and of ``C J``), used by the checker to verify proposed null vectors
(``M v = 0``) without forming ``M``: ``k`` vectors cost ``k`` forward passes, not ``n K p``
entries per prime. The routes agree entry by entry (``tests/hessian/test_products.py``).
"""

from __future__ import annotations

import numpy as np

from ..models.toeplitz import toeplitz_operator

__all__ = ["jacobian_products"]


def _tap_weights(layer, v: np.ndarray, ring) -> np.ndarray:
    """A layer's parameters from documented to tap order, ``(c_out, n_taps)``."""
    w = ring.zeros((layer.c_out * layer.n_taps,))
    w[layer.tap_to_documented] = v
    return w.reshape(layer.c_out, layer.n_taps)


def jacobian_products(engine, V: np.ndarray) -> np.ndarray:
    r"""``J_f V``: the output Jacobian of every sample times the columns of ``V``.

    Args:
        engine: an :class:`~exacthess.hessian.engine.Engine` (any exact domain); its per-sample
            route supplies the activations :math:`\tilde h_l` and derivatives :math:`\sigma'(z_l)`.
        V: ``(p, k)`` directions over the engine's domain.

    Returns:
        ``(n K, k)``, rows ``(sample, output)`` as in ``J_f``.
    """
    ps, chain, r = engine.per_sample, engine.chain, engine.ring
    arch = engine.arch
    n, k, K = ps.n, V.shape[1], arch.output_dim
    offs, counts = arch.layer_offsets, arch.layer_param_counts
    tangent = None  # (dim(l-1), n, k)
    for l, layer in enumerate(chain.layers, start=1):
        h = ps.post[l - 1]  # (dim(l-1), n)
        op = chain.ops[l - 1]  # (dim(l), dim(l-1))
        dz = r.zeros((op.shape[0], n, k))
        for j in range(k):
            dT = toeplitz_operator(layer, _tap_weights(layer, V[offs[l - 1]:offs[l - 1] + counts[l - 1], j], r), r,
                                   chain.aug)
            if chain.aug:
                dT[-1] = r.zero  # the constant row does not depend on the weights
            dz[:, :, j] = r.matmul(dT, h)
        if tangent is not None:
            flat = np.ascontiguousarray(tangent.reshape(tangent.shape[0], n * k))
            dz = r.add(dz, r.matmul(op, flat).reshape(op.shape[0], n, k))
        if l < len(chain.layers):
            m = layer.n_out
            tangent = r.zeros(dz.shape)
            tangent[:m] = r.mul(dz[:m], ps.d1[l][:, :, None])  # the constant coordinate's tangent is 0
        else:
            tangent = dz
    out = np.ascontiguousarray(tangent[:K].transpose(1, 0, 2))  # (n, K, k)
    return out.reshape(n * K, k)
