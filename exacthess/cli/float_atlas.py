"""``exacthess reproduce float-atlas``: parser, progress, table, JSON and plot.

The computation is :func:`exacthess.experiments.float_atlas.run_atlas`; this module only
parses options, shows progress (a rich bar on a terminal, one plain line per network when
piped), prints the table and writes ``float_atlas.json`` and the figure ``float_atlas.png`` (or
``.pdf``, ``.svg``: ``--format``).
"""

from __future__ import annotations

import argparse
import json

from ..core.errors import InvalidValueError
from ..experiments.figures import FORMAT_HELP

__all__ = ["configure", "run", "plot_atlas", "atlas_figure", "FAMILY_TITLES"]


def configure(subparsers) -> argparse.ArgumentParser:
    """Add ``float-atlas`` to the ``reproduce`` subparsers."""
    p = subparsers.add_parser(
        "float-atlas", help="where float32/float64 Hessian ranks go wrong: a grid of networks vs certified ranks",
        description="Run 62 linear networks (FCNs of depth 1-10, equal widths and a bottleneck, 1-D and 2-D CNNs, "
                    "with and without biases) at realistic seeded points and compare numpy's matrix_rank of "
                    "H_L, H_o, H_f computed in float32 and float64 with the certified exact ranks.")
    p.add_argument("--quick", action="store_true", help="a small grid of 7 networks")
    p.add_argument("--seeds", default="0", help="comma-separated seeds; each runs the whole grid (default 0)")
    p.add_argument("--budget", type=float, default=60.0, metavar="SECONDS",
                   help="certification budget per rank (default 60)")
    p.add_argument("--out", default="exacthess-output", help="output folder (default exacthess-output)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON instead of a table")
    p.add_argument("--format", default="png", metavar="FMT[,FMT]", help=FORMAT_HELP)
    return p


def _seeds(text: str) -> tuple:
    parts = [v.strip() for v in str(text).split(",")]
    try:
        seeds = tuple(int(v) for v in parts)
    except ValueError:
        raise InvalidValueError(f"--seeds = {text!r} is not valid; expected comma-separated ints >= 0") from None
    if any(v < 0 for v in seeds):
        raise InvalidValueError(f"--seeds = {text!r} has a negative seed; expected comma-separated ints >= 0")
    return seeds


def _fmt(cell: dict) -> tuple[str, str]:
    if not cell["decided"]:
        return "-", "-"
    rate = f"{cell['disagreements']}/{cell['decided']}"
    if cell["comparisons"] != cell["decided"]:
        rate += f" ({cell['comparisons'] - cell['decided']} undecided)"
    err = "-" if cell["mean_abs_error"] is None else f"{cell['mean_abs_error']:.1f} (max {cell['max_abs_error']})"
    if cell["overflows"]:
        err += f", {cell['overflows']} overflow"
    return rate, err


#: what each family of the grid is, for the figure's panel titles
#: (:func:`exacthess.experiments.float_atlas.atlas_grid`)
FAMILY_TITLES = {"fcn-equal": "FCN, equal widths (8)", "fcn-bottleneck": "FCN, widths 6 with a bottleneck of 2",
                 "cnn1d": "1-D CNN, 4 channels, kernel 3", "cnn2d": "2-D CNN, 2 channels, 3×3 kernels"}


def plot_atlas(summary: dict, path, formats=None) -> list:
    """Write :func:`atlas_figure` to ``path`` (its extension picks the format) or, with
    ``formats`` (e.g. ``("png", "pdf")``), to ``path`` with each extension; returns the paths."""
    from ..experiments.figures import paper_style, save_figure
    with paper_style():
        return save_figure(atlas_figure(summary), path, formats)


