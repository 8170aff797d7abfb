"""The ``exacthess`` command line: ``verify``, ``search``, ``reproduce``, ``statements``, ``prove``,
``sweep``, ``plot``.

Exit codes (:data:`EXIT_TEXT`): ``verify``: 0 every statement decided and holding, 1 a statement
violated or refuted, 2 bad input (one line ``error: ...`` on stderr), 3 nothing violated or
refuted but something undecided. ``search``: 0 no counterexample, 1 one was found, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..core.errors import ExactHessError
from . import claims as claims_cli
from . import prove as prove_cli
from . import search as search_cli
from . import statements as statements_cli
from . import torch_model

__all__ = ["main", "build_parser", "EXIT_TEXT"]

#: the exit codes, as printed by ``exacthess --help``
EXIT_TEXT = """exit codes:
  verify      0  every statement decided and holding
              1  a statement VIOLATED (published or proven) or refuted (conjecture or derived)
              2  bad input (one line 'error: ...' on stderr)
              3  nothing violated or refuted, but some statement undecided: the proven bounds
                 do not decide it (the row says which bound is missing)
  search      0  no counterexample found, 1 a counterexample found, 2 bad input
  reproduce discussion | approx-chain-rule
              0  every verdict is what the document claims, 1 a claim contradicted (named),
              3  none contradicted but one undecided, 2 bad input
  other       0  done, 2 bad input"""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``error: ...`` on stderr, exit code 2."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message}\n")


def _ints(text: str, name: str) -> list:
    """Parse ``"5,10"`` into ints and ``"3x2,1x1"`` into tuples."""
    text = text.strip().strip('"').strip("'")
    if text == "":
        return []
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            out.append(tuple(int(v) for v in part.split("x")) if "x" in part else int(part))
        except ValueError:
            raise ExactHessError(f"{name} = {text!r} is not valid; expected comma-separated integers "
                                 "(e.g. 5,10) or per-dimension pairs like 3x2") from None
    return out


def _add_common(p: argparse.ArgumentParser, architecture: bool = True) -> None:
    p.add_argument("--samples", type=int, default=None, metavar="N", help="number of seeded samples (default 2 d)")
    p.add_argument("--seed", type=int, default=0, help="seed of parameters, data and primes (default 0)")
    if architecture:
        p.add_argument("--bias", action="store_true", help="biases on every layer")
        p.add_argument("--activation", default="linear", metavar="NAME",
                       help="after every hidden layer: linear (default), relu, leaky_relu(a), poly(c0,c1,...)")
    p.add_argument("--loss", default="mse", metavar="NAME",
                   help="mse (default), weighted_mse(w1,...,wK), cross_entropy, bce")
    p.add_argument("--certify", choices=["auto", "always", "never"], default="auto",
                   help="certify upper bounds: auto (within --budget), always, never (then verdicts that "
                        "need an upper bound are undecided: exit code 3)")
    p.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                   help="certification budget per rank in auto mode (default 60)")
    p.add_argument("--point", default="gaussian", metavar="{gaussian,integers}",
                   help="seeded point: gaussian (default; weights ~ N(0, 1/fan_in), biases ~ N(0, 0.01/fan_in), "
                        "data and targets ~ N(0, 1), dyadic with ~8 significant bits, exact in float32) or "
                        "integers (uniform in [-999, 999])")
    p.add_argument("--no-float", action="store_true",
                   help="skip the float32/float64 matrix_rank comparison (the Hessian computed in each float type)")
    p.add_argument("--perfect-fit", action="store_true",
                   help="targets := the network's own predictions (every output gradient exactly 0)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="exacthess", epilog=EXIT_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Exact, certified ranks of neural-network Hessians and exact checks of published statements.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    pv = sub.add_parser("verify", help="verify the rank statements for one architecture",
                        description="Compute exact Hessian ranks and check every registered statement. Verdicts: "
                                    "holds, VIOLATED, refuted, undecided, n/a.",
                        epilog=EXIT_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter)
    vs = pv.add_subparsers(dest="family", metavar="FAMILY")
    vs.required = True
    f = vs.add_parser("fcn", help="deep linear fully-connected network", epilog=EXIT_TEXT,
                      formatter_class=argparse.RawDescriptionHelpFormatter,
                      description="exacthess verify fcn --input-dim 25 --widths 5,10 --output-dim 10 --samples 50")
    f.add_argument("--input-dim", type=int, required=True, help="input dimension d")
    f.add_argument("--widths", type=str, default="", help="hidden widths, comma-separated (empty: no hidden layer)")
    f.add_argument("--output-dim", type=int, required=True, help="output dimension K")
    _add_common(f)
    c = vs.add_parser("cnn", help="deep linear CNN (convolutions + fully-connected output layer)", epilog=EXIT_TEXT,
                      formatter_class=argparse.RawDescriptionHelpFormatter,
                      description="exacthess verify cnn --input-shape 16 --channels 4,4 --kernel-sizes 3,3 --output-dim 5")
    c.add_argument("--input-shape", type=str, required=True, help="d0 (1-D) or HxW (2-D)")
    c.add_argument("--channels", type=str, required=True, help="filters per hidden layer, comma-separated")
    c.add_argument("--kernel-sizes", type=str, required=True, help="kernel size per layer (k or KHxKW), comma-separated")
    c.add_argument("--output-dim", type=int, required=True, help="output dimension K")
    c.add_argument("--in-channels", type=int, default=1, help="input channels m_0 (default 1)")
    c.add_argument("--strides", type=str, default="1", help="stride per layer (default 1)")
    c.add_argument("--paddings", type=str, default="0", help="zero padding per layer (default 0)")
    _add_common(c)
    t = vs.add_parser("torch", help="a saved PyTorch nn.Sequential (torch.save(model); trusted files only)",
                      epilog=EXIT_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter,
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

    ps = sub.add_parser("search", help="search for a counterexample to a statement with Hypothesis",
                        description="Search architectures for a counterexample to STATEMENT_ID: only a VIOLATED "
                                    "or refuted verdict of that statement counts.")
    search_cli.configure(ps)

    pr = sub.add_parser("reproduce", help="reproduce a published table or figure")
    rs = pr.add_subparsers(dest="target", metavar="TARGET")
    rs.required = True
    nb = rs.add_parser("notebook", help="the FCN rank notebook's table (175 / 150 / 250)",
                       description="Recompute the notebook's ranks of H_f, H_o, H_L exactly and time it.")
    nb.add_argument("--seed", type=int, default=1)
    nb.add_argument("--point", default="gaussian", metavar="{gaussian,integers}",
                    help="seeded point (default gaussian; see `exacthess verify fcn --help`)")
    nb.add_argument("--json", action="store_true")
    ct = rs.add_parser("cnn-trends", help="rank vs parameter count of 1-D linear CNNs (ICML 2023 trend)")
    ct.add_argument("--out", default="exacthess-output", help="output folder (default exacthess-output)")
    ct.add_argument("--quick", action="store_true", help="a smaller sweep")
    ct.add_argument("--seed", type=int, default=0)
    ct.add_argument("--workers", type=int, default=None, metavar="N", help="worker processes (default: the CPUs)")
    from . import float_atlas as float_atlas_cli
    float_atlas_cli.configure(rs)
    claims_cli.configure(rs)
    if spectral_cli is not None:
        cs = rs.add_parser("conv-sv", help="FFT method vs dense SVD timings (Sedghi et al.)")
        spectral_cli.configure_reproduce(cs)

    pst = sub.add_parser("statements", help="list the registered statements, their status and counterexamples",
                         description="The registry: ids, kinds, formulas, conditions, sources (docs/references.md), "
                                     "status ('holds on every case tried' or 'refuted') and, for refuted ones, "
                                     "the command that reproduces the counterexample.")
    statements_cli.configure(pst)
    prove_cli.configure(sub)
    from . import plot as plot_cli, sweep as sweep_cli
    sweep_cli.configure(sub)
    plot_cli.configure(sub)
    return parser


def _arch_from_args(args):
    from ..models.architectures import CNN, FCN
    if args.family == "fcn":
        return FCN(args.input_dim, _ints(args.widths, "--widths"), args.output_dim, bias=args.bias,
                   activation=args.activation)
    shape = _ints(args.input_shape.replace(",", "x"), "--input-shape")
    shape = shape[0] if isinstance(shape[0], tuple) else tuple(shape)

    def per_layer(text, name):
        vals = _ints(text, name)
        return vals[0] if len(vals) == 1 else list(vals)
    return CNN(shape, tuple(_ints(args.channels, "--channels")), per_layer(args.kernel_sizes, "--kernel-sizes"),
               args.output_dim, in_channels=args.in_channels, strides=per_layer(args.strides, "--strides"),
               paddings=per_layer(args.paddings, "--paddings"), bias=args.bias, activation=args.activation)


def _progress(enabled: bool):
    if not enabled:
        return None
    def say(msg):
        print(f"  computing {msg} ...", file=sys.stderr, flush=True)
    return say


def _cmd_verify(args) -> int:
    if args.family == "conv-sv":
        from . import spectral as spectral_cli
        return spectral_cli.run_verify(args)
    from ..experiments.verify import verify
    params = data = None
    if args.family == "torch":
        arch, params, data = torch_model.load(args)
    else:
        arch = _arch_from_args(args)
    report = verify(arch, n_samples=None if data is not None else args.samples, seed=args.seed, params=params,
                    data=data, loss=args.loss, certify=args.certify,
                    budget_seconds=args.budget, float_check=not args.no_float, point=getattr(args, "point", "gaussian"),
                    perfect_fit=args.perfect_fit,
                    progress=_progress(not args.json and sys.stderr.isatty()))
    if args.json:
        print(report.to_json(indent=2))
    else:
        from .render import print_report
        print_report(report)
    return report.exit_code


def _cmd_reproduce(args) -> int:
    if args.target == "notebook":
        from ..experiments.reproduce import reproduce_notebook
        report, rows, secs = reproduce_notebook(seed=args.seed, point=args.point)
        if args.json:
            print(json.dumps({"rows": [dict(zip(("quantity", "exact", "notebook", "match"), r)) for r in rows],
                              "seconds": secs, "report": report.to_dict()}, indent=2))
        else:
            from rich.console import Console
            from rich.table import Table
            t = Table(title="Rank of neural Hessians: notebook (float64) vs exacthess (exact, certified)")
            for col in ("matrix", "notebook (float64)", "exacthess (exact)", "how", "match"):
                t.add_column(col)
            for q, exact, nb, ok in rows:
                t.add_row(q, str(nb), str(exact), report.rank_info[q].how, "yes" if ok else "NO")
            con = Console() if sys.stdout.isatty() else Console(width=140)
            con.print(t)
            con.print(f"setting: d = 25, widths (5, 10), K = 10, n = 50 seeded samples, seed {args.seed}, "
                      f"point {args.point}")
            from .render import summary_line
            con.print(f"verified end to end in {secs:.2f} s; statements: {summary_line(report)}")
        return 0 if all(r[3] for r in rows) and report.exit_code == 0 else 1
    if args.target == "float-atlas":
        from . import float_atlas as float_atlas_cli
        return float_atlas_cli.run(args)
    if args.target in ("discussion", "approx-chain-rule"):
        return claims_cli.run(args)
    if args.target == "cnn-trends":
        from ..experiments.trends import run_cnn_trends
        return run_cnn_trends(args)
    from . import spectral as spectral_cli
    return spectral_cli.run_reproduce(args)


def _cmd_statements(args) -> int:
    return statements_cli.run(args)


def _cmd_search(args) -> int:
    return search_cli.run(args)


def _cmd_sweep(args) -> int:
    from . import sweep as sweep_cli
    return sweep_cli.run(args)


def _cmd_plot(args) -> int:
    from . import plot as plot_cli
    return plot_cli.run(args)


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a one-line usage error (2)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        handler = {"verify": _cmd_verify, "reproduce": _cmd_reproduce,
                   "statements": _cmd_statements, "search": _cmd_search, "sweep": _cmd_sweep,
                   "plot": _cmd_plot, "prove": prove_cli.run}[args.command]
        return handler(args)
    except ExactHessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
