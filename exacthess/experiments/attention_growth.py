r"""How the self-attention Hessian blocks grow with the data and weight scales: proven exponents for
linear attention, exact measurements for softmax, beside Ormaniec, Dangel & Singh's.

The layer is the paper's: :math:`F(X) = A(X)\,X W_V^\top` on ``T`` tokens of width ``d``, one head,
no output projection, no biases, :math:`A = c\,X W_Q^\top W_K X^\top` (linear attention) or
:math:`\mathrm{softmax}_{\mathrm{rows}}(c\,X W_Q^\top W_K X^\top)`, :math:`c = 1/\sqrt{d}` (or its
stand-in), MSE :math:`\tfrac12\sum\|F - Y\|^2`, at a seeded point (:mod:`exacthess.hessian.graph_forward`).
For each scale kind (:data:`~exacthess.experiments.attention_norms.SCALE_KINDS`), part
:math:`H_o, H_f, H_L` and block :math:`QQ, \dots, VV`, the exponent :math:`e` of
:math:`\|P_{AB}\|_F \sim t^{e}` (the Frobenius norm, not its square, as the paper plots it):

* **linear attention -- proven**: :math:`\|P_{AB}(t)\|_F^2` is an exact polynomial
  (:func:`~exacthess.experiments.attention_norms.norm_polynomials`, interpolation under an a-priori
  degree bound); :math:`e_0 = v/2` as :math:`t \to 0` and :math:`e_\infty = n/2` as
  :math:`t \to \infty` with :math:`v, n` its valuation and degree (even: the lowest and highest
  coefficients of a sum of squares are sums of squares). Proven *at this point*; the degree is the
  generic one when it equals the bound (its coefficient is then a nonzero polynomial in the point);
* **softmax attention -- measured**: the exact squared norms (at the stand-ins) along a sweep of
  rational scales; :math:`e_0` is the log-log slope between the two smallest scales and
  :math:`e_\infty` between the two largest -- measurements, not proofs.

The paper's exponents (:data:`PAPER`) are the reference lines :math:`\sigma^e` its growth-rate
figures draw, as its published notebook sets them (``[transformer-hessian]`` in docs/references.md; docs/statements.md, "Growth of the
self-attention Hessian blocks", says what was read and how the settings differ).

>>> tab = growth_table(d=2, T=2, attentions=("linear",), kinds=("data",))
>>> [(r["part"], r["exponent"], r["agrees"]) for r in tab if r["block"] == "QQ"]
[('H_o', 6, True), ('H_f', None, None), ('H_L', 6, True)]
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from flint import fmpq

from ..core.errors import InvalidOptionError, InvalidValueError, describe
from ..core.exact import to_rational
from ..core.validate import check_int, check_progress, check_seed
from .attention_norms import (BLOCKS, SCALE_KINDS, check_kind, degree_bound, measured_norms,
                              norm_polynomials, valuation)

__all__ = ["GrowthTable", "growth_table", "PAPER", "PAPER_SOURCE", "DEFAULT_SCALES", "ATTENTIONS"]

ATTENTIONS = ("linear", "softmax")

#: where :data:`PAPER` comes from
PAPER_SOURCE = ("Ormaniec, Dangel & Singh (ICLR 2025), growth-rate figures (Figs. 3, 5-7); exponents as set by "
                "get_exponent in the authors' notebook Transformer_Hessian.ipynb (github.com/dalab/transformer-hessian), "
                "one layer, data scale sigma, Frobenius norm of the block")

#: the paper's exponents of ``||block||_F`` in the data scale, keyed ``(attention, part, block)``:
#: an int ``e`` (the line ``sigma^e``) or ``"zero"`` (the panel left empty: the block vanishes).
#: Only the Q and V diagonal blocks are plotted; ``H_L`` is the paper's full Hessian ``H``.
PAPER = {
    ("softmax", "H_o", "QQ"): 6, ("softmax", "H_f", "QQ"): 5, ("softmax", "H_L", "QQ"): 5,
    ("softmax", "H_o", "VV"): 2, ("softmax", "H_f", "VV"): "zero", ("softmax", "H_L", "VV"): 2,
    ("linear", "H_o", "QQ"): 6, ("linear", "H_L", "QQ"): 6,
    ("linear", "H_o", "VV"): 6, ("linear", "H_L", "VV"): 6,
}

#: the softmax sweep: ``2^k`` for ``k = -8 .. 3`` (the paper sweeps ``10^-2 .. 10``)
DEFAULT_SCALES = tuple(fmpq(2) ** k for k in range(-8, 4))


def _half(k):
    return None if k is None else (k // 2 if k % 2 == 0 else k / 2)


def _slope(s0, s1, n0, n1):
    """The log-log slope of ``sqrt(n)`` between two scales (None if a norm is 0)."""
    if n0 == 0 or n1 == 0:
        return None
    return round((_log(n1) - _log(n0)) / (2 * (_log(s1) - _log(s0))), 4)


def _log(v) -> float:
    v = fmpq(v)
    p, q = int(v.p), int(v.q)
    return (p.bit_length() - q.bit_length()) * math.log(2) + math.log((p / 2 ** p.bit_length()) /
                                                                     (q / 2 ** q.bit_length()))


@dataclass
class GrowthTable:
    """What :func:`growth_table` computed. Iterating gives the rows (plain dicts, keys in
    :meth:`columns`); :meth:`table` prints them, :meth:`figure` draws the norms against the scale.

    Attributes:
        setting: the layer, the point and the sweep.
        rows: one dict per (attention, kind, part, block).
        curves: ``(attention, kind, part, block) -> (scales, ||block||_F)`` as floats (linear attention:
            the proven polynomial evaluated at the sweep; softmax: the exact values at the stand-ins).
        polynomials: ``(kind, part, block) -> fmpq_poly`` of linear attention (squared norms).
        seconds: wall time.
    """

    setting: dict
    rows: list = field(default_factory=list)
    curves: dict = field(default_factory=dict, repr=False)
    polynomials: dict = field(default_factory=dict, repr=False)
    seconds: float = 0.0

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @staticmethod
    def columns() -> tuple:
        return ("attention", "scale_kind", "part", "block", "exponent", "exponent_large", "proven", "zero",
                "degree", "valuation", "generic_degree", "paper_claim", "agrees", "basis")

    def to_dict(self) -> dict:
        return {"setting": self.setting, "rows": self.rows, "seconds": self.seconds,
                "polynomials": {".".join(k): str(p) for k, p in self.polynomials.items()}}

    def select(self, *, attention=None, kind=None, part=None, block=None, claimed: bool = False) -> list:
        """The rows matching every given field (``claimed``: only rows with a paper claim)."""
        want = {"attention": attention, "scale_kind": kind, "part": part, "block": block}
        return [r for r in self.rows if all(v is None or r[k] == v for k, v in want.items())
                and (not claimed or r["paper_claim"] is not None)]

    def table(self, *, claimed: bool = False, kind=None) -> str:
        """The rows as a Markdown table: exponent of ``||block||_F`` as the scale tends to 0 and to
        infinity, proven or measured, and the paper's."""
        head = "| attention | scale | part | block | exponent (t->0) | exponent (t->inf) | how | paper | agrees |"
        lines = [head, "|" + "---|" * 9]
        for r in self.select(kind=kind, claimed=claimed):
            how = "proven" if r["proven"] else "measured"
            e0, e1 = ("0 (zero block)", "-") if r["zero"] else (r["exponent"], r["exponent_large"])
            lines.append(f"| {r['attention']} | {r['scale_kind']} | {r['part']} | {r['block']} | {e0} | {e1} | {how} "
                         f"| {'-' if r['paper_claim'] is None else r['paper_claim']} "
                         f"| {'-' if r['agrees'] is None else ('yes' if r['agrees'] else 'NO')} |")
        return "\n".join(lines)

    def figure(self, kind: str = "data"):
        """Block norms ``||P_AB||_F`` against the scale ``kind`` (log-log): one row of panels per
        attention, one panel per part (``H_o``, ``H_f``), one line per block; blocks that vanish
        identically are named in the panel. Returns a :class:`matplotlib.figure.Figure` (not written)."""
        from .figures import new_figure, paper_style, plain_log_ticks, series_style
        check_kind(kind)
        atts = [a for a in ATTENTIONS if any(k[0] == a and k[1] == kind for k in self.curves)]
        if not atts:
            raise InvalidValueError(f"kind = {kind!r} was not computed; expected one of "
                                    f"{', '.join(sorted({k[1] for k in self.curves}))}")
        with paper_style():
            fig = new_figure(10.0, 3.4 * len(atts) + 0.6)
            axes = fig.subplots(len(atts), 2, squeeze=False)
            for i, att in enumerate(atts):
                for j, part in enumerate(("H_o", "H_f")):
                    ax, zero, ys_all = axes[i][j], [], []
                    for b_i, block in enumerate(BLOCKS):
                        xs, ys = self.curves[(att, kind, part, block)]
                        row = self.select(attention=att, kind=kind, part=part, block=block)[0]
                        if row["zero"]:
                            zero.append(block)
                            continue
                        st = series_style(b_i, len(BLOCKS))
                        e = row["exponent"] if row["proven"] else f"{row['exponent']:.2f}"
                        ax.plot(xs, ys, **{**st, "linestyle": "-", "linewidth": 1.0},
                                label=f"{block}: $t^{{{e}}}$ as $t \\to 0$ ({'proven' if row['proven'] else 'measured'})")
                        ys_all += [y for y in ys if y > 0]
                    ax.set_xscale("log")
                    ax.set_yscale("log")
                    if ys_all:
                        plain_log_ticks(ax.xaxis, min(xs), max(xs))
                    if zero:
                        ax.text(0.98, 0.03, "identically zero: " + ", ".join(zero), transform=ax.transAxes,
                                fontsize=8, color="0.3", ha="right")
                    ax.set_title(f"{att} attention, ${part[0]}_{{\\mathrm{{{part[2]}}}}}$ blocks")
                    ax.set_xlabel("scale t: " + _WHAT[kind])
                    ax.set_ylabel(r"$\|\mathrm{block}\|_F$")
                    ax.legend(loc="upper left", fontsize=7)
            fig.suptitle("Self-attention Hessian blocks against the scale (exact; softmax at the stand-ins)")
        return fig

    def save(self, path, kind: str = "data", formats=None) -> list:
        """Write :meth:`figure` to ``path`` (see :func:`~exacthess.experiments.figures.save_figure`)."""
        from .figures import save_figure
        return save_figure(self.figure(kind), path, formats)


