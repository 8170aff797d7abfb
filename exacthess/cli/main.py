"""The ``exacthess`` command line: ``verify``, ``check``, ``compare``, ``search``, ``reproduce``,
``statements``, ``prove``, ``sweep``, ``plot``.

Exit codes (:data:`EXIT_TEXT`, :mod:`exacthess.cli.parser`; every command's ``--help`` ends with
its own): ``verify``: 0 every statement decided and holding, 1 a statement violated or refuted, 2
bad input (one line ``error: ...`` on stderr), 3 nothing violated or refuted but something
undecided. ``search``: 0 no counterexample, 1 one was found, 2 bad input. ``compare``: 0 every
comparison within its bound with the exact rank and inertia, 1 one is not, 2 bad input. Every command: 70 an
internal error (a bug; one line, ``EXACTHESS_TRACEBACK=1`` prints the traceback), 130 interrupted.

Progress of computations longer than a couple of seconds goes to stderr (:mod:`exacthess.cli.progress`):
a rich display on a terminal, plain lines otherwise, so ``--json`` output on stdout stays clean.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback

from ..core.errors import ExactHessError
from . import claims as claims_cli
from . import interrupt
from . import prove as prove_cli
from . import search as search_cli
from . import statements as statements_cli
from . import torch_model
from .architecture_args import add_cnn_options, add_fcn_options, add_transformer_options, arch_from_args, transformer_from_args
from .messages import error_text
from .parser import EXIT_CODES, HelpFormatter, OneLineParser, add_exit_codes, exit_text
from .progress import ProgressReporter

__all__ = ["main", "build_parser", "EXIT_TEXT"]

#: the exit codes of every command, as printed by ``exacthess --help``
EXIT_TEXT = exit_text(list(EXIT_CODES))


def _add_common(p: argparse.ArgumentParser, architecture: bool = True) -> None:
    p.add_argument("--samples", type=int, default=None, metavar="N", help="number of seeded samples (default 2 d)")
    p.add_argument("--seed", type=int, default=0, help="seed of parameters, data and primes (default 0)")
    if architecture:
        p.add_argument("--bias", action="store_true", help="biases on every layer")
        p.add_argument("--activation", default="linear", metavar="NAME",
                       help="after every hidden layer: linear (default), relu, leaky_relu(a), poly(c0,c1,...)")
    p.add_argument("--loss", default="mse", metavar="NAME",
                   help="mse (default), weighted_mse(w1,...,wK), cross_entropy, cross_entropy(T) (per token, T tokens), bce")
    p.add_argument("--certify", choices=["auto", "always", "never"], default="auto",
                   help="upper-bound certificates: auto (Hadamard's bound within --budget), always, never (lower "
                        "bounds only: a rank is certified only when it is full; verdicts that need an upper "
                        "bound are undecided: exit code 3). Every certificate is checked before a rank is "
                        "called certified")
    p.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                   help="certification budget per rank in auto mode (default 60)")
    p.add_argument("--point", default="gaussian", metavar="{gaussian,integers}",
                   help="seeded point: gaussian (default; weights ~ N(0, 1/fan_in), biases ~ N(0, 0.01/fan_in), "
                        "data and targets ~ N(0, 1), dyadic with ~8 significant bits, exact in float32) or "
                        "integers (uniform in [-999, 999])")
    floats = p.add_mutually_exclusive_group()
    floats.add_argument("--no-float", action="store_true",
                        help="skip the float32/float64 matrix_rank comparison (the Hessian computed in each float "
                             "type; by default computed up to 1000 parameters)")
    floats.add_argument("--float-always", action="store_true",
                        help="compute the float32/float64 comparison whatever the number of parameters")
    p.add_argument("--perfect-fit", action="store_true",
                   help="targets := the network's own predictions (every output gradient exactly 0)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    parser = OneLineParser(
        prog="exacthess", formatter_class=HelpFormatter,
        description="Exact, certified ranks of neural-network Hessians and exact checks of published statements. "
                    "Progress of long computations goes to stderr (plain lines when it is not a terminal).")
    parser.add_argument("--version", action="version", version=f"exacthess {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    pv = sub.add_parser("verify", help="verify the rank statements for one architecture",
                        description="Compute exact Hessian ranks and check every registered statement. Verdicts: "
                                    "holds, VIOLATED, refuted, undecided, n/a.")
    vs = pv.add_subparsers(dest="family", metavar="FAMILY")
    vs.required = True
    f = vs.add_parser("fcn", help="fully-connected network",
                      description="exacthess verify fcn --input-dim 25 --widths 5,10 --output-dim 10 --samples 50")
    add_fcn_options(f)
    _add_common(f)
    c = vs.add_parser("cnn", help="CNN (convolutions + fully-connected output layer)",
                      description="exacthess verify cnn --input-shape 16 --channels 4,4 --kernel-sizes 3,3 --output-dim 5")
    add_cnn_options(c)
    _add_common(c)
    gp = vs.add_parser("graph", help="a graph network given as JSON (Graph.to_spec(), or a file holding it)",
                       description="exacthess verify graph --spec graph.json --samples 6: a directed acyclic graph of "
                                   "exact operations (exacthess.models.graph), as written by Graph.to_spec().")
    gp.add_argument("--spec", required=True, metavar="JSON|FILE", help="the graph's spec: JSON text or a .json file")
    _add_common(gp, architecture=False)
    tb = vs.add_parser("transformer", help="a self-attention layer or Transformer block (exacthess.models.attention)",
                       description="exacthess verify transformer --width 4 --tokens 3 --heads 2 --causal --ffn relu "
                                   "--output-dim 2 --samples 2: single- or multi-head self-attention (softmax or "
                                   "linear), optional causal mask, residual connections, feed-forward block and "
                                   "per-token read-out, as nn.MultiheadAttention(batch_first=True) computes it.")
    add_transformer_options(tb)
    _add_common(tb, architecture=False)
    t = vs.add_parser("torch", help="a saved PyTorch nn.Sequential (torch.save(model); trusted files only)",
                      description="exacthess verify torch model.pt --input-shape 1,28,28 [--data data.npz]: the "
                                  "module's layers, activation and weights (converted exactly), at seeded or given data.")
    torch_model.configure(t)
    _add_common(t, architecture=False)
    try:
        from . import spectral as spectral_cli
        s = vs.add_parser("conv-sv", help="exact check of the FFT singular-value theorem of a conv layer",
                          description="Sedghi, Gupta & Long (ICLR 2019): singular values of a circular convolution.")
        spectral_cli.configure_verify(s)
    except ImportError:  # pragma: no cover
        spectral_cli = None

    from . import fixtures as fixtures_cli
    fixtures_cli.configure(sub)
    ps = sub.add_parser("search", help="search for a counterexample to a statement with Hypothesis",
                        description="Search architectures for a counterexample to STATEMENT_ID: only a VIOLATED "
                                    "or refuted verdict of that statement counts.")
    search_cli.configure(ps)

    pr = sub.add_parser("reproduce", help="reproduce a published table or figure",
                        description="Recompute a published table or figure (or a source document's claims) exactly.")
    rs = pr.add_subparsers(dest="target", metavar="TARGET")
    rs.required = True
    nb = rs.add_parser("notebook", help="the FCN rank notebook's table (175 / 150 / 250)",
                       description="Recompute the notebook's ranks of H_f, H_o, H_L exactly and time it.")
    nb.add_argument("--seed", type=int, default=1, help="seed of parameters, data and primes (default 1)")
    nb.add_argument("--point", default="gaussian", metavar="{gaussian,integers}",
                    help="seeded point (default gaussian; see `exacthess verify fcn --help`)")
    nb.add_argument("--json", action="store_true", help="print the table and the report as JSON")
    from . import trends as trends_cli
    trends_cli.configure(rs)
    from . import float_atlas as float_atlas_cli
    float_atlas_cli.configure(rs)
    from . import model_zoo as model_zoo_cli
    model_zoo_cli.configure(rs)
    from . import transformer_hessian as transformer_cli
    transformer_cli.configure(rs)
    claims_cli.configure(rs)
    if spectral_cli is not None:
        cs = rs.add_parser("conv-sv", help="FFT method vs dense SVD timings (Sedghi et al.)",
                           description="Time the FFT method against the dense SVD of the operator as the input "
                                       "size n and the channel count m grow (Sedghi, Gupta & Long 2019); PNG + JSON.")
        spectral_cli.configure_reproduce(cs)

    pst = sub.add_parser("statements", help="list the registered statements, their status and counterexamples",
                         description="The registry: ids, kinds, formulas, conditions, sources (docs/references.md), "
                                     "status ('holds on every case tried' or 'refuted') and, for refuted ones, "
                                     "the command that reproduces the counterexample.")
    statements_cli.configure(pst)
    from . import check as check_cli
    check_cli.configure(sub)
    from . import compare as compare_cli
    compare_cli.configure(sub)
    prove_cli.configure(sub)
    from . import plot as plot_cli
    from . import sweep as sweep_cli
    sweep_cli.configure(sub)
    plot_cli.configure(sub)
    return add_exit_codes(parser)


def _graph_spec(text: str):
    """The graph of ``--spec``: JSON text, or the path of a file holding it."""
    from pathlib import Path

    from ..core.errors import InvalidValueError
    from ..models.graph import Graph
    source = text
    if not text.lstrip().startswith(("{", "[")):
        try:
            source = Path(text).read_text()
        except OSError as exc:
            raise InvalidValueError(f"--spec = {text!r} cannot be read ({exc.strerror or exc}); expected JSON text or "
                                    "a .json file written from Graph.to_spec()") from None
    try:
        spec = json.loads(source)
    except ValueError:
        raise InvalidValueError(f"--spec = {text[:60]!r} is not JSON; expected Graph.to_spec() as JSON") from None
    if not isinstance(spec, dict):
        raise InvalidValueError(f"--spec = {text[:60]!r} is not a JSON object; expected Graph.to_spec() as JSON")
    return Graph.from_spec({**spec, "family": "graph"})


def _cmd_verify(args) -> int:
    if args.family == "conv-sv":
        from . import spectral as spectral_cli
        return spectral_cli.run_verify(args)
    from ..verification.pipeline import verify
    params = data = None
    if args.family == "torch":
        arch, params, data = torch_model.load(args)
    elif args.family == "graph":
        arch = _graph_spec(args.spec)
    elif args.family == "transformer":
        arch = transformer_from_args(args)
    else:
        arch = arch_from_args(args, args.family)
    with ProgressReporter(prefix="[verify]") as prog, prog.step(f"verify {arch!r} ({arch.n_params} parameters)"):
        report = verify(arch, n_samples=None if data is not None else args.samples, seed=args.seed, params=params,
                        data=data, loss=args.loss, certify=args.certify, budget_seconds=args.budget,
                        float_check=torch_model.float_option(args), point=getattr(args, "point", "gaussian"),
                        perfect_fit=args.perfect_fit, round_to=getattr(args, "round_to", None), progress=prog)
    if getattr(args, "was_training", False):
        report.notes.append("the saved module was in training mode; it was verified in eval mode (model.eval(): "
                            "batch normalisation by its running statistics, dropout off)")
    if args.json:
        print(report.to_json(indent=2))
    else:
        from .render import print_report
        print_report(report)
    return report.exit_code


def _cmd_reproduce(args) -> int:
    if args.target == "notebook":
        from ..experiments.reproduce import reproduce_notebook
        with ProgressReporter(prefix="[reproduce]") as prog, prog.step("the notebook's FCN(25, (5, 10), 10)"):
            report, rows, secs = reproduce_notebook(seed=args.seed, point=args.point, progress=prog)
        if args.json:
            print(json.dumps({"rows": [dict(zip(("quantity", "exact", "notebook", "match"), r)) for r in rows],
                              "seconds": secs, "report": report.to_dict()}, indent=2))
        else:
            from rich.table import Table

            from .render import console, summary_line
            t = Table(title="Rank of neural Hessians: notebook (float64) vs exacthess (exact, certified)")
            for col in ("matrix", "notebook (float64)", "exacthess (exact)", "how", "match"):
                t.add_column(col)
            for q, exact, nb, ok in rows:
                t.add_row(q, str(nb), str(exact), report.rank_info[q].how, "yes" if ok else "NO")
            con = console()
            con.print(t)
            con.print(f"setting: d = 25, widths (5, 10), K = 10, n = 50 seeded samples, seed {args.seed}, "
                      f"point {args.point}")
            con.print(f"verified end to end in {secs:.2f} s; statements: {summary_line(report)}")
        return 0 if all(r[3] for r in rows) and report.exit_code == 0 else 1
    if args.target == "float-atlas":
        from . import float_atlas as float_atlas_cli
        return float_atlas_cli.run(args)
    if args.target == "model-zoo":
        from . import model_zoo as model_zoo_cli
        return model_zoo_cli.run(args)
    if args.target == "transformer-hessian":
        from . import transformer_hessian as transformer_cli
        return transformer_cli.run(args)
    if args.target in ("discussion", "approx-chain-rule"):
        return claims_cli.run(args)
    if args.target == "cnn-trends":
        from . import trends as trends_cli
        return trends_cli.run(args)
    from . import spectral as spectral_cli
    return spectral_cli.run_reproduce(args)


def _cmd_statements(args) -> int:
    return statements_cli.run(args)


def _cmd_search(args) -> int:
    return search_cli.run(args)


def _cmd_sweep(args) -> int:
    from . import sweep as sweep_cli
    return sweep_cli.run(args)


def _cmd_fixtures(args) -> int:
    from . import fixtures as fixtures_cli
    return fixtures_cli.run(args)


def _cmd_check(args) -> int:
    from . import check as check_cli
    return check_cli.run(args)


def _cmd_compare(args) -> int:
    from . import compare as compare_cli
    return compare_cli.run(args)


def _cmd_plot(args) -> int:
    from . import plot as plot_cli
    return plot_cli.run(args)


def main(argv=None) -> int:
    """Run the command line; returns the exit code (see ``exacthess --help``).

    Bad input prints one line ``error: ...`` on stderr and returns 2; an unexpected exception (a
    bug) prints one line and returns 70 (``EXACTHESS_TRACEBACK=1`` prints its traceback too);
    Ctrl-C prints one line saying what was saved and returns 130 (:mod:`exacthess.cli.interrupt`:
    never a traceback, never an internal error; with ``argv`` None in the ``exacthess`` program
    itself, or ``python -m exacthess``, the process ends right after that line, within about a
    second of the signal, and a Ctrl-C after the command is complete is ignored); output cut short
    by its reader (``| head``) returns 141, quietly.
    """
    with interrupt.handling(process=argv is None and interrupt.is_command_line()) as state:
        try:
            code = _run(argv)
        except KeyboardInterrupt:
            code = interrupt.EXIT_CODE
        if state.received is not None:  # also when the interrupt surfaced as another error, or was swallowed
            state.report()
            code = interrupt.EXIT_CODE
            if state.hard_exit:  # the program ends now: its finished results are on disk (see interrupt.end_now)
                interrupt.end_now()
    return code


def _run(argv) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) or a one-line usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    args.argv = argv  # errors spell the options the user typed (cli/messages.py)
    try:
        handler = {"verify": _cmd_verify, "reproduce": _cmd_reproduce,
                   "statements": _cmd_statements, "search": _cmd_search, "sweep": _cmd_sweep,
                   "plot": _cmd_plot, "prove": prove_cli.run, "check": _cmd_check,
                   "fixtures": _cmd_fixtures, "compare": _cmd_compare}[args.command]
        return handler(args)
    except Exception:
        if interrupt.INTERRUPTS.received is not None:  # an interrupt that surfaced as another exception
            return interrupt.EXIT_CODE
        return _failure(sys.exc_info()[1], argv)


def _failure(exc: Exception, argv=None) -> int:
    """The exit code of an exception that ended a command (printing its one line, in the words of the
    command line the user typed: :func:`~exacthess.cli.messages.error_text`)."""
    if isinstance(exc, ExactHessError):
        print(f"error: {error_text(exc, argv)}", file=sys.stderr)
        return 2
    if isinstance(exc, BrokenPipeError):  # the reader went away (`exacthess ... | head`): quietly, as a shell does
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        except (OSError, ValueError):
            pass
        return 141
    if isinstance(exc, OSError):  # a path that cannot be read or written
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"error: {where}{exc.strerror or _one_line(exc)}; expected a readable or writable path", file=sys.stderr)
        return 2
    if isinstance(exc, MemoryError):
        print("error: out of memory: this problem does not fit this machine (set EXACTHESS_MEMORY_LIMIT_GB to the "
              "memory available, so that such problems are refused before they start)", file=sys.stderr)
        return 2
    if os.environ.get("EXACTHESS_TRACEBACK"):  # a bug: one line, the traceback on request
        traceback.print_exception(exc)
    print(f"error: internal error ({type(exc).__name__}: {_one_line(exc)}); this is a bug in exacthess, please "
          "report it with the command (EXACTHESS_TRACEBACK=1 prints the traceback)", file=sys.stderr)
    return 70


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
