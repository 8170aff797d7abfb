"""The :class:`Report` returned by :func:`exacthess.verify`."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

__all__ = ["Row", "Report"]


@dataclass
class Row:
    """One statement checked against one exact rank.

    ``verdict`` is ``"holds"``, ``"VIOLATED"`` (a binding statement is false),
    ``"refuted"`` (a conjecture is false) or ``"n/a"`` (its condition is not met; the reason
    is in ``note``). ``float_ranks`` is ``{"float32": r, "float64": r}``: numpy's
    ``matrix_rank`` (default tolerance) of the same Hessian computed in that float type from
    the same point (:mod:`exacthess.experiments.floats`; ``None`` for a value when that
    computation overflowed), or ``None`` when the comparison was skipped. ``float_rank`` is
    its float64 value (kept for compatibility) and ``float_disagrees`` is True when either
    differs from the exact rank.
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
    float_ranks: dict | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Report:
    """Exact ranks of one network at one point and the verdict of every statement.

    Attributes:
        arch: the architecture.
        ranks: exact (or, when not certified, best proven lower-bound) ranks, keyed
            ``"H_L"``, ``"H_o"``, ``"H_f"`` and ``"H_f[:,l]"`` for l = 1..L+1.
        rank_info: per key, the :class:`~exacthess.rank.RankResult`.
        rows: the statement rows (:class:`Row`).
        context: the exact quantities (r, s, q, ...).
        seconds: wall time of the verification.
        command: a shell command that reproduces this report.
    """

    arch: object
    ranks: dict
    rank_info: dict
    rows: list
    context: dict
    seconds: float
    command: str = ""
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no binding statement is violated."""
        return not any(r.verdict == "VIOLATED" for r in self.rows)

    @property
    def certified(self) -> bool:
        """True when every reported rank is certified."""
        return all(info.certified for info in self.rank_info.values())

    @property
    def violations(self) -> list:
        return [r for r in self.rows if r.verdict == "VIOLATED"]

    def to_dict(self) -> dict:
        return {
            "architecture": repr(self.arch),
            "n_params": self.arch.n_params,
            "ok": self.ok,
            "certified": self.certified,
            "ranks": dict(self.ranks),
            "rank_info": {k: v.to_dict() for k, v in self.rank_info.items()},
            "rows": [r.to_dict() for r in self.rows],
            "context": self.context,
            "notes": list(self.notes),
            "seconds": self.seconds,
            "command": self.command,
        }

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), **kw)

    def rich_table(self):
        from rich.table import Table
        t = Table(title=f"{self.arch!r}  ({self.arch.n_params} parameters)", show_lines=False)
        for col in ("statement", "quantity", "exact", "predicted", "rel", "verdict", "how the rank is known",
                    "float32", "float64"):
            t.add_column(col, overflow="fold", no_wrap=col in ("statement", "quantity"))
        style = {"holds": "green", "VIOLATED": "bold red", "refuted": "yellow", "n/a": "dim"}
        def fl(r, dtype):
            if not r.float_ranks:
                return ""
            v = r.float_ranks[dtype]
            if v is None:
                return "[bold red]overflow[/]"
            return str(v) if v == r.exact else f"[bold red]{v} (differs!)[/]"
        for r in self.rows:
            t.add_row(r.statement, r.quantity, str(r.exact), "-" if r.predicted is None else str(r.predicted),
                      r.relation, f"[{style.get(r.verdict, '')}]{r.verdict}[/]" + (f" ({r.note})" if r.note else ""),
                      r.how, fl(r, "float32"), fl(r, "float64"))
        return t

    def render(self, width: int = 160) -> str:
        from rich.console import Console
        buf = io.StringIO()
        con = Console(file=buf, width=width, force_terminal=False, color_system=None)
        self._print(con)
        return buf.getvalue()

    def _print(self, con) -> None:
        ctx = self.context
        con.print(self.rich_table())
        con.print("exact ranks: " + ", ".join(f"{k} = {v}" for k, v in self.ranks.items()))
        con.print("context: " + ", ".join(f"{k} = {v}" for k, v in ctx.items()))
        for n in self.notes:
            con.print(f"note: {n}")
        verdict = "OK: no statement violated" if self.ok else f"VIOLATED: {', '.join(r.statement for r in self.violations)}"
        con.print(f"{verdict}  ({'all ranks certified' if self.certified else 'some ranks only probabilistic'}; {self.seconds:.2f} s)")
        if self.command:
            con.print(f"reproduce: {self.command}")

    def print(self) -> None:
        import sys
        from rich.console import Console
        self._print(Console() if sys.stdout.isatty() else Console(width=160))

    def __str__(self) -> str:
        return self.render()
