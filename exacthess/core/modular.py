r"""The modular-arithmetic layer: prime choice, matrices modulo p, failure bounds, CRT, roots of unity.

Everything exacthess does modulo a prime goes through here, so the primes it draws and the
probabilities it states have one definition.

**Prime choice.** Primes are drawn uniformly from the primes of a dyadic range
:math:`[2^{b-1}, 2^b)` by rejection sampling: ``b = 62`` (:func:`random_prime`, FLINT's
``nmod_mat`` for ranks of exact integer matrices), ``b = 31`` (:func:`random_small_prime`,
the :class:`~exacthess.core.domains.GF` domain whose products run on float64 BLAS) or
``b = 21`` (:func:`random_engine_prime`, the certificates' engine: one BLAS product per chunk).

**Matrices modulo p.** Ranks, rank profiles, null spaces, inverses and determinants of numpy
arrays modulo a prime ``p < 2**31`` run on :mod:`~exacthess.core.modmat` (blocked elimination
whose work is exact float64 BLAS products); FLINT's ``nmod_mat`` keeps ``fmpz_mat`` inputs,
62-bit primes and small arrays (below the measured crossovers ``FLINT_*_SIZE``).

**Failure bound.** A nonzero integer :math:`D` with :math:`|D| \le H` has at most
:math:`\log_2 H / (b - 1)` prime factors in that range, and the range holds at least
:math:`\pi_b = 2^{b-1} / (b \ln 2 \cdot 1.1)` primes, so a uniformly drawn prime divides
:math:`D` with probability at most :math:`(\log_2 H / (b-1)) / \pi_b`; ``t`` independent
primes all divide it with at most the ``t``-th power (:func:`failure_bound`).

**Reduction.** A rational ``a/b`` reduces to :math:`a b^{-1} \bmod p` whenever ``p`` does
not divide ``b`` (dyadic inputs have ``b`` a power of two, so every odd prime works). A rank
modulo ``p`` is then a proven lower bound on the rank over :math:`\mathbb Q`.

>>> import numpy as np
>>> rank_mod_p(np.array([[1, 2], [2, 4]]), 7)
1
>>> crt([2, 3], [5, 7])
17
"""

from __future__ import annotations

import math

import numpy as np
from flint import fmpz, fmpz_mat, nmod_mat

from . import modmat

__all__ = [
    "PRIME_BITS", "SMALL_PRIME_BITS", "ENGINE_PRIME_BITS", "random_prime", "random_small_prime",
    "random_engine_prime", "primes_in_range", "failure_bound", "reduce_mod", "nmod_matrix", "rank_mod_p", "det_mod_p",
    "adjugate_mod_p", "inverse_mod_p", "nullspace_mod_p", "pivot_rows", "pivot_cols",
    "crt", "symmetric", "primes_one_mod", "primitive_root_of_unity", "totient", "prime_factors",
    "dft_matrix", "dft_mod", "mod_array", "DFT_PRIME_LIMIT",
]

PRIME_BITS = 62
SMALL_PRIME_BITS = 31
ENGINE_PRIME_BITS = 21


def primes_in_range(bits: int) -> float:
    """A lower bound on the number of primes in ``[2**(bits-1), 2**bits)``."""
    return (1 << (bits - 1)) / (bits * math.log(2)) / 1.1


def _random_prime(rng: np.random.Generator, bits: int) -> int:
    lo = 1 << (bits - 1)
    while True:
        cand = lo + int(rng.integers(0, lo, dtype=np.uint64))
        if fmpz(cand).is_prime():
            return cand


def random_prime(rng: np.random.Generator) -> int:
    """A prime drawn uniformly from the primes in ``[2**61, 2**62)``."""
    return _random_prime(rng, PRIME_BITS)


def random_small_prime(rng: np.random.Generator) -> int:
    """A prime drawn uniformly from the primes in ``[2**30, 2**31)`` (for the GF(p) domain)."""
    return _random_prime(rng, SMALL_PRIME_BITS)


def random_engine_prime(rng: np.random.Generator) -> int:
    """A prime drawn uniformly from the primes in ``[2**20, 2**21)``: the GF(p) engine of the
    certificates, whose products are then single exact float64 BLAS calls. Lower bounds hold for
    any prime; a small prime only makes an unlucky (non-certifying) draw likelier, about ``1/p``
    per degenerate event for matrices that behave like random ones."""
    return _random_prime(rng, ENGINE_PRIME_BITS)


def failure_bound(log2_bound: float, n_primes: int, bits: int = PRIME_BITS) -> float:
    """Probability bound that ``n_primes`` uniform primes of ``bits`` bits all divide a nonzero
    integer of absolute value at most ``2**log2_bound`` (see the module docstring)."""
    per_prime = min(1.0, (max(log2_bound, 0.0) / (bits - 1)) / primes_in_range(bits))
    return per_prime ** max(int(n_primes), 1)


