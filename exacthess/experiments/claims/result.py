"""The result of checking one claim of a source document: its verdict, cases and exact numbers.

Verdicts are :class:`~exacthess.statements.verdicts.Verdict` s, decided by
:func:`~exacthess.statements.verdicts.judge` on the registered statement a claim reports through
(:attr:`ClaimResult.statement_id`) or, for evidence that is not a rank (an exact identity, a
proven exponent), by :func:`~exacthess.statements.verdicts.decided`: the words of ``exacthess
verify`` (``holds``, ``VIOLATED`` for a published claim found false, ``refuted``, ``undecided``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from ...statements.verdicts import Verdict

__all__ = ["ClaimResult", "Case", "combine", "check_cases"]


@dataclass
class Case:
    """One architecture at one exact point.

    Attributes:
        architecture: ``repr`` of the network; spec: ``arch.to_spec()``.
        loss: the loss name; n_samples, seed: the point (the seed actually used: ReLU-type points
            are moved off kinks).
        numbers: exact numbers (ints, bools, rationals as strings) behind the verdict.
        how: how each rank is known (``RankResult.how``).
        verdict: a :class:`~exacthess.statements.verdicts.Verdict` for this case (``holds``,
            ``VIOLATED`` / ``refuted``, ``undecided``); certified: every rank used is.
        command: the command line that reproduces this case (``exacthess verify ...``), if any.
    """

    architecture: str
    spec: dict
    loss: str
    n_samples: int
    seed: int
    numbers: dict
    how: dict
    verdict: Verdict
    certified: bool
    command: str = ""
    note: str = ""

    def to_dict(self) -> dict:
        return {"architecture": self.architecture, "loss": self.loss, "n_samples": self.n_samples, "seed": self.seed,
                "numbers": {k: (v if isinstance(v, (int, bool, float, type(None), list)) else str(v))
                            for k, v in self.numbers.items()},
                "how": dict(self.how), "verdict": str(self.verdict), "certified": self.certified, "command": self.command,
                "note": self.note}


@dataclass
class ClaimResult:
    """The verdict on one claim of a source document.

    Attributes:
        id: e.g. ``"perfect_fit.mse"``.
        statement: the claim in words, with its source key (``[thread]``, ``[skorski2021]``: see
            docs/references.md).
        verdict: a :class:`~exacthess.statements.verdicts.Verdict`: ``holds`` (the property stated
            in ``statement`` is true on every case), ``VIOLATED`` (a claim of the document
            certified false on some case; ``refuted`` for exacthess's own reading) or ``undecided``.
        expected: what the source document claims (``holds``).
        statement_id: the registered statement the claim reports through (``exacthess statements``
            lists it with its citation), the id of the unregistered reading it judges
            (``skorski2021.relu.whole_hessian``), or "" for a study whose claim is not about a rank
            (a minimum with a nonzero output gradient, scaling exponents).
        certified: every rank behind the verdict is certified (norms and identities are exact).
        cases: the :class:`Case` s checked.
        command: the command that reproduces the claim.
        summary: one line with the decisive numbers; notes: what is computed and how.
    """

    id: str
    statement: str
    verdict: Verdict
    expected: Verdict
    certified: bool
    cases: list = field(default_factory=list)
    command: str = ""
    summary: str = ""
    notes: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    statement_id: str = ""

    @property
    def agrees(self) -> bool:
        """Whether the verdict is what the source claims."""
        return self.verdict == self.expected

    def __str__(self) -> str:
        """A few readable lines (the dataclass ``repr`` lists every case and number)."""
        lines = [f"{self.id}: {self.verdict} (the source: {self.expected}){'' if self.certified else ', not certified'}",
                 f"  {self.statement}"]
        if self.summary:
            lines.append(f"  {self.summary}")
        lines += [f"  note: {n}" for n in self.notes]
        if self.command:
            lines.append(f"  reproduce: {self.command}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"id": self.id, "statement": self.statement, "statement_id": self.statement_id,
                "verdict": str(self.verdict), "expected": str(self.expected),
                "agrees": self.agrees, "certified": self.certified, "summary": self.summary, "command": self.command,
                "notes": list(self.notes), "cases": [c.to_dict() for c in self.cases], **self.extra}


def combine(cases, *, all_must_hold: bool = True) -> tuple[Verdict, bool]:
    """``(verdict, certified)`` of a claim from its cases' verdicts.

    ``all_must_hold``: the claim is universal (holds iff every case holds; one certified false
    case makes it false, with that case's word). Otherwise it is existential (holds iff some case
    holds, certified)."""
    verdicts = [Verdict(c.verdict) for c in cases]
    false = next((v for v in verdicts if v.is_false), None)
    if all_must_hold:
        if false is not None:
            return false, True
        if Verdict.UNDECIDED in verdicts or Verdict.NA in verdicts:  # n/a: a case that checked nothing
            return Verdict.UNDECIDED, False
        return Verdict.HOLDS, all(c.certified for c in cases)
    if Verdict.HOLDS in verdicts:
        return Verdict.HOLDS, True
    if Verdict.UNDECIDED in verdicts:
        return Verdict.UNDECIDED, False
    return false or Verdict.VIOLATED, all(c.certified for c in cases)


def with_progress(fn):
    """A claim function whose ``progress`` is ``"auto"`` by default: a live display of its cases in a
    terminal or a notebook, nothing otherwise; True, False, None or a callable as everywhere
    (:mod:`exacthess.core.progress`). The function itself receives a callable or None."""
    @functools.wraps(fn)
    def run(*args, progress="auto", **kwargs):
        from ...core.progress import check_progress as check, open_progress
        check(progress)
        with open_progress(progress, f"the claim {fn.__name__}") as channel:
            return fn(*args, progress=channel if channel else None, **kwargs)
    return run


def check_cases(archs, default, *, n_samples=None, seed=0, progress=None, out=None) -> list:
    """Validate the common options of a claim function and return the architectures to run.

    ``archs``: None (``default()``) or a non-empty list of architectures; ``n_samples``, ``seed``,
    ``progress`` and ``out`` (a folder for plots, or None) as everywhere. Each case's exact
    matrices are sized first (:func:`~exacthess.hessian.cost.require_fits`): a claim works on
    the explicit ``p x p`` matrices over Q.
    """
    import os
    from ...core.errors import InvalidTypeError, InvalidValueError, describe
    from ...core.validate import check_progress, check_samples, check_seed
    from ...hessian.cost import gap_cost, require_fits
    from ...models.architectures import Architecture, check_architecture
    check_seed(seed)
    n = check_samples(n_samples)
    check_progress(progress)
    if out is not None and not isinstance(out, (str, os.PathLike)):
        raise InvalidTypeError(f"out = {describe(out)} has type {type(out).__name__}; expected a folder path or None")
    if archs is None:
        return default()
    if isinstance(archs, (Architecture, str, bytes, dict)) or not hasattr(archs, "__iter__"):
        raise InvalidTypeError(f"archs = {describe(archs)} has type {type(archs).__name__}; expected a list of "
                               "architectures (FCN(...), CNN(...)) or None")
    archs = [check_architecture(a, f"archs[{i}]") for i, a in enumerate(archs)]
    if not archs:
        raise InvalidValueError("archs = [] is empty; expected at least one architecture (or None for the defaults)")
    for a in archs:
        require_fits(gap_cost(a, n or 2 * a.input_dim))
    return archs
