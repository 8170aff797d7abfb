r"""The derivatives of attention's operations, for :class:`~exacthess.hessian.graph_route.GraphHessians`:
the product of two node values and the row-wise softmax, over any :class:`~exacthess.core.domains.Ring`.

**Product** ``z = a b`` of an ``(m, k)`` and a ``(k, n)`` map (scores :math:`QK^\top`, and :math:`AV`):

.. math:: J_z = (I \otimes b^\top) J_a + (a \otimes I) J_b, \qquad
          \delta_a = \delta\, b^\top, \quad \delta_b = a^\top \delta, \qquad
          d^2(\delta^\top a b) = 2\, da^\top M_\delta\, db,

with :math:`M_\delta[(r, t), (t, c)] = \delta[(r, c)]`: the term :math:`J_a^\top M_\delta J_b` and its transpose.

**Softmax** ``s = softmax(c u)`` of each row (``c`` the node's rational scale; masked entries have
:math:`s_j = 0` and drop out of every formula). With :math:`J_z = c J_u`,

.. math:: J_s = s \odot J_z - s\,(s^\top J_z), \qquad \delta_u = c\, s \odot (\delta - s^\top\delta),

and with :math:`g = s \odot (\delta - s^\top \delta)` the curvature of :math:`\delta^\top s` in ``z`` is
:math:`\sum_i \delta_i \nabla^2 s_i = \mathrm{diag}(g) - g s^\top - s g^\top` (from
:math:`\partial^2 s_i / \partial z_j \partial z_k = s_i(\delta_{ik} - s_k)(\delta_{ij} - s_j) - s_i s_j(\delta_{jk} - s_k)`),
so the row's term is :math:`J_z^\top \mathrm{diag}(g) J_z - U^\top W - W^\top U`, :math:`U = g^\top J_z`,
:math:`W = s^\top J_z`. Every formula is in ``s``: at the rational stand-ins of the forward pass
(:mod:`exacthess.models.standins`) the derivatives are those of the softmax at the stand-ins, exactly.
"""

from __future__ import annotations

import numpy as np

from ..core.domains import Ring

__all__ = ["matmul_jacobian", "matmul_adjoints", "matmul_curvature", "softmax_jacobian", "softmax_adjoint",
           "softmax_curvature"]


def _scalar(R: Ring, v):
    return R.convert(np.array([v], dtype=object))[0]


def matmul_jacobian(R: Ring, a, b, Ja, Jb, p: int):
    """``J_z`` (``(m n, p)``, rows ``(r, c)`` row-major) of ``z = a b``; ``Ja`` / ``Jb`` None when constant."""
    (m, k), n = a.shape, b.shape[1]
    out = None
    if Ja is not None:
        bt = np.ascontiguousarray(b.T)
        out = np.concatenate([R.matmul(bt, Ja[r * k:(r + 1) * k]) for r in range(m)], axis=0)
    if Jb is not None:
        term = R.matmul(a, Jb.reshape(k, n * p)).reshape(m * n, p)
        out = term if out is None else R.add(out, term)
    return out


def matmul_adjoints(R: Ring, a, b, d) -> tuple:
    """``(delta_a, delta_b)``, flattened, of ``z = a b`` for the adjoint ``d`` of ``z``."""
    dz = d.reshape(a.shape[0], b.shape[1])
    return (R.matmul(dz, np.ascontiguousarray(b.T)).reshape(-1),
            R.matmul(np.ascontiguousarray(a.T), dz).reshape(-1))


def matmul_curvature(R: Ring, shape_a: tuple, n: int, Ja, d):
    """``J_a^T M_delta`` (``(p, k n)``): the left factor of the term ``J_a^T M_delta J_b`` of ``z = a b``."""
    m, k = shape_a
    Md = R.zeros((m * k, k * n))
    r, t, c = np.meshgrid(np.arange(m), np.arange(k), np.arange(n), indexing="ij")
    Md[(r * k + t).ravel(), (t * n + c).ravel()] = d[(r * n + c).ravel()]
    return R.matmul(np.ascontiguousarray(Ja.T), Md)


def softmax_jacobian(R: Ring, s, scale, Ju, p: int) -> tuple:
    """``(J_s, J_z)`` of ``s = softmax(scale * u)`` row by row: ``s`` converted ``(m, n)``, ``J_z`` ``(m, n, p)``."""
    m, n = s.shape
    Jz = R.mul(_scalar(R, scale), Ju).reshape(m, n, p)
    sJ = R.mul(s[:, :, None], Jz)
    Js = R.sub(sJ, R.mul(s[:, :, None], R.sum(sJ, axis=1)[:, None, :]))
    return Js.reshape(m * n, p), Jz


def _g(R: Ring, s, d):
    dd = d.reshape(s.shape)
    return R.mul(s, R.sub(dd, R.sum(R.mul(s, dd), axis=1)[:, None]))


def softmax_adjoint(R: Ring, s, scale, d):
    """``delta_u = scale * s (delta - s^T delta)`` row by row, flattened."""
    return R.mul(_g(R, s, d), _scalar(R, scale)).reshape(-1)


def softmax_curvature(R: Ring, s, scale, Ju, d, p: int) -> tuple:
    """``(left, right)`` with ``left^T right`` the term of ``delta^T softmax(scale * u)`` (module doc)."""
    _, Jz = softmax_jacobian(R, s, scale, Ju, p)
    m, n = s.shape
    g = _g(R, s, d)
    U, W = R.sum(R.mul(g[:, :, None], Jz), axis=1), R.sum(R.mul(s[:, :, None], Jz), axis=1)
    flat = Jz.reshape(m * n, p)
    neg = _scalar(R, -1)
    return (np.concatenate([flat, U, W], axis=0),
            np.concatenate([R.mul(g.reshape(-1)[:, None], flat), R.mul(neg, W), R.mul(neg, U)], axis=0))
