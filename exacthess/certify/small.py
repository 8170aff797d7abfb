"""Certified ranks of the small exact matrices that structural bounds are computed from.

>>> import numpy as np
>>> SmallRanks(p=1048573).get("A", np.array([[1, 2], [2, 4]]), mod_p=np.array([[1, 2], [2, 4]]))
1
"""

from __future__ import annotations

from ..core.modular import rank_mod_p
from .rank import integer_matrix, rank

__all__ = ["SmallRanks", "EXACT_RANK_LIMIT"]

#: matrices with at most this many rows or columns are ranked exactly (fraction-free elimination)
EXACT_RANK_LIMIT = 8


class SmallRanks:
    """Certified ranks over Q of small exact matrices, computed once per key.

    A rank is certified, in order of cost:

    1. *full*: the rank modulo the prime ``p`` is ``min(rows, cols)``;
    2. *factors*: the matrix is a product (possibly with rows or columns dropped) of factors
       whose ranks are certified, so its rank is at most the smallest of them; when the rank mod
       ``p`` reaches that, it is certified -- whatever the bit size of the entries;
    3. *exact*: a matrix with at most :data:`EXACT_RANK_LIMIT` rows or columns is ranked by
       fraction-free elimination over the integers (FLINT's ``fmpz_mat.rank``): ``O(k^2 m)`` products
       of entries for ``k = min(rows, cols)``, cheap even when the entries have millions of bits
       (gradients at softmax/sigmoid stand-ins of saturated logits), where Hadamard's bound would
       need a prime per 61 bits of the entries;
    4. *Hadamard* (:func:`exacthess.certify.rank.rank`) on the exact matrix, within the budget.

    :meth:`get` returns the certified rank, or ``None`` when it cannot be certified within the
    budget (then no structural bound may be built from it).
    """

    def __init__(self, seed: int = 0, budget_seconds: float = 60.0, p: int | None = None):
        self.seed, self.budget, self.p = seed, budget_seconds, p
        self._cache: dict = {}
        self.how: dict = {}

    def get(self, key, matrix, *, mod_p=None, factors=()) -> int | None:
        """Certified rank of ``matrix`` (exact; a callable is built only when needed).

        Args:
            mod_p: the same matrix modulo ``self.p`` (array or callable), to avoid exact products.
            factors: ``(key, exact, mod_p)`` triples of matrices whose product contains ``matrix``
                (``rank matrix <= min rank(factor)``).
        """
        if key in self._cache:
            return self._cache[key]
        out = None
        if mod_p is not None and self.p is not None:
            m = mod_p() if callable(mod_p) else mod_p
            lo = rank_mod_p(m, self.p)
            if lo == min(m.shape):
                out, self.how[key] = lo, "full"
            elif factors:
                ub = [self.get(k, e, mod_p=mp) for k, e, mp in factors]
                if all(b is not None for b in ub) and lo == min(ub):
                    out, self.how[key] = lo, "factors"
        if out is None:
            exact = matrix() if callable(matrix) else matrix
            shape = getattr(exact, "shape", None)
            if shape is not None and len(shape) == 2 and min(shape) <= EXACT_RANK_LIMIT:
                out, self.how[key] = int(integer_matrix(exact).rank()), "exact"
                self._cache[key] = out
                return out
            r = rank(exact, seed=self.seed, budget_seconds=self.budget)
            out = r.value if r.certified else None
            self.how[key] = r.method
        self._cache[key] = out
        return out
