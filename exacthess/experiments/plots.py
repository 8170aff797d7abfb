r"""Trends from sweep records: a quantity against a key, optionally one series per value of another.

Keys of a record (:func:`value`): ``p`` (number of parameters), a rank (``H_L``, ``H_o``,
``H_f``, ``H_f[:,1]``, ...), ``seconds``, ``depth`` (hidden layers), ``width`` (largest hidden
width or channel count), ``kernel`` (largest kernel size), ``samples``, any key of the job
(``input_dim``, ``output_dim``, ``seed``, ...) and any quantity of the report's context
(``r``, ``q``, ``s``, ``d``, ``K``, ``L``, ...).

Against ``p`` the square-root law :math:`\mathrm{rank} \approx c\sqrt{p}` is fitted by least
squares on the log scale, :math:`\log c = \frac{1}{n}\sum_i (\log y_i - \tfrac12 \log p_i)`,
and so is the power law :math:`c\,p^a` with a free exponent
(:func:`~exacthess.experiments.figures.power_fit`); :func:`plot_records` draws both with their
residuals.

>>> round(sqrt_law([4, 16, 64], [6, 12, 24]), 6)
3.0
"""

from __future__ import annotations

import json
import math
from collections import Counter

from ..core.errors import InvalidOptionError, InvalidValueError
from .figures import check_image_path, new_figure, paper_style, plain_log_ticks, power_fit, save_figure, series_style

__all__ = ["value", "keys_of", "sqrt_law", "plot_records", "records_figure", "check_image_path", "check_fit", "FITS"]

#: the fits :func:`plot_records` draws: the square-root law, a free power law, both or none
FITS = ("both", "sqrt", "power", "none")

_DERIVED = ("p", "seconds", "depth", "width", "kernel", "samples")


def _flat(v):
    if isinstance(v, (list, tuple)):
        for x in v:
            yield from _flat(x)
    else:
        yield v


def value(record: dict, key: str):
    """The value of ``key`` for one record (None when the record does not have it)."""
    job, rep = record.get("job", {}), record.get("report") or {}
    hidden = job.get("widths", job.get("channels"))
    if key == "p":
        return rep.get("n_params")
    if key == "seconds":
        return record.get("seconds")
    if key == "depth":
        return None if hidden is None else len(hidden)
    if key == "width":
        return None if hidden is None else max(hidden, default=0)
    if key == "kernel":
        ks = job.get("kernel_sizes")
        return None if ks is None else max(_flat(ks))
    if key in rep.get("ranks", {}):
        return rep["ranks"][key]
    if key == "samples" and key not in job:
        return rep.get("context", {}).get("n")
    if key in job:
        return job[key]
    return rep.get("context", {}).get(key)


def keys_of(records: list) -> list:
    """Keys available in these records, for error messages."""
    out = list(_DERIVED)
    for r in records:
        for k in [*(r.get("report") or {}).get("ranks", {}), *r.get("job", {}),
                  *(r.get("report") or {}).get("context", {})]:
            if k not in out:
                out.append(k)
    return out


def sqrt_law(xs, ys) -> float:
    r"""``c`` minimising :math:`\sum_i (\log y_i - \log(c \sqrt{x_i}))^2` over points with ``x, y > 0``."""
    logs = [math.log(y) - 0.5 * math.log(x) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if not logs:
        raise InvalidValueError("the square-root law needs points with x > 0 and y > 0; none were given")
    return math.exp(sum(logs) / len(logs))


def _number(v, name: str, key: str, record: dict) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InvalidValueError(f"{name} = {key!r} takes the value {json.dumps(v)} (job {json.dumps(record.get('job'))}), "
                                "not a number; expected a numeric key")
    return v


def _order(raw):
    v = None if raw is None else json.loads(raw)
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(raw))



def check_fit(fit, x: str, name: str = "fit") -> str:
    """The fits to draw: one of :data:`FITS`; None picks ``"both"`` against ``x = "p"`` and
    ``"none"`` otherwise."""
    if fit is None:
        return "both" if x == "p" else "none"
    if fit not in FITS:
        raise InvalidOptionError(f"{name} = {fit!r} is not a kind of fit; expected one of {', '.join(FITS)}")
    return fit


