"""Command-line pieces for ``exacthess verify conv-sv`` and ``exacthess reproduce conv-sv``.

Each ``configure_*`` adds arguments to an ``argparse`` (sub)parser and each ``run_*`` returns an
exit code (0 holds / done, 1 does not hold, 2 bad input with one ``error: ...`` line on stderr).
Long steps (the exact check, dense SVDs) show progress on stderr: a rich spinner on a terminal,
plain lines when stderr is piped (only for steps that run longer than a couple of seconds).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ExactHessError, InvalidValueError
from ..core.resources import require_memory
from ..spectral.errors import InvalidInputShapeError, InvalidKernelError, InvalidPaddingError, InvalidStrideError
from .messages import error_text
from .progress import ProgressReporter as SharedReporter

__all__ = ["configure_verify", "run_verify", "configure_reproduce", "run_reproduce", "ProgressReporter",
           "plot_complexity", "complexity_figure"]


class ProgressReporter(SharedReporter):
    """:class:`exacthess.cli.progress.ProgressReporter` with the prefix ``[conv-sv]``."""

    def __init__(self, stream=None, *, prefix: str = "[conv-sv]", **kwargs):
        super().__init__(stream, prefix=prefix, **kwargs)


def _int_list(text: str, name: str, err: type, minimum: int = 1) -> tuple[int, ...]:
    parts = [v.strip() for v in str(text).split(",")]
    if not parts or any(p == "" for p in parts):
        raise err(f"{name} = {text!r} has an empty entry; expected comma-separated integers like 8,8,3,3")
    try:
        vals = tuple(int(v) for v in parts)
    except ValueError:
        raise err(f"{name} = {text!r} is not a comma-separated list of integers; expected e.g. 8,8,3,3") from None
    bad = [v for v in vals if v < minimum]
    if bad:
        raise err(f"{name} = {text!r} has the value {bad[0]}; expected integers >= {minimum}")
    return vals


def _check_seed(seed: int) -> int:
    if not 0 <= seed < 2**63:
        raise InvalidValueError(f"seed = {seed} is not valid; expected an integer 0 <= seed < 2**63")
    return seed


def configure_verify(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments of ``exacthess verify conv-sv`` to *parser*."""
    parser.add_argument("--kernel-shape", default="4,4,3,3",
                        help="c_out,c_in,kh,kw (or c_out,c_in,k for 1-D); default 4,4,3,3")
    parser.add_argument("--input", default="8,8", help="spatial input size, e.g. 16,16; default 8,8")
    parser.add_argument("--stride", default="1", help="stride (int or per-axis list); default 1")
    parser.add_argument("--padding", default="circular", help="'circular' or an int (zero padding)")
    parser.add_argument("--seed", type=int, default=0, help="seed (>= 0) of the random integer kernel")
    parser.add_argument("--kernel", default=None, help="a .npy kernel (PyTorch layout) instead of a seeded one")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of rich text")
    return parser