def atlas_figure(summary: dict):
    """Error rate and mean |rank error| against depth, one column per family (titled in full,
    wrapped), one line per dtype: float32 hollow circles, float64 small filled squares, so that
    a float64 point on a float32 point stays visible."""
    import textwrap

    from ..experiments.figures import new_figure, paper_style
    from ..experiments.float_atlas import FAMILIES
    from ..verification.floats import DTYPES
    rows = summary["by_family_depth"]
    fams = [f for f in FAMILIES if any(r["family"] == f for r in rows)]
    fams += sorted({r["family"] for r in rows} - set(fams))
    if not fams:
        raise InvalidValueError("summary has no row in by_family_depth; nothing to plot")
    style = {"float32": dict(color="C3", ls="-", lw=2.2, marker="o", markersize=8.5, markerfacecolor="none", zorder=3),
             "float64": dict(color="C0", ls="--", lw=1.2, marker="s", markersize=4.5, zorder=4)}
    with paper_style():
        fig = new_figure(3.1 * len(fams) + 0.9, 6.4)
        axes = fig.subplots(2, len(fams), squeeze=False, sharey="row")
        for j, fam in enumerate(fams):
            rs = [r for r in rows if r["family"] == fam]
            depth = [r["depth"] for r in rs]
            for dt in DTYPES:
                st = {"markeredgewidth": 1.4, **style.get(dt, {})}
                rate = [r[dt]["rate"] if r[dt]["rate"] is not None else float("nan") for r in rs]
                err = [r[dt]["mean_abs_error"] if r[dt]["mean_abs_error"] is not None else float("nan") for r in rs]
                axes[0][j].plot(depth, rate, label=dt, **st)
                axes[1][j].plot(depth, err, label=dt, **st)
            title = textwrap.wrap(FAMILY_TITLES.get(fam, fam), 24, break_on_hyphens=False) + [f"({fam})"]
            axes[0][j].set_title("\n".join(title))
            axes[0][j].set_ylim(-0.05, 1.05)
            axes[1][j].set_xlabel("depth L (hidden layers)")
            for ax in (axes[0][j], axes[1][j]):
                ax.set_xticks(depth)
                ax.set_xlim(min(depth) - 0.5, max(depth) + 0.5)
        axes[0][0].set_ylabel("fraction of ranks wrong\n(H_L, H_o, H_f)")
        axes[1][0].set_ylabel("mean |float rank - exact rank|")
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, [f"numpy matrix_rank in {lab}" for lab in labels], loc="outside lower center", ncol=2)
        fig.suptitle("Ranks of Hessians computed in float32 / float64 against certified exact ranks\n"
                     "(realistic seeded points; exacthess)")
    return fig


def run(args) -> int:
    """Run the atlas, print the table (or JSON), write the JSON file and the plot."""
    from rich.table import Table

    from ..core.validate import check_real
    from ..experiments.float_atlas import atlas_grid, run_atlas
    from ..verification.floats import DTYPES
    from .parser import writable
    from .progress import ProgressReporter
    from .render import console

    from ..experiments.figures import check_formats
    seeds = _seeds(args.seeds)
    check_real(args.budget, "--budget", 0, allow_inf=True)
    formats = check_formats(args.format, "--format")
    out = writable(args.out, "--out")
    total = len(atlas_grid(args.quick, seeds))
    con = console()
    with ProgressReporter(prefix="[float-atlas]", total=total) as prog, prog.step("float atlas"):
        def say(i, n, case):
            prog.count(i, n, f"{case['family']} depth {case['depth']}{' bias' if case['bias'] else ''} "
                             f"({case['arch'].n_params} parameters)")
        result = run_atlas(args.quick, seeds, args.budget, progress=say)
    data = result.to_dict()
    (out / "float_atlas.json").write_text(json.dumps(data, indent=2) + "\n")
    figures = ", ".join(map(str, plot_atlas(result.summary, out / "float_atlas", formats)))
    if args.json:
        print(json.dumps({"settings": data["settings"], "seconds": data["seconds"], "summary": data["summary"]}, indent=2))
        return 0
    t = Table(title="float32 / float64 matrix_rank of H_L, H_o, H_f vs certified exact ranks "
                    "(realistic seeded points)")
    t.add_column("family")
    t.add_column("depth", justify="right")
    t.add_column("nets", justify="right")
    for dt in DTYPES:
        t.add_column(f"{dt} wrong", justify="right")
        t.add_column(f"{dt} mean |err|", justify="right")
    for r in result.summary["by_family_depth"]:
        t.add_row(r["family"], str(r["depth"]), str(r["networks"]), *[v for dt in DTYPES for v in _fmt(r[dt])])
    for r in result.summary["by_family"]:
        t.add_row(f"[bold]{r['family']}[/]", "all", str(r["networks"]), *[v for dt in DTYPES for v in _fmt(r[dt])])
    o = result.summary["overall"]
    t.add_row("[bold]all[/]", "all", str(o["networks"]), *[v for dt in DTYPES for v in _fmt(o[dt])])
    con.print(t)
    for r in result.summary["by_matrix"]:
        con.print(f"{r['matrix']}: " + "; ".join(
            f"{dt} wrong {r[dt]['disagreements']}/{r[dt]['decided']} (below the exact rank {r[dt]['below']}, "
            f"above {r[dt]['above']})" for dt in DTYPES))
    unc = result.summary["uncertified"]
    con.print(f"{o['networks']} networks, {3 * o['networks']} exact ranks "
              f"({'all certified' if not unc else f'{unc} not certified within the budget'}); "
              f"wrote {out / 'float_atlas.json'} and {figures} in {result.seconds:.1f} s")
    return 0
