"""``exacthess plot results.jsonl --x p --y H_L [--by depth] [--fit both] [--out FILE.pdf]``: trends of a sweep."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["configure", "run"]


def configure(subparsers) -> None:
    """Add the ``plot`` subcommand."""
    p = subparsers.add_parser(
        "plot", help="draw a quantity of sweep results against a key (PNG, PDF, SVG)",
        description="Draw --y against --x for the finished jobs of a sweep's results file, one series per value of "
                    "--by. Against --x p (the parameter count) the square-root law c sqrt(p) and the power law "
                    "c p^a are fitted per series (least squares on the log scale); the legend gives the fitted "
                    "parameters and the rms relative error, a panel per fit its residuals. Keys: p, a rank (H_L, "
                    "H_o, H_f, H_f[:,1], ...), seconds, depth, width, kernel, samples, any job key (input_dim, "
                    "output_dim, seed, ...) or report context (r, q, s, ...).")
    p.add_argument("results", metavar="RESULTS.jsonl", help="a results file written by exacthess sweep")
    p.add_argument("--x", default="p", help="horizontal key (default p)")
    p.add_argument("--y", default="H_L", help="vertical key (default H_L)")
    p.add_argument("--by", default=None, help="one series per value of this key")
    p.add_argument("--fit", default=None, choices=("both", "sqrt", "power", "none"),
                   help="fit c sqrt(x), c x^a, both or none (default: both against p, none otherwise)")
    p.add_argument("--out", default=None, metavar="FILE.png",
                   help="image file: .png, .pdf, .svg, ... (the extension picks the format; default: "
                        "RESULTS_<y>_vs_<x>.png next to the results)")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def run(args) -> int:
    """Run ``exacthess plot``."""
    from ..experiments.plots import check_image_path, plot_records
    from ..sweeps.results import read_records
    from .parser import writable
    if args.out:
        check_image_path(args.out, "--out")
    records = read_records(args.results)
    src = Path(args.results)
    out = Path(args.out) if args.out else src.with_name(f"{src.stem}_{_slug(args.y)}_vs_{_slug(args.x)}"
                                                          + (f"_by_{_slug(args.by)}" if args.by else "") + ".png")
    writable(out, "--out", folder=False)
    fits = plot_records(records, args.x, args.y, by=args.by, path=out, fit=args.fit)
    skipped = sum(r.get("status") != "ok" for r in records)
    for label, fit in fits.items():
        law = ""
        if fit["sqrt"] is not None:
            law = f"; fitted {args.y} ~ {fit['c']:.4g} sqrt({args.x}), rms relative error {fit['sqrt']['rms']:.1%}"
        print(f"{label}: {fit['points']} points{law}")
        if fit["power"] is not None:
            pw = fit["power"]
            print(f"  free exponent: {args.y} ~ {pw['c']:.4g} {args.x}^{pw['a']:.3f}, rms relative error "
                  f"{pw['rms']:.1%}")
    print(f"wrote {out}" + (f" ({skipped} records without status ok were left out)" if skipped else ""),
          file=sys.stdout)
    return 0
