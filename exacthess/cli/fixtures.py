"""``exacthess fixtures --out DIR``: write the fixture set of :mod:`exacthess.oracle.fixtures`."""

from __future__ import annotations

import argparse

__all__ = ["configure", "run"]


def configure(subparsers) -> argparse.ArgumentParser:
    from ..oracle.fixtures import FIXTURES
    p = subparsers.add_parser(
        "fixtures", help="write small PyTorch models with their exact curvature, for testing curvature libraries",
        description="Write a fixture set: for each model its constructor, parameters, data and its exact Hessian, "
                    "GGN, diagonals, eigenvalue enclosures and KFAC factors (exact rationals and float64), a "
                    "README and a loader that needs only numpy (needs PyTorch: pip install 'exacthess[torch]').")
    p.add_argument("--out", required=True, help="the folder to write (created if needed)")
    p.add_argument("--models", default=None, metavar="NAME[,NAME]",
                   help="only these fixtures (default: all): " + ", ".join(FIXTURES))
    p.add_argument("--seed", type=int, default=0, help="seed of torch's initialisation and of the data (default 0)")
    return p


def run(args) -> int:
    from ..core.validate import check_int, check_option
    from ..oracle.fixtures import FIXTURES, write_fixtures
    from .parser import writable
    from .progress import ProgressReporter
    check_int(args.seed, "--seed", 0)
    names = None if args.models is None else [check_option(v.strip(), "--models", tuple(FIXTURES))
                                              for v in args.models.split(",")]
    out = writable(args.out, "--out")
    with ProgressReporter(prefix="[fixtures]") as prog, prog.step("fixtures"):
        written = write_fixtures(out, names=names, seed=args.seed, progress=prog)
    print(f"wrote {len(written)} fixtures to {out} ({', '.join(written)}); load them with "
          f"{out / 'exacthess_fixtures.py'} (numpy only)")
    return 0