def reduce_mod(arr, p: int) -> np.ndarray:
    """An object array of ``fmpq`` (or ints) reduced modulo ``p`` as int64 in ``[0, p)``."""
    flat = []
    for v in np.asarray(arr, dtype=object).flat:
        num, den = (int(v.p), int(v.q)) if hasattr(v, "q") else (int(v), 1)
        flat.append(num % p * pow(den, -1, p) % p if den != 1 else num % p)
    return np.array(flat, dtype=np.int64).reshape(np.shape(arr))


def nmod_matrix(a, p: int) -> nmod_mat:
    """FLINT ``nmod_mat`` of an int64 (or integer object) array, or an ``fmpz_mat``, modulo ``p``."""
    if isinstance(a, fmpz_mat):
        return nmod_mat(a, p)
    m, n = a.shape
    if not (m and n):
        return nmod_mat(m, n, p)
    return nmod_mat(fmpz_mat(a.tolist()), p)  # measured fastest route from numpy


#: Crossovers (largest dimension) at or below which FLINT's ``nmod_mat`` is used for numpy
#: arrays: converting an array to FLINT costs about 0.15 us per entry (and as much again back),
#: eliminating with :mod:`~exacthess.core.modmat` about 15 us per pivot in Python overhead
#: (``benchmarks/bench_modmat.py --crossover``). Ranks and determinants need no conversion back.
FLINT_RANK_SIZE = 100
FLINT_PIVOT_SIZE = 24
FLINT_INVERSE_SIZE = 40


def _blas(a, p: int, limit: int) -> bool:
    """Whether ``a`` modulo ``p`` goes to :mod:`~exacthess.core.modmat` (a numpy matrix with a
    dimension above ``limit``, and a word prime ``p < 2**31``)."""
    return isinstance(a, np.ndarray) and a.ndim == 2 and 2 < p < modmat.MAX_PRIME and max(a.shape) > limit


def rank_mod_p(a, p: int) -> int:
    """Rank of an integer array (or ``fmpz_mat``) modulo ``p`` (0 for an empty one)."""
    if isinstance(a, fmpz_mat):
        return nmod_mat(a, p).rank() if a.nrows() and a.ncols() else 0
    if _blas(a, p, FLINT_RANK_SIZE):
        return modmat.rank(a, p)
    return nmod_matrix(a, p).rank() if a.size else 0


def _entries(M: nmod_mat) -> np.ndarray:
    return np.array([int(v) for v in M.entries()], dtype=np.int64).reshape(M.nrows(), M.ncols())


def inverse_mod_p(a: np.ndarray, p: int) -> np.ndarray:
    """The inverse of a square integer array modulo ``p`` (it must be invertible), as int64."""
    if _blas(a, p, FLINT_INVERSE_SIZE):
        return modmat.inverse(a, p)
    return _entries(nmod_matrix(np.asarray(a), p).inv())


def nullspace_mod_p(a: np.ndarray, p: int) -> np.ndarray:
    """A basis (columns, int64) of ``{w : a w = 0}`` modulo ``p``: for each non-pivot column ``f``
    the vector with ``w_f = 1``, zero on the other non-pivot columns (FLINT's basis)."""
    T = a.shape[1]
    if _blas(a, p, FLINT_PIVOT_SIZE):
        return modmat.nullspace(a, p)
    if a.shape[0] == 0:
        return np.eye(T, dtype=np.int64)
    K, k = nmod_matrix(np.asarray(a), p).nullspace()
    if k == 0:
        return np.zeros((T, 0), dtype=np.int64)
    return _entries(K)[:, :k]


def det_mod_p(a: np.ndarray, p: int) -> int:
    """Determinant of a square integer array modulo ``p`` (1 for an empty array)."""
    if _blas(a, p, FLINT_RANK_SIZE):
        return modmat.det(a, p)
    return int(nmod_matrix(a, p).det()) if a.size else 1


def adjugate_mod_p(a: np.ndarray, p: int) -> np.ndarray:
    """The adjugate of a square integer array modulo ``p`` (``det(a) a^{-1}``; ``a`` must be
    invertible modulo p)."""
    if _blas(a, p, FLINT_INVERSE_SIZE):
        f = modmat.factor(a, p)
        return f.inverse() * f.det() % p  # < 2**62
    m = nmod_matrix(a, p)
    inv, d = _entries(m.inv()), int(m.det())
    return inv * d % p if p < modmat.MAX_PRIME else (inv.astype(object) * d % p).astype(np.int64)


def pivot_rows(a: np.ndarray, p: int) -> list[int]:
    """Indices of rows of ``a`` forming a basis of its row space modulo p (greedy, in order: the
    row rank profile)."""
    if _blas(a, p, FLINT_PIVOT_SIZE):
        return modmat.pivot_rows(a, p)
    if not a.size:
        return []
    R, k = nmod_matrix(np.ascontiguousarray(a.T), p).rref()
    return [int(np.flatnonzero(row)[0]) for row in _entries(R)[:k]]


