r"""How the Gauss--Newton error scales with the initialisation scale, exactly.

Multiply every weight of a network without biases by :math:`s` (an exact dyadic rational), keep
the inputs and the (nonzero) targets fixed, and let :math:`s \to 0`. With :math:`L` hidden layers
and an activation :math:`h(x) = x + a x^3` (``poly(0, 1, 0, a)``, linear near 0):

* the hidden pre-activations are :math:`z_k = O(s^k)` and the outputs :math:`O(s^{L+1})`, so the
  residuals tend to :math:`-y_i`: :math:`O(1)`;
* every block of the Jacobian :math:`\partial F/\partial W_l` is a product of the :math:`L` other
  weight matrices: :math:`O(s^L)`, so :math:`\|G\|_F^2 = O(s^{4L})`;
* a cross-layer block :math:`(l < m)` of ``C`` is the residual (through
  :math:`W_{L+1} \cdots W_{m+1}`, :math:`O(s^{L+1-m})`) times :math:`\partial h_{m-1}/\partial W_l`
  (:math:`O(s^{m-2})`): :math:`O(s^{L-1})`, so :math:`\|C_{\mathrm{cross}}\|_F^2 = O(s^{2L-2})`;
* the activation part is :math:`\sum_k J_{z_k}^\top \mathrm{diag}(h''(z_k)\,\delta_k) J_{z_k}`
  with :math:`h''(z_k) = 6 a z_k = O(s^k)`, :math:`\delta_k = O(s^{L+1-k})`,
  :math:`J_{z_k} = O(s^{k-1})`: :math:`O(s^{L+2k-1})`, led by :math:`k = 1`:
  :math:`\|C_{\mathrm{act}}\|_F^2 = O(s^{2L+2})`.

So, for generic points (nonzero leading coefficients), as :math:`s \to 0`

.. math:: \frac{\|C\|_F^2}{\|G\|_F^2} \sim s^{-(2L+2)}, \qquad
          \frac{\|C_{\mathrm{act}}\|_F^2}{\|G\|_F^2} \sim s^{2-2L}, \qquad
          \frac{\|C_{\mathrm{act}}\|_F^2}{\|C_{\mathrm{cross}}\|_F^2} \sim s^{4}.

Near-linearity makes the *activations'* contribution of smaller order (relative order
:math:`s^2` in norm against the rest of ``C``), but the curvature term as a whole is *not* small
against the Gauss--Newton term at small initialisation: its cross-layer part, linear in the
residual, dominates (at :math:`s = 0`, ``G = 0`` while ``C != 0``). :func:`curvature_scaling`
computes the three ratios exactly over a range of scales and fits the exponents by least squares
on :math:`\log_2`; the fit is a float summary of exact values, never a verdict. The derivation
above is a heuristic for generic points; the *proven* exponents (``ScalingResult.proven``) come
from the squared norms as exact polynomials in :math:`s`
(:func:`exacthess.experiments.gn_exponents.norm_polynomials`), for any polynomial activation,
with or without biases. The scale :math:`s = 1` is the seeded standard-initialisation point
itself (:func:`exacthess.verification.points.standard_params`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from flint import fmpq

from ..core.domains import QQ
from ..core.errors import InvalidTypeError, InvalidValueError, describe
from ..core.validate import check_bool, check_progress, check_samples, check_seed
from ..hessian.cost import gap_cost, matrices_cost, require_fits
from ..models.architectures import check_architecture
from ..core.exact import to_rational
from .gn_exponents import norm_polynomials
from .gn_gap import gauss_newton_gap
from ..verification.points import standard_data, standard_params

__all__ = ["ScalingResult", "curvature_scaling", "derived_exponents", "fit_exponent", "RATIOS"]

#: the ratios followed, as attribute names of :class:`~exacthess.experiments.gn_gap.GaussNewtonGap`
RATIOS = ("curvature_ratio", "activation_ratio", "activation_share")


def derived_exponents(depth: int) -> dict:
    """The leading exponents of the three squared-norm ratios as the scale tends to 0 (no biases,
    fixed nonzero targets, ``h(x) = x + a x^3``, ``a != 0``); see the module docstring."""
    return {"curvature_ratio": -(2 * depth + 2), "activation_ratio": 2 - 2 * depth, "activation_share": 4}


def fit_exponent(scales, values) -> float:
    """Least-squares slope of ``log2(value)`` against ``log2(scale)`` (floats: a summary only)."""
    xs = np.array([math.log2(float(s)) for s in scales])
    ys = np.array([_log2(v) for v in values])
    return float(np.polyfit(xs, ys, 1)[0])


def _log2(v: fmpq) -> float:
    """log2 of a positive rational without overflow (numerator and denominator separately)."""
    p, q = int(v.p), int(v.q)
    return (p.bit_length() - q.bit_length()) + math.log2((p / 2 ** p.bit_length()) / (q / 2 ** q.bit_length()))


@dataclass
class ScalingResult:
    """Exact ratios over scales, fitted and derived exponents.

    Attributes:
        arch: the network; scales: the exact scales (``fmpq``).
        gaps: the :class:`~exacthess.experiments.gn_gap.GaussNewtonGap` per scale (ranks not computed).
        ratios: ``{name: [exact ratio per scale]}`` for the names in :data:`RATIOS`.
        fitted, derived: ``{name: exponent}`` (least-squares slope; heuristic derivation for
            ``poly(0, c, 0, a)`` without biases).
        proven: ``{name: exponent}`` from the exact polynomials in ``s`` (``None``: the ratio is
            identically 0); empty when not computed (ReLU-type activations, ``proven=False``).
        polynomials: the :class:`~exacthess.experiments.gn_exponents.ScalePolynomials`, or None.
    """

    arch: object
    scales: list
    gaps: list = field(repr=False)
    ratios: dict
    fitted: dict
    derived: dict
    proven: dict = field(default_factory=dict)
    polynomials: object = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {"architecture": repr(self.arch), "scales": [str(s) for s in self.scales],
                "ratios": {k: [str(v) for v in vs] for k, vs in self.ratios.items()},
                "ratios_float": {k: [float(v) for v in vs] for k, vs in self.ratios.items()},
                "fitted_exponent": self.fitted, "derived_exponent": self.derived,
                "proven_exponent": self.proven}

    def plot(self, path) -> str:
        """Write :meth:`figure` to ``path`` (PNG, or the format of its extension: ``.pdf``,
        ``.svg``, ...) and return the path."""
        from .figures import paper_style, save_figure
        with paper_style():
            save_figure(self.figure(), path)
        return str(path)

    def figure(self):
        """The three exact ratios against the scale on log2 axes (a
        :class:`matplotlib.figure.Figure`): the exact values, their least-squares line (slope in
        the legend), the proven slope through the smallest scale for reference, and a panel of the
        residuals of the least-squares lines."""
        import textwrap

        from .figures import MARKERS, new_figure, paper_style
        xs = [math.log2(float(s)) for s in self.scales]
        labels = {"curvature_ratio": r"$\|C\|^2/\|G\|^2$", "activation_ratio": r"$\|C_{act}\|^2/\|G\|^2$",
                  "activation_share": r"$\|C_{act}\|^2/\|C_{cross}\|^2$"}
        with paper_style():
            fig = new_figure(7.8, 6.8)
            ax, axr = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3.2, 1.2]})
            handles = []
            for i, (name, vals) in enumerate(self.ratios.items()):
                color, marker = f"C{i}", MARKERS[i]
                ys = [_log2(v) for v in vals]
                slope, icpt = np.polyfit(xs, ys, 1)
                line = [icpt + slope * x for x in xs]
                e = self.proven.get(name, self.derived.get(name))
                how = "proven" if name in self.proven else "derived"
                exact = f", {how} {e:+d}" if isinstance(e, int) else ""
                h, = ax.plot(xs, ys, marker=marker, color=color, ls="none", markersize=7, markerfacecolor="none",
                             markeredgewidth=1.4, zorder=3, label=f"{labels.get(name, name)}: slope fitted "
                                                                  f"{slope:+.2f}{exact}")
                handles.append(h)
                ax.plot(xs, line, "--", color=color, lw=1.1, zorder=2)
                if isinstance(e, int):
                    k = min(range(len(xs)), key=lambda j: xs[j])
                    ax.plot(xs, [ys[k] + e * (x - xs[k]) for x in xs], ":", color=color, lw=1.6, zorder=1)
                axr.plot(xs, [y - f for y, f in zip(ys, line)], marker=marker, color=color, ls="-", lw=0.8,
                         markersize=6, markerfacecolor="none", markeredgewidth=1.2, zorder=3)
            handles += ax.plot([], [], "--", color="0.3", lw=1.1, label="least-squares line")
            handles += ax.plot([], [], ":", color="0.3", lw=1.6, label="proven slope through the smallest s")
            axr.axhline(0, color="0.3", lw=0.8, zorder=1)
            lim = max([abs(v) for line in axr.get_lines()[:-1] for v in line.get_ydata()] + [0.05])
            axr.set_ylim(-1.2 * lim, 1.2 * lim)
            axr.set_ylabel("data - line\n($\\log_2$)")
            axr.set_xlabel(r"$\log_2 s$ (every parameter times $s$;" "\n"
                           r"$s = 1$: the seeded standard-initialisation point)")
            ax.set_ylabel(r"$\log_2$ of the exact ratio")
            ax.set_title("\n".join(textwrap.wrap(repr(self.arch), 72)), fontsize=9)
            fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8.5)
        return fig


def curvature_scaling(arch, *, scales=None, n_samples: int | None = None, seed: int = 0, loss="mse",
                      proven: bool = True, progress=None) -> ScalingResult:
    """The exact ratios of :data:`RATIOS` for the parameters :func:`standard_params` times each scale.

    Args:
        arch: a network without biases with a polynomial activation ``poly(0, 1, 0, a)`` (the
            derived exponents assume it; other activations are computed and fitted too, with
            ``derived`` empty).
        scales: exact positive rationals (default ``2**-k`` for ``k = 0..8``).
        n_samples, seed, loss: the fixed data (:func:`standard_data`) and targets.
        proven: also compute the squared norms as exact polynomials in ``s`` and their proven
            small-scale exponents (polynomial and linear activations; checked to agree exactly with
            the ratios computed at every scale).
    """
    check_architecture(arch)
    seed, n_samples = check_seed(seed), check_samples(n_samples)
    check_progress(progress)
    proven = check_bool(proven, "proven")
    if scales is None:
        scales = [fmpq(1, 2 ** k) for k in range(0, 9)]
    if isinstance(scales, (str, bytes, dict)) or not hasattr(scales, "__iter__"):
        raise InvalidTypeError(f"scales = {describe(scales)} has type {type(scales).__name__}; expected a list of "
                               "positive rationals such as [1, 1/2, 1/4]")
    scales = [to_rational(s, name=f"scales[{i}]") for i, s in enumerate(scales)]
    if len(scales) < 2 or any(s <= 0 for s in scales):
        raise InvalidValueError(f"scales = {[str(s) for s in scales]} is not valid; expected at least two positive "
                                "rationals such as 1/2, 1/4")
    n = n_samples or 2 * arch.input_dim
    require_fits(gap_cost(arch, n, loss=loss) + matrices_cost(arch, QQ, 3 * len(scales)))
    base = standard_params(arch, seed)
    data = standard_data(arch, n, seed)
    gaps = []
    for i, s in enumerate(scales):
        if progress:
            progress(f"scale {s} ({i + 1}/{len(scales)})")
        gaps.append(gauss_newton_gap(arch, params=base, data=data, loss=loss, scale=s, ranks=False, progress=None))
    ratios = {name: [getattr(g, name) for g in gaps] for name in RATIOS}
    for name, vals in ratios.items():
        if any(v is None or v <= 0 for v in vals):
            raise InvalidValueError(f"{name} is zero or undefined at some scale for {arch!r}; expected a network "
                                    "with a hidden layer and a polynomial activation of degree >= 2")
    fitted = {name: fit_exponent(scales, vals) for name, vals in ratios.items()}
    act = arch.activation
    cubic = act.kind == "poly" and len(act.coeffs) == 4 and act.coeffs[0] == 0 and act.coeffs[1] != 0 \
        and act.coeffs[2] == 0 and not arch.bias
    derived = derived_exponents(arch.depth) if cubic else {}
    polys, exps = None, {}
    if proven and not act.piecewise:
        if progress:
            progress("the squared norms as exact polynomials in s")
        polys = norm_polynomials(arch, params=base, data=data, loss=loss)
        for name, vals in ratios.items():
            if any(polys.ratio_at(name, s) != v for s, v in zip(scales, vals)):  # pragma: no cover - a bug
                raise AssertionError(f"the polynomial {name} disagrees with the direct exact value for {arch!r}")
            exps[name] = polys.exponent(name)
    return ScalingResult(arch, scales, gaps, ratios, fitted, derived, exps, polys)
