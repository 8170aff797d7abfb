"""``exacthess reproduce model-zoo``: a dozen small PyTorch models, certified ranks beside torch's.

The computation is :func:`exacthess.experiments.model_zoo.run_zoo`; this module parses the
options, shows progress, prints the table and writes ``model_zoo.json`` and the figure
``model_zoo.png`` (or ``.pdf``, ``.svg``: ``--format``).
"""

from __future__ import annotations

import argparse
import json

from ..experiments.figures import FORMAT_HELP
from ..experiments.model_zoo import ZOO

__all__ = ["configure", "run", "zoo_figure"]


def configure(subparsers) -> argparse.ArgumentParser:
    """Add ``model-zoo`` to the ``reproduce`` subparsers."""
    p = subparsers.add_parser(
        "model-zoo", help="a dozen small PyTorch models: certified Hessian ranks beside torch float32/float64",
        description="Build a dozen small but real PyTorch models (mixed activations, residual blocks, LeNet-style "
                    "CNN with pooling, ResNet blocks with BatchNorm in eval mode, dilated 1-D CNN, Conv3d, grouped "
                    "convolutions), read them exactly with from_torch, certify the ranks of H_L, H_o, H_f and "
                    "compare with torch.linalg.matrix_rank(hermitian=True) of torch.func.hessian in float32 and "
                    "float64 (needs PyTorch: pip install 'exacthess[torch]').")
    p.add_argument("--seed", type=int, default=0, help="seed of torch's initialisation and of the data (default 0)")
    p.add_argument("--samples", type=int, default=6, help="samples per model (default 6)")
    p.add_argument("--models", default=None, metavar="NAME[,NAME]",
                   help="only these models (default: all twelve): " + ", ".join(ZOO))
    p.add_argument("--out", default="exacthess-output", help="output folder (default exacthess-output)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON instead of a table")
    p.add_argument("--format", default="png", metavar="FMT[,FMT]", help=FORMAT_HELP)
    return p


def zoo_figure(rows: list):
    """Top: per model, the certified rank of H_L and torch's float32 / float64 ranks, as fractions of
    the parameters. Bottom: the float ranks minus the certified rank (0: right)."""
    import numpy as np

    from ..experiments.figures import new_figure, paper_style
    with paper_style():
        fig = new_figure(7.0, 5.2)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        x = np.arange(len(rows))
        series = (("H_L", "exact (certified)", "C0"), ("torch_float64", "torch float64", "C1"),
                  ("torch_float32", "torch float32", "C2"))
        for i, (key, label, colour) in enumerate(series):
            top.bar(x + (i - 1) * 0.27, [r[key] / r["n_params"] for r in rows], 0.27, label=label, color=colour)
        top.set_ylabel("rank H_L / parameters")
        top.set_ylim(0, 1.18)
        top.legend(loc="upper center", ncol=3, fontsize="small")
        lowest = 0
        for key, label, marker, colour in (("torch_float64", "torch float64", "o", "C1"),
                                           ("torch_float32", "torch float32", "s", "C2")):
            diffs = [r[key] - r["H_L"] for r in rows]
            lowest = min([lowest] + diffs)
            bottom.plot(x, diffs, marker, label=label, markersize=6, color=colour)
        bottom.axhline(0, color="0.5", linewidth=0.8)
        bottom.set_ylim(lowest - 1, 0.4 * (1 - lowest) + 1)  # room above 0 for the legend
        bottom.set_ylabel("float rank - exact")
        bottom.set_xticks(x)
        bottom.set_xticklabels([r["model"] for r in rows], rotation=45, ha="right")
        bottom.legend(loc="upper right", ncol=2, fontsize="small")
        top.set_title("Hessian rank of small PyTorch models: certified vs torch matrix_rank(hermitian=True)")
    return fig


def run(args) -> int:
    from rich.table import Table

    from ..core.validate import check_int, check_option
    from ..experiments.figures import check_formats, save_figure
    from ..experiments.model_zoo import run_zoo
    from .parser import writable
    from .progress import ProgressReporter
    from .render import console
    check_int(args.seed, "--seed", 0)
    check_int(args.samples, "--samples", 1)
    formats = check_formats(args.format, "--format")
    out = writable(args.out, "--out")
    with ProgressReporter(prefix="[model-zoo]") as prog, prog.step("model zoo"):
        names = None if args.models is None else [check_option(v.strip(), "--models", tuple(ZOO))
                                                   for v in args.models.split(",")]
        rows = run_zoo(seed=args.seed, n_samples=args.samples, names=names, progress=prog)
    (out / "model_zoo.json").write_text(json.dumps(rows, indent=2) + "\n")
    figures = save_figure(zoo_figure(rows), out / "model_zoo", formats)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    t = Table(title="certified Hessian ranks vs torch matrix_rank(hermitian=True) of torch.func.hessian")
    for col in ("model", "p", "H_L", "H_o", "H_f", "torch f32", "torch f64", "s"):
        t.add_column(col, justify="left" if col == "model" else "right")
    for r in rows:
        def cell(v):
            return str(v) if v == r["H_L"] else f"[bold red]{v}![/]"
        t.add_row(r["model"], str(r["n_params"]), str(r["H_L"]), str(r["H_o"]), str(r["H_f"]),
                  cell(r["torch_float32"]), cell(r["torch_float64"]), f"{r['seconds']:.1f}")
    con = console()
    con.print(t)
    wrong = [r["model"] for r in rows if r["torch_float64"] != r["H_L"] or r["torch_float32"] != r["H_L"]]
    con.print(f"{len(rows)} models, {'all' if all(r['certified'] for r in rows) else 'not all'} ranks certified; "
              f"float rank of H_L wrong for: {', '.join(wrong) or 'none'}; wrote {out / 'model_zoo.json'} and "
              f"{', '.join(map(str, figures))}")
    return 0
