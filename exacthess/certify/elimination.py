r"""The checker's own elimination: is a square matrix invertible modulo a prime :math:`p < 2^{21}`?

This is the one place where the checker (:mod:`exacthess.certify.checker`) spends
:math:`O(n^3)` work, so it runs at the speed of float64 BLAS; it shares no code with the
modular layer of :mod:`exacthess.core` that proposed the minor (``core/modmat.py``), and imports
numpy only.

* **Residues.** Entries are float64 integers in the balanced range :math:`|x| \le h = p/2 + 2`.
  The reduction :math:`x \mapsto x - p\,\mathrm{rint}(x\,\mathrm{fl}(1/p))` of an integer
  :math:`|x| \le 2^{53}` is exact: the computed quotient is within :math:`2^{53}/p \cdot 2^{-52}
  = 2/p` of :math:`x/p`, so the rounded quotient is within :math:`1/2 + 2/p` of it, and the result
  is an integer congruent to :math:`x` of magnitude at most :math:`p/2 + 2 = h`.
* **Products.** ``c - a @ b`` with inner dimension ``k`` is a sum of integers of magnitude at most
  :math:`h + k h^2`; while that is below :math:`2^{53}` every partial sum is an exact float64
  integer, in whatever order the BLAS adds. Longer products are cut into chunks of
  :data:`chunk` inner terms, reduced in between (for :math:`p < 2^{21}` a chunk holds 8,191 terms).
* **Recursive LU with row pivoting** (Toledo 1997, *Locality of reference in LU decomposition
  with partial pivoting*): the columns ``[j0, j1)`` are split in halves; the left half is
  eliminated (recursively), its rows swapped in whole rows of the matrix; the right half's top
  rows become :math:`U_{12} = L_{11}^{-1} A_{12}` (a recursive triangular solve) and its lower
  rows the Schur complement :math:`A_{22} - L_{21} U_{12}`; then the right half is eliminated.
  Panels of at most :data:`BASE` columns are eliminated column by column, the pivot of a column
  being its first nonzero entry at or below the diagonal. The matrix is invertible exactly when
  every column finds a pivot (the determinant is then :math:`\pm` the product of the pivots,
  each nonzero modulo p). The products add up to the :math:`2n^3/3` flops of an LU decomposition,
  almost all of them in large GEMMs.

>>> import numpy as np
>>> invertible(np.array([[0, 1], [1, 0]]), 7), invertible(np.array([[1, 2], [2, 4]]), 7)
(True, False)
"""

from __future__ import annotations

import numpy as np

__all__ = ["invertible", "BASE", "chunk"]

#: panels of at most this many columns are eliminated column by column
BASE = 16
_LIMIT = 1 << 21
_ROWS = 256  # rows converted at a time
_TEMP = 1 << 24  # entries of the largest temporary product (128 MiB)


def _h(p: int) -> int:
    return p // 2 + 2


def chunk(p: int) -> int:
    """The longest inner dimension ``k`` with ``h + k h^2 < 2^53`` (``h = p/2 + 2``): products of
    residues over at most that many terms are exact in float64."""
    h = _h(p)
    return ((1 << 53) - 1 - h) // (h * h)


def _reduce(x: np.ndarray, p: int) -> np.ndarray:
    """In place: float64 integers ``|x| <= 2^53`` to congruent integers of magnitude at most ``h``."""
    q = np.multiply(x, 1.0 / p)
    np.rint(q, out=q)
    q *= p
    x -= q
    return x


