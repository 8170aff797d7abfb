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

from ..core import modmat
from .kernel import ExplicitSource
from .nullspace import kernel_certificate, modular_first, word_prime
from .pipeline import Certifier
from .rank import RankResult

__all__ = ["symmetric_rank", "kernel_rank"]


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
    M = np.asarray(M, dtype=object)
    return kernel_rank(Certifier(source=ExplicitSource(M, name), seed=seed, budget_seconds=budget_seconds,
                                 progress=progress), name)


def kernel_rank(certifier: Certifier, name: str) -> RankResult:
    """The certified rank of the symmetric matrix ``name`` of ``certifier.source``: the kernel proposal
    (:func:`~exacthess.certify.nullspace.kernel_certificate`, at any size), checked; the pipeline's dense
    stage (Hadamard's argument) when it does not verify."""
    say = certifier.progress or (lambda msg: None)
    t0 = time.perf_counter()
    p, Mp = modular_first(certifier.source, name, certifier.seed)
    M = None
    if Mp is None or modmat.rank(Mp, p) < Mp.shape[0]:  # not of full rank modulo p: the kernel over Q
        M = np.asarray(certifier.source.exact(name), dtype=object)
        if Mp is None:
            p, Mp = word_prime(M, certifier.seed)
    say(f"{name}: a core modulo a prime" + ("" if M is None else " and the kernel over Q"))
    try:
        cert = kernel_certificate(M, name, p, Mp)
    except ZeroDivisionError:  # a core singular over Q (cannot happen for one nonsingular mod p)
        return certifier.dense(name, name)
    res = certifier.accept(name, cert, t0, (p,))
    if res.certified:
        return res
    say(f"{name}: the proposed kernel did not verify ({'; '.join(res.failures)}); Hadamard's argument")
    return certifier.dense(name, name, dropped=res.failures)
