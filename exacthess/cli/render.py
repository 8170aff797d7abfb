"""Rendering of verification reports: a rich table on a terminal, plain text elsewhere.

>>> from exacthess import FCN, verify
>>> text = render_text(verify(FCN(2, (1,), 1), n_samples=2, float_check=False))
>>> "singh2021.H_o" in text and "decided" in text
True
"""

from __future__ import annotations

import io
import sys

__all__ = ["report_table", "summary_line", "render_text", "print_report", "VERDICT_STYLE"]

#: rich styles of the verdicts
VERDICT_STYLE = {"holds": "green", "VIOLATED": "bold red", "refuted": "yellow", "undecided": "magenta",
                 "n/a": "dim"}


def report_table(report):
    """The rows of a :class:`~exacthess.experiments.report.Report` as a ``rich.table.Table``."""
    from rich.markup import escape
    from rich.table import Table
    t = Table(title=f"{report.arch!r}  ({report.arch.n_params} parameters)", show_lines=False)
    for col in ("statement", "quantity", "exact", "predicted", "rel", "verdict", "how the rank is known", "float64"):
        t.add_column(col, overflow="fold", no_wrap=col in ("statement", "quantity"))
    for r in report.rows:
        fl = "" if r.float_rank is None else (f"{r.float_rank} (differs!)" if r.float_disagrees else str(r.float_rank))
        verdict = str(r.verdict)
        style = VERDICT_STYLE.get(verdict, "")
        t.add_row(r.statement, r.quantity, str(r.exact), "-" if r.predicted is None else str(r.predicted),
                  str(r.relation), f"[{style}]{escape(verdict)}[/]" + (f" ({escape(r.note)})" if r.note else ""),
                  escape(r.how), fl)
    return t


def summary_line(report) -> str:
    """One line: what was found, whether every verdict is decided, and how the ranks are known."""
    parts = []
    if report.violations:
        parts.append("VIOLATED: " + ", ".join(r.statement for r in report.violations))
    if report.refutations:
        parts.append("refuted: " + ", ".join(r.statement for r in report.refutations))
    if report.undecided:
        parts.append("undecided: " + ", ".join(r.statement for r in report.undecided))
    if not parts:
        parts.append("OK: every statement decided; none violated or refuted")
    how = "all ranks certified" if report.certified else "some ranks only probabilistic"
    return f"{'; '.join(parts)}  ({how}; {report.seconds:.2f} s)"


def _print(report, con) -> None:
    from rich.markup import escape
    for w in getattr(report, "warnings", []):
        con.print("[bold yellow]warning:[/] " + escape(w))
    con.print(report_table(report))
    con.print(escape("exact ranks: " + ", ".join(f"{k} = {v}" for k, v in report.ranks.items())))
    con.print(escape("context: " + ", ".join(f"{k} = {v}" for k, v in report.context.items())))
    for n in report.notes:
        con.print(escape(f"note: {n}"))
    con.print(escape(summary_line(report)))
    if report.command:
        con.print(escape(f"reproduce: {report.command}"))


def render_text(report, width: int = 160) -> str:
    """The report as plain text, no colours (what ``str(report)`` shows)."""
    from rich.console import Console
    buf = io.StringIO()
    _print(report, Console(file=buf, width=width, force_terminal=False, color_system=None))
    return buf.getvalue()


def print_report(report) -> None:
    """Print the report to standard output: colours on a terminal, 160 columns when piped."""
    from rich.console import Console
    _print(report, Console() if sys.stdout.isatty() else Console(width=160))
