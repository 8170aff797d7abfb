"""``exacthess search STATEMENT_ID``: run the counterexample search and print its result."""

from __future__ import annotations

import json

__all__ = ["configure", "run"]


def configure(ps) -> None:
    """Add the arguments of ``exacthess search`` to *ps*."""
    ps.add_argument("statement", metavar="STATEMENT_ID", help="a registered id (see `exacthess statements`)")
    ps.add_argument("--max-examples", type=int, default=50, metavar="N",
                    help="architectures to try, >= 1 (default 50; shrinking a counterexample comes on top)")
    ps.add_argument("--seed", type=int, default=0, help="Hypothesis seed, >= 0 (default 0)")
    ps.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args) -> int:
    """Search, print, and return 1 when a counterexample was found, else 0."""
    from ..experiments.search import search
    from ..statements import get_statement
    from .progress import ProgressReporter
    from .render import console
    stmt = get_statement(args.statement)
    with ProgressReporter(prefix="[search]", total=args.max_examples) as prog, prog.step(f"searching {stmt.id}"):
        res = search(stmt.id, max_examples=args.max_examples, seed=args.seed,
                     progress=lambda done, total: prog.count(done, total))
    if args.json:
        print(json.dumps(res.to_dict(), indent=2))
        return 1 if res.counterexample else 0
    from rich.markup import escape
    con = console()
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
    from .render import reproduce_lines
    con.print("\n".join(reproduce_lines(ce.command, con.width, "  ")), markup=False, highlight=False, soft_wrap=True)
    return 1
