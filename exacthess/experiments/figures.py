r"""What every figure of exacthess shares: one style, vector output, fitted power laws, markers
that stay visible when series coincide.

* :func:`paper_style` -- the rc settings of every figure (readable font sizes, embedded TrueType
  fonts in PDF, reproducible PDF and SVG files);
* :func:`new_figure` / :func:`save_figure` -- a figure drawn without :mod:`matplotlib.pyplot`
  (no global backend is switched, nothing is shown), written as PNG, PDF or SVG;
* :func:`check_formats` -- the ``--format png,pdf,svg`` option of the ``reproduce`` targets;
* :func:`power_fit` -- least squares of :math:`y = c x^a` on the log scale, with the exponent
  free or fixed (:math:`a = 1/2`: the square-root law), and the relative residuals;
* :func:`series_style` -- marker, colour and size per series: different shapes, hollow, and
  nested sizes, so that a marker drawn on top of another never hides it.

>>> f = power_fit([1, 4, 16], [2, 4, 8])
>>> round(f.c, 9), round(f.a, 9), round(f.rms, 9)
(2.0, 0.5, 0.0)
>>> power_fit([4, 16], [6, 12], exponent=0.5).label("p")
'$3\\,\\sqrt{p}$'
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import InvalidOptionError, InvalidValueError

__all__ = ["FORMATS", "FORMAT_HELP", "MARKERS", "PowerFit", "power_fit", "check_formats", "check_image_path",
           "paper_style", "new_figure", "save_figure", "series_style", "plain_log_ticks"]

#: the formats the ``reproduce`` targets write (``--format``); ``exacthess plot --out`` takes any
#: extension matplotlib writes (:func:`check_image_path`)
FORMATS = ("png", "pdf", "svg")

#: the help of the ``--format`` option of every ``reproduce`` target that writes a figure
FORMAT_HELP = "figure formats, comma-separated: png, pdf, svg (default png)"

#: one marker shape per series, in order (filled shapes read well hollow too)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")

_STYLE = {
    "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10, "xtick.labelsize": 9,
    "ytick.labelsize": 9, "legend.fontsize": 8.5, "legend.title_fontsize": 8.5, "figure.titlesize": 11,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.6, "lines.linewidth": 1.4,
    "savefig.dpi": 200, "pdf.fonttype": 42, "ps.fonttype": 42, "svg.hashsalt": "exacthess",
    "legend.framealpha": 0.9,
}


@dataclass(frozen=True)
class PowerFit:
    r"""A least-squares fit :math:`y = c x^a` on the log scale.

    Attributes:
        c, a: the fitted factor and exponent (``a`` as given when it was fixed).
        free: True when ``a`` was fitted too.
        points: how many points with ``x, y > 0`` were fitted.
        rms: root mean square of the relative residuals :math:`y_i / (c x_i^a) - 1`.
        worst: the largest relative residual in absolute value.
    """

    c: float
    a: float
    free: bool
    points: int
    rms: float
    worst: float

    def __call__(self, x: float) -> float:
        return self.c * x ** self.a

    def residuals(self, xs, ys) -> list:
        """Relative residuals ``y / fit(x) - 1`` of the points with ``x, y > 0``, as ``(x, r)``."""
        return [(x, y / self(x) - 1) for x, y in zip(xs, ys) if x > 0 and y > 0]

    def label(self, var: str = "x") -> str:
        r"""The fitted law in mathtext, e.g. ``$5.27\,\sqrt{p}$``, ``$0.81\,p^{0.77}$`` or
        ``$3.2\times10^{-6}\,p^{3.44}$``."""
        c = _number_tex(self.c)
        if not self.free and self.a == 0.5:
            return rf"${c}\,\sqrt{{{var}}}$"
        a = round(self.a, 3) + 0.0  # no -0 and no 1e-17 for a constant series
        return rf"${c}\,{var}^{{{a:.3g}}}$"

    def to_dict(self) -> dict:
        return {"c": self.c, "a": self.a, "free": self.free, "points": self.points, "rms": self.rms,
                "worst": self.worst}


def _number_tex(v: float) -> str:
    """``v`` to 3 significant digits in mathtext, with a power of ten outside ``[0.01, 10^4)``."""
    if v == 0 or 1e-2 <= abs(v) < 1e4:
        return f"{v:.3g}"
    e = math.floor(math.log10(abs(v)))
    m = f"{v / 10 ** e:.3g}"
    if m.lstrip("-") == "10":  # rounding carried into the next power
        m, e = m.replace("10", "1"), e + 1
    return rf"{m}\times10^{{{e}}}"


def power_fit(xs, ys, exponent: float | None = None) -> PowerFit | None:
    r"""Least squares of :math:`\log y = \log c + a \log x` over the points with ``x, y > 0``.

    Args:
        xs, ys: the points.
        exponent: a fixed ``a`` (only ``c`` is fitted: :math:`\log c` is the mean of
            :math:`\log y_i - a \log x_i`), or None to fit ``a`` as well.

    Returns:
        the :class:`PowerFit`, or None when there is nothing to fit (no positive point, or a free
        exponent with fewer than two distinct ``x``).
    """
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x > 0 and y > 0]
    if not pts:
        return None
    n = len(pts)
    mx, my = sum(u for u, _ in pts) / n, sum(v for _, v in pts) / n
    if exponent is None:
        sxx = sum((u - mx) ** 2 for u, _ in pts)
        if sxx <= 1e-24 * max(1.0, mx * mx):
            return None
        a = sum((u - mx) * (v - my) for u, v in pts) / sxx
    else:
        a = float(exponent)
    c = math.exp(my - a * mx)
    rel = [math.exp(v - math.log(c) - a * u) - 1 for u, v in pts]
    rms = math.sqrt(sum(r * r for r in rel) / n)
    return PowerFit(c, a, exponent is None, n, rms, max(rel, key=abs))


def check_formats(formats, name: str = "--format") -> tuple:
    """The figure formats asked for: a comma-separated string (``"png,pdf"``) or a list of names
    among :data:`FORMATS`; otherwise :class:`InvalidOptionError` naming ``name`` and the value.

    >>> check_formats("pdf, png")
    ('pdf', 'png')
    """
    parts = [p.strip().lower().lstrip(".") for p in formats.split(",")] if isinstance(formats, str) else \
        [str(p).strip().lower().lstrip(".") for p in formats] if isinstance(formats, (list, tuple)) else None
    if not parts or any(p not in FORMATS for p in parts):
        raise InvalidOptionError(f"{name} = {formats!r} is not a list of figure formats; expected a comma-separated "
                                 f"list of {', '.join(FORMATS)} (e.g. png,pdf)")
    return tuple(dict.fromkeys(parts))


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


@contextlib.contextmanager
def paper_style():
    """The rc settings of every exacthess figure (a context: matplotlib's global settings are
    left as they were)."""
    import matplotlib
    with matplotlib.rc_context(_STYLE):
        yield


def new_figure(width: float, height: float):
    """A :class:`matplotlib.figure.Figure` with constrained layout, not registered with pyplot
    (no backend is switched, nothing is shown, nothing to close)."""
    from matplotlib.figure import Figure
    return Figure(figsize=(width, height), layout="constrained")


def save_figure(fig, path, formats=None) -> list:
    """Write ``fig`` to ``path`` (its extension picks the format) or, with ``formats``, to ``path``
    with each format's extension in turn. PDF and SVG files carry no creation date, so the same
    figure gives the same bytes. Returns the paths written."""
    if formats is None:
        paths = [check_image_path(path)]
    else:
        paths = [Path(path).with_suffix("." + f) for f in check_formats(formats, "formats")]
    if not paths:
        raise InvalidValueError("formats = () is empty; expected at least one of " + ", ".join(FORMATS))
    with paper_style():
        for p in paths:
            fmt = p.suffix.lower().lstrip(".")
            meta = {"CreationDate": None} if fmt == "pdf" else {"Date": None} if fmt == "svg" else None
            fig.savefig(p, metadata=meta)
    return paths


def series_style(i: int, n: int) -> dict:
    """Keyword arguments of :meth:`~matplotlib.axes.Axes.plot` for the markers of series ``i`` of
    ``n``: its own shape and colour, hollow, and a size that shrinks with ``i`` so that a later
    series drawn on the same point sits inside the earlier one."""
    size = 9.0 - (4.0 * i / (n - 1) if n > 1 else 0.0)
    return {"marker": MARKERS[i % len(MARKERS)], "color": f"C{i % 10}", "markersize": size,
            "markerfacecolor": "none", "markeredgewidth": 1.4, "linestyle": "none", "zorder": 3 + i / max(n, 1)}


def plain_log_ticks(axis, lo: float, hi: float) -> None:
    """Tick labels of a logarithmic ``axis`` showing ``lo .. hi`` as plain numbers (``20, 50, 100``,
    not ``2x10^1``), more of them per decade when the range is short."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
    decades = math.log10(hi / lo) if lo > 0 and hi > lo else 0.0
    if decades < 0.5:  # less than a factor 3: evenly spaced round numbers
        axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
    else:
        subs = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0) if decades < 1 else (1.0, 2.0, 5.0) if decades < 3 else (1.0,)
        axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())
