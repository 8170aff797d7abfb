"""``exacthess statements``: the registry, with each statement's status and counterexamples."""

from __future__ import annotations

import json

__all__ = ["configure", "run", "statement_records"]


def configure(p) -> None:
    """Add the arguments of ``exacthess statements`` to *p*."""
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of objects: id, kind, status, counterexample (the command), ...")


def statement_records() -> list[dict]:
    """One JSON-serialisable dict per registered statement.

    Keys: ``id``, ``quantity``, ``kind``, ``relation``, ``formula``, ``condition``, ``citation``,
    ``families``, ``generic``, ``status`` (``"holds on every case tried"`` or ``"refuted"``) and,
    for refuted statements, ``counterexample`` (the command that reproduces the first pinned
    counterexample) and ``counterexamples`` (every pinned one, with its exact ranks).
    """
    from ..statements import REGISTRY, load_all
    load_all()
    out = []
    for s in REGISTRY.values():
        rec = {"id": s.id, "quantity": s.quantity, "kind": str(s.kind), "relation": str(s.relation),
               "formula": s.formula, "condition": s.condition, "citation": s.citation,
               "families": list(s.family), "generic": s.generic, "status": s.status}
        if s.counterexamples:
            rec["counterexample"] = s.counterexamples[0].command
            rec["counterexamples"] = [c.to_dict() for c in s.counterexamples]
        out.append(rec)
    return out


def run(args) -> int:
    """Print the registry (one block per statement, fitting 80 columns when piped, or JSON with
    ``--json``); exit code 0."""
    records = statement_records()
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    from rich.markup import escape

    from .render import console, print_block, reproduce_lines
    con = console()
    con.print(f"[bold]{len(records)} registered statements[/] (sources: docs/references.md)")
    for r in records:
        refuted = "counterexample" in r
        status = "[yellow]refuted[/] (reproduce below)" if refuted else f"[green]{escape(r['status'])}[/]"
        con.print()
        print_block(con, f"[bold]{escape(r['id'])}[/] ({r['kind']}; {', '.join(r['families'])}): {status}",
                    [f"rank {r['quantity']} {r['relation']} {r['formula']}", f"condition: {r['condition']}",
                     f"source: {r['citation']}"], styles={2: "dim"})
        if refuted:  # one command, split with shell continuations so that it can be pasted
            con.print("\n".join(reproduce_lines(r["counterexample"], con.width, "  ")), markup=False,
                      highlight=False, soft_wrap=True)
    return 0
