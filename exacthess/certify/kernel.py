"""The checker's own arithmetic: exact products, determinants and ranks, shared with no proposer.

Everything the checker (:mod:`exacthess.certify.checker`) computes goes through here or through
FLINT directly; nothing is imported from the certification pipeline, the structural hints or the
modular layer of :mod:`exacthess.core`, so a bug there cannot make a wrong certificate verify.

>>> import numpy as np
>>> mulmod(np.array([[3, 4]]), np.array([[5], [6]]), 7).tolist()
[[4]]
"""

from __future__ import annotations

import numpy as np
from flint import fmpq, fmpq_mat, fmpz, fmpz_mat, nmod_mat

from .elimination import invertible

__all__ = ["reduce", "mulmod", "nonsingular_mod", "qmat", "exact_rank", "integer_rows", "hadamard_exceeded",
           "rank_mod", "is_prime", "ExplicitSource"]


def reduce(values, p: int) -> np.ndarray:
    """Exact rationals (``fmpq``, ints) reduced modulo ``p`` as int64."""
    out = []
    for v in np.asarray(values, dtype=object).flat:
        num, den = (v.p, v.q) if hasattr(v, "q") else (int(v), 1)
        out.append(int(num % p) * pow(int(den % p), -1, p) % p)
    return np.array(out, dtype=np.int64).reshape(np.shape(values))


