"""``exacthess reproduce discussion`` and ``exacthess reproduce approx-chain-rule``: the source
documents' claims, each with its verdict, exact numbers and how they are known.

Exit codes: 0 every verdict is what the document claims, 1 a claim is contradicted (the output
says which), 3 nothing contradicted but some verdict undecided, 2 bad input.
"""

from __future__ import annotations

import json
import sys

__all__ = ["configure", "run", "render_text", "exit_code"]

_TARGETS = {"discussion": "the discussion thread's claims: perfect-fit ranks, cross-entropy on logits vs "
                          "probabilities, minima with a nonzero output gradient",
            "approx-chain-rule": "the approximate-chain-rule slides' claims: the exact Gauss-Newton error for ReLU-type "
                                 "and near-linear activations (writes figures)"}


def configure(reproduce_subparsers) -> None:
    """Add the two targets to ``exacthess reproduce``."""
    for name, text in _TARGETS.items():
        p = reproduce_subparsers.add_parser(name, help=text, description=text + ". Exit 0: every verdict is what "
                                            "the document claims; 1: a claim is contradicted; 3: undecided.")
        p.add_argument("--claim", action="append", default=None, metavar="ID", help="only this claim (repeatable)")
        p.add_argument("--json", action="store_true", help="print a JSON list (id, verdict, certified, cases, ...)")
        if name == "approx-chain-rule":
            from ..experiments.figures import FORMAT_HELP
            p.add_argument("--out", default="exacthess-output", help="folder of the figures (default exacthess-output)")
            p.add_argument("--format", default="png", metavar="FMT[,FMT]", help=FORMAT_HELP)


def exit_code(results) -> int:
    """0 all verdicts as claimed, 1 one contradicted, 3 none contradicted but one undecided."""
    if any(r.verdict != "undecided" and not r.agrees for r in results):
        return 1
    return 3 if any(r.verdict == "undecided" for r in results) else 0


def _short(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list):
        if v and isinstance(v[0], float):
            return "[" + ", ".join(f"{x:.3g}" for x in v) + "]"
        if v and isinstance(v[0], str) and len(v[0]) > 12:
            return f"[{len(v)} exact rationals]"
        return "[" + ", ".join(map(str, v)) + "]"
    if hasattr(v, "p") and hasattr(v, "q") and len(str(v)) > 14:
        return f"{float(v):.6g} (exact: {len(str(v))} digits)"
    return str(v)


def _case_lines(case) -> list:
    nums = "; ".join(f"{k} = {_short(v)}" for k, v in case.numbers.items())
    how = "; ".join(f"{k}: {v}" for k, v in case.how.items())
    out = [f"    [{case.verdict}] {case.architecture}, loss {case.loss}, n = {case.n_samples}, seed {case.seed}",
           f"        {nums}", f"        how: {how}"]
    if case.note:
        out.append(f"        note: {case.note}")
    if case.command:
        out.append(f"        reproduce: {case.command}")
    return out


def _wrapped(line: str, width: int) -> list:
    """``line`` folded at spaces to ``width`` columns, continuation lines indented two more; a
    ``reproduce:`` command is split with shell continuations so it can still be pasted."""
    import textwrap

    from .render import reproduce_lines
    indent = line[:len(line) - len(line.lstrip())]
    body = line.strip()
    if body.startswith("reproduce: "):
        return reproduce_lines(body[len("reproduce: "):], width, indent)
    return textwrap.wrap(body, width, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_long_words=False, break_on_hyphens=False) or [""]


def render_text(results, width: int = 80) -> str:
    """Plain text, folded to ``width`` columns: every claim, its verdict against the document's,
    every case and its numbers."""
    lines = []
    for r in results:
        mark = "as claimed" if r.agrees else ("UNDECIDED" if r.verdict == "undecided" else "CONTRADICTS the document")
        lines.append(f"{r.id}: {r.verdict} (the document: {r.expected}; {mark}; "
                     f"{'certified' if r.certified else 'not certified'})")
        lines.append(f"  claim: {r.statement}")
        lines.append(f"  result: {r.summary}")
        for note in r.notes:
            lines.append(f"  note: {note}")
        for case in r.cases:
            lines += _case_lines(case)
        for plot in r.extra.get("plots", []):
            lines.append(f"  plot: {plot}")
        lines.append(f"  reproduce: {r.command}")
        lines.append("")
    lines.append(_verdict_line(results))
    return "\n".join(out for line in lines for out in _wrapped(line, width))


def _verdict_line(results) -> str:
    bad = [r for r in results if r.verdict != "undecided" and not r.agrees]
    und = [r for r in results if r.verdict == "undecided"]
    if bad:
        return "contradicted: " + "; ".join(f"{r.id} ({r.verdict}; the document claims {r.expected})" for r in bad)
    if und:
        return "undecided: " + ", ".join(r.id for r in und)
    return f"every verdict is what the document claims ({len(results)} claims)"


def _print_rich(results) -> None:
    from rich.markup import escape
    from rich.table import Table

    from .render import console
    con = console()
    t = Table(title="claims: verdict against the document", show_lines=True)
    for col in ("claim", "verdict", "document", "certified", "result"):
        t.add_column(col, overflow="fold")
    for r in results:
        style = "green" if r.agrees else ("magenta" if r.verdict == "undecided" else "bold red")
        t.add_row(r.id, f"[{style}]{r.verdict}[/]", r.expected, "yes" if r.certified else "no", escape(r.summary))
    con.print(t)
    con.print(escape(render_text(results, width=con.width)), highlight=False, soft_wrap=True)


def run(args) -> int:
    """Run ``exacthess reproduce discussion|approx-chain-rule``."""
    from ..experiments import claims
    from .progress import ProgressReporter
    known = claims.DISCUSSION if args.target == "discussion" else claims.APPROX_CHAIN_RULE
    ids = args.claim or list(known)
    _check_ids(ids, known)
    formats = ("png",)
    if args.target == "approx-chain-rule":
        from ..experiments.figures import check_formats
        from .parser import writable
        formats = check_formats(args.format, "--format")
        writable(args.out, "--out")
    with ProgressReporter(prefix="[reproduce]") as prog, prog.step(f"the {args.target} claims"):
        if args.target == "discussion":
            results = claims.discussion(ids, progress=prog)
        else:
            results = claims.approx_chain_rule(ids, out=args.out, progress=prog, formats=formats)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
    elif sys.stdout.isatty():
        _print_rich(results)
    else:
        print(render_text(results))
    return exit_code(results)


def _check_ids(ids, known) -> None:
    from ..core.errors import UnknownStatementError
    for i in ids:
        if i not in known:
            raise UnknownStatementError(f"--claim {i!r} is not known here; expected one of: {', '.join(known)}")
