r"""Matrices of integer polynomials: products, evaluation modulo p, determinants, cofactor kernels.

Entries are FLINT ``fmpz_mpoly`` (sparse multivariate polynomials over :math:`\mathbb Z`) held in
numpy object arrays. :class:`PolyRing` lets the exact Toeplitz code
(:func:`exacthess.models.toeplitz.toeplitz_operator`) build a layer's operator with a polynomial
variable in every weight.

**Determinants** use Bareiss' fraction-free elimination: after step ``k`` every entry of the
trailing block is a ``(k+1) x (k+1)`` minor, so each division by the previous pivot is exact in
:math:`\mathbb Z[\text{vars}]` (FLINT raises if it is not, so a wrong result cannot pass
silently). Pivots are chosen among entries that are nonzero *as polynomials*; if a column has
none, the determinant is the zero polynomial.

**Cofactor kernels.** Let ``M`` be an ``r x c`` polynomial matrix, ``R`` a set of ``rho`` rows
and ``C0`` a set of ``rho`` columns with ``det M[R, C0] != 0``. For a column ``k`` not in
``C0`` put ``S = sorted(C0 + [k])`` and

.. math:: v_k[S_t] = (-1)^t \det M[R, S \setminus S_t], \qquad v_k = 0 \text{ off } S.

Laplace expansion along a repeated row gives :math:`M[i, :]\, v_k = \pm\det M[R \cup \{i\}, S]`,
which is zero for every ``i`` in ``R`` -- an identity in the polynomial ring. For ``i`` outside
``R`` it is a ``(rho+1)``-minor, zero identically exactly when ``M`` has rank ``rho`` over the
fraction field; callers verify the identity they need (``J v = 0``, ``H v = 0``) in the
polynomial ring, so nothing rests on that. The vectors ``v_k`` are linearly independent: ``v_k``
has :math:`\det M[R, C_0] \ne 0` in position ``k`` and zero in the other positions outside
``C0``.

>>> from flint import fmpz_mpoly_ctx
>>> ring = PolyRing(fmpz_mpoly_ctx.get(("x", 4)))
>>> a, b, c, d = ring.ctx.gens()
>>> det(obj_array([a, b, c, d], (2, 2)))
x0*x3 - x1*x2
>>> v = cofactor_vector(obj_array([a, b, c], (1, 3)), [0], [1], 2)
>>> [str(e) for e in v], (a * v[0] + b * v[1] + c * v[2]).is_zero()
(['0', 'x2', '-x1'], True)
"""

from __future__ import annotations

import numpy as np
from flint import fmpz, fmpz_mpoly, fmpz_mpoly_ctx

from ..core.domains import Ring
from ..core.modular import det_mod_p, pivot_cols, pivot_rows, rank_mod_p

__all__ = ["PolyRing", "obj_array", "poly_matmul", "evaluate", "det", "cofactor_vector", "cofactor_vector_mod_p",
           "kernel_pivots", "n_terms"]


class PolyRing(Ring):
    r"""The ring :math:`\mathbb Z[x_1, \ldots, x_N]` of one FLINT context, as an array ring."""

    exact = True

    def __init__(self, ctx: fmpz_mpoly_ctx):
        self.ctx = ctx
        self.name = f"ZZ[{ctx.nvars()} vars]"
        self.zero = ctx.constant(0)
        self.one = ctx.constant(1)

    def convert(self, arr):
        out = np.empty(np.shape(arr), dtype=object)
        for idx, v in np.ndenumerate(np.asarray(arr, dtype=object)):
            out[idx] = v if isinstance(v, fmpz_mpoly) else self.ctx.constant(int(v))
        return out

    def matmul(self, a, b):
        return poly_matmul(a, b, self.zero)


def obj_array(items, shape) -> np.ndarray:
    """An object array of the given shape holding ``items`` (polynomials are not sequences)."""
    out = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        out[i] = v
    return out.reshape(shape)


