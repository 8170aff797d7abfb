r"""The self-attention Hessian blocks *as printed* (``[ormaniec2025]`` Thms. 3.1-3.2 and Lemma C.1, as
restated by ``[petrov2025]``), in the paper's own layout, and the map onto exacthess's.

The printed setting (one sequence): :math:`X \in \mathbb{R}^{L \times d_V}`,
:math:`W_Q, W_K \in \mathbb{R}^{d_V \times d_K}`, :math:`W_V \in \mathbb{R}^{d_V \times d_V}` (square),
:math:`T = X W_Q W_K^\top X^\top / \sqrt{d_K}`, :math:`A = \mathrm{softmax}_{\mathrm{rows}}(T)`,
:math:`F = A X W_V`, loss :math:`\ell = \tfrac{1}{L d_V}\|F - \mathrm{Target}\|_F^2`. Derivatives use the
*row-stacking* :math:`\mathrm{vec}_r`: :math:`\partial F/\partial W := \partial\,\mathrm{vec}_r F /
\partial\,\mathrm{vec}_r(W)^\top`, and :math:`\partial^2 F/\partial W_i \partial W_j :=
\partial\,\mathrm{vec}_r(\partial F/\partial W_i)/\partial\,\mathrm{vec}_r(W_j)^\top`. The printed
operators (:func:`printed_operators`):

* :math:`M_1 = AX`; :math:`Z_1 = (I_L \otimes X^\top)\,\tfrac{\partial A}{\partial T}\,(X \otimes X)`;
  :math:`Z_2 = (I_L \otimes X^\top \otimes X^\top \otimes X^\top)\,\tfrac{\partial^2 A}{\partial T^2}\,(X \otimes X)`,
  the softmax second derivative block-diagonal with the blocks of Lemma C.1,
  :math:`\partial^2 A_{ij}/\partial T_{i,:}^2 = A_{ij}(2 a a^\top + e_j e_j^\top - \mathrm{diag}(a) - e_j a^\top - a e_j^\top)`,
  :math:`a = A_{i,:}^\top`;
* :math:`R_m = \mathrm{vec}_r(F - \mathrm{Target})^\top \otimes I_m`;
  :math:`S = (I_{d_V} \otimes K_{d_V,d_V})(\mathrm{vec}_r I_{d_V} \otimes I_{d_V})` -- printed as
  :math:`d_V^2 \times d_V`, but the product as written is :math:`d_V^3 \times d_V` (used so);
  :math:`K_{m,n}` the commutation matrix, :math:`K_{m,n}\mathrm{vec}(A) = \mathrm{vec}(A^\top)`.

The printed blocks (:data:`PRINTED`, :func:`printed_blocks`), with :math:`c = 2/(L d_V)`:

=========  ===========================================================================================================
block      as printed
=========  ===========================================================================================================
Ho.VV      :math:`c\, M_1^\top M_1 \otimes I_{d_V}`
Ho.QQ      :math:`\tfrac{c}{d_K} (I_{d_V} \otimes W_K^\top) Z_1^\top (I_L \otimes W_V W_V^\top) Z_1 (I_{d_V} \otimes W_K)`
Ho.VQ      :math:`\tfrac{c}{\sqrt{d_K}} (M_1^\top \otimes W_V^\top) Z_1 (I_{d_V} \otimes W_K)`
Ho.QK      :math:`\tfrac{c}{d_K} (I_{d_V} \otimes W_K^\top) Z_1^\top (I_L \otimes W_V W_V^\top) Z_1 (W_Q \otimes I_{d_V}) K_{d_K,d_V}`
Hf.VV      :math:`0`
Hf.QQ      :math:`\tfrac{c}{d_K} R_{d_V d_K} (I_L \otimes W_V^\top \otimes I_{d_V} \otimes W_K^\top) Z_2 (I_{d_V} \otimes W_K)`
Hf.VQ      :math:`\tfrac{c}{\sqrt{d_K}} R_{d_V^2} (I_L \otimes S) Z_1 (I_{d_V} \otimes W_K)`
Hf.QK      :math:`\tfrac{c}{d_K} R_{d_V d_K} (I_L \otimes W_V^\top \otimes I_{d_V} \otimes W_K^\top) Z_2 (W_Q \otimes I_{d_V}) K_{d_K,d_V}`
           :math:`+ \tfrac{c}{\sqrt{d_K}} R_{d_V} (I_L \otimes W_V^\top \otimes I_{d_V}) (Z_1 \otimes I_{d_V}) S \otimes I_{d_K}`
=========  ===========================================================================================================

The last term is well-formed only read as :math:`[R_{d_V} (\cdots)(Z_1 \otimes I_{d_V}) S] \otimes I_{d_K}`
(with ``S`` :math:`d_V^3 \times d_V`); that is the reading used. :math:`1/\sqrt{d_K}` is the rational
score scale ``s`` of the point (:math:`1/d_K = s^2`).

**Map to exacthess.** exacthess's MSE is :math:`\tfrac12\sum\|F - Y\|^2`, so its block is
:math:`\tfrac{L d_V}{2}` times the printed one, summed over samples; its parameter order is the
column-stacking :math:`\mathrm{vec}` of the paper's matrices (``W = weight^T``), so entry ``(i, a)`` of
a ``p x q`` matrix sits at ``i*q + a`` in the printed block and at ``a*p + i`` in exacthess's
(:func:`to_exacthess`). ``Ho.VQ`` / ``Hf.VQ`` are exacthess's ``(Q, V)`` blocks transposed.

>>> import numpy as np
>>> from flint import fmpq
>>> commutation(2, 3).tolist()[1]           # K_{2,3} vec(A) = vec(A^T): row 1 picks A[0, 1] = vec(A)[2]
[0, 0, 1, 0, 0, 0]
"""

