r"""Verdict rules: how one statement is judged against one certified rank and one prediction.

Every verdict of exacthess is decided here, from proven bounds only:

* ``holds`` -- the proven bounds on the rank (and on the prediction) show the statement true
  at this point;
* ``VIOLATED`` -- a published or proven statement (:attr:`Kind.binding`) is false;
* ``refuted`` -- a conjecture or a derived statement is false;
* ``undecided`` -- the proven bounds do not decide it; the note says which bound is missing
  (e.g. ``needs an upper bound: rank H_f known in [40, 42], predicted 40``);
* ``n/a`` -- the statement's condition does not hold; the note says why.

A rank modulo a prime is a proven *lower* bound; an *upper* bound needs a certificate
(:class:`exacthess.certify.rank.RankResult` carries both). When the prediction itself is
computed from ranks (e.g. ``rank H_o + rank H_f``), it is evaluated at their lower and at their
upper bounds, giving a proven interval ``[a, b]`` (every such prediction is increasing in the
ranks it uses).

**Generic statements.** An equality about generic parameters (``Statement.generic``) says that
the *generic rank* ``rho`` -- the largest rank over all points, attained outside a proper
algebraic subset -- equals the prediction. The rank at any point is at most ``rho`` (every
minor larger than ``rho`` vanishes identically), so

* a rank **above** the prediction at any point proves the statement false;
* a rank **below** it at the user's point refutes nothing: the point may be degenerate (a zero
  weight, say) or the formula wrong. exacthess then evaluates the Hessian at independent random
  points modulo random primes (:mod:`exacthess.verification.sampler`). A rank modulo ``p`` at a
  random point is a proven lower bound on ``rho``: if one reaches the prediction, the statement
  holds generically and the point is degenerate (``holds``). If none does, a proven generic
  upper bound below the prediction (a registered bound with ``generic_bound``) proves it false;
  without one the verdict stays ``undecided`` and carries the Schwartz--Zippel probability
  that the generic rank reaches the prediction although every random point fell short
  (``failure_bound``): exacthess never states a refutation that is only probable.

>>> from types import SimpleNamespace as NS
>>> from exacthess.statements.registry import Statement
>>> st = Statement(id="demo", quantity="H_f", kind="proven upper bound", relation="<=", formula="40",
...                condition="", citation="", predict=lambda ctx: 40)
>>> judge(st, "H_f", NS(lower=40, upper=42), 40).note
'needs an upper bound: rank H_f known in [40, 42], predicted <= 40'
>>> judge(st, "H_f", NS(lower=40, upper=40), 40).verdict.value
'holds'

**One rule.** :func:`judge` is the only place where a proven rank interval meets a prediction:
``exacthess verify`` (ranks at a point), ``prove_generic`` (proven bounds on the generic rank,
``generic_rank=True``) and the source documents' claims (:mod:`exacthess.claims`) all call it,
and :func:`prediction` is the one way a prediction is evaluated from rank bounds. A study whose
evidence is not a rank (an exact norm, a proven exponent) turns its proven truth value into a
verdict with :func:`decided`, so every verdict uses the same five words.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Callable

from .registry import Context, Relation, Statement

__all__ = ["Verdict", "Judgement", "GenericEvidence", "GenericBound", "RankBounds", "judge", "decided", "prediction", "bounded",
           "exit_code", "EXIT_CODES"]


class Verdict(str, Enum):
    """The verdict of one statement at one point."""

    HOLDS = "holds"
    VIOLATED = "VIOLATED"
    REFUTED = "refuted"
    UNDECIDED = "undecided"
    NA = "n/a"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def false_for(cls, stmt: Statement) -> Verdict:
        """The word for ``stmt`` proven false: ``VIOLATED`` when it is binding (published or
        proven), else ``refuted``."""
        return cls.VIOLATED if stmt.binding else cls.REFUTED

    @property
    def is_false(self) -> bool:
        """``VIOLATED`` or ``refuted``."""
        return self in (Verdict.VIOLATED, Verdict.REFUTED)


#: exit codes of ``exacthess verify`` (``2`` is bad input, raised before any verdict)
EXIT_CODES = {"decided and holding": 0, "violated or refuted": 1, "bad input": 2, "undecided": 3}


@dataclass(frozen=True)
class Judgement:
    """A verdict, the one-line reason, and (for undecided generic refutations) a probability.

    ``failure_bound`` is nonzero only for an ``undecided`` generic statement whose random
    points all fell short: the probability that the generic rank nevertheless reaches the
    prediction."""

    verdict: Verdict
    note: str = ""
    failure_bound: float = 0.0


@dataclass(frozen=True)
class GenericEvidence:
    """Ranks at independent random points modulo random primes.

    Attributes:
        lower: the largest rank seen: a proven lower bound on the generic rank.
        points: how many random points were evaluated.
        target: the value the points tried to reach (they stop once one reaches it).
        failure_bound: when ``lower < target``: an upper bound on the probability that the
            generic rank is ``>= target`` although every point fell short (Schwartz--Zippel
            and the chance that a prime divides the minor's value; see
            :mod:`exacthess.verification.sampler`).
        how: one line: primes, degree bound.
        upper: a proven upper bound on the generic rank (null vectors proven in a polynomial ring,
            :func:`exacthess.generic_rank`), or None when none is available.
        upper_how: how ``upper`` is known.
    """

    lower: int
    points: int
    target: int
    failure_bound: float
    how: str = ""
    upper: int | None = None
    upper_how: str = ""


@dataclass(frozen=True)
class GenericBound:
    """A proven upper bound on the generic rank: ``value``, from statement ``source``."""

    value: int
    source: str


def _interval(prediction) -> tuple[int, int]:
    if isinstance(prediction, tuple):
        return int(prediction[0]), int(prediction[1])
    return int(prediction), int(prediction)


def _pred_text(a: int, b: int, rel: str = "") -> str:
    return f"{rel}{a}" if a == b else f"{rel}{a}..{b} (from ranks not certified)"


def _known(quantity: str, lo: int, hi: int) -> str:
    return f"rank {quantity} = {lo}" if lo == hi else f"rank {quantity} known in [{lo}, {hi}]"


def bounded(ctx: Context, info: dict) -> tuple[Context, Context]:
    """``ctx`` with every rank of ``info`` (objects with ``lower`` and ``upper``) at its proven
    lower and at its proven upper bound: the two contexts of :func:`prediction`."""
    return (replace(ctx, ranks={k: v.lower for k, v in info.items()}),
            replace(ctx, ranks={k: v.upper for k, v in info.items()}))


def prediction(stmt: Statement, low: Context, high: Context, layer=None):
    """The prediction of ``stmt``, or a proven interval when the contexts differ.

    ``low`` and ``high`` are the statement's context with every rank it may use at its proven
    lower and at its proven upper bound. Every registered prediction is non-decreasing in those
    ranks, so the two values bracket the true prediction.

    Returns:
        an int when both agree, else ``(min, max)``.
    """
    def at(ctx):
        return stmt.predict(ctx, layer) if layer is not None else stmt.predict(ctx)
    a, b = at(low), at(high)
    return a if a == b else (min(a, b), max(a, b))


def decided(true: bool | None, *, binding: bool = True, note: str = "") -> Judgement:
    """The verdict on a claim whose truth is known otherwise than from a rank interval.

    For the source documents' claims whose evidence is an exact identity or a proven exponent
    (:mod:`exacthess.claims`): ``true`` is True (``holds``), False (``VIOLATED`` when the claim is
    ``binding``, published or proven, else ``refuted``) or None (``undecided``)."""
    if true is None:
        return Judgement(Verdict.UNDECIDED, note)
    return Judgement(Verdict.HOLDS if true else Verdict.VIOLATED if binding else Verdict.REFUTED, note)


@dataclass(frozen=True)
class RankBounds:
    """A proven interval ``[lower, upper]`` for a rank, for :func:`judge` when no
    :class:`~exacthess.certify.rank.RankResult` is at hand (a rank known from an exact norm:
    ``0`` iff the norm is ``0``)."""

    lower: int
    upper: int

    @classmethod
    def of_norm(cls, fro2, size: int) -> RankBounds:
        """The rank of a matrix with squared Frobenius norm ``fro2`` and ``size`` columns:
        ``[0, 0]`` when the norm is 0, else ``[1, size]``."""
        return cls(0, 0) if fro2 == 0 else cls(1, size)


def judge(stmt: Statement, quantity: str, rank, prediction, *, why_not: str | None = None,
          evidence: Callable[[int], GenericEvidence] | None = None,
          generic_upper: GenericBound | None = None, uncertain_inputs: str | None = None,
          generic_rank: bool = False) -> Judgement:
    """Judge ``stmt`` at one point.

    Args:
        stmt: the statement.
        quantity: the quantity of this row (``"H_f[:,2]"`` for a block-column statement).
        rank: the rank's proven bounds (an object with ``lower`` and ``upper``, e.g. a
            :class:`~exacthess.certify.rank.RankResult`).
        prediction: the predicted value, or a proven interval ``(a, b)`` when it is computed
            from uncertified ranks.
        why_not: the statement's condition fails (``n/a``) for this reason.
        evidence: for generic statements: ``target -> GenericEvidence`` (ranks at random
            points modulo primes), called only when the rank at this point is below the
            prediction.
        generic_upper: the smallest proven upper bound on the generic rank, if any.
        uncertain_inputs: the prediction uses a quantity of the data (``r``, ``s``, ...) that is
            not certified: nothing can be decided.
        generic_rank: ``rank`` bounds the generic rank itself (:func:`exacthess.generic.prove_generic`),
            not the rank at one point: a generic statement is then judged like any other, by
            the interval rule (a rank below the prediction refutes it).

    Returns:
        a :class:`Judgement`.
    """
    if why_not is not None:
        return Judgement(Verdict.NA, why_not)
    false = Verdict.false_for(stmt)
    lo, hi = int(rank.lower), int(rank.upper)
    a, b = _interval(prediction)
    if uncertain_inputs:
        return Judgement(Verdict.UNDECIDED, f"needs certified {uncertain_inputs}: the prediction uses them")
    if stmt.relation == Relation.LE:
        if hi <= a:
            return Judgement(Verdict.HOLDS)
        if lo > b:
            return Judgement(false, f"rank {quantity} >= {lo} > {b}")
        need = "an upper bound" if a == b else "upper bounds"
        return Judgement(Verdict.UNDECIDED, f"needs {need}: {_known(quantity, lo, hi)}, predicted {_pred_text(a, b, '<= ')}")
    if stmt.generic and not generic_rank:
        return _judge_generic(stmt, quantity, lo, hi, a, b, false, evidence, generic_upper)
    if lo == hi == a == b:
        return Judgement(Verdict.HOLDS)
    if lo > b:
        return Judgement(false, f"rank {quantity} >= {lo} > predicted {b}")
    if hi < a:
        return Judgement(false, f"rank {quantity} <= {hi} < predicted {a}")
    if a != b:
        need = "upper bounds"
    elif a == lo:
        need = "an upper bound"
    elif a == hi:
        need = "a better lower bound"
    else:
        need = "the exact rank"
    return Judgement(Verdict.UNDECIDED, f"needs {need}: {_known(quantity, lo, hi)}, predicted {_pred_text(a, b)}")


def _judge_generic(stmt, quantity, lo, hi, a, b, false, evidence, generic_upper) -> Judgement:
    if a != b:  # generic predictions depend on the architecture and data only
        return Judgement(Verdict.UNDECIDED, f"needs upper bounds: {_known(quantity, lo, hi)}, predicted {_pred_text(a, b)}")
    pred = a
    if lo > pred:
        return Judgement(false, f"above the generic value: rank {quantity} >= {lo} > {pred} at this point, "
                                "and no point has a rank above the generic rank")
    if lo == hi == pred:
        return Judgement(Verdict.HOLDS)
    if hi > pred:
        return Judgement(Verdict.UNDECIDED, f"needs an upper bound: {_known(quantity, lo, hi)}, predicted {pred}")
    here = f"{_known(quantity, lo, hi)} < {pred}" if hi < pred else f"{_known(quantity, lo, hi)}, predicted {pred}"
    below = f"below the generic value ({here}): this point is degenerate, or the formula is wrong"
    if evidence is None:
        return Judgement(Verdict.UNDECIDED, below + "; no random points evaluated")
    ev = evidence(pred)
    if ev.lower > pred:
        return Judgement(false, f"the generic rank is >= {ev.lower} > {pred}: rank at a random point modulo a prime "
                                f"({ev.how})")
    if ev.lower == pred:
        upper = (ev.upper_how if ev.upper is not None and ev.upper <= pred else
                 f"the proven bound {generic_upper.source}" if generic_upper is not None and generic_upper.value <= pred
                 else None)
        if upper is not None:
            return Judgement(Verdict.HOLDS, f"below the generic value here ({here}): a degenerate point; the generic "
                                            f"rank is {pred}: >= by a random point ({ev.how}), <= by {upper}")
        return Judgement(Verdict.UNDECIDED, f"below the generic value here ({here}): a degenerate point, or the formula "
                                            f"is too low: the generic rank is >= {pred} (a random point, {ev.how}); "
                                            "= needs a generic upper bound (`exacthess prove generic` for linear "
                                            "networks)")
    if generic_upper is not None and generic_upper.value < pred:
        return Judgement(false, f"{below.split(':')[0]}; the generic rank is <= {generic_upper.value} < {pred} "
                                f"by the proven bound {generic_upper.source}")
    if ev.upper is not None and ev.upper < pred:
        return Judgement(false, f"{below.split(':')[0]}; the generic rank is <= {ev.upper} < {pred} by {ev.upper_how}")
    return Judgement(Verdict.UNDECIDED,
                     f"{below}; {ev.points} random points modulo primes reach only {ev.lower}: the generic rank is "
                     f"below {pred} except with probability <= {ev.failure_bound:.1e} (Schwartz-Zippel; {ev.how}); "
                     "a proof needs a generic upper bound", ev.failure_bound)


def exit_code(verdicts) -> int:
    """``1`` if a statement is violated or refuted, else ``3`` if one is undecided, else ``0``."""
    vs = {Verdict(v) for v in verdicts}
    if vs & {Verdict.VIOLATED, Verdict.REFUTED}:
        return 1
    return 3 if Verdict.UNDECIDED in vs else 0