def _tex(key: str) -> str:
    r"""``key`` as a mathtext variable (``p``, ``\mathrm{input\_dim}``; ``x`` for anything odd)."""
    if key == "p":
        return "p"
    return r"\mathrm{" + key.replace("_", r"\_") + "}" if key.replace("_", "").isalnum() else "x"


def _series(records: list, x: str, y: str, by) -> dict:
    ok = [r for r in records if r.get("status") == "ok"]
    if not ok:
        raise InvalidValueError(f"no finished (status ok) records among {len(records)}; nothing to plot")
    known = keys_of(ok)
    for name, key in (("x", x), ("y", y), ("by", by)):
        if key is not None and all(value(r, key) is None for r in ok):
            raise InvalidOptionError(f"{name} = {key!r} is not a key of these records; known keys: {', '.join(known)}")
    series: dict = {}
    for r in ok:
        xv, yv = value(r, x), value(r, y)
        if xv is None or yv is None:
            continue
        series.setdefault(None if by is None else json.dumps(value(r, by)), []).append(
            (_number(xv, "x", x, r), _number(yv, "y", y, r)))
    return dict(sorted(series.items(), key=lambda kv: _order(kv[0])))


def plot_records(records: list, x: str, y: str, by: str | None = None, path=None, fit: str | None = None) -> dict:
    r"""Draw ``y`` against ``x`` (one series per value of ``by``) into an image at ``path`` (PNG, or
    the format of its extension: see :func:`~exacthess.experiments.figures.check_image_path`).

    Only records with status ``ok`` are drawn. ``fit`` (see :func:`check_fit`): ``"sqrt"`` fits
    :math:`c\sqrt{x}`, ``"power"`` fits :math:`c x^a` with a free exponent, ``"both"`` both, each by
    least squares on the log scale per series; the fitted parameters and the root mean square
    relative error go into the legend and each fit's relative residuals into a panel of their
    own. With a fit, or against ``x = "p"``, both axes are logarithmic (points with a value
    :math:`\le 0` cannot be drawn there: the title counts them); against ``p`` the line
    ``rank = p`` is shown for reference. Each series has its own marker shape and colour, hollow,
    in nested sizes, so that series on the same point stay visible; a point that occurs ``k > 1``
    times in one series is labelled ``×k``.

    Returns:
        per series label: ``{"points": n, "c": the square-root law's c or None, "sqrt": its
        :meth:`~exacthess.experiments.figures.PowerFit.to_dict` or None, "power": the free fit's
        or None}``.
    """
    if path is not None:
        path = check_image_path(path)
    with paper_style():
        fig, fits = records_figure(records, x, y, by, fit)
        if path is not None:
            save_figure(fig, path)
    return fits


def records_figure(records: list, x: str, y: str, by: str | None = None, fit: str | None = None):
    """The figure of :func:`plot_records` (a :class:`matplotlib.figure.Figure`, not written) and
    its fits: ``(figure, fits)``."""
    fit = check_fit(fit, x)
    series = _series(records, x, y, by)
    with paper_style():
        return _records_figure(series, x, y, by, fit)


def _fits_of(pts: list, fit: str) -> dict:
    xs, ys = [a for a, _ in pts], [b for _, b in pts]
    return {"sqrt": power_fit(xs, ys, 0.5) if fit in ("both", "sqrt") else None,
            "power": power_fit(xs, ys) if fit in ("both", "power") else None}