def poly_matmul(a: np.ndarray, b: np.ndarray, zero) -> np.ndarray:
    """``a @ b`` for object arrays of polynomials, skipping zero entries."""
    m, k = a.shape
    n = b.shape[1]
    out = np.empty((m, n), dtype=object)
    nz_a = [[t for t in range(k) if not a[i, t].is_zero()] for i in range(m)]
    for i in range(m):
        for j in range(n):
            acc = zero
            for t in nz_a[i]:
                e = b[t, j]
                if not e.is_zero():
                    acc = acc + a[i, t] * e
            out[i, j] = acc
    return out


def evaluate(arr: np.ndarray, values: list, p: int) -> np.ndarray:
    r"""Entries evaluated at the integer point ``values`` and reduced modulo ``p`` (int64).

    Evaluation is a ring homomorphism :math:`\mathbb Z[x] \to \mathbb F_p`, so ranks of the
    result are ranks of the evaluated matrix modulo p."""
    vals = [fmpz(v) for v in values]
    out = np.zeros(np.shape(arr), dtype=np.int64)
    for idx, f in np.ndenumerate(np.asarray(arr, dtype=object)):
        if not f.is_zero():
            out[idx] = int(f(*vals)) % p
    return out


def n_terms(arr: np.ndarray) -> int:
    """Total number of monomials in an array of polynomials (a size measure)."""
    return sum(len(f) for f in np.asarray(arr, dtype=object).flat)


def det(mat: np.ndarray):
    """Determinant of a square (nonempty) polynomial matrix by Bareiss' fraction-free elimination."""
    n = mat.shape[0]
    a = [list(row) for row in mat]
    sign = 1
    prev = None
    for k in range(n - 1):
        cands = [i for i in range(k, n) if not a[i][k].is_zero()]
        if not cands:
            return a[0][0] * 0
        piv = min(cands, key=lambda i: len(a[i][k]))
        if piv != k:
            a[k], a[piv] = a[piv], a[k]
            sign = -sign
        pk = a[k][k]
        for i in range(k + 1, n):
            aik = a[i][k]
            for j in range(k + 1, n):
                num = a[i][j] * pk - aik * a[k][j]
                a[i][j] = num if prev is None else num / prev  # exact (Sylvester's identity)
        prev = pk
    return a[n - 1][n - 1] if sign > 0 else -a[n - 1][n - 1]


def kernel_pivots(mat_p: np.ndarray, p: int) -> tuple[list[int], list[int], int]:
    """``(R, C0, rho)``: ``rho`` rows and columns with a nonzero ``rho x rho`` minor modulo ``p``,
    ``rho = rank(mat_p) mod p``."""
    rho = rank_mod_p(mat_p, p)
    if rho == 0:
        return [], [], 0
    R = pivot_rows(mat_p, p)
    C0 = pivot_cols(mat_p[R], p)
    return R, C0, rho


def _support(C0, k):
    return sorted(list(C0) + [k])


def cofactor_vector(mat: np.ndarray, R: list[int], C0: list[int], k: int) -> np.ndarray:
    """The cofactor vector ``v_k`` of the module docstring (object array of polynomials)."""
    zero = mat.flat[0] * 0 if mat.size else None
    out = np.empty(mat.shape[1], dtype=object)
    out.fill(zero)
    S = _support(C0, k)
    if not R:
        out[k] = zero + 1
        return out
    for t, col in enumerate(S):
        rest = [c for c in S if c != col]
        minor = det(mat[np.ix_(R, rest)])
        out[col] = minor if t % 2 == 0 else -minor
    return out


def cofactor_vector_mod_p(mat_p: np.ndarray, R: list[int], C0: list[int], k: int, p: int) -> np.ndarray:
    """The same vector computed from the evaluated matrix modulo ``p`` (minors mod p)."""
    out = np.zeros(mat_p.shape[1], dtype=np.int64)
    S = _support(C0, k)
    if not R:
        out[k] = 1
        return out
    for t, col in enumerate(S):
        rest = [c for c in S if c != col]
        minor = det_mod_p(mat_p[np.ix_(R, rest)], p)
        out[col] = minor if t % 2 == 0 else (-minor) % p
    return out
