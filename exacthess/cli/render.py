"""Rendering of verification reports: rich tables on a terminal, plain text elsewhere, 80 columns.

A report prints as

* warnings (e.g. float data whose exact rank describes rounding), first;
* a **ranks** table: each matrix once, its exact rank, how it is known, and the float32 /
  float64 ``matrix_rank`` of the same Hessian computed in that precision;
* a **statements** table: each applicable statement, its prediction and verdict (with the note
  that says why when it is not ``holds``); statements that do not apply are summarised in one
  line per reason;
* notes, the summary line and the command that reproduces the report.

>>> from exacthess import FCN, verify
>>> text = render_text(verify(FCN(2, (1,), 1), n_samples=2, float_check=False))
>>> "singh2021.H_o" in text and "decided" in text
True
"""

from __future__ import annotations

import io
import sys
from collections import defaultdict

__all__ = ["report_table", "ranks_table", "summary_line", "render_text", "print_report", "console",
           "print_block", "shell_lines", "reproduce_lines", "context_legend", "CONTEXT_SYMBOLS", "VERDICT_STYLE",
           "WIDTH"]

#: what each symbol of a report's context line means (printed under it, for the symbols present)
CONTEXT_SYMBOLS = {
    "d": "input dimension",
    "K": "outputs",
    "L": "hidden layers",
    "widths": "hidden sizes m_1..m_L",
    "n": "samples",
    "r": "rank of the data",
    "s": "rank of Omega (output gradients x data)",
    "p": "parameters",
    "q": "min(r, K, m_1..m_L)",
    "regime": "how the data enter the proof (moments: n >= d; samples: fewer)",
}

#: rich styles of the verdicts
VERDICT_STYLE = {"holds": "green", "VIOLATED": "bold red", "refuted": "yellow", "undecided": "magenta",
                 "n/a": "dim"}
#: the width of plain-text output (pipes, files): a standard terminal
WIDTH = 80


