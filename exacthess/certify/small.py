"""Certified ranks of the small named matrices that structural theorems are built from.

>>> import numpy as np
>>> from exacthess.certify.checker import ExplicitSource
>>> SmallRanks(ExplicitSource(np.array([[1, 2], [2, 4]])), p=1048573).get("M").value
1
"""

from __future__ import annotations

from dataclasses import replace

from ..core import modmat
from ..core.modular import pivot_cols, pivot_rows, rank_mod_p
from .certificate import Exact, Minor, RankCertificate, Theorem, Trivial
from .checker import check
from .rank import integer_matrix
from .rank import rank

__all__ = ["SmallRanks", "modular_minor", "EXACT_RANK_LIMIT"]

#: matrices with at most this many rows or columns are ranked by exact elimination (the ``Exact`` record)
EXACT_RANK_LIMIT = 8


def modular_minor(Mp, p: int) -> Minor:
    """A nonsingular minor of an int64 matrix modulo ``p`` of the size of its rank: the row rank
    profile and the column rank profile (a row basis and a column basis meet in a nonsingular
    minor), from one elimination (:func:`exacthess.core.modmat.rank_profiles` for ``p < 2^31``)."""
    if not Mp.size:
        return Minor(prime=p, rows=(), cols=())
    if p < modmat.MAX_PRIME:
        rows, cols = (tuple(int(i) for i in x) for x in modmat.rank_profiles(Mp, p))
    else:
        rows, cols = tuple(pivot_rows(Mp, p)), tuple(pivot_cols(Mp, p))
    return Minor(prime=p, rows=rows, cols=cols)


class SmallRanks:
    """Certified ranks over Q of small matrices named for a matrix source, computed once per name.

    A rank is proposed, in order of cost, as

    1. *full*: the rank modulo ``p`` is ``min(rows, cols)`` (a minor and the trivial bound);
    2. *product*: the matrix is a product of factors (the source's definition,
       ``premise(("factors", name))``) whose ranks are certified, and its rank modulo ``p``
       reaches the smallest of them -- whatever the bit size of the entries;
    3. *exact*: a matrix with at most :data:`EXACT_RANK_LIMIT` rows or columns is ranked by
       fraction-free elimination over the integers (the ``Exact`` record, which the checker
       recomputes): cheap even when the entries have millions of bits (gradients at softmax /
       sigmoid stand-ins of saturated logits), where Hadamard's bound would need a prime per 61
       bits of the entries;
    4. *Hadamard* (:func:`exacthess.certify.rank.rank`) on the exact matrix, within the budget;

    and every proposal is verified by :func:`~exacthess.certify.checker.check` before it is
    used. :meth:`get` returns the checked :class:`~exacthess.certify.certificate.RankCertificate`,
    or None when no certificate could be found or verified (then no structural bound may be built
    from it).
    """

    def __init__(self, source, p: int, seed: int = 0, budget_seconds: float = 60.0):
        self.source, self.p, self.seed, self.budget = source, p, seed, budget_seconds
        self._cache: dict = {}
        self.failures: list = []

    def get(self, name: str, rows=None, cols=None) -> RankCertificate | None:
        """The checked certificate of the rank of ``name[rows, cols]``, or None."""
        key = (name, rows, cols)
        if key in self._cache:
            return self._cache[key]
        src, p = self.source, self.p
        Mp = src.mod(name, p, rows, cols)
        lo = rank_mod_p(Mp, p) if Mp.size else 0
        cert = None
        if lo == min(Mp.shape):
            cert = RankCertificate(matrix=name, value=lo, lower=modular_minor(Mp, p), upper=Trivial(),
                                   rows=rows, cols=cols)
        elif rows is None and cols is None:
            factors = _factors(src, name)
            if factors:
                subs = [self.get(f) for f in factors]
                if all(s is not None for s in subs) and lo == min(s.value for s in subs):
                    cert = RankCertificate(matrix=name, value=lo, lower=modular_minor(Mp, p), rows=rows, cols=cols,
                                           upper=Theorem(name="product", parts=tuple(subs),
                                                         how=f"{name} is a product of " + ", ".join(factors)))
        if cert is None and min(Mp.shape) <= EXACT_RANK_LIMIT:
            cert = RankCertificate(matrix=name, value=exact_rank(src.exact(name, rows, cols)), upper=Exact(),
                                   rows=rows, cols=cols)
        if cert is None:
            r = rank(src.exact(name, rows, cols), seed=self.seed, budget_seconds=self.budget)
            cert = replace(r.certificate, matrix=name, rows=rows, cols=cols) if r.certified else None
        if cert is not None:
            res = check(cert, src)
            if res.failures or not res.certified or res.lower != cert.value:
                self.failures += res.failures
                cert = None
        self._cache[key] = cert
        return cert

    def value(self, name: str, rows=None, cols=None) -> int | None:
        """The certified rank of ``name[rows, cols]``, or None."""
        cert = self.get(name, rows, cols)
        return None if cert is None else cert.value


def exact_rank(A) -> int:
    """Rank over Q by FLINT's fraction-free elimination of the integer-scaled rows."""
    return int(integer_matrix(A).rank()) if min(A.shape) else 0


def _factors(source, name) -> list:
    try:
        return list(source.premise(("factors", name)))
    except KeyError:
        return []
