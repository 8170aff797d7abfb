"""``exacthess prove``: list the symbolic proofs, run one or all of them.

* ``exacthess prove`` -- the proofs: name, statement, sizes (default and ``--thorough``);
* ``exacthess prove NAME`` / ``exacthess prove all`` -- run them, with a progress bar on a
  terminal and plain lines when piped; ``--thorough`` runs the larger size lists,
  ``--json`` prints the outcomes as JSON.

Exit codes: 0 every statement proven, 1 a proof failed, 2 bad input (an unknown name: one
``error: ...`` line listing the known ones); ``prove generic`` has its own (3: undecided; see
:mod:`~exacthess.cli.prove_generic`).

Sub-targets that take their own arguments (``exacthess prove generic fcn ...``) register in
:data:`SUBTARGETS`; everything after such a target is parsed by its own parser.
"""

from __future__ import annotations

import argparse
import json
import sys
from types import ModuleType
from typing import Callable

from .parser import HelpFormatter, OneLineParser, exit_text

__all__ = ["configure", "run", "script_main", "SUBTARGETS"]

#: ``name -> (configure(parser), run(args) -> exit code)`` for targets with their own
#: arguments and exit codes (``EXIT_CODES["prove NAME"]`` in :mod:`~exacthess.cli.parser`). ``generic`` (proven generic ranks, ``exacthess prove generic fcn ...``) goes here.
SUBTARGETS: dict[str, tuple[Callable[[argparse.ArgumentParser], object], Callable[[argparse.Namespace], int]]] = {}


def _register_generic() -> None:
    from . import prove_generic
    SUBTARGETS["generic"] = (prove_generic.configure, prove_generic.run)


_register_generic()


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--thorough", action="store_true", help="run the larger size lists (slower)")
    parser.add_argument("--json", action="store_true", help="print the list or the outcomes as JSON")


def configure(subparsers) -> argparse.ArgumentParser:
    """Add the ``prove`` command to the ``subparsers`` of the main parser."""
    p = subparsers.add_parser(
        "prove", help="list or run the symbolic proofs of the identities exacthess relies on",
        description="Without NAME: list the proofs. NAME: run one proof; 'all': run every proof.\n"
                    "'generic fcn|cnn ...': proven generic ranks of one architecture, compared with\n"
                    "the statements (`exacthess prove generic fcn --help`; exit codes below).")
    _add_options(p)
    p.add_argument("target", nargs="?", metavar="NAME", help="a proof name (see `exacthess prove`), or 'all'")
    p.add_argument("rest", nargs=argparse.REMAINDER, metavar="...",
                   help="arguments of a target that takes its own (see `exacthess prove NAME --help`)")
    return p


def _console():
    from .render import console
    return console()


def _list(args) -> int:
    from ..experiments.proofs import list_proofs
    infos = list_proofs()
    if args.json:
        print(json.dumps([i.to_dict() for i in infos], indent=2))
        return 0
    from rich.markup import escape

    from .render import print_block
    con = _console()
    con.print(f"[bold]{len(infos)} symbolic proofs[/] (exacthess prove NAME | all)")
    for i in infos:
        con.print()
        print_block(con, f"[bold]{escape(i.name)}[/]", [i.statement, f"sizes: {i.sizes}",
                                                         f"--thorough: {i.thorough_sizes}"])
    return 0


def _outcome_line(o) -> str:
    status = "proven" if o.ok else "FAILED"
    sizes = "; ".join(o.covered) if o.covered else "none"
    line = f"{status}  {o.proof}.{o.test}: {o.statement} -- sizes: {sizes} ({o.seconds:.1f} s)"
    if not o.ok:
        line += f"\n    {o.error}"
    return line


