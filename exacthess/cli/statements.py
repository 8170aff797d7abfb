"""``exacthess statements``: the registry, with each statement's status and counterexamples."""

from __future__ import annotations

import json
import sys

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
    """Print the registry (a table, or JSON with ``--json``); exit code 0."""
    records = statement_records()
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    t = Table(title="registered statements (sources: docs/references.md)")
    for col in ("id", "quantity", "kind", "statement", "condition", "families", "status"):
        t.add_column(col, overflow="fold")
    for r in records:
        status = r["status"] if "counterexample" not in r else f"[yellow]refuted[/]: {escape(r['counterexample'])}"
        t.add_row(escape(r["id"]), escape(r["quantity"]), r["kind"], escape(f"rank {r['relation']} {r['formula']}"),
                  escape(r["condition"]), ",".join(r["families"]), status)
    (Console() if sys.stdout.isatty() else Console(width=200)).print(t)
    return 0
