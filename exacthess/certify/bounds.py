"""Bounds on a rank, each saying how it is proven.

Every stage of certification returns a :class:`Bound`: a lower bound (the rank of a reduction
modulo a prime), or an upper bound with its proof (a structural identity, a full-rank core,
Hadamard's inequality against a product of primes, or the trivial size bound). A rank is
*certified* when a lower and an upper bound meet.

>>> Bound(3, "upper", "structure", "chain of tensor subspaces").text
'rank <= 3 (structure: chain of tensor subspaces)'
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Bound", "LOWER", "UPPER"]

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
        certificate: for an upper bound, the record the checker verifies
            (:mod:`exacthess.certify.certificate`), or None.
    """

    value: int
    side: str
    stage: str
    how: str
    certificate: object = field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        rel = ">=" if self.side == LOWER else "<="
        return f"rank {rel} {self.value} ({self.stage}: {self.how})"

    def to_dict(self) -> dict:
        return {"value": self.value, "side": self.side, "stage": self.stage, "how": self.how}
