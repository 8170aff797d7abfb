"""Command-line pieces for ``exacthess verify conv-sv`` and ``exacthess reproduce conv-sv``.

The lead wires these into the console script; each ``configure_*`` adds arguments to an
``argparse`` (sub)parser and each ``run_*`` returns an exit code (0 holds / done, 1 does not
hold, 2 bad input with one ``error: ...`` line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ExactHessError
from ..spectral.errors import InvalidInputShapeError, InvalidKernelError, InvalidPaddingError, InvalidStrideError

__all__ = ["configure_verify", "run_verify", "configure_reproduce", "run_reproduce"]


def _int_list(text: str, name: str, err: type) -> tuple[int, ...]:
    try:
        vals = tuple(int(v) for v in str(text).split(",") if v.strip() != "")
    except ValueError:
        raise err(f"{name} = {text!r} is not a comma-separated list of integers; expected e.g. 8,8,3,3") from None
    if not vals:
        raise err(f"{name} = {text!r} is empty; expected a comma-separated list of integers")
    return vals


def configure_verify(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments of ``exacthess verify conv-sv`` to *parser*."""
    parser.add_argument("--kernel-shape", default="4,4,3,3",
                        help="c_out,c_in,kh,kw (or c_out,c_in,k for 1-D); default 4,4,3,3")
    parser.add_argument("--input", default="8,8", help="spatial input size, e.g. 16,16; default 8,8")
    parser.add_argument("--stride", default="1", help="stride (int or per-axis list); default 1")
    parser.add_argument("--padding", default="circular", help="'circular' or an int (zero padding)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random integer kernel")
    parser.add_argument("--kernel", default=None, help="a .npy kernel (PyTorch layout) instead of a seeded one")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of rich text")
    return parser


def _load_kernel(args: Any) -> np.ndarray:
    if args.kernel:
        try:
            return np.load(args.kernel, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InvalidKernelError(f"kernel = {args.kernel!r} could not be loaded ({exc}); expected a .npy file") from None
    shape = _int_list(args.kernel_shape, "kernel-shape", InvalidKernelError)
    if any(v < 1 for v in shape):
        raise InvalidKernelError(f"kernel-shape = {args.kernel_shape!r} has a non-positive size; expected sizes >= 1")
    rng = np.random.default_rng(args.seed)
    return rng.integers(-3, 4, size=shape).astype(np.int64)


def _padding(text: str) -> str | int:
    if str(text) == "circular":
        return "circular"
    try:
        return int(text)
    except ValueError:
        raise InvalidPaddingError(f"padding = {text!r} is not 'circular' or an int; expected one of those") from None


def run_verify(args: Any) -> int:
    """Run the exact check and print the verdict, the top singular value and timings."""
    from rich.console import Console
    from rich.table import Table

    from ..spectral.fft import conv_singular_values, dense_singular_values
    from ..spectral.theorem import check_conv_sv_theorem

    try:
        kernel = _load_kernel(args)
        n = _int_list(args.input, "input", InvalidInputShapeError)
        stride_vals = _int_list(args.stride, "stride", InvalidStrideError)
        stride: Any = stride_vals[0] if len(stride_vals) == 1 else stride_vals
        padding = _padding(args.padding)
        res = check_conv_sv_theorem(kernel, n, stride, padding)
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
            rows, cols = res.details["rows"], res.details["cols"]
            if max(rows, cols) <= 2048:
                t = time.perf_counter()
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
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        con = Console()
        verdict = "[bold green]HOLDS[/]" if res.holds else "[bold red]DOES NOT HOLD[/]"
        con.print(f"conv-sv theorem: {verdict} (certified={res.certified}, method={res.method})")
        from rich.markup import escape

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
    return 0 if res.holds else 1


def configure_reproduce(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the arguments of ``exacthess reproduce conv-sv`` to *parser*."""
    parser.add_argument("--out", default="exacthess-output", help="output directory (PNG + JSON)")
    parser.add_argument("--max-n", type=int, default=32, help="largest input size n (n x n); default 32")
    parser.add_argument("--max-m", type=int, default=8, help="largest channel count m; default 8")
    parser.add_argument("--dense-limit", type=float, default=60.0,
                        help="skip the dense SVD when its predicted time exceeds this (s); default 60")
    return parser


def run_reproduce(args: Any) -> int:
    """Time the FFT method against the dense SVD as n and m grow; write PNG + JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from ..spectral.fft import conv_singular_values, dense_singular_values

    try:
        if not isinstance(args.max_n, int) or args.max_n < 2:
            raise InvalidInputShapeError(f"max-n = {args.max_n!r} is too small; expected an int >= 2")
        if not isinstance(args.max_m, int) or args.max_m < 1:
            raise InvalidKernelError(f"max-m = {args.max_m!r} is not positive; expected an int >= 1")
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
    except ExactHessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: out = {args.out!r} cannot be created ({exc}); expected a writable directory", file=sys.stderr)
        return 2
    ns = [n for n in (2 ** e for e in range(1, 12)) if n <= args.max_n]
    ms = [m for m in (2 ** e for e in range(0, 8)) if m <= args.max_m]
    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    coef = None  # seconds per (n^2 m)^3, calibrated on the first dense runs
    con = Console()
    with Progress(console=con, transient=True) as prog:
        task = prog.add_task("conv-sv timings", total=len(ns) * len(ms))
        for m in ms:
            for n in ns:
                k = rng.standard_normal((m, m, 3, 3))
                t = time.perf_counter()
                sv = conv_singular_values(k, (n, n))
                t_fft = time.perf_counter() - t
                size = (n * n * m) ** 3
                predicted = coef * size if coef is not None else None
                row: dict[str, Any] = {"n": n, "m": m, "fft_seconds": t_fft, "dense_seconds": None,
                                       "dense_predicted_seconds": predicted, "max_abs_difference": None}
                if (predicted is None and n * n * m <= 1024) or (predicted is not None and predicted <= args.dense_limit):
                    t = time.perf_counter()
                    dense = np.sort(dense_singular_values(k, (n, n)))[::-1]
                    t_dense = time.perf_counter() - t
                    row["dense_seconds"] = t_dense
                    row["max_abs_difference"] = float(np.max(np.abs(dense - sv)))
                    if n * n * m >= 64:
                        coef = t_dense / size  # calibrate on the largest run so far
                rows.append(row)
                prog.advance(task)
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
              f"O(n^6 m^3) extrapolation exceeds {args.dense_limit:.0f} s")
    (out / "conv_sv_complexity.json").write_text(json.dumps(rows, indent=2))
    fig, ax = plt.subplots(figsize=(6, 4))
    for m in ms:
        sel = [r for r in rows if r["m"] == m]
        ax.loglog([r["n"] for r in sel], [r["fft_seconds"] for r in sel], "o-", label=f"FFT m={m}")
        dsel = [r for r in sel if r["dense_seconds"] is not None]
        if dsel:
            ax.loglog([r["n"] for r in dsel], [r["dense_seconds"] for r in dsel], "s--", label=f"dense m={m}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.set_xlabel("n (input n x n)")
    ax.set_ylabel("seconds")
    ax.legend(fontsize=6)
    ax.set_title("singular values of a conv layer")
    fig.tight_layout()
    fig.savefig(out / "conv_sv_complexity.png", dpi=100)
    plt.close(fig)
    con.print(f"wrote {out / 'conv_sv_complexity.json'} and {out / 'conv_sv_complexity.png'}")
    return 0

