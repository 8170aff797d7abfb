r"""Dense matrices modulo a word prime at BLAS speed.

Residues modulo a prime :math:`2 < p < 2^{31}` are float64 in the *balanced* range
:math:`|x| \le h = \lfloor (p + 3)/2 \rfloor`, so the :math:`O(n^3)` work is float64 BLAS
products, exact by construction:

* **Exactness bound.** ``c + a @ b`` with inner dimension ``k`` is a sum of integers of magnitude
  at most :math:`h + k h^2`; while that is at most :math:`2^{53} - p` every partial sum is an
  exact float64 integer, in whatever order BLAS adds. Products are cut into chunks of the inner
  dimension within this bound (one chunk up to ``k = 8191`` for :math:`p < 2^{21}`); for large
  primes the left factor is split as :math:`2^s a_1 + a_0`, :math:`|a_0| \le 2^{s-1}`.
* **Exact reduction.** :math:`x - p\,\mathrm{rint}(x \cdot \mathrm{fl}(1/p))` for integers
  :math:`|x| \le 2^{53} - p`: the computed quotient is within :math:`1/2 + 2/p` of :math:`x/p`,
  so the result has magnitude at most :math:`h` and is zero exactly when :math:`p \mid x`.
* **Elimination by Schur complements.** For pivot rows ``R`` and columns ``C`` (``W[R, C]``
  invertible), ``E = -W[~R, C] W[R, C]^{-1}`` gives ``W[i] + E[i] W[R] = 0`` on ``C`` and the
  Schur complement ``S = W[~R, ~C] + E W[R, ~C]``. The columns are split in halves: the left
  half gives ``(R1, C1, E1)``, ``S = W[~R1, right] + E1 W[R1, right]`` (one product) gives
  ``(R2, C2, E2)`` and ``E = [E1 + E2 E1[R2], E2]``. A panel of at most :data:`BASE` columns
  is eliminated column by column on its first nonzero rows (int64 Gauss-Jordan,
  :math:`p^2 < 2^{62}`); its other rows are reduced by one product and, if not all zero,
  eliminated in turn. The products add up to the :math:`2n^3/3` flops of an LU decomposition.
* **Rank profiles.** A column's pivot is its first nonzero row (original order): this selects the
  **row rank profile** (the lexicographically first rows forming a basis) and the **column rank
  profile**, which depend only on the matrix, not on the blocking.

>>> import numpy as np
>>> a = np.array([[0, 0, 0], [1, 2, 3], [2, 4, 6], [1, 0, 1]])
>>> rank(a, 7), rank_profiles(a, 7)
(2, ([1, 3], [0, 1]))
>>> f = factor(a.T, 7)
>>> bool((a.T @ f.nullspace() % 7).any()), f.rows, f.cols
(False, [0, 1], [1, 3])
>>> inverse(np.array([[2, 1], [1, 1]]), 7).tolist(), det(np.array([[2, 1], [1, 1]]), 7)
([[1, 6], [6, 2]], 1)"""

from __future__ import annotations

import numpy as np
from flint import fmpz

from .errors import InvalidTypeError, InvalidValueError, describe
from .validate import is_int

__all__ = ["BASE", "MAX_PRIME", "check_prime", "matmul", "factor", "Factorization", "rank", "rank_profiles",
           "pivot_rows", "pivot_cols", "nullspace", "inverse", "det"]

#: primes must be below this bound (products of two residues then fit in int64)
MAX_PRIME = 1 << 31
#: panels of at most this many columns are eliminated column by column
BASE = 32
_ROOM = (1 << 53)  # every intermediate integer is kept at magnitude <= _ROOM - p; reduced _BLOCK elements at a time:
_BLOCK = 1 << 15
_NARROW = 1 << 15  # products with k n up to this are run in row blocks of _SERIAL multiply-adds
_SERIAL = 1 << 18  # (OpenBLAS runs a product below 2^18 multiply-adds on the calling thread)


