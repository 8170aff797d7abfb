"""``exacthess reproduce cnn-trends``: exact Hessian ranks of 1-D linear CNNs against the
parameter count, as the number of filters and the kernel size grow (ICML 2023 slides, "Rank
bounds for increasing # of filters m / filter size k", and the square-root trend
rank = O(m L d0) while p = O(m^2 L d0))."""

from __future__ import annotations

import math
from pathlib import Path

from ..core.errors import ExactHessError
from .grid import job_key
from .sweep import sweep

__all__ = ["trend_spec", "cnn_trend_rows", "plot_trends"]


def _family(quick: bool):
    d0, K, L = (12, 3, 2) if quick else (16, 4, 2)
    filters = [1, 2, 3, 4] if quick else [1, 2, 3, 4, 6, 8, 12, 16, 24, 32]
    kernels = [1, 3, 5] if quick else [1, 3, 5, 7, 9, 11, 13]
    return d0, K, L, filters, kernels


def trend_spec(quick: bool = False, seed: int = 0) -> dict:
    """The sweep spec: one grid over the number of filters m (kernel 3, padding 1), and one grid per
    kernel size k (3 filters, padding k // 2); 1-D input of size d0, L conv layers, K outputs, 2 d0 samples.

    >>> [len(g.get("channels")) for g in trend_spec(quick=True)["sweep"]]
    [4, 1, 1, 1]
    """
    d0, K, L, filters, kernels = _family(quick)
    base = {"family": "cnn", "input_shape": d0, "output_dim": K, "samples": 2 * d0, "seed": seed,
            "float_check": False}
    grids = [{**base, "channels": [[m] * L for m in filters], "kernel_sizes": 3, "paddings": 1}]
    grids += [{**base, "channels": [[3] * L], "kernel_sizes": k, "paddings": k // 2} for k in kernels]
    return {"sweep": grids}


def _labelled_jobs(quick: bool, seed: int):
    """``(sweep, value, job)`` for every row, in table order."""
    grids = trend_spec(quick, seed)["sweep"]
    out = []
    for ch in grids[0]["channels"]:
        job = {**grids[0], "channels": ch}
        out.append(("filters", ch[0], job))
    for g in grids[1:]:
        out.append(("kernel", g["kernel_sizes"], {**g, "channels": g["channels"][0]}))
    return out


def cnn_trend_rows(quick: bool = False, seed: int = 0, progress=None, executor=None, workers=None) -> list[dict]:
    """One row per network: sweep, value, p, exact ranks and the ICML 2023 bounds.

    The networks run through :func:`exacthess.sweep` (``executor``/``workers`` as there;
    ``progress`` receives its :class:`~exacthess.experiments.sweep.SweepStatus`).
    """
    records = sweep(trend_spec(quick, seed), executor=executor, workers=workers, progress=progress)
    by_key = {job_key(r["job"]): r for r in records}
    rows = []
    for name, value, job in _labelled_jobs(quick, seed):
        rec = by_key[job_key(job)]
        if rec["status"] != "ok":
            raise ExactHessError(f"cnn-trends: the network {job} did not finish ({rec['status']}: {rec['error']})")
        rep = rec["report"]
        pred = {r["statement"]: r["predicted"] for r in rep["rows"]}
        rows.append({
            "sweep": name, "value": value, "architecture": rep["architecture"], "p": rep["n_params"],
            "H_L": rep["ranks"]["H_L"], "H_o": rep["ranks"]["H_o"], "H_f": rep["ranks"]["H_f"],
            "bound_H_o": pred.get("singh2023.thm1"), "bound_H_f": pred.get("singh2023.thm2.sum"),
            "bound_H_L": pred.get("singh2023.H_L"), "certified": rep["certified"],
            "statements_ok": rep["ok"], "seconds": rec["seconds"],
        })
    return rows


def plot_trends(rows: list[dict], path: Path) -> None:
    """Two panels (filters, kernel size): ranks and bounds against p, with c * sqrt(p)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, family, label in zip(axes, ("filters", "kernel"), ("number of filters m", "kernel size k")):
        rs = sorted((r for r in rows if r["sweep"] == family), key=lambda r: r["p"])
        if not rs:
            continue
        p = [r["p"] for r in rs]
        ax.plot(p, p, color="0.8", ls=":", label="p (full rank)")
        for key, style in (("H_L", "o-"), ("H_o", "s-"), ("H_f", "^-")):
            ax.plot(p, [r[key] for r in rs], style, label=f"rank {key} (exact)")
        for key, color in (("bound_H_L", "C0"), ("bound_H_o", "C1"), ("bound_H_f", "C2")):
            if all(r[key] is not None for r in rs):
                ax.plot(p, [r[key] for r in rs], "--", color=color, alpha=0.7, label=f"bound {key[6:]}")
        c = sorted(r["H_L"] / math.sqrt(r["p"]) for r in rs)[len(rs) // 2]
        ax.plot(p, [c * math.sqrt(x) for x in p], "k-.", lw=1, label=f"{c:.1f} sqrt(p)")
        for r in rs:
            ax.annotate(f"{r['value']}", (r["p"], r["H_L"]), textcoords="offset points", xytext=(3, 4), fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("number of parameters p")
        ax.set_ylabel("rank")
        ax.set_title(f"1-D linear CNN, growing {label}")
        ax.legend(fontsize=7)
    fig.suptitle("Exact Hessian ranks of linear CNNs vs parameter count (exacthess; bounds: Singh et al. ICML 2023)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