def _subtract_product(c: np.ndarray, a: np.ndarray, b: np.ndarray, p: int, k: int) -> None:
    """In place ``c <- c - a @ b`` modulo ``p`` (every entry of ``a``, ``b``, ``c`` at most ``h``)."""
    n = a.shape[1]
    rows = max(1, _TEMP // max(1, c.shape[1]))  # row blocks: the product's temporary stays small
    for i in range(0, c.shape[0], rows):
        ci, ai = c[i:i + rows], a[i:i + rows]
        for s in range(0, n, k):
            ci -= ai[:, s:s + k] @ b[s:s + k]  # |c| <= h + k h^2 < 2^53: exact
            _reduce(ci, p)


def _solve_lower(L: np.ndarray, B: np.ndarray, p: int, k: int) -> None:
    """In place ``B <- L^{-1} B`` for the unit lower triangular ``L`` (its strict lower part)."""
    n = L.shape[0]
    if n <= BASE:
        for i in range(1, n):
            B[i] -= L[i, :i] @ B[:i]  # i h^2 + h < 2^53
            _reduce(B[i], p)
        return
    m = n // 2
    _solve_lower(L[:m, :m], B[:m], p, k)
    _subtract_product(B[m:], L[m:, :m], B[:m], p, k)
    _solve_lower(L[m:, m:], B[m:], p, k)


def _base(A: np.ndarray, j0: int, j1: int, p: int) -> bool:
    """Columns ``[j0, j1)`` (at most :data:`BASE`) eliminated one by one in a contiguous transposed
    copy of the panel (a column is then a contiguous row); the row swaps are applied to whole rows
    of ``A`` afterwards, and the panel copied back."""
    P = np.ascontiguousarray(A[j0:, j0:j1].T)  # P[s, i] = A[j0 + i, j0 + s]
    swaps = []
    for t in range(j1 - j0):
        nz = np.flatnonzero(P[t, t:])
        if not nz.size:
            return False
        r = t + int(nz[0])
        if r != t:
            P[:, [t, r]] = P[:, [r, t]]
            swaps.append((j0 + t, j0 + r))
        f = P[t, t + 1:]  # the multipliers of the rows below the pivot
        f *= pow(int(P[t, t]) % p, -1, p)  # h p < 2^53
        _reduce(f, p)
        if t + 1 < j1 - j0:
            block = P[t + 1:, t + 1:]
            block -= np.outer(P[t + 1:, t], f)  # h + h^2 < 2^53
            _reduce(block, p)
    for a, b in swaps:
        A[[a, b]] = A[[b, a]]
    A[j0:, j0:j1] = P.T
    return True


def _panel(A: np.ndarray, j0: int, j1: int, p: int, k: int) -> bool:
    """Eliminate columns ``[j0, j1)`` of ``A`` below row ``j0`` (rows ``< j0`` are finished), swapping
    whole rows; False as soon as a column has no pivot (then ``A`` is singular)."""
    if j1 - j0 <= BASE:
        return _base(A, j0, j1, p)
    m = (j0 + j1) // 2
    if not _panel(A, j0, m, p, k):
        return False
    _solve_lower(A[j0:m, j0:m], A[j0:m, m:j1], p, k)
    _subtract_product(A[m:, m:j1], A[m:, j0:m], A[j0:m, m:j1], p, k)
    return _panel(A, m, j1, p, k)


def invertible(M, p: int, overwrite: bool = False) -> bool:
    """Whether the square integer matrix ``M`` is invertible modulo the prime ``2 < p < 2^21``.

    Args:
        M: a square array of integers (int64, or float64 holding integers below ``2^53``).
        p: the prime.
        overwrite: eliminate a float64 ``M`` in place (no copy of the matrix is made).

    Returns:
        True exactly when ``det M`` is nonzero modulo ``p``.
    """
    if not 2 < p < _LIMIT:
        raise ValueError(f"p = {p}: the float64 elimination needs 2 < p < 2^21")
    M = np.asarray(M)
    n = M.shape[0]
    if M.ndim != 2 or M.shape[1] != n:
        return False
    if n == 0:
        return True
    if overwrite and M.dtype == np.float64 and M.flags.c_contiguous:
        A = M
        for s in range(0, n, _ROWS):
            part = A[s:s + _ROWS]
            if not ((np.abs(part) < 2.0**53) & (np.rint(part) == part)).all():
                raise ValueError("M must hold integers of magnitude below 2^53")
            np.fmod(part, p, out=part)  # exact for float64 integers
            _reduce(part, p)
    else:
        A = np.empty((n, n))
        for s in range(0, n, _ROWS):  # row blocks: no int64 copy of the whole matrix
            A[s:s + _ROWS] = np.asarray(M[s:s + _ROWS], dtype=np.int64) % p
            _reduce(A[s:s + _ROWS], p)
    return _panel(A, 0, n, p, chunk(p))
