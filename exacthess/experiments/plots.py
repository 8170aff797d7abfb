r"""Trends from sweep records: a quantity against a key, optionally one series per value of another.

Keys of a record (:func:`value`): ``p`` (number of parameters), a rank (``H_L``, ``H_o``,
``H_f``, ``H_f[:,1]``, ...), ``seconds``, ``depth`` (hidden layers), ``width`` (largest hidden
width or channel count), ``kernel`` (largest kernel size), ``samples``, any key of the job
(``input_dim``, ``output_dim``, ``seed``, ...) and any quantity of the report's context
(``r``, ``q``, ``s``, ``d``, ``K``, ``L``, ...).

Against ``p`` the square-root law :math:`\mathrm{rank} \approx c\sqrt{p}` is fitted by least
squares on the log scale: :math:`\log c = \frac{1}{n}\sum_i (\log y_i - \tfrac12 \log p_i)`.

>>> round(sqrt_law([4, 16, 64], [6, 12, 24]), 6)
3.0
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..core.errors import InvalidOptionError, InvalidValueError

__all__ = ["value", "keys_of", "sqrt_law", "plot_records", "check_image_path"]

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


def check_image_path(path, name: str = "path") -> Path:
    """``path`` as a :class:`~pathlib.Path` when its extension is an image format matplotlib writes
    (``.png``, ``.pdf``, ``.svg``, ...); otherwise :class:`InvalidOptionError` naming ``name``, the
    value and the supported extensions.

    >>> check_image_path("trend.svg").suffix
    '.svg'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    formats = sorted(FigureCanvasAgg.get_supported_filetypes())
    p = Path(path)
    if p.suffix.lower().lstrip(".") not in formats:
        raise InvalidOptionError(f"{name} = {str(path)!r} has {'extension ' + repr(p.suffix) if p.suffix else 'no extension'}"
                                 f"; expected an image file ending in one of {', '.join('.' + f for f in formats)}")
    return p


def plot_records(records: list, x: str, y: str, by: str | None = None, path=None) -> dict:
    """Draw ``y`` against ``x`` (one series per value of ``by``) into an image at ``path`` (PNG, or
    the format of its extension: see :func:`check_image_path`).

    Only records with status ``ok`` are drawn. Against ``x = "p"`` both axes are logarithmic,
    the line ``rank = p`` is shown for reference and each series gets its fitted ``c sqrt(p)``.

    Returns:
        per series label: ``{"points": n, "c": fitted c or None}``.
    """
    if path is not None:
        path = check_image_path(path)
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
        series.setdefault(None if by is None else json.dumps(value(r, by)), []).append((_number(xv, "x", x, r), _number(yv, "y", y, r)))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 5))
    fits = {}
    for i, (raw, pts) in enumerate(sorted(series.items(), key=lambda kv: _order(kv[0]))):
        label = "all" if by is None else f"{by} = {raw}"
        pts.sort()
        xs, ys = [a for a, _ in pts], [b for _, b in pts]
        color = f"C{i % 10}"
        style = "o-" if len(set(xs)) == len(xs) else "o"  # a line through repeated x values would mislead
        ax.plot(xs, ys, style, color=color, label=label if by is not None else y)
        c = None
        if x == "p" and any(a > 0 and b > 0 for a, b in pts):
            c = sqrt_law(xs, ys)
            grid = sorted(set(xs))
            ax.plot(grid, [c * math.sqrt(g) for g in grid], "--", color=color, lw=1, alpha=0.8,
                    label=f"{c:.3g} sqrt(p)" + (f" ({label})" if by is not None else ""))
        fits[label] = {"points": len(pts), "c": c}
    if x == "p":
        allx = sorted({a for pts in series.values() for a, _ in pts})
        if allx and y not in ("seconds",):
            ax.plot(allx, allx, ":", color="0.6", label="p (full rank)")
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("number of parameters p" if x == "p" else x)
    ax.set_ylabel(f"rank {y}" if y.startswith("H_") else y)
    ax.set_title(f"{y} against {x}" + (f", by {by}" if by else "") + f" ({sum(len(p) for p in series.values())} "
                 "networks, exacthess sweep)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(Path(path), dpi=120)
    plt.close(fig)
    return fits
