"""``exacthess reproduce transformer-hessian``: the Hessian of self-attention (Ormaniec, Dangel & Singh), exactly.

The computation is :func:`exacthess.experiments.transformer_hessian.transformer_hessian`; this module
parses the options, shows progress, prints the tables and writes ``transformer_hessian.json`` and the
figure ``transformer_hessian.png`` (``--format``), and the growth figure when the growth table is there.
"""

from __future__ import annotations

import argparse
import json

from ..experiments.figures import FORMAT_HELP

__all__ = ["configure", "run"]


def configure(subparsers) -> argparse.ArgumentParser:
    """Add ``transformer-hessian`` to the ``reproduce`` subparsers."""
    p = subparsers.add_parser(
        "transformer-hessian", help="the Hessian of self-attention exactly: Q/K/V blocks, certified ranks, growth",
        description="Recompute the block picture of Ormaniec, Dangel & Singh (ICLR 2025) exactly on a small "
                    "self-attention layer F(X) = A(X) X W_V, with softmax and with linear attention: the size of "
                    "each Q/K/V block of H_L, H_o, H_f, the certified ranks beside float32/float64 ranks, and the "
                    "growth exponents of the blocks in the data and weight scales (proven for linear attention, "
                    "measured for softmax) beside the paper's.")
    p.add_argument("--width", type=int, default=4, help="model width d = d_K = d_V (default 4: scale 1/2 exact)")
    p.add_argument("--tokens", type=int, default=4, help="tokens per sequence T (default 4)")
    p.add_argument("--samples", type=int, default=2, help="sequences (default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the point (default 0)")
    p.add_argument("--no-growth", action="store_true", help="skip the growth exponents")
    p.add_argument("--out", default="exacthess-output", help="output folder (default exacthess-output)")
    p.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    p.add_argument("--format", default="png", metavar="FMT[,FMT]", help=FORMAT_HELP)
    return p


def run(args) -> int:
    from rich.table import Table

    from ..core.validate import check_int
    from ..experiments.figures import check_formats, save_figure
    from ..experiments.transformer_hessian import transformer_hessian
    from .parser import writable
    from .progress import ProgressReporter
    from .render import console
    check_int(args.width, "--width", 1)
    check_int(args.tokens, "--tokens", 1)
    check_int(args.samples, "--samples", 1)
    check_int(args.seed, "--seed", 0)
    formats = check_formats(args.format, "--format")
    out = writable(args.out, "--out")
    with ProgressReporter(prefix="[transformer-hessian]") as prog, prog.step("self-attention Hessians"):
        res = transformer_hessian(d=args.width, T=args.tokens, n_samples=args.samples, seed=args.seed,
                                  growth=not args.no_growth, progress=prog)
    (out / "transformer_hessian.json").write_text(json.dumps(res.to_dict(), indent=2, default=str) + "\n")
    figures = save_figure(res.figure(), out / "transformer_hessian", formats)
    if res.growth:
        figures += save_figure(res.growth_figure(), out / "transformer_hessian_growth", formats)
    if args.json:
        print(json.dumps(res.to_dict(), indent=2, default=str))
        return 0
    con = console()
    t = Table(title="Frobenius norm of each block (exact, shown as floats)")
    for col in ("attention", "block", "H_L", "H_o", "H_f"):
        t.add_column(col, justify="left" if col in ("attention", "block") else "right")
    for kind in ("softmax", "linear"):
        for block in sorted({r["block"] for r in res.blocks}, key=lambda b: ("QKV".index(b[0]), "QKV".index(b[1]))):
            cells = {r["matrix"]: r for r in res.blocks if r["attention"] == kind and r["block"] == block}
            t.add_row(kind, block, *("0 (exactly)" if cells[m]["zero"] else f"{cells[m]['frobenius']:.4g}"
                                     for m in ("H_L", "H_o", "H_f")))
    con.print(t)
    r = Table(title="ranks: certified vs the same matrix in float32 / float64 (matrix_rank, hermitian)")
    for col in ("attention", "matrix", "p", "exact", "float32", "float64", "p - d_sym"):
        r.add_column(col, justify="left" if col in ("attention", "matrix") else "right")
    for row in res.ranks:
        def cell(v):
            return "-" if v is None else (str(v) if v == row["exact"] else f"[bold red]{v}![/]")
        r.add_row(row["attention"], row["matrix"], str(row["n_params"]),
                  str(row["exact"]) + ("" if row["certified"] else " (bound)"), cell(row["float32"]),
                  cell(row["float64"]), "-" if row["symmetry_bound"] is None else
                  f"{row['symmetry_bound']} ({row['symmetry_verdict']})")
    con.print(r)
    if res.growth:
        gt = Table(title="growth of ||block||_F in the data scale X -> t X, beside the authors' (proven: exact "
                         "polynomial degrees; measured: log-log slopes)")
        for col in ("attention", "part", "block", "t -> 0", "t -> inf", "how", "paper", "agrees"):
            gt.add_column(col, justify="left" if col in ("attention", "part", "block", "how") else "right")
        for row in res.growth:
            if row["paper_claim"] is None or row["scale_kind"] != "data":
                continue
            e0, e1 = ("0 (zero block)", "-") if row["zero"] else (str(row["exponent"]), str(row["exponent_large"]))
            agrees = "-" if row["agrees"] is None else ("yes" if row["agrees"] else "[bold red]NO[/]")
            gt.add_row(row["attention"], row["part"], row["block"], e0, e1, "proven" if row["proven"] else
                       "measured", str(row["paper_claim"]), agrees)
        con.print(gt)
        con.print(f"{len(res.growth)} growth rows in the JSON (every block, data / weight / per-matrix scales)")
    s = res.setting
    con.print(f"setting: {s['model']}; d = {s['d']}, T = {s['T']}, {s['n_samples']} sequences, score scale "
              f"{s['scale']}, seed {s['seed']}; {res.seconds:.1f} s; wrote {out / 'transformer_hessian.json'} and "
              f"{', '.join(map(str, figures))}")
    return 0 if all(row["certified"] for row in res.ranks) else 1