from __future__ import annotations

import numpy as np
from flint import fmpq

from ...core.errors import InvalidValueError
from .attention import attention_matrix

__all__ = ["PRINTED", "commutation", "softmax_jacobian", "softmax_second", "printed_operators", "printed_blocks",
           "to_exacthess"]

#: the printed blocks (rows, columns): ``"Ho.VQ"`` has vec_r(W_V) rows and vec_r(W_Q) columns
PRINTED = ("Ho.VV", "Ho.QQ", "Ho.VQ", "Ho.QK", "Hf.VV", "Hf.QQ", "Hf.VQ", "Hf.QK")

_Z, _O = fmpq(0), fmpq(1)


def _zeros(r: int, c: int) -> np.ndarray:
    return np.full((r, c), _Z, dtype=object)


def _eye(n: int) -> np.ndarray:
    out = _zeros(n, n)
    for i in range(n):
        out[i, i] = _O
    return out


def _kron(*ms) -> np.ndarray:
    out = np.array([[_O]], dtype=object)
    for m in ms:
        out = np.kron(out, np.asarray(m, dtype=object))
    return out


def commutation(m: int, n: int) -> np.ndarray:
    r""":math:`K_{m,n}` (``mn x mn``): :math:`K_{m,n}\,\mathrm{vec}(A) = \mathrm{vec}(A^\top)` for
    :math:`A \in \mathbb{R}^{m \times n}` (``vec`` stacks columns), so ``K[i*n + j, j*m + i] = 1``."""
    K = _zeros(m * n, m * n)
    for i in range(m):
        for j in range(n):
            K[i * n + j, j * m + i] = _O
    return K


def softmax_jacobian(A: np.ndarray) -> np.ndarray:
    r""":math:`\partial\,\mathrm{vec}_r A / \partial\,\mathrm{vec}_r(T)^\top` (``L^2 x L^2``) of the row
    softmax at its values ``A``: block ``t`` is :math:`\mathrm{diag}(a_t) - a_t a_t^\top`."""
    L = A.shape[0]
    J = _zeros(L * L, L * L)
    for t in range(L):
        for u in range(L):
            for k in range(L):
                J[t * L + u, t * L + k] = A[t, u] * ((_O if u == k else _Z) - A[t, k])
    return J


def softmax_second(A: np.ndarray) -> np.ndarray:
    r""":math:`\partial\,\mathrm{vec}_r(\partial A/\partial T)/\partial\,\mathrm{vec}_r(T)^\top`
    (``L^4 x L^2``) with the blocks of Lemma C.1 (nonzero only within one row ``t`` of ``T``)."""
    L = A.shape[0]
    H = _zeros(L ** 4, L * L)
    for t in range(L):
        a = A[t]
        for u in range(L):
            for k in range(L):
                for m in range(L):
                    v = 2 * a[k] * a[m] + (_O if u == k == m else _Z) - (a[k] if k == m else _Z) \
                        - (a[m] if u == k else _Z) - (a[k] if u == m else _Z)
                    H[(t * L + u) * L * L + t * L + k, t * L + m] = a[u] * v
    return H