def console(stderr: bool = False, file=None):
    """The one rich console set-up of exacthess: the terminal's width on a terminal, else :data:`WIDTH`
    (80) columns without colours (pipes, files). ``stderr``: write to standard error; ``file``: write
    to that stream instead."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:  # rich exits 1 here, the code of "violated": let main decide
            raise BrokenPipeError(32, "Broken pipe")
    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    target = {"file": file} if file is not None else {"stderr": stderr}
    try:
        tty = bool(stream.isatty())
    except (AttributeError, ValueError):
        tty = False
    return _Console(**target) if tty else _Console(width=WIDTH, **target)


def _float_cell(value, exact) -> str:
    if value is None:
        return "[bold red]overflow[/]"
    return str(value) if exact is None or value == exact else f"[bold red]{value}![/]"


def ranks_table(report):
    """Each matrix once: exact rank, how it is known, float32 and float64 ranks (``!`` = differs)."""
    from rich.markup import escape
    from rich.table import Table
    floats = dict(getattr(report, "float_ranks", None) or {})
    for r in report.rows:
        if r.float_ranks:
            floats[r.quantity] = r.float_ranks
    t = Table(title="ranks", title_justify="left", show_lines=False, pad_edge=False)
    t.add_column("matrix", no_wrap=True)
    t.add_column("exact", justify="right", no_wrap=True)
    t.add_column("how the exact rank is known")
    if floats:
        t.add_column("float32", justify="right", no_wrap=True)
        t.add_column("float64", justify="right", no_wrap=True)
    for key, info in report.rank_info.items():
        row = [key, str(report.ranks[key]), escape(info.how)]
        if floats:
            fr = floats.get(key)
            row += ["", ""] if fr is None else [_float_cell(fr.get("float32"), report.ranks[key]),
                                                _float_cell(fr.get("float64"), report.ranks[key])]
        t.add_row(*row)
    return t


def report_table(report):
    """The applicable statements: prediction and verdict (the note says why when not ``holds``)."""
    from rich.markup import escape
    from rich.table import Table
    t = Table(title="statements", title_justify="left", show_lines=False, pad_edge=False)
    t.add_column("statement", no_wrap=True)
    t.add_column("rank", no_wrap=True)
    t.add_column("claim", justify="right", no_wrap=True)
    t.add_column("verdict")
    for r in report.rows:
        verdict = str(r.verdict)
        if verdict == "n/a":
            continue
        style = VERDICT_STYLE.get(verdict, "")
        claim = "-" if r.predicted is None else f"{r.relation} {r.predicted}"
        t.add_row(r.statement, r.quantity, claim,
                  f"[{style}]{escape(verdict)}[/]" + (f": {escape(r.note)}" if r.note else ""))
    return t


def _not_applicable(report) -> list[str]:
    by_reason = defaultdict(list)
    for r in report.rows:
        if str(r.verdict) == "n/a":
            by_reason[r.note].append(r.statement)
    return [f"n/a ({reason}): {', '.join(ids)}" for reason, ids in by_reason.items()]


def summary_line(report) -> str:
    """One line: what was found, whether every verdict is decided, and how the ranks are known."""
    parts = []
    if report.violations:
        parts.append("VIOLATED: " + ", ".join(r.statement for r in report.violations))
    if report.refutations:
        parts.append("refuted: " + ", ".join(r.statement for r in report.refutations))
    if report.undecided:
        parts.append("undecided: " + ", ".join(r.statement for r in report.undecided))
    if not parts and not any(str(r.verdict) != "n/a" for r in report.rows):
        parts.append("ranks only: no statement was checked" if not report.rows
                     else "no statement applies to this network")
    elif not parts:
        parts.append("OK: every statement decided; none violated or refuted")
    how = "all ranks certified" if report.certified else "some ranks only probabilistic"
    return f"{'; '.join(parts)}  ({how}; {report.seconds:.2f} s)"


def context_legend(context: dict) -> str:
    """One line defining the symbols of a context line (those of :data:`CONTEXT_SYMBOLS` present).

    >>> context_legend({"n": 4, "r": 3, "loss": "mse"})
    'where n = samples, r = rank of the data'
    """
    found = [f"{k} = {CONTEXT_SYMBOLS[k]}" for k in context if k in CONTEXT_SYMBOLS and k != "widths"]
    return "where " + ", ".join(found) if found else ""


def _print(report, con) -> None:
    from rich.markup import escape
    for w in getattr(report, "warnings", []):
        con.print("[bold yellow]warning:[/] " + escape(w))
    ctx = report.context
    con.print(escape(f"{report.arch!r}: {report.arch.n_params} parameters"))
    con.print(escape("context: " + ", ".join(f"{k} = {v}" for k, v in ctx.items())))
    if context_legend(ctx):
        con.print("[dim]" + escape(context_legend(ctx)) + "[/]")
    con.print(ranks_table(report))
    floats = dict(getattr(report, "float_ranks", None) or {})
    if any(r.float_disagrees for r in report.rows) or any(
            v not in (None, report.ranks.get(k)) for k, fr in floats.items() for v in fr.values()):
        con.print("[bold red]![/] the float rank (numpy matrix_rank of the Hessian computed in that precision) "
                  "differs from the exact rank")
    if any(str(r.verdict) != "n/a" for r in report.rows):
        con.print(report_table(report))
    for line in _not_applicable(report):
        con.print("[dim]" + escape(line) + "[/]")
    for n in report.notes:
        con.print(escape(f"note: {n}"))
    con.print(escape(summary_line(report)))
    if report.command:
        con.print("\n".join(reproduce_lines(report.command, con.width)), soft_wrap=True, markup=False,
                  highlight=False)


def render_text(report, width: int = WIDTH) -> str:
    """The report as plain text, no colours (what ``str(report)`` shows)."""
    from rich.console import Console
    buf = io.StringIO()
    _print(report, Console(file=buf, width=width, force_terminal=False, color_system=None))
    return buf.getvalue()


def print_report(report) -> None:
    """Print the report to standard output: colours on a terminal, 80 columns when piped."""
    _print(report, console())


def print_block(con, title: str, lines, styles=None) -> None:
    """A title line (rich markup) and indented plain lines wrapped to the console's width (wrapped
    parts indented further), no trailing spaces: a listing that fits 80 columns when piped."""
    import textwrap
    con.print(title)
    for i, line in enumerate(lines):
        text = textwrap.fill(line, width=max(20, con.width - 1), initial_indent="  ", subsequent_indent="    ")
        style = (styles or {}).get(i)
        con.print(text, style=style, markup=False, highlight=False, soft_wrap=True)


def shell_lines(command: str, width: int = WIDTH) -> list[str]:
    r"""A command split at spaces between options into lines of at most ``width`` columns, each but the
    last ending in `` \\`` (a shell continuation), so it can still be copied and pasted.

    >>> shell_lines("exacthess verify fcn --input-dim 25 --widths 5,10 --output-dim 10", 40)
    ['exacthess verify fcn --input-dim 25 \\', '  --widths 5,10 --output-dim 10']
    """
    import shlex
    if len(command) <= width:
        return [command]
    try:
        words = [shlex.quote(w) if w != shlex.quote(w) else w for w in shlex.split(command)]
    except ValueError:  # unbalanced quotes: leave it on one line
        return [command]
    groups, i = [], 0
    while i < len(words):  # an option and its value stay together
        take = 2 if words[i].startswith("--") and i + 1 < len(words) and not words[i + 1].startswith("--") else 1
        groups.append(" ".join(words[i:i + take]))
        i += take
    lines, cur = [], ""
    for g in groups:
        if cur and len(cur) + 1 + len(g) + 2 > width:
            lines.append(cur + " \\")
            cur = "  " + g
        else:
            cur = f"{cur} {g}" if cur else g
    return lines + [cur]


def reproduce_lines(command: str, width: int = WIDTH, indent: str = "") -> list[str]:
    r"""``{indent}reproduce: <command>`` in lines of at most ``width`` columns: the command split by
    :func:`shell_lines`, its continuation lines aligned under its first word.

    >>> reproduce_lines("exacthess verify fcn --input-dim 25 --widths 5,10 --output-dim 10", 50, "  ")
    ['  reproduce: exacthess verify fcn --input-dim 25 \\', '             --widths 5,10 --output-dim 10']
    """
    head = f"{indent}reproduce: "
    lines = shell_lines(command, max(40, width - len(head)))
    return [head + lines[0]] + [" " * len(head) + line.lstrip() for line in lines[1:]]
