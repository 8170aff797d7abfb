"""``exacthess check REPORT.json``: verify a saved report's certificates again, with the checker only."""

from __future__ import annotations

import json

__all__ = ["configure", "run"]

def configure(sub) -> None:
    """Add ``exacthess check`` to the subcommands ``sub``."""
    p = sub.add_parser("check", help="verify the certificates of a saved report again (exacthess verify --json)",
                       description="Recompute the matrices from the report's exact point and verify every "
                                   "rank's certificate with the checker alone (no pipeline, no structural "
                                   "hints): a nonsingular minor modulo a prime for the lower bound, the "
                                   "proof of the upper bound (null vectors, a theorem on certified factor "
                                   "ranks, Hadamard's bound). One line per rank. Write the report with: "
                                   "exacthess verify ... --json > report.json")
    p.add_argument("report", metavar="REPORT.json", help="a report written by exacthess verify ... --json")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args) -> int:
    """Check the report; one line per rank (or JSON); exit code 0 all verified, 1 otherwise."""
    from ..verification.check import check
    from .progress import ProgressReporter
    with ProgressReporter(prefix="[check]") as prog, prog.step(f"check {args.report}"):
        result = check(args.report)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return result.exit_code
    from rich.markup import escape

    from .render import console
    con = console()
    width = max(len(c.key) for c in result.checks) if result.checks else 4
    for c in result.checks:
        mark = "[green]verified[/]" if c.verified else "[red]FAILED[/]  "
        text = c.why if not c.verified else (c.why.split(": ", 1)[-1] if c.certified else c.why)
        con.print(f"{escape(c.key):<{width}} {c.value:>6}  {mark}  {escape(text)}", overflow="ellipsis", no_wrap=True)
    bad = sum(not c.verified for c in result.checks)
    con.print(f"{len(result.checks) - bad} of {len(result.checks)} ranks verified in {result.seconds:.1f} s"
              + ("" if not bad else f"; {bad} FAILED (exacthess check --json has the details)"))
    return result.exit_code
