"""``exacthess reproduce cnn-trends``: exact Hessian ranks of 1-D linear CNNs against the
parameter count, as the number of filters and the kernel size grow (ICML 2023 slides, "Rank
bounds for increasing # of filters m / filter size k", and the square-root trend
rank = O(m L d0) while p = O(m^2 L d0))."""

from __future__ import annotations

from ..core.errors import ExactHessError, InvalidValueError
from .figures import paper_style, save_figure
from ..sweeps.grid import job_key
from ..sweeps.driver import sweep

__all__ = ["trend_spec", "cnn_trend_rows", "plot_trends", "trends_figure"]


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
    ``progress`` receives its :class:`~exacthess.sweeps.driver.SweepStatus`).
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


def plot_trends(rows: list[dict], path, formats=None) -> list:
    """Write :func:`trends_figure` to ``path`` (its extension picks the format) or, with
    ``formats`` (e.g. ``("png", "pdf")``), to ``path`` with each extension; returns the paths."""
    with paper_style():
        return save_figure(trends_figure(rows), path, formats)


def trends_figure(rows: list[dict]):
    r"""Two columns (growing number of filters, growing kernel size): the exact ranks and the ICML
    2023 bounds against p, and the least-squares fits of :math:`H_L \approx c\sqrt{p}` and
    :math:`c\,p^a` with their relative residuals in a panel below.

    Every series stays visible: a bound is a wide translucent band under the exact ranks (a
    rank equal to its bound sits on the band), exact ranks are hollow markers of three shapes
    and sizes, and the reference line ``rank = p`` is dark and dotted.
    """
    from .figures import new_figure, plain_log_ticks, power_fit
    fams = [(f, label) for f, label in (("filters", "number of filters m"), ("kernel", "kernel size k"))
            if any(r["sweep"] == f for r in rows)]
    if not fams:
        raise InvalidValueError("rows has no row of the 'filters' or 'kernel' sweep; nothing to plot")
    with paper_style():
        fig = new_figure(5.4 * len(fams) + 3.2, 6.6)
        grid = fig.subplots(2, len(fams), squeeze=False, sharex="col", gridspec_kw={"height_ratios": [3.2, 1.2]})
        handles = {}
        for j, (family, label) in enumerate(fams):
            ax, axr = grid[0][j], grid[1][j]
            rs = sorted((r for r in rows if r["sweep"] == family), key=lambda r: r["p"])
            p = [r["p"] for r in rs]
            handles["full"], = ax.plot(p, p, ":", color="0.3", lw=1.3, zorder=1, label="rank = p (full rank, reference)")
            for key, color in (("H_L", "C0"), ("H_o", "C1"), ("H_f", "C2")):
                if all(r["bound_" + key] is not None for r in rs):
                    handles["b" + key], = ax.plot(p, [r["bound_" + key] for r in rs], "-", color=color, lw=6, alpha=0.25,
                                                  solid_capstyle="round", zorder=1, label=f"bound on rank {key} (ICML 2023)")
            for (key, color, marker, size) in (("H_L", "C0", "o", 8.5), ("H_o", "C1", "s", 7), ("H_f", "C2", "^", 6)):
                handles[key], = ax.plot(p, [r[key] for r in rs], "-", color=color, lw=1, marker=marker, markersize=size,
                                        markerfacecolor="none", markeredgewidth=1.4, zorder=3, label=f"rank {key} (exact)")
            hl = [r["H_L"] for r in rs]
            for kind, fit, style, color in (("sqrt", power_fit(p, hl, 0.5), "--", "k"), ("power", power_fit(p, hl), "-", "0.45")):
                if fit is None:
                    continue
                what = r"$c\sqrt{p}$" if kind == "sqrt" else "$c\\,p^a$"
                handles[kind], = ax.plot(p, [fit(x) for x in p], style, color=color, lw=1.1, zorder=2,
                                         label=f"{what} fitted to rank $H_L$")
                res = fit.residuals(p, hl)
                axr.plot([x for x, _ in res], [100 * v for _, v in res], style, color=color, lw=0.8,
                         marker="o" if kind == "sqrt" else "D", markersize=6 if kind == "sqrt" else 4,
                         markerfacecolor="none" if kind == "sqrt" else color, zorder=3,
                         label=f"{fit.label('p')}, rms error {fit.rms:.1%}")
            for r in rs:
                ax.annotate(f"{r['value']}", (r["p"], r["H_L"]), textcoords="offset points", xytext=(-4, 7), fontsize=8,
                            ha="right", color="C0")
            ax.set_xscale("log")
            ax.set_yscale("log")
            plain_log_ticks(ax.xaxis, p[0], p[-1])
            plain_log_ticks(ax.yaxis, min(r["H_f"] or 1 for r in rs), max(p))
            ax.set_ylabel("rank")
            ax.set_title(f"1-D linear CNN, growing {label}\n(numbers at $H_L$: the value of {label.split()[-1]})")
            axr.axhline(0, color="0.3", lw=0.8, zorder=1)
            lim = max([abs(v) for line in axr.get_lines()[:-1] for v in line.get_ydata()] + [1.0])
            axr.set_ylim(-1.2 * lim, 1.2 * lim)
            axr.set_ylabel("$H_L$ / fit - 1 (%)")
            axr.set_xlabel("number of parameters p")
            axr.legend(fontsize=8, loc="best", title="fits of $H_L$", title_fontsize=8)
        fig.legend(handles=list(handles.values()), loc="outside right upper")
        fig.suptitle("Exact Hessian ranks of 1-D linear CNNs against the parameter count\n"
                     "(exacthess; bounds: Singh et al., ICML 2023; fits: least squares on the log scale)")
    return fig