def mulmod(a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """Exact ``a @ b mod p`` for residues in ``[0, p)``, ``p < 2^31``: float64 products whose every
    partial sum stays below :math:`2^{53}` -- chunks of ``k`` inner terms with
    ``k (p - 1)^2 < 2^53 - 2p`` added to a residue of magnitude at most ``p``, reduced by
    ``x - p rint(x / p)`` (the computed quotient is within ``1/2 + 2^-52 |x| / p`` of the true one,
    so the remainder stays within ``p`` and is zero exactly when ``p | x``) -- or, for larger
    ``p``, the entries split into 16-bit halves (four products, chunks of ``2^20`` terms); FLINT
    beyond ``2^31``."""
    m, k = a.shape
    n = b.shape[1]
    if p >= 1 << 31 or a.size == 0 or b.size == 0:
        A = nmod_mat(m, k, [int(v) for v in a.flat], p) if a.size else nmod_mat(m, k, p)
        B = nmod_mat(k, n, [int(v) for v in b.flat], p) if b.size else nmod_mat(k, n, p)
        return np.array([int(v) for v in (A * B).entries()], dtype=np.int64).reshape(m, n)
    a, b = np.asarray(a, dtype=np.int64) % p, np.asarray(b, dtype=np.int64) % p
    chunk = ((1 << 53) - 2 * p) // ((p - 1) ** 2)
    if chunk >= 64:
        af, bf = a.astype(np.float64), b.astype(np.float64)
        acc = np.zeros((m, n))
        for s in range(0, k, chunk):
            acc += af[:, s:s + chunk] @ bf[s:s + chunk]  # < 2^53 - 2p: exact
            acc -= p * np.rint(acc * (1.0 / p))  # |acc| <= p: exact (x - p rint(x/p) for |x| < 2^53)
        out = acc.astype(np.int64)
        out[out < 0] += p
        return out % p
    a1, a0 = (a >> 16).astype(np.float64), (a & 0xFFFF).astype(np.float64)
    b1, b0 = (b >> 16).astype(np.float64), (b & 0xFFFF).astype(np.float64)
    out = np.zeros((m, n), dtype=np.int64)
    for s in range(0, k, 1 << 20):  # (2^16)^2 * 2^20 * 2 < 2^53
        sl = slice(s, s + (1 << 20))
        hi = (a1[:, sl] @ b1[sl]).astype(np.int64) % p
        mid = (a1[:, sl] @ b0[sl] + a0[:, sl] @ b1[sl]).astype(np.int64) % p
        lo = (a0[:, sl] @ b0[sl]).astype(np.int64) % p
        out = (out + ((hi * 65536 % p + mid) % p * 65536 + lo)) % p
    return out


def nonsingular_mod(M: np.ndarray, p: int, inverse=None, overwrite: bool = False) -> bool:
    """Whether the square integer matrix ``M`` is invertible modulo ``p``: with a proposed inverse, by
    the one product ``M X = I``; otherwise by the checker's own recursive elimination
    (:func:`exacthess.certify.elimination.invertible`, ``p < 2^21``, at float64 BLAS speed; with
    ``overwrite`` a float64 ``M`` is eliminated in place) or FLINT's determinant (larger primes)."""
    k = M.shape[0]
    if M.shape != (k, k):
        return False
    if k == 0:
        return True
    if inverse is not None and inverse.shape == (k, k):
        M = np.asarray(M, dtype=np.int64)
        return bool((mulmod(M % p, np.asarray(inverse, dtype=np.int64) % p, p) == np.eye(k, dtype=np.int64)).all())
    if p < 1 << 21:
        return invertible(M, p, overwrite=overwrite)
    return int(nmod_mat(k, k, [int(v) for v in (np.asarray(M, dtype=np.int64) % p).flat], p).det()) != 0


def qmat(A: np.ndarray) -> fmpq_mat:
    """FLINT's exact rational matrix of an object array of rationals (or ints)."""
    A = np.asarray(A, dtype=object)
    if not A.size:
        return fmpq_mat(A.shape[0], A.shape[1])
    return fmpq_mat(A.shape[0], A.shape[1], [v if isinstance(v, fmpq) else fmpq(int(v)) for v in A.flat])


def exact_rank(A: np.ndarray) -> int:
    """Rank over Q by FLINT's exact (fraction-free) elimination of the integer rows (no primes)."""
    return fmpz_mat(integer_rows(A)).rank() if np.size(A) else 0


def integer_rows(A: np.ndarray) -> list:
    """Rows of an exact matrix times the lcm of their denominators (same rank), as FLINT integers
    (FLINT's lcm: denominators of millions of bits stay cheap)."""
    out = []
    for row in np.asarray(A, dtype=object):
        den = fmpz(1)
        for v in row:
            q = getattr(v, "q", 1)
            if q != 1:
                den = den.lcm(fmpz(q))
        out.append([fmpz(getattr(v, "p", v)) * (den // fmpz(getattr(v, "q", 1))) for v in row])
    return out


def hadamard_exceeded(rows: list, order: int, primes) -> bool:
    """Exactly: does the product of the primes exceed Hadamard's bound on every minor of the given
    order? The bound is the product of the ``order`` largest row norms (or column norms); in
    integers, ``(prod p)^2 > prod s_i`` over the ``order`` largest squared norms ``s_i``."""
    prod = 1
    for p in primes:
        prod *= int(p)

    def squares(vectors):
        out = 1
        for s in sorted((sum(v * v for v in vec) for vec in vectors), reverse=True)[:order]:
            out *= s
        return out
    cols = [list(c) for c in zip(*rows)] if rows else []
    return prod * prod > min(squares(rows), squares(cols))


_RANKS: dict = {}  # (digest of an integer matrix, prime) -> its rank modulo the prime; a few matrices
_DIGESTS: dict = {}  # id -> (matrix, digest) of the last few matrices


def rank_mod(Z: fmpz_mat, p: int) -> int:
    """FLINT's rank of the integer matrix ``Z`` modulo ``p``, remembered for the last few matrices
    (by content), so that a Hadamard certificate whose ranks were just computed with this function
    is not computed twice when it is checked."""
    held = _DIGESTS.get(id(Z))
    if held is None or held[0] is not Z:
        if len(_DIGESTS) > 8:
            _DIGESTS.clear()
        held = _DIGESTS[id(Z)] = (Z, (hash(tuple(Z.entries())), Z.nrows(), Z.ncols()))
    key = held[1] + (int(p),)
    if key not in _RANKS:
        if len(_RANKS) > 4096:
            _RANKS.clear()
        _RANKS[key] = nmod_mat(Z, int(p)).rank() if Z.nrows() and Z.ncols() else 0
    return _RANKS[key]


def is_prime(q: int) -> bool:
    """FLINT's primality test."""
    return fmpz(q).is_prime()


class ExplicitSource:
    """A matrix source holding one explicit exact matrix, named ``"M"`` (see :mod:`exacthess.certify.checker`)."""

    def __init__(self, M, name: str = "M"):
        self.M = np.asarray(M, dtype=object)
        self.name = name

    def _get(self, name, rows=None, cols=None):
        if name != self.name:
            raise KeyError(name)
        A = self.M
        if rows is not None:
            A = A[list(rows)]
        if cols is not None:
            A = A[:, list(cols)]
        return A

    def shape(self, name):
        return self._get(name).shape

    def exact(self, name, rows=None, cols=None):
        return self._get(name, rows, cols)

    def mod(self, name, p, rows=None, cols=None):
        return reduce(self._get(name, rows, cols), p)

    def symmetric(self, name):
        A = self._get(name)
        return A.shape[0] == A.shape[1] and bool((A == A.T).all())

    def premise(self, key):
        raise KeyError(key)