def _gemm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b``; a narrow one (``k n <= 2^15``) in row blocks that the BLAS runs on the calling
    thread: waking its threads costs more than it saves (a lot more when the cores are busy)."""
    m, k = a.shape
    n = b.shape[1]
    if k * n > _NARROW or m * k * n < _SERIAL:
        return a @ b
    out = np.empty((m, n))
    rows = max(1, _SERIAL // (k * n + 1))
    for s in range(0, m, rows):
        np.matmul(a[s:s + rows], b, out=out[s:s + rows])
    return out


def check_prime(p, name: str = "p") -> int:
    """``p`` as an int, or an error naming it: a prime with ``2 < p < 2**31`` is expected."""
    if not is_int(p):
        raise InvalidTypeError(f"{name} = {describe(p)} has type {type(p).__name__}; expected a prime 2 < p < 2**31")
    p = int(p)
    if not (2 < p < MAX_PRIME) or not fmpz(p).is_prime():
        raise InvalidValueError(f"{name} = {p} is not valid; expected a prime 2 < p < 2**31")
    return p


def _load(a, p: int, name: str = "a", transpose: bool = False) -> np.ndarray:
    """A 2-D integer array (int, uint, bool, Python or FLINT integers), or its transpose, as
    C-contiguous balanced float64 residues."""
    arr = np.asarray(a)
    if arr.ndim != 2:
        raise InvalidValueError(f"{name} = {describe(a)} has shape {arr.shape}; expected a 2-D integer array")
    if arr.dtype.kind == "O" and all(is_int(v) or isinstance(v, fmpz) for v in arr.flat):
        arr = np.array([int(v) % p for v in arr.flat], dtype=np.int64).reshape(arr.shape)
    elif arr.dtype.kind not in "iub":
        raise InvalidTypeError(f"{name} = {describe(a)} has dtype {arr.dtype}; expected an integer array")
    elif arr.size and max(-int(arr.min()), int(arr.max())) >= _ROOM - p:
        arr = arr % p
    return _reduce(np.array(arr.T if transpose else arr, dtype=np.float64, order="C"), p)


def _lower(x: np.ndarray, p: int) -> np.ndarray:
    """Balanced float64 residues as int64 in ``[0, p)``."""
    return x.astype(np.int64) % p


def _reduce(x: np.ndarray, p: int) -> np.ndarray:
    """Reduce a C-contiguous array of integers ``|x| <= 2**53 - p`` in place to balanced residues
    ``|x| <= (p + 3) // 2`` (in blocks that stay in cache)."""
    flat = x.reshape(-1)
    q = np.empty(min(flat.size, _BLOCK))
    for s in range(0, flat.size, _BLOCK):
        xs, qs = flat[s:s + _BLOCK], q[:min(_BLOCK, flat.size - s)]
        np.rint(np.multiply(xs, 1.0 / p, out=qs), out=qs)
        qs *= p
        xs -= qs
    return x


