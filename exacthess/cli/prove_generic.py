"""``exacthess prove generic fcn|cnn ...``: proven generic ranks and the statements' status.

``configure(parser)`` adds the ``fcn`` and ``cnn`` sub-commands to the parser of ``prove
generic``; ``run(args)`` proves the generic ranks, prints one table of ranks and one of
statements, and returns the exit code: 0 every rank proven and every applicable statement
decided with none refuted, 1 a statement (not a conjecture) refuted, 2 bad input (one line
``error: ...``), 3 something undecided.

    exacthess prove generic fcn --input-dim 4 --widths 3 --output-dim 2 [--bias] [--samples N] [--json]
    exacthess prove generic cnn --input-shape 8 --channels 2 --kernel-sizes 3 --output-dim 2 [--strides 2]
"""

from __future__ import annotations

import argparse
import json
import sys

from ..core.errors import ExactHessError
from .architecture_args import add_cnn_options, add_fcn_options
from .architecture_args import arch_from_args as parse_architecture
from .messages import error_text
from .parser import HelpFormatter, exit_text
from .progress import ProgressReporter
from .render import context_legend
from .render import console

__all__ = ["configure", "run", "arch_from_args", "render"]


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--samples", type=int, default=None, metavar="N",
                   help="number of generic samples n (default 2 d, as verify)")
    p.add_argument("--bias", action="store_true", help="biases on every layer")
    p.add_argument("--activation", default="linear", metavar="NAME",
                   help="only linear (the default): the generic prover covers linear networks with the MSE "
                        "loss; other activations are refused (exit 2); `exacthess verify` handles them at a point")
    p.add_argument("--seed", type=int, default=0, help="seed of the random evaluation points (default 0)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``fcn`` and ``cnn`` sub-commands to the ``prove generic`` parser."""
    sub = parser.add_subparsers(dest="generic_family", metavar="FAMILY")
    sub.required = True
    codes = dict(epilog=exit_text(["prove generic"]), formatter_class=HelpFormatter)
    f = sub.add_parser("fcn", help="deep linear fully-connected network",
                       description="exacthess prove generic fcn --input-dim 4 --widths 3 --output-dim 2", **codes)
    add_fcn_options(f)
    _common(f)
    c = sub.add_parser("cnn", help="deep linear CNN (convolutions + fully-connected output layer)",
                       description="exacthess prove generic cnn --input-shape 8 --channels 2 --kernel-sizes 3 "
                                   "--output-dim 2", **codes)
    add_cnn_options(c)
    _common(c)


def arch_from_args(args):
    """The architecture described by parsed ``prove generic`` arguments."""
    return parse_architecture(args, args.generic_family)


def render(proof, console) -> None:
    """Print the ranks table, the statements table and a verdict line."""
    from rich.table import Table
    t = Table(title=f"generic ranks of {proof.arch!r}, n = {proof.n_samples} generic samples "
                    f"({proof.arch.n_params} parameters)")
    for col in ("quantity", "lower", "upper", "proven", "how"):
        t.add_column(col, overflow="fold", no_wrap=col == "quantity")
    for q, r in proof.ranks.items():
        t.add_row(q, str(r.lower), str(r.upper), "[green]yes[/]" if r.proven else "[yellow]no[/]", r.how)
    console.print(t)
    from rich.markup import escape
    s = Table(title="statements (generic data: r = min(n, d), s = min(r, K))", title_justify="left", pad_edge=False)
    s.add_column("statement", no_wrap=True)
    s.add_column("rank", no_wrap=True)
    s.add_column("claim", justify="right", no_wrap=True)
    s.add_column("generic", justify="right", no_wrap=True)
    s.add_column("verdict")
    style = {"holds": "green", "VIOLATED": "bold red", "refuted": "red", "undecided": "yellow", "n/a": "dim"}
    not_applicable = []
    for c in proof.checks:
        if c.verdict == "n/a":
            not_applicable.append(c.statement)
            continue
        pred = "-" if c.predicted is None else (str(c.predicted[0]) if c.predicted[0] == c.predicted[1]
                                                else f"{c.predicted[0]}..{c.predicted[1]}")
        rank = str(c.lower) if c.lower == c.upper else f"{c.lower}..{c.upper}"
        s.add_row(c.statement, c.quantity, f"{c.relation} {pred}", rank,
                  f"[{style.get(str(c.verdict), '')}]{escape(str(c.verdict))}[/]" + (f": {escape(c.note)}" if c.note else ""))
    console.print(s)
    if not_applicable:
        console.print("n/a: " + ", ".join(not_applicable))
    console.print("context: " + ", ".join(f"{k} = {v}" for k, v in proof.context.items()))
    if context_legend(proof.context):
        console.print("[dim]" + escape(context_legend(proof.context)) + "[/]")
    for n in proof.notes:
        console.print(f"note: {n}")
    code = proof.exit_code
    verdict = {0: "PROVEN: every generic rank proven, every applicable statement decided",
               1: "VIOLATED: " + ", ".join(c.statement for c in proof.refuted),
               3: "UNDECIDED: some ranks or statements are not decided by the proven bounds"}[code]
    console.print(f"{verdict}  ({proof.seconds:.2f} s)")


def run(args) -> int:
    """Run ``exacthess prove generic``; returns the exit code."""
    from ..generic import prove_generic
    try:
        arch = arch_from_args(args)
        with ProgressReporter(prefix="[prove generic]") as prog, prog.step(f"generic ranks of {arch!r}"):
            proof = prove_generic(arch, args.samples, seed=args.seed, progress=prog)
    except ExactHessError as exc:
        print(f"error: {error_text(exc, getattr(args, 'argv', None))}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(proof.to_dict(), indent=2))
    else:
        render(proof, console())
    return proof.exit_code
