"""``exacthess compare MODEL.pt --input-shape 1,8,8 [--data DATA.npz] [--theirs THEIRS.npy]``: a
curvature matrix compared with the exact one (:func:`exacthess.compare`).

The model and the data are read as ``exacthess verify torch`` reads them
(:mod:`exacthess.cli.torch_model`). With ``--theirs`` (a ``p x p`` ``.npy``, parameters in
``named_parameters()`` order), that matrix is compared; without it, torch's own
``torch.func`` curvature of the same summed loss in float32 and in float64
(:func:`~exacthess.oracle.torch_curvature.torch_curvature`), one table each.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.errors import InvalidDataError, NonFiniteError
from . import torch_model

__all__ = ["configure", "run"]

_DESCRIPTION = (
    """Compare a curvature matrix with the exact one at a saved PyTorch model (torch.save(model); read as
exacthess verify torch reads it: trusted files only) and its data. --theirs THEIRS.npy: your
library's p x p matrix, parameters in named_parameters() order, each tensor row-major; without
it, torch's own torch.func Hessian (or GGN) of the same summed loss in float32 and in float64.
Reported: the largest absolute and relative errors, computed exactly from your floats; the error
in units of your dtype's epsilon times the largest exact entry, within the bound p (the float
error of a Hessian-vector product); numpy's matrix_rank(hermitian=True) against the certified
rank; the eigenvalue signs (eigvalsh, numpy's tolerance) against the exact inertia.""")


def configure(sub) -> None:
    """Add ``exacthess compare`` to the subcommands ``sub``."""
    p = sub.add_parser("compare", help="compare a curvature matrix (yours, or torch's own) with the exact one")
    torch_model.configure(p)
    p.description = _DESCRIPTION
    p.add_argument("--theirs", default=None, metavar="THEIRS.npy",
                   help="your p x p matrix as a float .npy (numpy.save); default: torch's own in float32 and float64")
    p.add_argument("--of", default="hessian", choices=["hessian", "ggn", "functional"],
                   help="which matrix: hessian (default), ggn (generalised Gauss-Newton) or functional (their "
                        "difference)")
    p.add_argument("--loss", default="mse", metavar="NAME",
                   help="the summed loss: mse (default, 1/2 ||f - y||^2), weighted_mse(w1,...,wK), cross_entropy, bce")
    p.add_argument("--samples", type=int, default=None, metavar="N",
                   help="number of seeded samples when --data is not given (default: twice the input size)")
    p.add_argument("--seed", type=int, default=0, help="seed of the seeded data (default 0)")
    p.add_argument("--json", action="store_true", help="print the comparisons as JSON")


def _theirs(path: str, p: int) -> np.ndarray:
    f = Path(path)
    if not f.is_file():
        raise InvalidDataError(f"--theirs {path!r} is not a file; expected a .npy written by numpy.save")
    try:
        T = np.load(f, allow_pickle=False)
    except Exception as exc:  # not a .npy, or object arrays (pickles are refused)
        raise InvalidDataError(f"--theirs {path!r} could not be read by numpy.load ({type(exc).__name__}); "
                               "expected a .npy of floats written by numpy.save") from None
    if not isinstance(T, np.ndarray):
        raise InvalidDataError(f"--theirs {path!r} is an .npz archive; expected one matrix in a .npy (numpy.save)")
    if T.dtype.kind != "f":
        raise InvalidDataError(f"--theirs {path!r} holds {T.dtype} values; expected floats (float16, float32 or "
                               "float64): their precision decides the error bound")
    if T.shape != (p, p):
        raise InvalidDataError(f"--theirs {path!r} has shape {T.shape}; the model has {p} parameters: expected "
                               f"({p}, {p})")
    bad = ~np.isfinite(T)
    if bad.any():
        raise NonFiniteError(f"--theirs {path!r} has {int(bad.sum())} non-finite entries (NaN or inf) of {T.size}; "
                             "expected finite numbers")
    return T


def run(args) -> int:
    """Compare; print one table per comparison (or JSON); exit code 0 all agree, 1 otherwise."""
    from ..oracle.compare import compare
    from ..oracle.operator import curvature
    from ..oracle.torch_curvature import torch_curvature
    from .progress import ProgressReporter
    if args.theirs is not None and args.data is None:
        raise InvalidDataError("--theirs needs --data: your matrix was computed at your data, and without --data "
                               "the exact one would be at seeded data; expected --data DATA.npz (the X and Y you used)")
    arch, params, data = torch_model.load(args)
    with ProgressReporter(prefix="[compare]") as prog:
        with prog.step(f"the exact {args.of} of {arch!r} ({arch.n_params} parameters)"):
            C = curvature(arch, params=params, data=data, n_samples=None if data is not None else args.samples,
                          seed=args.seed, loss=args.loss, round_to=args.round_to)
            C.matrix(args.of)
        p = C.n_params
        if args.theirs is not None:
            theirs = {args.theirs: _theirs(args.theirs, p)}
        else:
            prob = C.problem
            X = np.array([[float(v) for v in row] for row in prob.X]).reshape((-1, *torch_model.parse_shape(
                args.input_shape)))
            Y = np.array([[float(v) for v in row] for row in prob.Y])
            theirs = {}
            for dtype in ("float32", "float64"):
                with prog.step(f"torch.func {args.of} in {dtype}"):
                    theirs[f"torch {dtype}"] = torch_curvature(args.module, X, Y, loss=prob.loss, dtype=dtype,
                                                               of=args.of, params=params)
        results = {}
        for label, T in theirs.items():
            with prog.step(f"compare {label}"):
                results[label] = compare(C, T, of=args.of)
    code = 0 if all(c.agrees for c in results.values()) else 1
    if args.json:
        print(json.dumps({"model": args.model, "architecture": repr(arch), "n_params": p, "of": args.of,
                          "loss": C.problem.loss.name, "exit_code": code,
                          "comparisons": [{"theirs": k, **c.to_dict()} for k, c in results.items()]}, indent=2))
        return code
    from rich.markup import escape

    from .render import console
    con = console()
    for label, c in results.items():
        con.print(f"[bold]{escape(label)}[/]", highlight=False)
        c.print(con)
    if getattr(args, "was_training", False):
        con.print("note: the saved module was in training mode; it was compared in eval mode", highlight=False)
    con.print("all agree" if code == 0 else "[bold red]a comparison disagrees[/] (exit code 1)", highlight=False)
    return code