def _addmul(c, a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """Balanced residues of ``c + a @ b`` (``c`` may be None) for balanced residues ``a``, ``b``, ``c``."""
    m, k = a.shape
    if k == 0:
        return np.zeros((m, b.shape[1])) if c is None else np.array(c, dtype=np.float64)
    h = (p + 3) // 2
    step, pieces, scale = (_ROOM - p - h) // (h * h), [a], 1.0  # h + step h^2 <= 2^53 - p
    if step < min(k, 128):  # a = 2^s a1 + a0, |a0| <= 2^(s-1), |a1| <= h / 2^s + 1/2: Horner in 2^s
        s = (h.bit_length() + 1) // 2
        scale = float(1 << s)
        pieces = [np.rint(a / scale)]
        pieces.append(a - pieces[0] * scale)
        step = min((_ROOM - p) // (((h >> s) + 1) * h), (_ROOM - p - h - (h << s)) // ((1 << (s - 1)) * h))
    out = c
    for i in range(0, k, step):
        t = None
        for piece in pieces:
            g = _gemm(piece[:, i:i + step], b[i:i + step])
            if t is not None:
                g += _reduce(t, p) * scale
            t = g
        if out is not None:
            t += out
        out = _reduce(t, p)
    return out


def matmul(a, b, p: int) -> np.ndarray:
    """Exact ``a @ b mod p`` (``(m, k)`` and ``(k, n)`` integer arrays, a prime ``2 < p < 2**31``)
    as int64 in ``[0, p)``: chunks of the inner dimension within the bound of the module docstring."""
    p = check_prime(p)
    A, B = _load(a, p, "a"), _load(b, p, "b")
    if A.shape[1] != B.shape[0]:
        raise InvalidValueError(f"b has shape {B.shape}; expected {A.shape[1]} rows to match a of shape {A.shape}")
    return _lower(_addmul(None, A, B, p), p)


class _Leaf:
    """A panel's pivots on its first nonzero rows: ``G = W[R, C]^{-1}`` and ``E`` of the other rows."""

    def __init__(self, T: np.ndarray, p: int):
        t, b = T.shape
        A = np.zeros((b + min(t, b), t), dtype=np.int64)  # [T | coefficients], transposed
        A[:b] = _lower(T.T, p)
        order = list(range(t))  # columns [k:] are the candidate rows of T, in their original order
        C, d, k = [], 1, 0
        for c in range(b):
            nz = A[c, k:].nonzero()[0]
            if not nz.size:
                continue
            i = k + int(nz[0])
            if i > k:  # rotate row i up to position k: the other candidates keep their order
                A[:, k:i + 1] = A[:, np.r_[i, k:i]]
                order.insert(k, order.pop(i))
            v = int(A[c, k])
            d = d * v % p
            A[b + k, k] = 1  # row k's coefficient of itself (Gauss-Jordan on [T | coefficients])
            row = A[c + 1:b + k + 1, k]
            row *= pow(v, -1, p)
            row %= p
            A[c, k] = 0
            live = A[c + 1:b + k + 1]
            live -= np.multiply.outer(row, A[c])  # |.| < p^2 < 2^62
            live %= p
            C.append(c)
            k += 1
        self.R, self.C, self.d, self.p = np.array(order[:k], dtype=np.intp), np.array(C, dtype=np.intp), d, p
        lift = lambda x: _reduce(np.array(x.T, dtype=np.float64, order="C"), p)  # noqa: E731
        self.G = lift(A[b:b + k, :k])  # normalized pivot l = G[l] T[R], so G = T[R, C]^{-1}
        self.E = lift(A[b:b + k, k:])  # the other rows (increasing): T[i] + E[i] T[R] = 0
        self.rest = np.array(order[k:], dtype=np.intp)

    def extend(self, X: np.ndarray) -> np.ndarray:
        """``E`` of further rows: ``-X[:, C] W[R, C]^{-1}``."""
        return -_addmul(None, X[:, self.C], self.G, self.p)


class _Node:
    """Pivots of a first part (``first``) and of the Schur complement of the rest (``second``)."""

    def extend(self, X: np.ndarray) -> np.ndarray:
        e1 = self.first.extend(X[:, self.cols1])
        if self.second is None:
            return e1
        e2 = self.second.extend(_addmul(X[:, self.cols2], e1, self.B, self.p))
        return np.hstack([_addmul(e1, e2, self.F, self.p), e2])


def _complement(R: np.ndarray, m: int) -> np.ndarray:
    return np.setdiff1d(np.arange(m), R, assume_unique=True)


def _take(W: np.ndarray, rows: np.ndarray, cols) -> np.ndarray:
    return W[rows, cols] if isinstance(cols, slice) else W[np.ix_(rows, cols)]


def _eliminate(W: np.ndarray, p: int, need_e: bool, t: int = 0):
    """Pivots ``R`` (rows, in pivot order), ``C``, ``d = det W[R, C]`` and, if ``need_e``, ``E``
    (the non-pivot rows in increasing order) of balanced residues ``W``; with ``need_e`` the
    result's ``extend(X)`` gives ``E`` of further rows ``X``. A panel is eliminated on its first
    ``t`` nonzero rows (a few more than its width, 4 times more after each deficient try)."""
    m, n = W.shape
    node = _Node()
    node.p, node.second, t_non = p, None, None
    if n > BASE:  # halves of the columns
        n1 = n // 2
        first = _eliminate(W[:, :n1], p, True)
        node.cols1, node.cols2, cols2 = slice(0, n1), slice(n1, n), np.arange(n1, n)
        R1, Q, E1 = first.R, _complement(first.R, m), first.E
    else:  # a panel: its first nonzero rows, then the rest reduced by them
        nz = np.flatnonzero(W.any(axis=1))
        t = max(t, n + 8)
        top = nz[:t]
        first = _Leaf(W[top], p)
        node.cols1, node.cols2 = slice(None), _complement(first.C, n)
        cols2 = node.cols2
        R1, Q, t_non = top[first.R], nz[t:], top[first.rest]
        E1 = first.extend(W[Q]) if Q.size else np.zeros((0, R1.size))
    node.first = first
    if Q.size and R1.size < n:
        node.B = _take(W, R1, node.cols2)
        S = _addmul(_take(W, Q, node.cols2), E1, node.B, p)
        if S.any():
            node.second = _eliminate(S, p, need_e, 0 if t_non is None else 4 * t)
    second = node.second
    if second is None:
        node.R, node.C, node.d = R1, first.C, first.d
    else:
        node.R = np.concatenate([R1, Q[second.R]])
        node.C = np.concatenate([first.C, cols2[second.C]])
        node.d = first.d * second.d % p
    if not need_e:
        return node
    if second is None:
        EQ, nonQ = E1, Q
    else:
        Q2 = _complement(second.R, Q.size)
        node.F = E1[second.R]
        EQ, nonQ = np.hstack([_addmul(E1[Q2], second.E, node.F, p), second.E]), Q[Q2]
    if t_non is None:  # nonQ: every non-pivot row
        node.E = EQ
        return node
    nonR = _complement(node.R, m)  # zero rows (E = 0), the panel's other rows, the rest's
    node.E = np.zeros((nonR.size, node.R.size))
    node.E[np.searchsorted(nonR, t_non), :R1.size] = first.E
    node.E[np.searchsorted(nonR, nonQ)] = EQ
    return node


def _sign(perm) -> int:
    """The sign of a permutation of ``range(len(perm))``: ``(-1)^(n - number of cycles)``."""
    seen, cycles = np.zeros(len(perm), dtype=bool), 0
    for i in np.flatnonzero(~seen):
        cycles += not seen[i]
        while not seen[i]:
            seen[i], i = True, perm[i]
    return -1 if (len(perm) - cycles) % 2 else 1


def _det(t, shape) -> int:
    """``det a`` from the elimination ``t`` of ``a`` or ``a.T``: ``d`` times the signs of ``R`` and ``C``."""
    if shape[0] != shape[1]:
        raise InvalidValueError(f"a has shape {tuple(shape)}; expected a square matrix")
    return 0 if t.R.size < shape[0] else t.d * _sign(t.R) * _sign(t.C) % t.p if t.R.size else 1


class Factorization:
    r"""An elimination of ``a`` modulo ``p``: that of :math:`a^T`, so that the null vectors of ``a``
    and the solutions of ``a x = b`` come out as rows of ``E`` (see the module docstring).

    Attributes:
        p: the prime.
        shape: ``a``'s shape.
        rank: the rank of ``a`` modulo ``p``.
        rows: the row rank profile of ``a`` (increasing).
        cols: the column rank profile of ``a`` (increasing).
    """

    def __init__(self, a, p: int):
        self.p = p = check_prime(p)
        W = _load(a, p, transpose=True)
        self.shape = W.shape[::-1]
        self._tree = _eliminate(W, p, True)
        self.rank = int(self._tree.R.size)
        self.rows, self.cols = np.sort(self._tree.C).tolist(), np.sort(self._tree.R).tolist()

    def nullspace(self) -> np.ndarray:
        r"""A basis (columns, int64) of :math:`\{x : a x = 0\}`: one vector per non-pivot column
        ``f`` (increasing), with :math:`x_f = 1`, zero on the other non-pivot columns and
        :math:`x_{C} = -a[R, C]^{-1} a[R, f]` on the pivot columns."""
        n, r = self.shape[1], self.rank
        free = _complement(self._tree.R, n)
        N = np.zeros((n, n - r), dtype=np.int64)
        N[free, np.arange(n - r)] = 1
        if r:
            N[self._tree.R] = _lower(self._tree.E, self.p).T
        return N

    def solve(self, b) -> np.ndarray:
        """The solution ``x`` of ``a x = b`` (int64 in ``[0, p)``, same shape as ``b``) for a square
        invertible ``a``; ``b`` is a vector or a matrix of right-hand sides."""
        vector = np.ndim(b) == 1
        B = _load(np.asarray(b)[:, None] if vector else b, self.p, "b", transpose=True)
        n = self.shape[0]
        if self.shape != (n, n) or self.rank < n:
            raise InvalidValueError(f"a of shape {self.shape} has rank {self.rank} modulo {self.p}; "
                                    "expected a square invertible matrix")
        if B.shape[1] != n:
            raise InvalidValueError(f"b has shape {np.shape(b)}; expected {n} rows")
        x = np.zeros(B.shape[::-1], dtype=np.int64)
        if n and B.shape[0]:
            x[self._tree.R] = _lower(self._tree.extend(-B), self.p).T
        return x[:, 0] if vector else x

    def inverse(self) -> np.ndarray:
        """``a^{-1}`` modulo ``p`` (int64 in ``[0, p)``) of a square invertible ``a``."""
        return self.solve(np.eye(self.shape[0], dtype=np.int64))

    def det(self) -> int:
        """The determinant of a square ``a`` modulo ``p``, in ``[0, p)`` (1 for an empty matrix)."""
        return _det(self._tree, self.shape)


def factor(a, p: int) -> Factorization:
    """Eliminate an integer matrix modulo a prime (see the module docstring).

    Args:
        a: an ``(m, n)`` array of int, uint, bool, Python or FLINT integers (reduced modulo ``p``).
        p: a prime ``2 < p < 2**31``.

    Returns:
        The :class:`Factorization`: ``rank``, ``rows``, ``cols``, ``nullspace()``, ``solve(b)``,
        ``inverse()`` and ``det()``.

    Raises:
        InvalidTypeError: ``p`` is not an int, or ``a`` not an integer array.
        InvalidValueError: ``p`` is not such a prime, or ``a`` is not 2-D.
    """
    return Factorization(a, p)


def _profiles(a, p: int):
    """The elimination of ``a`` or ``a.T``, whichever has fewer rows, and whether it was transposed."""
    p = check_prime(p)
    shape = np.shape(a)
    transpose = len(shape) == 2 and shape[0] > shape[1]
    W = _load(a, p, transpose=transpose)
    return _eliminate(W, p, False), transpose


def rank_profiles(a, p: int) -> tuple[list[int], list[int]]:
    """Row and column rank profiles modulo ``p`` (they meet in a nonsingular minor) from one
    elimination of ``a`` or ``a.T``, whichever is wide, without a :class:`Factorization`'s multipliers."""
    t, transpose = _profiles(a, p)
    R, C = np.sort(t.R).tolist(), np.sort(t.C).tolist()
    return (C, R) if transpose else (R, C)


def rank(a, p: int) -> int:
    """The rank of an integer matrix modulo a prime ``2 < p < 2**31`` (0 for an empty one)."""
    return int(_profiles(a, p)[0].R.size)


def pivot_rows(a, p: int) -> list[int]:
    """The row rank profile modulo ``p``: the lexicographically first rows forming a basis of the row space."""
    return rank_profiles(a, p)[0]


def pivot_cols(a, p: int) -> list[int]:
    """The column rank profile modulo ``p``: the lexicographically first columns forming a basis."""
    return pivot_rows(np.asarray(a).T, p)


def nullspace(a, p: int) -> np.ndarray:
    """A basis (columns) of ``{x : a x = 0}`` modulo ``p`` (see :meth:`Factorization.nullspace`)."""
    return factor(a, p).nullspace()


def inverse(a, p: int) -> np.ndarray:
    """The inverse of a square invertible integer matrix modulo ``p`` (int64 in ``[0, p)``)."""
    return factor(a, p).inverse()


def det(a, p: int) -> int:
    """The determinant of a square integer matrix modulo ``p``, in ``[0, p)`` (1 for an empty one)."""
    return _det(_profiles(a, p)[0], np.shape(a))
