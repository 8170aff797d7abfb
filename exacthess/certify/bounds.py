"""Bounds on a rank, each saying how it is proven.

Every stage of certification returns a :class:`Bound`: a lower bound (the rank of a reduction
modulo a prime), or an upper bound with its proof (a structural identity, a full-rank core,
Hadamard's inequality against a product of primes, or the trivial size bound). A rank is
*certified* when a lower and an upper bound meet. :class:`SmallRanks` certifies the ranks of
the small matrices that structural bounds are computed from.

>>> Bound(3, "upper", "structure", "chain of tensor subspaces").text
'rank <= 3 (structure: chain of tensor subspaces)'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Bound", "SmallRanks", "LOWER", "UPPER"]

LOWER, UPPER = "lower", "upper"


@dataclass(frozen=True)
class Bound:
    """A proven bound on a rank.

    Attributes:
        value: the bound.
        side: ``"lower"`` or ``"upper"``.
        stage: which stage proved it: ``"mod p"``, ``"trivial"``, ``"zero"``, ``"structure"``,
            ``"core"``, ``"hadamard"`` or ``"caller"`` (supplied with its own proof).
        how: one line saying why it holds.
    """

    value: int
    side: str
    stage: str
    how: str

    @property
    def text(self) -> str:
        rel = ">=" if self.side == LOWER else "<="
        return f"rank {rel} {self.value} ({self.stage}: {self.how})"

    def to_dict(self) -> dict:
        return {"value": self.value, "side": self.side, "stage": self.stage, "how": self.how}


class SmallRanks:
    """Certified ranks over Q of small exact matrices, computed once per key.

    :meth:`get` returns the certified rank, or ``None`` when it cannot be certified within the
    budget (then no structural bound may be built from it).
    """

    def __init__(self, seed: int = 0, budget_seconds: float = 60.0):
        self.seed, self.budget = seed, budget_seconds
        self._cache: dict = {}

    def get(self, key, matrix) -> int | None:
        """Certified rank of ``matrix`` (or of ``matrix()`` when callable: built only once)."""
        if key not in self._cache:
            from .rank import rank
            r = rank(matrix() if callable(matrix) else matrix, seed=self.seed, budget_seconds=self.budget)
            self._cache[key] = r.value if r.certified else None
        return self._cache[key]

    def get_all(self, items) -> list | None:
        """Certified ranks of ``(key, matrix)`` pairs, or None if any is not certified."""
        out = []
        for key, mat in items:
            r = self.get(key, mat)
            if r is None:
                return None
            out.append(r)
        return out
