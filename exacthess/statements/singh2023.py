"""Rank statements for deep linear CNNs.

Singh, Hofmann & Schoelkopf, "The Hessian perspective into the nature of convolutional neural
networks", ICML 2023 (slides ``shared/reference/000_4ff8ab0d0e0e2d91.txt``; FORMULAS.md s.2).

Notation: ``d_0`` input size (times input channels), hidden flattened sizes ``m_l d_l``,
``K`` outputs, ``p`` parameters, ``s = rank(Omega)``,
``q_o = min(d_0, m_1 d_1, ..., m_L d_L, K)``, ``q_f = min(q_o, s)``.
``T^{(2:L+1)}`` is the product of the operators of layers 2..L+1 (``K x m_1 d_1``) and
``T^{(L:1)}`` that of layers 1..L (``m_L d_L x d_0``).
"""

from __future__ import annotations

from .registry import Context, Statement, register

CITE = "Singh, Hofmann & Schoelkopf, ICML 2023 (FORMULAS.md s.2; reference 000_4ff8ab0d0e0e2d91.txt)"
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
    id="singh2023.thm1", quantity="H_o", kind="proven upper bound", relation="<=",
    formula="min(p, d0 rank T(2:L+1) + K rank T(L:1) - rank T(2:L+1) rank T(L:1))",
    condition="no biases", citation=CITE + ", Theorem 1",
    predict=lambda ctx: _thm1_bound(ctx, ctx.d), applies=_no_bias, family=FAM))

register(Statement(
    id="singh2023.thm1.qo", quantity="H_o", kind="proven upper bound", relation="<=",
    formula="min(p, q_o (d0 + K - q_o)), q_o = min(d0, m_l d_l, K)",
    condition="no biases (Theorem 1, second form)", citation=CITE + ", Theorem 1",
    predict=lambda ctx: min(ctx.p, _qo(ctx) * (ctx.d + ctx.K - _qo(ctx))), applies=_no_bias, family=FAM))


def _no_bottleneck(ctx: Context):
    if ctx.bias:
        return _no_bias(ctx)
    if min(tuple(ctx.widths) or (ctx.d,)) < min(ctx.d, ctx.K):
        return "a hidden layer is narrower than min(d0, K) (bottleneck)"
    if ctx.r < ctx.d:
        return f"fewer informative samples than inputs (r = {ctx.r} < d0 = {ctx.d})"
    return None


register(Statement(
    id="singh2023.thm1.equality", quantity="H_o", kind="claimed equality", relation="==",
    formula="min(p, q_o (d0 + K - q_o))",
    condition="no bottleneck within (every m_l d_l >= min(d0, K)); r = d0; no biases",
    citation=CITE + ", Theorem 1 ('if there is no bottleneck within')",
    predict=lambda ctx: min(ctx.p, _qo(ctx) * (ctx.d + ctx.K - _qo(ctx))), applies=_no_bottleneck, family=FAM))


def _data_qo(ctx: Context) -> int:
    return min((ctx.r,) + tuple(ctx.widths) + (ctx.K,))


register(Statement(
    id="singh2023.thm1.data", quantity="H_o", kind="derived", relation="==",
    formula="min(p, q (r + K - q)), q = min(r, m_l d_l, K): d0 read as r = rank(Sigma_xx)",
    condition="no biases; generic parameters (FORMULAS.md: 'with fewer samples than d0, read d0 as r')",
    citation=CITE + "; derived by exacthess",
    predict=lambda ctx: min(ctx.p, _data_qo(ctx) * (ctx.r + ctx.K - _data_qo(ctx))), applies=_no_bias, family=FAM))


def _size(ctx: Context, l: int) -> int:
    """m_l d_l with m_0 d_0 = d0."""
    return ctx.d if l == 0 else ctx.widths[l - 1]


def _thm2(ctx: Context, l: int) -> int:
    qf = _qf(ctx)
    return min(qf * _size(ctx, l - 1) + qf * _size(ctx, l) - qf * qf, ctx.extra["weights_per_layer"][l - 1])


def _middle(ctx):
    return range(2, ctx.L + 1)


register(Statement(
    id="singh2023.thm2", quantity="H_f[:,{l}]", kind="proven upper bound", relation="<=",
    formula="min(q_f m_{l-1} d_{l-1} + q_f m_l d_l - q_f^2, m_l m_{l-1} k_l), q_f = min(q_o, s)",
    condition="middle block columns l = 2..L; no biases", citation=CITE + ", Theorem 2",
    predict=_thm2, applies=_no_bias, family=FAM, layers=_middle))


def _end_bound(ctx: Context, l: int) -> int:
    qf = _qf(ctx)
    inner = _size(ctx, 1) if l == 1 else _size(ctx, ctx.L)
    return min(qf * ctx.s + qf * inner - qf * qf, ctx.extra["weights_per_layer"][l - 1])


def _ends(ctx):
    return (1, ctx.L + 1) if ctx.L >= 1 else (1,)


register(Statement(
    id="singh2023.thm2.ends", quantity="H_f[:,{l}]", kind="derived", relation="<=",
    formula="min(q_f s + q_f m d - q_f^2, p_l): the missing side replaced by s, as in the FCN block-column formula",
    condition="first and last block columns; no biases", citation=CITE + "; derived by exacthess",
    predict=_end_bound, applies=_no_bias, family=FAM, layers=_ends))


def _sum_columns(ctx: Context) -> int:
    return sum(ctx.ranks[f"H_f[:,{l}]"] for l in range(1, ctx.L + 2))


register(Statement(
    id="singh2023.eq1.bound", quantity="H_f", kind="proven upper bound", relation="<=",
    formula="sum over l of rank H_f[:,l]", condition="always",
    citation=CITE + ", eq. (1)", predict=_sum_columns, family=FAM))

register(Statement(
    id="singh2023.eq1.equality", quantity="H_f", kind="claimed equality", relation="==",
    formula="sum over l of rank H_f[:,l] (block-column independence)",
    condition="as stated in the slides ('without introducing any looseness')",
    citation=CITE + ", eq. (1) and the block-column independence remark", predict=_sum_columns, family=FAM))


def _bound_sum(ctx: Context) -> int:
    total = 0
    for l in range(1, ctx.L + 2):
        total += _thm2(ctx, l) if 2 <= l <= ctx.L else _end_bound(ctx, l)
    return total


register(Statement(
    id="singh2023.thm2.sum", quantity="H_f", kind="derived", relation="<=",
    formula="sum of the Theorem 2 bounds (ends derived)", condition="no biases",
    citation=CITE + "; derived by exacthess", predict=_bound_sum, applies=_no_bias, family=FAM))

register(Statement(
    id="singh2023.H_L", quantity="H_L", kind="derived", relation="<=",
    formula="Theorem 1 bound + sum of Theorem 2 bounds", condition="no biases",
    citation=CITE + " ('rank H_L <= rank H_o + rank H_f'); derived by exacthess",
    predict=lambda ctx: _thm1_bound(ctx, ctx.d) + _bound_sum(ctx), applies=_no_bias, family=FAM))
