r"""Certified ranks of explicit symmetric matrices over Q: a kernel and a core.

For a symmetric rational matrix :math:`M` (``n x n``), a prime ``p`` gives the row rank profile
``I`` of :math:`M \bmod p` (``|I| = r_p``, a lower bound on the rank). The proposal is

* the core :math:`M[I, I]`, nonsingular modulo ``p`` (so :math:`\mathrm{rank}\,M \ge r_p`), and
* for each coordinate ``j`` outside ``I``, the vector :math:`v_j` with :math:`v_j[j] = 1`,
  :math:`v_j[I] = -M[I, I]^{-1} M[I, j]` (solved over Q), zero elsewhere.

If every :math:`M v_j = 0` exactly, the :math:`n - r_p` vectors are independent (their pivots form
an identity) and :math:`\mathrm{rank}\,M \le r_p`: the rank is certified. The record is a
:class:`~exacthess.certify.certificate.NullVectors` with its core, verified by
:func:`~exacthess.certify.checker.check` (which recomputes :math:`M v_j` itself) before anything is
reported; when ``p`` was unlucky (:math:`r_p` below the rank) the vectors fail the check and
Hadamard's argument (:func:`~exacthess.certify.rank.rank`) decides instead.

>>> import numpy as np
>>> r = symmetric_rank(np.array([[2, 1, 3], [1, 1, 2], [3, 2, 5]]))
>>> r.value, r.certified
(2, True)
"""

from __future__ import annotations

import time

import numpy as np
from flint import fmpq, fmpq_mat, fmpz

from ..core import modmat
from ..core.modular import reduce_mod
from .certificate import Minor, NullBlock, NullVectors, RankCertificate, Trivial
from .kernel import ExplicitSource
from .pipeline import Certifier
from .rank import RankResult

__all__ = ["symmetric_rank"]


def _prime(rng, M) -> tuple[int, np.ndarray]:
    while True:
        p = int(rng.integers(1 << 30, 1 << 31)) | 1
        if not fmpz(p).is_prime():
            continue
        try:
            return p, np.asarray(reduce_mod(M, p), dtype=np.int64)
        except ZeroDivisionError:  # p divides a denominator: another prime
            continue


def symmetric_rank(M, *, name: str = "M", seed: int = 0, budget_seconds: float = 60.0, progress=None) -> RankResult:
    """The certified rank of a symmetric matrix of exact rationals (see the module doc).

    Args:
        M: a square symmetric array of ``fmpq`` (or integers).
        name: how messages and the certificate name the matrix.
        seed: seed of the prime.
        budget_seconds: the budget of the fallback (Hadamard's argument) when the proposal fails.
        progress: optional callable receiving short messages.

    Returns:
        a :class:`~exacthess.certify.rank.RankResult` whose certificate the checker verified.
    """
    say = progress or (lambda msg: None)
    M = np.asarray(M, dtype=object)
    source = ExplicitSource(M, name)
    certifier = Certifier(source=source, seed=seed, budget_seconds=budget_seconds, progress=progress)
    n = M.shape[0]
    t0 = time.perf_counter()
    p, Mp = _prime(np.random.default_rng([seed, 11]), M)
    rows, _ = modmat.rank_profiles(Mp, p) if n else ([], [])
    I = [int(i) for i in rows]
    r = len(I)
    core = RankCertificate(matrix=name, value=r, rows=tuple(I), cols=tuple(I),
                           lower=Minor(prime=p, rows=tuple(range(r)), cols=tuple(range(r))), upper=Trivial())
    if r == n:
        cert = RankCertificate(matrix=name, value=r, lower=Minor(prime=p, rows=tuple(I), cols=tuple(I)),
                               upper=Trivial())
        return certifier.accept(name, cert, t0, (p,))
    free = [j for j in range(n) if j not in set(I)]
    say(f"{name}: {n - r} null vectors over Q from the {r} x {r} core")
    V = np.empty((n, len(free)), dtype=object)
    V[:] = fmpq(0)
    V[free, range(len(free))] = fmpq(1)
    if r:
        A = fmpq_mat(r, r, [fmpq(v) for v in M[np.ix_(I, I)].ravel()])
        B = fmpq_mat(r, len(free), [-fmpq(v) for v in M[np.ix_(I, free)].ravel()])
        try:
            X = A.solve(B)
        except ZeroDivisionError:  # cannot happen for a core nonsingular mod p; fall back all the same
            return certifier.dense(name, name)
        V[I, :] = np.array(X.entries(), dtype=object).reshape(r, len(free))
    upper = NullVectors(prime=p, blocks=(NullBlock(rows=tuple(range(n)), vectors=V),), pivots=tuple(free),
                        core=core, how="the kernel solved over Q from a core nonsingular modulo a prime")
    cert = RankCertificate(matrix=name, value=r, lower=Minor(prime=p, rows=tuple(I), cols=tuple(I)), upper=upper)
    res = certifier.accept(name, cert, t0, (p,))
    if res.certified:
        return res
    say(f"{name}: the proposed kernel did not verify ({'; '.join(res.failures)}); Hadamard's argument")
    return certifier.dense(name, name, dropped=res.failures)
