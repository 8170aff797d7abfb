"""Rank statements for deep linear CNNs.

Singh, Hofmann & Schoelkopf, "The Hessian perspective into the nature of convolutional neural
networks", ICML 2023 (``[singh2023]`` in ``docs/references.md``, read from the authors' ICML
slides); ``docs/statements.md`` lists every formula and the proof of the derived bound
``singh2023.thm1.data``.

Notation: ``d_0`` input size (times input channels), hidden flattened sizes ``m_l d_l``,
``K`` outputs, ``p`` parameters, ``s = rank(Omega)``,
``q_o = min(d_0, m_1 d_1, ..., m_L d_L, K)``, ``q_f = min(q_o, s)``.
``T^{(2:L+1)}`` is the product of the operators of layers 2..L+1 (``K x m_1 d_1``) and
``T^{(L:1)}`` that of layers 1..L (``m_L d_L x d_0``).
"""

from __future__ import annotations

from ..models.quantities import block_column
from .registry import Context, Kind, PinnedCounterexample, Relation, Statement, register

REFS = "see docs/references.md"
CITE = "[singh2023] Singh, Hofmann & Schoelkopf, ICML 2023"
FAM = ("cnn",)


def _qo(ctx: Context) -> int:
    return min((ctx.d,) + tuple(ctx.widths) + (ctx.K,))


def _qf(ctx: Context) -> int:
    return min(_qo(ctx), ctx.s)


def _no_bias(ctx: Context):
    return "biases: the CNN theorems are stated without biases" if ctx.bias else None


def _thm1_bound(ctx: Context, d0: int) -> int:
    a, b = ctx.extra["rank_T_2_L1"], ctx.extra["rank_T_L_1"]
    return min(ctx.p, d0 * a + ctx.K * b - a * b)


register(Statement(
    id="singh2023.thm1", quantity="H_o", kind=Kind.PROVEN_BOUND, relation=Relation.LE,
    formula="min(p, d0 rank T(2:L+1) + K rank T(L:1) - rank T(2:L+1) rank T(L:1))",
    condition="no biases", citation=f"{CITE}, Theorem 1 ({REFS})",
    predict=lambda ctx: _thm1_bound(ctx, ctx.d), applies=_no_bias, family=FAM))

register(Statement(
    id="singh2023.thm1.qo", quantity="H_o", kind=Kind.PROVEN_BOUND, relation=Relation.LE,
    formula="min(p, q_o (d0 + K - q_o)), q_o = min(d0, m_l d_l, K)",
    condition="no biases (Theorem 1, second form)", citation=f"{CITE}, Theorem 1 ({REFS})",
    predict=lambda ctx: min(ctx.p, _qo(ctx) * (ctx.d + ctx.K - _qo(ctx))), applies=_no_bias, family=FAM,
    generic_bound=True))


def _no_bottleneck(ctx: Context):
    if ctx.bias:
        return _no_bias(ctx)
    if min(tuple(ctx.widths) or (ctx.d,)) < min(ctx.d, ctx.K):
        return "a hidden layer is narrower than min(d0, K) (bottleneck)"
    if ctx.r < ctx.d:
        return f"fewer informative samples than inputs (r = {ctx.r} < d0 = {ctx.d})"
    return None