_WHAT = {"data": r"$X \to tX$", "weights": r"$\theta \to t\theta$", "W_Q": r"$W_Q \to tW_Q$",
         "W_K": r"$W_K \to tW_K$", "W_V": r"$W_V \to tW_V$"}


def _paper(att, kind, part, block):
    return PAPER.get((att, part, block)) if kind == "data" else None


def _agrees(claim, exponent, zero):
    if claim is None:
        return None
    if claim == "zero":
        return zero
    return (not zero) and exponent is not None and exponent == claim


def _linear_rows(graph, params, data, kinds, scales, out: GrowthTable, say) -> None:
    for kind in kinds:
        say(f"linear attention, scale {kind}: exact polynomials")
        bound = 4 * degree_bound(graph, kind)
        for (part, block), p in norm_polynomials(graph, params, data, kind).items():
            out.polynomials[(kind, part, block)] = p
            zero = p.degree() < 0
            deg, val = (None, None) if zero else (p.degree(), valuation(p))
            claim = _paper("linear", kind, part, block)
            e0 = None if zero else _half(val)
            out.rows.append({
                "attention": "linear", "scale_kind": kind, "part": part, "block": block,
                "exponent": e0, "exponent_large": None if zero else _half(deg), "proven": True, "zero": zero,
                "degree": deg, "valuation": val, "generic_degree": (not zero) and deg == bound,
                "paper_claim": claim, "agrees": _agrees(claim, e0, zero),
                "basis": f"||block||_F^2 = exact polynomial of degree <= {bound} in t (interpolated at "
                         f"{bound + 1} points, checked at one more)"})
            out.curves[("linear", kind, part, block)] = (
                [float(s) for s in scales], [math.sqrt(max(float(p(s)), 0.0)) for s in scales])


