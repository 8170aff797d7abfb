"""The :class:`Report` returned by :func:`exacthess.verify`.

Rendering (rich tables, plain text) lives in :mod:`exacthess.cli.render`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..certify.certificate import to_data
from ..statements.verdicts import Verdict, exit_code

__all__ = ["Row", "Report"]


@dataclass(kw_only=True)
class Row:
    """One statement checked against one exact rank (built by keyword, once: no field is patched after).

    ``verdict`` is a :class:`~exacthess.statements.verdicts.Verdict`: ``"holds"``,
    ``"VIOLATED"`` (a published or proven statement is false), ``"refuted"`` (a conjecture or
    derived statement is false), ``"undecided"`` (the proven bounds do not decide it; ``note``
    says which bound is missing) or ``"n/a"`` (its condition is not met; ``note`` says why).
    ``float_rank`` is numpy's float64 ``matrix_rank`` of the same matrix (default tolerance)
    and ``float_disagrees`` flags where it differs from the exact rank. ``generic`` marks a
    statement about generic parameters; ``failure_bound`` is nonzero only for an undecided
    generic statement that random points found below its prediction (the probability that
    the generic rank reaches it anyway).
    ``float_ranks`` is ``{"float32": r, "float64": r}``: numpy's ``matrix_rank`` (default tolerance)
    of the same Hessian computed in that float type from the same point
    (:mod:`exacthess.verification.floats`; ``None`` for a value when that computation overflowed),
    or ``None`` when the comparison was skipped; ``float_rank`` is its float64 value and
    ``float_disagrees`` is True when either differs from the exact rank.
    """

    statement: str
    quantity: str
    kind: str
    exact: int | None
    predicted: int | None
    relation: str
    verdict: str
    how: str
    float_rank: int | None = None
    float_disagrees: bool = False
    note: str = ""
    formula: str = ""
    citation: str = ""
    generic: bool = False
    failure_bound: float = 0.0
    activation: str = "linear"
    loss: str = "mse"
    float_ranks: dict | None = None

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        for key in ("kind", "relation", "verdict"):
            out[key] = str(out[key])
        return out


@dataclass(repr=False)
class Report:
    """Exact ranks of one network at one point and the verdict of every statement.

    Attributes:
        arch: the architecture.
        ranks: exact (or, when not certified, best proven lower-bound) ranks, keyed
            ``"H_L"``, ``"H_o"``, ``"H_f"`` and ``"H_f[:,l]"`` for l = 1..L+1.
        rank_info: per key, the :class:`~exacthess.certify.rank.RankResult`.
        rows: the statement rows (:class:`Row`).
        context: the exact quantities (r, s, q, ...).
        seconds: wall time of the verification.
        command: a shell command that reproduces this report.
        notes: remarks printed under the table.
        warnings: findings printed prominently above the table (e.g. float data whose exact rank
            exceeds their float64 numerical rank: the exact ranks then describe rounding).
        point: the exact point as plain data (:mod:`exacthess.hessian.saved`), so that
            :func:`exacthess.check` can recompute the matrices and verify every certificate again;
            None for a custom loss.
        float_ranks: per matrix, ``{dtype: rank}`` of the float columns where no statement row carries
            them (graph networks).
    """

    arch: object
    ranks: dict
    rank_info: dict
    rows: list
    context: dict
    seconds: float
    command: str = ""
    notes: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    point: dict | None = field(default=None, repr=False)
    float_ranks: dict = field(default_factory=dict, repr=False)

    def _with(self, *verdicts) -> list:
        return [r for r in self.rows if r.verdict in verdicts]

    @property
    def ok(self) -> bool:
        """True when no published or proven statement is ``VIOLATED`` (refuted conjectures and
        derived statements, and undecided rows, do not make it False: see :attr:`decided`)."""
        return not self.violations

    @property
    def decided(self) -> bool:
        """True when no row is ``undecided``: every verdict follows from proven bounds."""
        return not self.undecided

    @property
    def certified(self) -> bool:
        """True when every reported rank is certified."""
        return all(info.certified for info in self.rank_info.values())

    @property
    def violations(self) -> list:
        """Rows whose published or proven statement is false."""
        return self._with(Verdict.VIOLATED)

    @property
    def refutations(self) -> list:
        """Rows whose conjecture or derived statement is false."""
        return self._with(Verdict.REFUTED)

    @property
    def undecided(self) -> list:
        """Rows the proven bounds do not decide (the note says which bound is missing)."""
        return self._with(Verdict.UNDECIDED)

    @property
    def exit_code(self) -> int:
        """``exacthess verify``'s exit code: 0 every statement decided and holding, 1 a statement
        violated or refuted, 3 nothing violated or refuted but something undecided."""
        return exit_code(r.verdict for r in self.rows)

    def to_dict(self, certificates: bool = True) -> dict:
        """The report as JSON data; with ``certificates`` (default) also the exact point and every
        rank's certificate, so that :func:`exacthess.check` can verify it again."""
        out = {
            "architecture": repr(self.arch),
            "n_params": self.arch.n_params,
            "ok": self.ok,
            "decided": self.decided,
            "exit_code": self.exit_code,
            "certified": self.certified,
            "ranks": dict(self.ranks),
            "rank_info": {k: v.to_dict() for k, v in self.rank_info.items()},
            "rows": [r.to_dict() for r in self.rows],
            "context": self.context,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "seconds": self.seconds,
            "command": self.command,
        }
        if certificates:
            out["point"] = self.point
            out["certificates"] = {k: to_data(v.certificate) for k, v in self.rank_info.items()
                                   if getattr(v, "certificate", None) is not None}
        return out

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    def render(self, width: int = 80) -> str:
        """The report as plain text (a table, then ranks, context, notes and the summary)."""
        from ..cli.render import render_text
        return render_text(self, width=width)

    def print(self) -> None:
        """Print the report (colours on a terminal)."""
        from ..cli.render import print_report
        print_report(self)

    @property
    def text(self) -> str:
        """The full report as plain text (what ``print(report)`` shows)."""
        return self.render()

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        """A few lines: the network, its ranks and the outcome; ``str(report)`` or ``.text`` is the full report."""
        from ..cli.render import summary_line
        ranks = ", ".join(f"{k}={v}" for k, v in self.ranks.items())
        return (f"<Report {self.arch!r}, {self.arch.n_params} parameters\n"
                f"  ranks: {ranks}\n"
                f"  {summary_line(self)}\n"
                f"  {len(self.rows)} statements; print(report) or report.text for the full report>")