register(Statement(
    id="singh2023.thm1.equality", quantity="H_o", kind=Kind.CLAIMED_EQUALITY, relation=Relation.EQ, generic=True,
    formula="min(p, q_o (d0 + K - q_o))",
    condition="no bottleneck within (every m_l d_l >= min(d0, K)); r = d0; no biases; generic parameters",
    citation=f"{CITE}, Theorem 1, 'if there is no bottleneck within' ({REFS})",
    predict=lambda ctx: min(ctx.p, _qo(ctx) * (ctx.d + ctx.K - _qo(ctx))), applies=_no_bottleneck, family=FAM,
    counterexamples=(PinnedCounterexample(
        spec={"family": "cnn", "input_shape": [1], "channels": [1], "kernel_sizes": [1], "output_dim": 2,
              "in_channels": 2, "strides": [1], "paddings": [1], "bias": False},
        n_samples=2, seed=0, ranks={"H_o": 3, "H_f": 4, "H_L": 4}, verdict="VIOLATED",
        note="zero padding makes 2 of the 3 hidden positions identically zero: the hidden layer is a "
             "bottleneck of width 1 although m_1 d_1 = 3 >= min(d0, K) = 2"),
        PinnedCounterexample(
        spec={"family": "cnn", "input_shape": [1], "channels": [1], "kernel_sizes": [1], "output_dim": 1,
              "in_channels": 1, "strides": [2], "paddings": [1], "bias": False},
        n_samples=1, seed=0, ranks={"H_o": 0, "H_f": 0, "H_L": 0}, verdict="VIOLATED",
        note="the smallest one exacthess search finds (3 parameters): with stride 2 and padding 1 the hidden "
             "positions read only padding, the network is identically 0"),)))


def _live_q(ctx: Context) -> int:
    return min((ctx.r, ctx.K) + tuple(ctx.extra.get("live_widths", ctx.widths)))


register(Statement(
    id="singh2023.thm1.data", quantity="H_o", kind=Kind.DERIVED, relation=Relation.LE, generic_bound=True,
    formula="min(p, q (r + K - q)), q = min(r, K, m_l d'_l): d0 read as r = rank(Sigma_xx), d'_l the "
            "positions of layer l that some input reaches (zero padding leaves the others 0)",
    condition="no biases",
    citation=f"{CITE}, Theorem 1, read for data of rank r; derived and proven by exacthess "
             f"(docs/statements.md; {REFS})",
    predict=lambda ctx: min(ctx.p, _live_q(ctx) * (ctx.r + ctx.K - _live_q(ctx))), applies=_no_bias, family=FAM))


def _size(ctx: Context, l: int) -> int:
    """m_l d_l with m_0 d_0 = d0."""
    return ctx.d if l == 0 else ctx.widths[l - 1]


def _thm2(ctx: Context, l: int) -> int:
    qf = _qf(ctx)
    return min(qf * _size(ctx, l - 1) + qf * _size(ctx, l) - qf * qf, ctx.extra["weights_per_layer"][l - 1])


def _middle(ctx):
    return range(2, ctx.L + 1)


register(Statement(
    id="singh2023.thm2", quantity="H_f[:,{l}]", kind=Kind.PROVEN_BOUND, relation=Relation.LE,
    formula="min(q_f m_{l-1} d_{l-1} + q_f m_l d_l - q_f^2, m_l m_{l-1} k_l), q_f = min(q_o, s)",
    condition="middle block columns l = 2..L; no biases", citation=f"{CITE}, Theorem 2 ({REFS})",
    predict=_thm2, applies=_no_bias, family=FAM, layers=_middle))


def _end_bound(ctx: Context, l: int) -> int:
    qf = _qf(ctx)
    inner = _size(ctx, 1) if l == 1 else _size(ctx, ctx.L)
    return min(qf * ctx.s + qf * inner - qf * qf, ctx.extra["weights_per_layer"][l - 1])


def _ends(ctx):
    return (1, ctx.L + 1) if ctx.L >= 1 else (1,)


register(Statement(
    id="singh2023.thm2.ends", quantity="H_f[:,{l}]", kind=Kind.DERIVED, relation=Relation.LE,
    formula="min(q_f s + q_f m d - q_f^2, p_l): the missing side replaced by s, as in the FCN block-column formula",
    condition="first and last block columns; no biases", citation=f"{CITE}, Theorem 2; derived by exacthess ({REFS})",
    predict=_end_bound, applies=_no_bias, family=FAM, layers=_ends))