def _softmax_rows(graph, params, data, kinds, scales, out: GrowthTable, say) -> None:
    for kind in kinds:
        say(f"softmax attention, scale {kind}: exact norms at {len(scales)} scales (stand-ins)")
        for (part, block), ns in measured_norms(graph, params, data, kind, scales).items():
            zero = all(v == 0 for v in ns)
            e0 = _slope(scales[0], scales[1], ns[0], ns[1])
            claim = _paper("softmax", kind, part, block)
            agrees = None if claim is None else zero if claim == "zero" else \
                (not zero and e0 is not None and abs(e0 - claim) <= 0.1)
            out.rows.append({
                "attention": "softmax", "scale_kind": kind, "part": part, "block": block,
                "exponent": e0, "exponent_large": _slope(scales[-2], scales[-1], ns[-2], ns[-1]), "proven": False,
                "zero": zero, "degree": None, "valuation": None, "generic_degree": None,
                "paper_claim": claim, "agrees": agrees,
                "basis": (f"exactly zero at all {len(scales)} scales" if zero else
                          f"measured: log-log slope of exact norms (at the stand-ins) between t = {scales[0]} and "
                          f"{scales[1]} (agrees: within 0.1 of the paper's exponent)")})
            out.curves[("softmax", kind, part, block)] = (
                [float(s) for s in scales], [math.sqrt(float(v)) for v in ns])


