r"""The kernel of a symmetric matrix over Q, proposed from a core modulo a prime.

For a symmetric rational matrix :math:`M` (``n x n``) and a prime ``p``, ``I`` = the row rank
profile of :math:`M \bmod p`; the proposal is the core :math:`M[I, I]` (nonsingular modulo ``p``)
and, for each ``j`` outside ``I``, :math:`v_j` with :math:`v_j[j] = 1`,
:math:`v_j[I] = -M[I, I]^{-1} M[I, j]` over Q. The checker verifies :math:`M v_j = 0` exactly and
the core modulo ``p``; then :math:`\mathrm{rank}\,M = |I|` (see :mod:`exacthess.certify.explicit`).
A proposer only: it certifies nothing by itself.
"""

from __future__ import annotations

import numpy as np
from flint import fmpq, fmpq_mat, fmpz

from ..core import modmat
from ..core.modular import reduce_mod
from .certificate import Minor, NullBlock, NullVectors, RankCertificate, Trivial

__all__ = ["kernel_certificate", "word_prime", "modular_first", "KERNEL_LIMIT", "KERNEL_BITS"]

#: the certification pipeline proposes a kernel over Q for symmetric matrices up to this size ...
KERNEL_LIMIT = 600
#: ... whose entries have numerators and denominators of at most this many bits
KERNEL_BITS = 512


def _prime(seed: int, reduce, tries: int | None = None) -> tuple[int, np.ndarray | None]:
    """The first random prime ``2^30 < p < 2^31`` of ``seed``'s stream at which ``reduce(p)`` (a matrix modulo
    ``p``) does not raise ZeroDivisionError (``p`` divides a denominator), and that matrix; ``(0, None)``
    after ``tries`` such primes (None: no limit)."""
    rng = np.random.default_rng([seed, 11])
    while tries is None or tries > 0:
        p = int(rng.integers(1 << 30, 1 << 31)) | 1
        if not fmpz(p).is_prime():
            continue
        try:
            return p, np.asarray(reduce(p), dtype=np.int64)
        except ZeroDivisionError:  # p divides a denominator: another prime
            if tries is not None:
                tries -= 1
    return 0, None


def kernel_certificate(M, name: str, p: int, Mp) -> RankCertificate:
    """The proposal of the module doc for the exact symmetric ``M`` (``Mp``: ``M`` modulo the word prime
    ``p``): a core nonsingular modulo ``p`` and the kernel solved over Q from it (unchecked). ``M`` may be
    None when ``Mp`` has full rank (the core is the whole matrix: no kernel to solve)."""
    n = Mp.shape[0]
    rows, _ = modmat.rank_profiles(Mp, p) if n else ([], [])
    I = [int(i) for i in rows]
    r = len(I)
    lower = Minor(prime=p, rows=tuple(I), cols=tuple(I))
    if r == n:
        return RankCertificate(matrix=name, value=r, lower=lower, upper=Trivial())
    free = [j for j in range(n) if j not in set(I)]
    V = np.empty((n, len(free)), dtype=object)
    V[:] = fmpq(0)
    V[free, range(len(free))] = fmpq(1)
    if r:
        A = fmpq_mat(r, r, [fmpq(v) for v in M[np.ix_(I, I)].ravel()])
        B = fmpq_mat(r, len(free), [-fmpq(v) for v in M[np.ix_(I, free)].ravel()])
        V[I, :] = np.array(A.solve(B).entries(), dtype=object).reshape(r, len(free))
    core = RankCertificate(matrix=name, value=r, rows=tuple(I), cols=tuple(I),
                           lower=Minor(prime=p, rows=tuple(range(r)), cols=tuple(range(r))), upper=Trivial())
    upper = NullVectors(prime=p, blocks=(NullBlock(rows=tuple(range(n)), vectors=V),), pivots=tuple(free),
                        core=core, how="the kernel solved over Q from a core nonsingular modulo a prime")
    return RankCertificate(matrix=name, value=r, lower=lower, upper=upper)


def modular_first(source, name: str, seed: int = 0, tries: int = 4) -> tuple[int, np.ndarray | None]:
    """The word prime :func:`word_prime` would draw, and the matrix ``name`` of ``source`` modulo it,
    computed by the source without the exact matrix (``(0, None)`` when the point's denominators defeat
    ``tries`` primes: then the caller goes through the exact matrix)."""
    return _prime(seed, lambda p: source.mod(name, p), tries)


def word_prime(M, seed: int = 0) -> tuple[int, np.ndarray]:
    """A random prime ``2^30 < p < 2^31`` dividing no denominator of ``M``, and ``M`` modulo it."""
    return _prime(seed, lambda p: reduce_mod(M, p))