def _run_names(names: list[str], thorough: bool, as_json: bool) -> int:
    from ..experiments.proofs import get_proof, run_proofs
    total = sum(len(get_proof(n).tests) for n in names)
    if as_json:  # the outcomes go to stdout as JSON; progress to stderr
        from .progress import ProgressReporter
        finished = []
        with ProgressReporter(prefix="[prove]", total=total) as prog, prog.step("proving"):
            runs = run_proofs(names, thorough=thorough,
                              on_start=lambda name, test: prog.count(len(finished), total, f"proving {name}.{test}"),
                              on_done=finished.append)
    elif sys.stdout.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
        con = _console()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=con, transient=True) as progress:
            task = progress.add_task("proving", total=total)

            def start(name, test):
                progress.update(task, description=f"proving {name}.{test}")

            def done(o):
                style = "green" if o.ok else "bold red"
                progress.console.print(_outcome_line(o), style=style, markup=False, highlight=False)
                progress.advance(task)
            runs = run_proofs(names, thorough=thorough, on_start=start, on_done=done)
    else:  # piped: plain lines, folded to the 80 columns of the rest of the command line
        con = _console()

        def start(name, test):
            print(f"proving {name}.{test} ...", file=sys.stderr, flush=True)

        def done(o):
            con.print(_outcome_line(o), markup=False, highlight=False)
            con.file.flush()
        runs = run_proofs(names, thorough=thorough, on_start=start, on_done=done)
    ok = all(r.ok for r in runs)
    if as_json:
        print(json.dumps({"ok": ok, "thorough": thorough, "proofs": [r.to_dict() for r in runs]}, indent=2))
    else:
        n_ok = sum(o.ok for r in runs for o in r.outcomes)
        n = sum(len(r.outcomes) for r in runs)
        secs = sum(r.seconds for r in runs)
        _console().print(f"{n_ok} of {n} statements proven ({len(runs)} proof file{'s' if len(runs) != 1 else ''}, "
                         f"{'thorough' if thorough else 'default'} sizes) in {secs:.1f} s"
                         + ("" if ok else "; FAILED: " + ", ".join(f"{o.proof}.{o.test}" for r in runs
                                                                   for o in r.outcomes if not o.ok)),
                         markup=False, highlight=False)
    return 0 if ok else 1


def run(args: argparse.Namespace) -> int:
    """Handle ``exacthess prove ...``; returns the exit code (errors raise ``ExactHessError``)."""
    from ..core.errors import InvalidOptionError
    from ..experiments.proofs import RESERVED_NAMES, resolve_targets
    target = args.target
    if target in SUBTARGETS:
        configure_sub, run_sub = SUBTARGETS[target]
        sub = OneLineParser(prog=f"exacthess prove {target}", epilog=exit_text([f"prove {target}"]),
                            formatter_class=HelpFormatter)
        configure_sub(sub)
        try:
            sub_args = sub.parse_args(args.rest)
        except SystemExit as exc:  # --help (0) or a one-line usage error (2)
            return exc.code if isinstance(exc.code, int) else 2
        sub_args.argv = getattr(args, "argv", None)
        return run_sub(sub_args)
    if target is None:
        return _list(args)
    if target in RESERVED_NAMES and target != "all":
        raise InvalidOptionError(f"prove target {target!r} is not available in this version; "
                                 "expected a proof name (see `exacthess prove`) or 'all'")
    extra = OneLineParser(prog=f"exacthess prove {target}", add_help=False)
    _add_options(extra)
    more, unknown = extra.parse_known_args(args.rest)
    if unknown:
        raise InvalidOptionError(f"arguments {' '.join(unknown)!r} after {target!r} are not valid; "
                                 "expected only --thorough or --json")
    names = resolve_targets(target)
    return _run_names(names, args.thorough or more.thorough, args.json or more.json)


def script_main(module: ModuleType, argv: list[str] | None = None) -> int:
    """``python proofs/NAME.py [--thorough]``: run the module's test functions, one line each.

    Prints one line per statement (proven or FAILED, the sizes covered) and returns 0 when
    all are proven, 1 otherwise.
    """
    from ..experiments.proofs import run_module
    name = getattr(module, "__file__", None) or module.__name__
    name = name.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py")
    parser = argparse.ArgumentParser(prog=f"python proofs/{name}.py",
                                     description=(getattr(module, "STATEMENT", "") or "").strip())
    parser.add_argument("--thorough", action="store_true", help="run the larger size lists (slower)")
    args = parser.parse_args(argv)
    result = run_module(module, name=name, thorough=args.thorough, on_done=lambda o: print(_outcome_line(o), flush=True))
    return 0 if result.ok else 1