def pivot_cols(a: np.ndarray, p: int) -> list[int]:
    """Indices of columns of ``a`` forming a basis of its column space modulo p (greedy, in order)."""
    if _blas(a, p, FLINT_PIVOT_SIZE):
        return modmat.pivot_cols(a, p)
    return pivot_rows(np.ascontiguousarray(a.T), p)


def crt(residues, moduli):
    """The integer in ``[0, prod(moduli))`` with the given residues (pairwise coprime moduli).

    Vectorised: when each residue is a sequence (the residues of many integers modulo one
    modulus, e.g. the coefficients of a polynomial), the result is an object array of Python
    ints, one per position (Garner's recombination, one modular inverse per modulus).

    >>> crt([[2, 1], [3, 0]], [5, 7]).tolist()
    [17, 21]
    """
    vector = len(residues) > 0 and np.ndim(residues[0]) > 0
    x, m = (np.zeros(len(residues[0]), dtype=object) if vector else 0), 1
    for r, q in zip(residues, moduli):
        r = np.array([int(v) for v in r], dtype=object) if vector else int(r)
        t = ((r - x) * pow(m % q, -1, q)) % q
        x = x + m * t
        m *= q
    return x


def symmetric(x, modulus: int):
    """The representative of ``x mod modulus`` in ``(-modulus/2, modulus/2]`` (elementwise for
    an object array of ints)."""
    x = x % modulus
    if isinstance(x, np.ndarray):
        return np.where(x > modulus // 2, x - modulus, x)
    return x - modulus if x > modulus // 2 else x


# ---- primes with roots of unity (exact DFTs) -------------------------------------------------
#: residues stay below this bound so that a DFT of length <= 2048 is an exact float64 product
DFT_PRIME_LIMIT = 1 << 21


def totient(n: int) -> int:
    """Euler's phi."""
    out, m, q = n, n, 2
    while q * q <= m:
        if m % q == 0:
            while m % q == 0:
                m //= q
            out -= out // q
        q += 1
    if m > 1:
        out -= out // m
    return out


def prime_factors(n: int) -> list[int]:
    """The distinct prime factors of ``n``."""
    out, q = [], 2
    while q * q <= n:
        if n % q == 0:
            out.append(q)
            while n % q == 0:
                n //= q
        q += 1
    if n > 1:
        out.append(n)
    return out


def primes_one_mod(L: int, bits: float, limit: int = DFT_PRIME_LIMIT) -> list[int]:
    """Distinct primes ``l = 1 (mod L)``, ``l < limit``, largest first, until their product
    exceeds ``2**bits``."""
    from .errors import ProblemTooLargeError
    out: list[int] = []
    total = 0.0
    j = (limit - 2) // L
    while total <= bits:
        if j < 1:
            raise ProblemTooLargeError(
                f"the exact check needs primes = 1 mod {L} below {limit} whose product exceeds "
                f"2^{bits:.0f}; there are not enough (expected a smaller kernel or input)")
        l = 1 + j * L
        if fmpz(l).is_prime():
            out.append(l)
            total += math.log2(l)
        j -= 1
    return out


def primitive_root_of_unity(L: int, l: int) -> int:
    """An element of exact multiplicative order ``L`` in ``GF(l)`` (``L | l - 1``)."""
    qs = prime_factors(L)
    for g in range(2, l):
        w = pow(g, (l - 1) // L, l)
        if all(pow(w, L // q, l) != 1 for q in qs):
            return w
    raise ArithmeticError(f"no primitive {L}-th root of unity modulo {l}")  # impossible for L | l - 1


def dft_matrix(n: int, omega: int, l: int) -> np.ndarray:
    """``F[u, q] = omega^(u q) mod l`` as float64 (exact small integers)."""
    powers = np.array([pow(omega, e, l) for e in range(n)], dtype=np.int64)
    idx = (np.arange(n)[:, None] * np.arange(n)[None, :]) % n
    return powers[idx].astype(np.float64)


def dft_mod(x: np.ndarray, mats: list[np.ndarray], l: int) -> np.ndarray:
    """Multidimensional DFT mod ``l`` over the last ``len(mats)`` axes of *x* (float64 residues)."""
    d = len(mats)
    y = x
    for a, f in enumerate(mats):
        axis = y.ndim - d + a
        y = np.moveaxis(y, axis, -1)
        y = np.fmod(y @ f.T, l)
        y = np.moveaxis(y, -1, axis)
    return y


def mod_array(values: np.ndarray, l: int) -> np.ndarray:
    """Object array of Python ints reduced mod ``l`` as float64."""
    return np.vectorize(lambda v: int(v) % l, otypes=[np.int64])(values).astype(np.float64)