def _records_figure(series: dict, x: str, y: str, by, fit: str):
    kinds = [k for k in ("sqrt", "power") if fit in ("both", k)]
    log = x == "p" or fit != "none"
    fig = new_figure(9.6, 4.6 + 1.5 * len(kinds))
    axes = fig.subplots(1 + len(kinds), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": [3.4] + [1.2] * len(kinds)})[:, 0]
    ax, var = axes[0], _tex(x)
    fits, handles, hidden, n = {}, [], 0, len(series)
    allx = sorted({a for pts in series.values() for a, _ in pts if not log or a > 0})
    for i, (raw, pts) in enumerate(series.items()):
        label = "all" if by is None else f"{by} = {raw}"
        pts.sort()
        shown = [(a, b) for a, b in pts if not log or (a > 0 and b > 0)]
        hidden += len(pts) - len(shown)
        xs, ys = [a for a, _ in shown], [b for _, b in shown]
        st = series_style(i, n)
        h, = ax.plot(xs, ys, **st, label=(y if by is None else label.replace("$", r"\$")) + f" ({len(pts)} networks)")
        handles.append(h)
        if fit == "none" and len(set(xs)) == len(xs) > 1:  # a line through repeated x values would mislead
            ax.plot(xs, ys, "-", color=st["color"], lw=1, alpha=0.5, zorder=2)
        for (a, b), k in sorted(Counter(shown).items()):
            if k > 1:
                ax.annotate(f"×{k}", (a, b), xytext=(6, -3), textcoords="offset points", fontsize=7,
                            color=st["color"], zorder=4)
        got = _fits_of(shown, fit)
        for kind in kinds:
            f = got[kind]
            if f is None:
                continue
            lo, hi = min(xs), max(xs)  # the fit is drawn over the series' own range only
            grid = [lo * (hi / lo) ** (j / 40) for j in range(41)]
            what = r"$c\sqrt{" + var + "}$" if kind == "sqrt" else "$c\\," + var + "^a$"
            h, = ax.plot(grid, [f(g) for g in grid], "--" if kind == "sqrt" else "-", color=st["color"],
                         lw=1.3 if kind == "sqrt" else 1.0, alpha=0.9, zorder=2,
                         label=f"  {what} fit: {f.label(var)}, rms error {f.rms:.1%}")
            handles.append(h)
            res = f.residuals(xs, ys)
            axr = axes[1 + kinds.index(kind)]
            axr.plot([a for a, _ in res], [100 * r for _, r in res], **st)
        fits[label] = {"points": len(pts), "c": None if got["sqrt"] is None else got["sqrt"].c,
                       **{k: None if v is None else v.to_dict() for k, v in got.items()}}
    if x == "p" and allx and y != "seconds":
        h, = ax.plot(allx, allx, ":", color="0.35", lw=1.3, zorder=1, label="rank = p (full rank, reference)")
        handles.append(h)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ys_all = [b for pts in series.values() for _, b in pts if b > 0]
        if allx:
            plain_log_ticks(ax.xaxis, allx[0], allx[-1])
        if ys_all:
            plain_log_ticks(ax.yaxis, min(ys_all), max(ys_all + (allx if x == "p" and y != "seconds" else [])))
    elif all(float(a).is_integer() for a in allx):
        from matplotlib.ticker import MaxNLocator
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for kind, axr in zip(kinds, axes[1:]):
        axr.axhline(0, color="0.3", lw=0.8, zorder=1)
        lim = max([abs(v) for line in axr.get_lines()[:-1] for v in line.get_ydata()] + [1.0])
        axr.set_ylim(-1.15 * lim, 1.15 * lim)
        axr.set_ylabel(("$\\sqrt{" + var + "}$ law" if kind == "sqrt" else "power law") + "\nresidual (%)")
    ax.set_ylabel(f"rank {y}" if y.startswith("H_") else y)
    axes[-1].set_xlabel("number of parameters p" if x == "p" else x)
    total = sum(len(p) for p in series.values())
    ax.set_title(f"{y} against {x}" + (f", by {by}" if by else "") + f" ({total} networks, exacthess sweep)"
                 + (f"\n{hidden} points with a value <= 0 cannot be drawn on log axes" if hidden else ""))
    fig.legend(handles=handles, loc="outside right upper",
               title="fits: least squares on the log scale;\nrms error: root mean square of\ndata / fit - 1" if kinds else None)
    return fig, fits