EQ1_COUNTEREXAMPLES = (PinnedCounterexample(
    spec={"family": "cnn", "input_shape": [3], "channels": [1, 1], "kernel_sizes": [3, 2], "output_dim": 3,
          "in_channels": 1, "strides": [2, 1], "paddings": [1, 0], "bias": False},
    n_samples=3, seed=0, ranks={"H_o": 5, "H_f": 7, "H_L": 8, "H_f[:,1]": 3, "H_f[:,2]": 2, "H_f[:,3]": 3},
    verdict="VIOLATED",
    note="a strided CNN with one filter per layer (8 parameters): the block columns of H_f are linearly "
         "dependent, rank H_f = 7 < 3 + 2 + 3 (the same ranks at every seed tried)"),)


def _sum_columns(ctx: Context) -> int:
    return sum(ctx.ranks[block_column(l)] for l in range(1, ctx.L + 2))


register(Statement(
    id="singh2023.eq1.bound", quantity="H_f", kind=Kind.PROVEN_BOUND, relation=Relation.LE,
    formula="sum over l of rank H_f[:,l]", condition="always",
    citation=f"{CITE}, eq. (1) ({REFS})", predict=_sum_columns, family=FAM))

register(Statement(
    id="singh2023.eq1.equality", quantity="H_f", kind=Kind.CLAIMED_EQUALITY, relation=Relation.EQ,
    formula="sum over l of rank H_f[:,l] (block-column independence)",
    condition="as stated in the slides ('without introducing any looseness'); judged at the point: "
              "both sides are ranks there",
    citation=f"{CITE}, eq. (1) and the block-column independence remark ({REFS})", predict=_sum_columns, family=FAM,
    counterexamples=EQ1_COUNTEREXAMPLES))


def _bound_sum(ctx: Context) -> int:
    total = 0
    for l in range(1, ctx.L + 2):
        total += _thm2(ctx, l) if 2 <= l <= ctx.L else _end_bound(ctx, l)
    return total


register(Statement(
    id="singh2023.thm2.sum", quantity="H_f", kind=Kind.DERIVED, relation=Relation.LE,
    formula="sum of the Theorem 2 bounds (ends derived)", condition="no biases",
    citation=f"{CITE}, Theorem 2 and eq. (1); derived by exacthess ({REFS})", predict=_bound_sum, applies=_no_bias, family=FAM))

register(Statement(
    id="singh2023.H_L", quantity="H_L", kind=Kind.DERIVED, relation=Relation.LE,
    formula="Theorem 1 bound + sum of Theorem 2 bounds", condition="no biases",
    citation=f"{CITE}, 'rank H_L <= rank H_o + rank H_f'; derived by exacthess ({REFS})",
    predict=lambda ctx: _thm1_bound(ctx, ctx.d) + _bound_sum(ctx), applies=_no_bias, family=FAM))


# ---- the slides' "Related work": Singh et al. (2021) quoted for fully-connected networks ----
def _q_d(ctx: Context) -> int:
    return min((ctx.d, ctx.K) + tuple(ctx.widths))


def _full_rank_data(ctx: Context):
    if ctx.bias:
        return "biases: the quoted formula is for networks without biases"
    if ctx.r != ctx.d:
        return f"r = rank(Sigma_xx) = {ctx.r} < d = {ctx.d}: the slides write d for r (data of full rank, n >= d)"
    return None


register(Statement(
    id="singh2023.related_work.H_o", quantity="H_o", kind=Kind.CLAIMED_EQUALITY, relation=Relation.EQ, generic=True,
    formula="q (d + K - q), q = min(d, K, m_1, ..., m_L)",
    condition="no biases; data of full rank (r = d: the slides write d where [singh2021] has r); generic parameters",
    citation=f"{CITE}, slide 'Related work', quoting [singh2021] for fully-connected networks ({REFS})",
    predict=lambda ctx: _q_d(ctx) * (ctx.d + ctx.K - _q_d(ctx)), applies=_full_rank_data, family=("fcn",)))