def _load_kernel(args: Any) -> np.ndarray:
    if args.kernel:
        try:
            kernel = np.load(args.kernel, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            why = ("not a .npy file of numbers: numpy would unpickle it as Python objects, which is refused"
                   if "pickle" in str(exc) else " ".join(str(exc).split()))
            raise InvalidKernelError(f"--kernel {args.kernel!r} could not be loaded ({why}); expected a .npy file of "
                                     "numbers (numpy.save)") from None
        if not isinstance(kernel, np.ndarray):  # an .npz archive
            kernel.close()
            raise InvalidKernelError(f"--kernel {args.kernel!r} is an .npz archive of arrays; expected one array in a "
                                     ".npy file (numpy.save)")
        return kernel
    shape = _int_list(args.kernel_shape, "kernel-shape", InvalidKernelError)
    seed = _check_seed(args.seed)
    require_memory(8 * math.prod(shape), f"a seeded kernel of shape {shape}")
    return np.random.default_rng(seed).integers(-3, 4, size=shape).astype(np.int64)


def _padding(text: str) -> str | int:
    if str(text) == "circular":
        return "circular"
    try:
        return int(text)
    except ValueError:
        raise InvalidPaddingError(f"padding = {text!r} is not 'circular' or an int; expected one of those") from None


def run_verify(args: Any) -> int:
    """Run the exact check and print the verdict, the top singular value and timings."""
    from ..models.geometry import conv_layer
    from ..models.kernels import kernel_shape
    from ..spectral.fft import conv_singular_values, dense_singular_values
    from ..spectral.theorem import check_conv_sv_theorem

    try:
        kernel = _load_kernel(args)
        n = _int_list(args.input, "input", InvalidInputShapeError)
        stride_vals = _int_list(args.stride, "stride", InvalidStrideError)
        stride: Any = stride_vals[0] if len(stride_vals) == 1 else stride_vals
        padding = _padding(args.padding)
        layer = conv_layer(kernel_shape(kernel), n, stride, padding)  # checks before any work
        with ProgressReporter() as prog:
            with prog.step(f"exact check of the {layer.n_out} x {layer.n_in} operator"):
                res = check_conv_sv_theorem(kernel, n, stride, padding, progress=prog)
            report: dict[str, Any] = {
                "holds": res.holds, "certified": res.certified, "method": res.method,
                "statement": res.statement, "exact_check_seconds": res.details.get("seconds"),
                "kernel_shape": list(np.shape(kernel)), "input": list(n),
                "stride": list(stride_vals), "padding": padding,
            }
            if padding == "circular":
                t = time.perf_counter()
                sv = conv_singular_values(kernel, n, stride)
                t_fft = time.perf_counter() - t
                enc = conv_singular_values(kernel, n, stride, certified=True)
                report.update({"sigma_max": float(sv[0]), "sigma_max_enclosure": list(enc.operator_norm),
                               "fft_seconds": t_fft, "certified_seconds": enc.details["seconds"]})
                if max(layer.n_out, layer.n_in) <= 2048:
                    t = time.perf_counter()
                    with prog.step(f"dense SVD of the {layer.n_out} x {layer.n_in} operator"):
                        dense = dense_singular_values(kernel, n, stride)
                    report["dense_seconds"] = time.perf_counter() - t
                    report["max_abs_difference_fft_vs_dense"] = float(np.max(np.abs(np.sort(dense)[::-1] - sv)))
                else:
                    report["dense_seconds"] = None
            else:
                report.update({"operator_norm_zero_padding": list(res.details["operator_norm_zero_padding"]),
                               "operator_norm_circular": list(res.details["operator_norm_circular"]),
                               "differing_eigenvalues": res.details["differing_eigenvalues"]})
    except ExactHessError as exc:
        print(f"error: {error_text(exc, getattr(args, 'argv', None))}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print_verify(res, report)
    return 0 if res.holds else 1


def _print_verify(res, report: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    from .render import console
    con = console()
    verdict = "[bold green]HOLDS[/]" if res.holds else "[bold red]DOES NOT HOLD[/]"
    con.print(f"conv-sv theorem: {verdict} (certified={res.certified}, method={res.method})")
    con.print(escape(res.statement))
    tab = Table(title="conv-sv")
    tab.add_column("quantity")
    tab.add_column("value")
    for key in ("sigma_max", "sigma_max_enclosure", "fft_seconds", "certified_seconds",
                "dense_seconds", "exact_check_seconds", "max_abs_difference_fft_vs_dense",
                "operator_norm_zero_padding", "operator_norm_circular", "differing_eigenvalues"):
        if key in report:
            val = report[key]
            if isinstance(val, float):
                val = f"{val:.6g}" if "seconds" in key else f"{val:.15g}"
            elif isinstance(val, list):
                val = "[" + ", ".join(f"{v:.15g}" for v in val) + "]"
            tab.add_row(key, str(val))
    con.print(tab)


def configure_reproduce(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments of ``exacthess reproduce conv-sv`` to *parser*."""
    from ..experiments.figures import FORMAT_HELP
    parser.add_argument("--out", default="exacthess-output", help="output directory (figure + JSON)")
    parser.add_argument("--max-n", type=int, default=32, help="largest input size n (n x n), >= 2; default 32")
    parser.add_argument("--max-m", type=int, default=8, help="largest channel count m, >= 1; default 8")
    parser.add_argument("--dense-limit", type=float, default=60.0,
                        help="skip the dense SVD when its predicted time exceeds this (s, >= 0); default 60")
    parser.add_argument("--format", default="png", metavar="FMT[,FMT]", help=FORMAT_HELP)
    return parser


def _check_reproduce(args: Any) -> tuple:
    from ..experiments.figures import check_formats
    from ..spectral.polyphase import circular_layer, fft_bytes

    if not isinstance(args.max_n, int) or args.max_n < 2:
        raise InvalidInputShapeError(f"max-n = {args.max_n!r} is too small; expected an int >= 2")
    if not isinstance(args.max_m, int) or args.max_m < 1:
        raise InvalidKernelError(f"max-m = {args.max_m!r} is not positive; expected an int >= 1")
    if not math.isfinite(args.dense_limit) or args.dense_limit < 0:
        raise InvalidValueError(f"dense-limit = {args.dense_limit!r} is not valid; expected a finite number "
                                "of seconds >= 0")
    n, m = _sizes(args.max_n)[-1], _sizes(args.max_m, 0)[-1]
    layer = circular_layer(np.empty((m, m, 3, 3)), (n, n))
    require_memory(fft_bytes(layer) + 8 * 9 * m * m, f"the FFT method on {n} x {n} with {m} channels")
    return check_formats(args.format, "--format")


def _sizes(limit: int, start: int = 1) -> list[int]:
    return [v for v in (2 ** e for e in range(start, 40)) if v <= limit]


def run_reproduce(args: Any) -> int:
    """Time the FFT method against the dense SVD as n and m grow; write the figure and JSON."""
    try:
        formats = _check_reproduce(args)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
    except ExactHessError as exc:
        print(f"error: {error_text(exc, getattr(args, 'argv', None))}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: --out = {args.out!r} cannot be created ({exc}); expected a writable directory", file=sys.stderr)
        return 2
    rows = _timings(_sizes(args.max_n), _sizes(args.max_m, 0), args.dense_limit)
    _print_reproduce(rows, args.dense_limit)
    (out / "conv_sv_complexity.json").write_text(json.dumps(rows, indent=2))
    figures = plot_complexity(rows, out / "conv_sv_complexity", formats)
    print(f"wrote {out / 'conv_sv_complexity.json'} and {', '.join(map(str, figures))}")
    return 0


def _timings(ns: list[int], ms: list[int], dense_limit: float) -> list[dict[str, Any]]:
    from ..core.errors import ProblemTooLargeError
    from ..spectral.fft import conv_singular_values, dense_singular_values

    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    coef = None  # seconds per (n^2 m)^3, calibrated on the dense runs
    total = len(ns) * len(ms)
    with ProgressReporter() as prog:
        for m in ms:
            for n in ns:
                k = rng.standard_normal((m, m, 3, 3))
                label = f"case {len(rows) + 1} of {total}: m = {m}, n = {n}"
                with prog.step(label):
                    prog(f"{label}: FFT method")
                    t = time.perf_counter()
                    sv = conv_singular_values(k, (n, n))
                    t_fft = time.perf_counter() - t
                    size = (n * n * m) ** 3
                    predicted = coef * size if coef is not None else None
                    row: dict[str, Any] = {"n": n, "m": m, "fft_seconds": t_fft, "dense_seconds": None,
                                           "dense_predicted_seconds": predicted, "max_abs_difference": None}
                    if (predicted is None and n * n * m <= 1024) or (predicted is not None and predicted <= dense_limit):
                        est = f" (predicted ~{predicted:.0f} s)" if predicted else ""
                        prog(f"{label}: dense SVD of the {n * n * m} x {n * n * m} operator{est}")
                        try:
                            t = time.perf_counter()
                            dense = np.sort(dense_singular_values(k, (n, n)))[::-1]
                            t_dense = time.perf_counter() - t
                        except ProblemTooLargeError as exc:
                            row["dense_skipped"] = str(exc)
                        else:
                            row["dense_seconds"] = t_dense
                            row["max_abs_difference"] = float(np.max(np.abs(dense - sv)))
                            if n * n * m >= 64:
                                coef = t_dense / size  # calibrate on the largest run so far
                rows.append(row)
    return rows


def _print_reproduce(rows: list[dict[str, Any]], dense_limit: float) -> None:
    from rich.table import Table

    from .render import console
    con = console()
    tab = Table(title="FFT method vs dense SVD (3x3 kernel, m -> m channels, n x n input)")
    for col in ("m", "n", "FFT s", "dense s", "ratio", "|diff|"):
        tab.add_column(col)
    for r in rows:
        d = r["dense_seconds"]
        tab.add_row(str(r["m"]), str(r["n"]), f"{r['fft_seconds']:.2e}",
                    f"{d:.2e}" if d is not None else f"skipped (~{r['dense_predicted_seconds']:.0f} s)"
                    if r["dense_predicted_seconds"] else "skipped",
                    f"{d / r['fft_seconds']:.3g}x" if d is not None else "-",
                    f"{r['max_abs_difference']:.1e}" if r["max_abs_difference"] is not None else "-")
    con.print(tab)
    con.print("claim: FFT O(n^2 m^2 (m + log n)) vs dense O(n^6 m^3); dense skipped where the "
              f"O(n^6 m^3) extrapolation exceeds {dense_limit:.0f} s")


def plot_complexity(rows: list[dict[str, Any]], path, formats=None) -> list:
    """Write :func:`complexity_figure` to ``path`` (its extension picks the format) or, with
    ``formats`` (e.g. ``("png", "pdf")``), to ``path`` with each extension; returns the paths."""
    from ..experiments.figures import paper_style, save_figure
    with paper_style():
        return save_figure(complexity_figure(rows), path, formats)


def complexity_figure(rows: list[dict[str, Any]]):
    """Seconds of the FFT method and of the dense SVD against n, one colour per channel count m;
    a skipped dense SVD is drawn at its predicted time (hollow, dotted); the claimed growth in
    n (FFT ``n^2 log n``, dense ``n^6``) as labelled reference slopes through the largest run."""
    from ..experiments.figures import MARKERS, new_figure, paper_style
    if not rows:
        raise InvalidValueError("rows = [] is empty; expected the timings of exacthess reproduce conv-sv")
    ns = sorted({r["n"] for r in rows})
    ms = sorted({r["m"] for r in rows})
    with paper_style():
        fig = new_figure(8.6, 4.8)
        ax = fig.subplots()
        for i, m in enumerate(ms):
            sel = sorted((r for r in rows if r["m"] == m), key=lambda r: r["n"])
            color = f"C{i % 10}"
            ax.plot([r["n"] for r in sel], [r["fft_seconds"] for r in sel], "-", marker=MARKERS[0], color=color,
                    markersize=5, zorder=4, label=f"FFT, m = {m}")
            run = [r for r in sel if r["dense_seconds"] is not None]
            if run:
                ax.plot([r["n"] for r in run], [r["dense_seconds"] for r in run], "--", marker=MARKERS[1], color=color,
                        markersize=7.5, markerfacecolor="none", markeredgewidth=1.4, zorder=3, label=f"dense SVD, m = {m}")
            pred = [r for r in sel if r["dense_seconds"] is None and r.get("dense_predicted_seconds")]
            if pred:
                link = run[-1:] if run else []
                ax.plot([r["n"] for r in link + pred], [r["dense_seconds"] for r in link] +
                        [r["dense_predicted_seconds"] for r in pred], ":", color=color, lw=1.2, zorder=2)
                ax.plot([r["n"] for r in pred], [r["dense_predicted_seconds"] for r in pred], ls="none",
                        marker=MARKERS[1], color=color, markersize=7.5, markerfacecolor="none", markeredgewidth=1,
                        alpha=0.7, zorder=3, label=f"dense SVD, m = {m}: predicted, skipped")
        # the claimed growth as slopes only: drawn a factor 4 below the largest run of each method
        # (through it, the dense slope would hide the predicted points, which follow n^6 too)
        top = [r for r in rows if r["m"] == ms[-1]]
        ys = [v for r in rows for v in (r["fft_seconds"], r["dense_seconds"] or r.get("dense_predicted_seconds")) if v]
        if len(ns) > 1:
            last = max(top, key=lambda r: r["n"])
            f0 = last["fft_seconds"] / 4 / (last["n"] ** 2 * math.log2(2 * last["n"]))
            ref = [(n, f0 * n ** 2 * math.log2(2 * n)) for n in ns]
            ax.plot(*zip(*[(n, v) for n, v in ref if v >= min(ys)]), color="0.25", ls=(0, (1, 2)), lw=1.4, zorder=1,
                    label=r"$\propto n^2 \log n$: FFT claim (reference slope)")
            dense = [r for r in top if r["dense_seconds"] is not None]
            if dense:
                d = max(dense, key=lambda r: r["n"])
                ref = [(n, d["dense_seconds"] / 4 * (n / d["n"]) ** 6) for n in ns]
                ax.plot(*zip(*[(n, v) for n, v in ref if v >= min(ys)]), color="0.25", ls=(0, (5, 2, 1, 2)), lw=1.4,
                        zorder=1, label=r"$\propto n^6$: dense claim (reference slope)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.minorticks_off()
        ax.set_xlabel("n (input n × n, 3 × 3 kernel, m → m channels)")
        ax.set_ylabel("seconds")
        ax.set_title("Singular values of a convolution layer: FFT method vs dense SVD")
        fig.legend(loc="outside right upper")
    return fig
