"""``exacthess search STATEMENT_ID``: run the counterexample search and print its result."""

from __future__ import annotations

import json
import sys

__all__ = ["configure", "run"]


def configure(ps) -> None:
    """Add the arguments of ``exacthess search`` to *ps*."""
    ps.add_argument("statement", metavar="STATEMENT_ID", help="a registered id (see `exacthess statements`)")
    ps.add_argument("--max-examples", type=int, default=50, help="examples to try (default 50)")
    ps.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    ps.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args) -> int:
    """Search, print, and return 1 when a counterexample was found, else 0."""
    from ..experiments.search import search
    from ..statements import get_statement
    stmt = get_statement(args.statement)
    if args.json or not sys.stderr.isatty():
        res = search(stmt.id, max_examples=args.max_examples, seed=args.seed)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
        with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), transient=True) as bar:
            task = bar.add_task(f"searching {stmt.id}", total=args.max_examples)
            res = search(stmt.id, max_examples=args.max_examples, seed=args.seed,
                         progress=lambda done, total: bar.update(task, completed=done))
    if args.json:
        print(json.dumps(res.to_dict(), indent=2))
        return 1 if res.counterexample else 0
    from rich.console import Console
    from rich.markup import escape
    con = Console() if sys.stdout.isatty() else Console(width=160)
    con.print(f"[bold]{escape(stmt.id)}[/] ({stmt.kind}): " + escape(f"rank {stmt.quantity} {stmt.relation} {stmt.formula}"))
    con.print(escape(f"condition: {stmt.condition}\nsource: {stmt.citation}"))
    if res.counterexample is None:
        con.print(f"no counterexample in {res.examples} examples "
                  f"({res.n_applicable} satisfied the condition; {res.rate:.1f} architectures/s)")
        return 0
    ce = res.counterexample
    con.print(f"[bold red]counterexample[/] (shrunk; {res.examples} examples, {res.seconds:.1f} s):")
    con.print(escape(f"  architecture: {ce.arch!r}  ({ce.arch.n_params} parameters), n = {ce.n_samples} samples, "
                     f"seed {ce.seed}"))
    for r in ce.rows:
        con.print(escape(f"  rank {r.quantity} = {r.exact}, predicted {r.relation} {r.predicted}: {r.verdict}   [{r.how}]"
                         + (f"  ({r.note})" if r.note else "")))
    for r in ce.related:
        con.print(escape(f"  also checked: {r.statement} ({r.kind}): {r.exact} {r.relation} {r.predicted}: {r.verdict}"))
    con.print(escape(f"  reproduce: {ce.command}"))
    return 1
