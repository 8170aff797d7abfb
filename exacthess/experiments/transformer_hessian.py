r"""``exacthess reproduce transformer-hessian``: Ormaniec, Dangel & Singh's Hessian of self-attention, exactly.

The paper ("What Does It Mean to Be a Transformer?", ICLR 2025; ``[ormaniec2025]`` in
docs/references.md) shows the Hessian of one self-attention layer
:math:`F(X) = A(X)\,X W_V`, :math:`A = \mathrm{softmax}(X W_Q W_K^\top X^\top / \sqrt{d_K})`, to be
*block-heterogeneous*: its query and key blocks are much smaller than its value block (their
Figure 1, in float64 on a GPT-2 block). This module recomputes that picture exactly on a small
one-layer model, with and without the softmax (their linear attention):

* **blocks**: the Frobenius norm and the mean absolute entry of each block :math:`(P, P')`,
  :math:`P, P' \in \{W_Q, W_K, W_V\}`, of :math:`H_L`, :math:`H_o` and :math:`H_f`, exactly (at the
  softmax stand-ins, :mod:`exacthess.models.standins`), reported as floats;
* **ranks**: the certified ranks of :math:`H_L, H_o, H_f` (:func:`exacthess.verify`) beside the
  float32 / float64 ranks of the same matrices computed in floating point
  (``matrix_rank(hermitian=True)``), and the bound ``p - d_sym`` of the attention symmetries
  (``attention.qk.*``, :mod:`exacthess.statements.attention`) with its verdict;
* **growth**: the exponents of the blocks' norms in the data and weight scales (proven for linear
  attention, measured for softmax), beside the paper's
  (:func:`exacthess.experiments.attention_growth.growth_table`), when that module is present.

The model: ``T`` tokens of width ``d``, one head with :math:`d_K = d_V = d`, no output projection
(the paper's layer), scores scaled by :math:`1/\sqrt{d}` (exact for ``d = 4``: 1/2), MSE per token,
at a seeded point of standard initialisation scale (:mod:`exacthess.hessian.problem`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TransformerHessian", "transformer_hessian", "BLOCKS"]

#: the parameter groups of the layer, in the order of its columns
BLOCKS = ("Q", "K", "V")


@dataclass
class TransformerHessian:
    """What :func:`transformer_hessian` computed (plain data; :meth:`to_dict` for JSON)."""

    setting: dict
    blocks: list = field(default_factory=list)     # rows: attention, matrix, block, frobenius, mean_abs
    ranks: list = field(default_factory=list)      # rows: attention, matrix, exact, certified, float32, float64
    growth: list = field(default_factory=list)     # rows of attention_growth.growth_table
    seconds: float = 0.0
    heatmaps: dict = field(default_factory=dict, repr=False)  # attention -> |H_L| as floats
    growth_detail: object = field(default=None, repr=False)  # the GrowthTable (figures, polynomials)
    points: dict = field(default_factory=dict)  # attention -> the exact point (parameters, X, Y as text)

    def to_dict(self) -> dict:
        return {"setting": self.setting, "blocks": self.blocks, "ranks": self.ranks, "growth": self.growth,
                "points": self.points, "seconds": self.seconds}

    def growth_figure(self):
        """Block norms against the data scale, log-log (:meth:`~exacthess.experiments.attention_growth.GrowthTable.figure`)."""
        return self.growth_detail.figure("data")

    def figure(self):
        r"""Left: :math:`\log_{10}|H_L|` of each model with the Q / K / V block boundaries (the paper's
        Figure 1, exactly); right: the Frobenius norm of each diagonal block of :math:`H_o`, :math:`H_f`."""
        from .figures import new_figure, paper_style
        kinds = list(self.heatmaps)
        with paper_style():
            fig = new_figure(3.2 * len(kinds) + 3.6, 3.4)
            axes = fig.subplots(1, len(kinds) + 1, width_ratios=[1] * len(kinds) + [1.2])
            p = self.setting["n_params"] // 3
            for ax, kind in zip(axes, kinds):
                H = np.abs(self.heatmaps[kind])
                img = ax.imshow(np.log10(np.where(H > 0, H, np.nan)), cmap="viridis")
                for k in (p, 2 * p):
                    ax.axhline(k - 0.5, color="w", linewidth=0.8)
                    ax.axvline(k - 0.5, color="w", linewidth=0.8)
                ax.set_xticks([p / 2 - 0.5, 1.5 * p - 0.5, 2.5 * p - 0.5], ["$W_Q$", "$W_K$", "$W_V$"])
                ax.set_yticks([p / 2 - 0.5, 1.5 * p - 0.5, 2.5 * p - 0.5], ["$W_Q$", "$W_K$", "$W_V$"])
                ax.set_title(f"{kind} attention: $\\log_{{10}}|H_L|$ (white: exactly 0)", fontsize="small")
                fig.colorbar(img, ax=ax, fraction=0.046, pad=0.04)
            ax = axes[-1]
            width = 0.2
            x = np.arange(len(BLOCKS))
            i = 0
            for kind in kinds:
                for matrix in ("H_o", "H_f"):
                    vals = [next(r["frobenius"] for r in self.blocks if r["attention"] == kind and
                                 r["matrix"] == matrix and r["block"] == b + b) for b in BLOCKS]
                    ax.bar(x + (i - 1.5) * width, [v if v > 0 else np.nan for v in vals], width,
                           label=f"{kind} {matrix}" if any(v > 0 for v in vals) else
                           f"{kind} {matrix}: all 0")
                    i += 1
            ax.set_yscale("log")
            tops = [r["frobenius"] for r in self.blocks if r["matrix"] in ("H_o", "H_f") and r["frobenius"] > 0]
            if tops:
                ax.set_ylim(min(tops) / 3, max(tops) * 60)  # room above the bars for the legend
            ax.set_xticks(x, [f"$({b}, {b})$" for b in BLOCKS])
            ax.set_ylabel("Frobenius norm of the block")
            ax.legend(fontsize="x-small", loc="upper left", ncol=2)
            ax.set_title("diagonal blocks (0: not drawn)", fontsize="small")
        return fig


def _block_rows(kind: str, H: dict, cols: dict) -> list:
    from ..verification.points import frobenius2
    rows = []
    for matrix in ("H_L", "H_o", "H_f"):
        M = H[matrix]
        for i, a in enumerate(BLOCKS):
            for b in BLOCKS[i:]:
                sub = M[np.ix_(cols[a], cols[b])]
                sq = frobenius2(sub)
                rows.append({"attention": kind, "matrix": matrix, "block": a + b,
                             "frobenius": float(sq) ** 0.5,
                             "mean_abs": float(sum(abs(v) for v in sub.ravel()) / sub.size),
                             "zero": bool(sq == 0)})
    return rows


def transformer_hessian(*, d: int = 4, T: int = 4, n_samples: int = 2, seed: int = 0, growth: bool = True,
                        progress=None) -> TransformerHessian:
    r"""Recompute the paper's block picture, the certified ranks and the growth exponents (module doc).

    Args:
        d: the width (and :math:`d_K = d_V`); the score scale is :math:`1/\sqrt{d}` or its stand-in.
        T: tokens per sequence.
        n_samples: sequences.
        seed: the seeded point.
        growth: include the growth table (:mod:`exacthess.experiments.attention_growth`).
        progress: optional callable receiving short messages.
    """
    from ..core.validate import check_int, check_seed
    from ..hessian.graph_forward import make_graph_problem
    from ..hessian.matrices import hessian
    from ..models.attention import transformer_block
    from ..verification.pipeline import verify
    from .attention_norms import block_columns
    check_int(d, "d", 1)
    check_int(T, "T", 1)
    check_int(n_samples, "n_samples", 1)
    check_seed(seed)
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    out = TransformerHessian(setting={"d": d, "T": T, "d_k": d, "n_samples": n_samples, "seed": seed,
                                      "loss": "mse (1/2 sum of squares over tokens and samples)",
                                      "model": "F(X) = A(X) X W_V^T, one head, no output projection"})
    for kind in ("softmax", "linear"):
        g = transformer_block(d, T, attention=kind, out_proj=False)
        out.setting["n_params"] = g.n_params
        out.setting["scale"] = str(g.by_name["attn.weights0"].attrs["scale"] if kind == "softmax"
                                   else g.by_name["attn.weights0"].attrs["scale"][0])
        prob = make_graph_problem(g, n_samples=n_samples, seed=seed)
        data = (prob.X, prob.Y)
        say(f"{kind} attention: exact Hessians ({g.n_params} parameters)")
        H = hessian(g, params=prob.params, data=data)
        mats = {"H_L": H.H_L, "H_o": H.H_o, "H_f": H.H_f}
        out.blocks += _block_rows(kind, mats, block_columns(g))
        out.heatmaps[kind] = np.array(H.H_L, dtype=float)
        say(f"{kind} attention: certified ranks and float32 / float64 ranks")
        report = verify(g, params=prob.params, data=data, progress=False, float_check="always")
        floats = getattr(report, "float_ranks", None) or {}
        out.points[kind] = report.point
        for matrix in ("H_L", "H_o", "H_f"):
            fr = floats.get(matrix, {})
            sym = next((r for r in report.rows if r.statement == f"attention.qk.{matrix}"), None)
            out.ranks.append({"attention": kind, "matrix": matrix, "n_params": g.n_params,
                              "exact": report.ranks[matrix], "certified": bool(report.rank_info[matrix].certified),
                              "float32": fr.get("float32"), "float64": fr.get("float64"),
                              "symmetry_bound": None if sym is None else sym.predicted,
                              "symmetry_verdict": None if sym is None else sym.verdict.value})
    if growth:
        try:
            from .attention_growth import growth_table
        except ImportError:  # pragma: no cover - the growth module is optional in a partial install
            growth_table = None
        if growth_table is not None:
            say("growth exponents in the data and weight scales")
            out.growth_detail = growth_table(d=d, T=T, seed=seed)
            out.growth = list(out.growth_detail)
    out.seconds = round(time.perf_counter() - t0, 3)
    return out