def printed_operators(x, W_Q, W_K, W_V, y, *, scale) -> dict:
    """``M1, Z1, Z2, S, R`` (``R``: the row ``vec_r(F - Target)^T``) and ``A`` of one sequence ``x``."""
    L, d = x.shape
    if W_V.shape != (d, d):
        raise InvalidValueError(f"W_V has shape {W_V.shape}; the printed formulas need the square (d_V, d_V) = "
                                f"{(d, d)} of [ormaniec2025] (input width = value width)")
    A = attention_matrix(x, W_Q, W_K, scale=scale, kind="softmax")[0]
    F = A @ x @ W_V
    xt = x.T
    Z1 = _kron(_eye(L), xt) @ softmax_jacobian(A) @ _kron(x, x)
    Z2 = _kron(_eye(L), xt, xt, xt) @ softmax_second(A) @ _kron(x, x)
    vecr_I = _eye(d).reshape(d * d, 1)
    S = _kron(_eye(d), commutation(d, d)) @ _kron(vecr_I, _eye(d))
    return {"A": A, "M1": A @ x, "Z1": Z1, "Z2": Z2, "S": S, "R": (F - y).reshape(1, L * d)}


def printed_blocks(x, W_Q, W_K, W_V, y, *, scale) -> dict:
    r"""The blocks of :data:`PRINTED` for one sequence, exactly as printed (module docstring), in the
    paper's ``vec_r`` layout and with its loss factor :math:`2/(L d_V)`."""
    L, d = x.shape
    k = W_Q.shape[1]
    s = scale if isinstance(scale, fmpq) else fmpq(scale)
    op = printed_operators(x, W_Q, W_K, W_V, y, scale=s)
    c = fmpq(2, L * d)
    M1, Z1, Z2, S, R = op["M1"], op["Z1"], op["Z2"], op["S"], op["R"]

    def Rm(m):
        return _kron(R, _eye(m))
    IK, KQ = _kron(_eye(d), W_K), _kron(W_Q, _eye(d)) @ commutation(k, d)
    gram = _kron(_eye(d), W_K.T) @ Z1.T @ _kron(_eye(L), W_V @ W_V.T) @ Z1
    front = Rm(d * k) @ _kron(_eye(L), W_V.T, _eye(d), W_K.T) @ Z2
    cross = Rm(d) @ _kron(_eye(L), W_V.T, _eye(d)) @ _kron(Z1, _eye(d)) @ S
    return {"Ho.VV": c * _kron(M1.T @ M1, _eye(d)),
            "Ho.QQ": c * s * s * gram @ IK,
            "Ho.VQ": c * s * _kron(M1.T, W_V.T) @ Z1 @ IK,
            "Ho.QK": c * s * s * gram @ KQ,
            "Hf.VV": _zeros(d * d, d * d),
            "Hf.QQ": c * s * s * front @ IK,
            "Hf.VQ": c * s * Rm(d * d) @ _kron(_eye(L), S) @ Z1 @ IK,
            "Hf.QK": c * s * s * front @ KQ + c * s * _kron(cross, _eye(k))}


def _perm(p: int, q: int) -> list:
    """``perm[i*q + a] = a*p + i``: a ``vec_r`` position of a ``p x q`` matrix -> its ``vec`` position."""
    return [a * p + i for i in range(p) for a in range(q)]


def to_exacthess(block: np.ndarray, rows: tuple, cols: tuple, L: int, d: int) -> np.ndarray:
    """A printed block (``rows``, ``cols``: the shapes of its two matrices) in exacthess's layout and
    loss: entries moved from ``vec_r`` to ``vec`` order and multiplied by ``L d / 2``."""
    pr, pc = _perm(*rows), _perm(*cols)
    out = _zeros(block.shape[0], block.shape[1])
    f = fmpq(L * d, 2)
    for r in range(block.shape[0]):
        for c in range(block.shape[1]):
            out[pr[r], pc[c]] = f * block[r, c]
    return out