def growth_table(*, d: int = 4, T: int = 4, n_samples: int = 2, seed: int = 0, scales=None,
                 attentions=ATTENTIONS, kinds=SCALE_KINDS, progress=None) -> GrowthTable:
    r"""The growth exponents of every Hessian block of the paper's self-attention layer (module doc).

    Args:
        d: token width (:math:`d_K = d_V = d`; the score scale is :math:`1/\sqrt{d}` or its stand-in).
        T: tokens per sequence.
        n_samples: sequences in the loss.
        seed: the seeded point (weights about ``N(0, 1/d)``, data and targets about ``N(0, 1)``);
            linear and softmax attention share it.
        scales: the rational sweep of the softmax measurements and of the figure's curves
            (increasing, at least two; default :data:`DEFAULT_SCALES`).
        attentions: any of ``"linear"`` (proven) and ``"softmax"`` (measured).
        kinds: scale kinds among :data:`~exacthess.experiments.attention_norms.SCALE_KINDS`.
        progress: optional callable receiving short messages.

    Returns:
        a :class:`GrowthTable`; ``list(growth_table(...))`` is its rows.
    """
    from ..hessian.graph_forward import make_graph_problem
    from ..models.attention import transformer_block
    d, T = check_int(d, "d", 1), check_int(T, "T", 1)
    n_samples, seed = check_int(n_samples, "n_samples", 1), check_seed(seed)
    say = check_progress(progress) or (lambda msg: None)
    scales = DEFAULT_SCALES if scales is None else tuple(to_rational(s, "scales") for s in scales)
    if len(scales) < 2 or any(s <= 0 for s in scales) or any(b <= a for a, b in zip(scales, scales[1:])):
        raise InvalidValueError(f"scales = {describe(scales)}; expected at least two increasing positive rationals")
    for a in attentions:
        if a not in ATTENTIONS:
            raise InvalidOptionError(f"attentions contains {describe(a)}; expected 'linear' and/or 'softmax'")
    kinds = tuple(check_kind(k, "kinds") for k in kinds)
    t0 = time.perf_counter()
    out = GrowthTable(setting={
        "d": d, "T": T, "n_samples": n_samples, "seed": seed, "heads": 1, "out_proj": False, "bias": False,
        "model": "F(X) = A(X) X W_V^T, A = c X W_Q^T W_K X^T (linear) or softmax_rows(c X W_Q^T W_K X^T)",
        "loss": "mse, 1/2 sum of squares", "scales": [str(s) for s in scales], "kinds": list(kinds),
        "norm": "Frobenius norm of the block (exponent e of ||block||_F ~ t^e)", "paper": PAPER_SOURCE})
    for att in attentions:
        g = transformer_block(d, T, attention=att, out_proj=False)
        prob = make_graph_problem(g, n_samples=n_samples, seed=seed)
        out.setting[f"scale_c_{att}"] = str(g.by_name["attn.weights0"].attrs["scale"] if att == "softmax"
                                            else g.by_name["attn.weights0"].attrs["scale"][0])
        rows = _linear_rows if att == "linear" else _softmax_rows
        rows(g, prob.params, (prob.X, prob.Y), kinds, scales, out, say)
    out.seconds = round(time.perf_counter() - t0, 3)
    return out
