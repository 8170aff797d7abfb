"""The result of a rank computation: the rank, its proven bounds, how they are known, the certificate.

>>> RankResult(value=2, lower=2, upper=2, certified=True, method="full", shape=(2, 3)).how
'certified: full rank mod p'
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["RankResult", "named"]


@dataclass(frozen=True, kw_only=True)
class RankResult:
    """The rank of a rational matrix and how it is known (built by keyword; :func:`dataclasses.replace`
    derives one from another).

    Attributes:
        value: the rank (exact when ``certified``; otherwise the best lower bound, which is
            the true rank except with probability at most ``failure_bound``).
        lower: proven lower bound.
        upper: proven upper bound.
        certified: ``lower == upper``.
        method: how the upper bound was proven (``full``, ``zero``, ``hadamard``,
            ``certificate: ...``) or ``probabilistic``.
        shape: matrix shape.
        primes: the primes whose modular ranks were computed.
        failure_bound: for uncertified results, an upper bound on the probability that
            ``value`` is wrong; ``0.0`` when certified.
        seconds: wall time spent.
        bounds: the :class:`~exacthess.certify.bounds.Bound` objects behind ``lower`` and
            ``upper`` (which stage proved each, and how).
        certificate: the :class:`~exacthess.certify.certificate.RankCertificate` that was checked
            (``exacthess check`` verifies it again from a saved report), or None.
        failures: what did not verify when it was checked (a proposal that was dropped), one line each.
        why: for uncertified results, why the upper bound is missing and what would prove it
            (e.g. the primes Hadamard's bound needs against ``budget_seconds``); ``""`` otherwise.
    """

    value: int
    lower: int
    upper: int
    certified: bool
    method: str
    shape: tuple
    primes: tuple = field(default=(), repr=False)
    failure_bound: float = 0.0
    seconds: float = 0.0
    bounds: tuple = field(default=(), repr=False)
    certificate: object = field(default=None, repr=False, compare=False)
    failures: tuple = field(default=(), repr=False, compare=False)
    why: str = field(default="", repr=False, compare=False)

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    @property
    def how(self) -> str:
        """One-line description of how the rank is known."""
        if self.certified:
            if self.method == "full":
                return "certified: full rank mod p"
            if self.method == "zero":
                return "certified: zero matrix"
            if self.method == "hadamard":
                return f"certified: {len(self.primes)} primes > Hadamard bound"
            return "certified: " + self.method.removeprefix("certificate: ")
        return (f"probabilistic: proven {self.lower} <= rank <= {self.upper}; "
                f"P(rank != {self.value}) <= {self.failure_bound:.1e}" + (f"; {self.why}" if self.why else ""))

    def to_dict(self) -> dict:
        return {"value": self.value, "lower": self.lower, "upper": self.upper,
                "certified": self.certified, "method": self.method,
                "how": self.how, "n_primes": len(self.primes),
                "failure_bound": self.failure_bound, "shape": list(self.shape),
                "bounds": [b.to_dict() for b in self.bounds], "failures": list(self.failures), "why": self.why}


def named(result: RankResult, name: str, rows=None, cols=None) -> RankResult:
    """``result`` (of :func:`rank` on an explicit matrix) with its certificate about the matrix source's
    ``name[rows, cols]`` -- the same matrix, so that a saved report can be checked again."""
    if result.certificate is None:
        return result
    return replace(result, certificate=replace(result.certificate, matrix=name, rows=rows, cols=cols))
