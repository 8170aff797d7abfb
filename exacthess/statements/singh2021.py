"""Rank statements for deep linear fully-connected networks.

Singh, Bachmann & Hofmann, "Analytic insights into structure and rank of neural network
Hessian maps", NeurIPS 2021 (``[singh2021]`` in ``docs/references.md``), as printed in the
authors' rank notebook (``[notebook]``); ``docs/statements.md`` lists every formula.

Notation: ``q = min(r, K, m_1, ..., m_L)``, ``s = min(r, K)`` (generic targets, as in the
notebook and the authors' code). Conjectures (empirical fits made while preparing exacthess,
``[exacthess-obs]``, not from the paper) are registered with kind ``conjecture``.
"""

from __future__ import annotations

from dataclasses import replace

from .registry import ALL, Context, Kind, PinnedCounterexample, Relation, Statement, register

REFS = "see docs/references.md"
CITE = f"[singh2021] Singh, Bachmann & Hofmann, NeurIPS 2021, as printed in [notebook] ({REFS})"
CITE_OBS = f"[exacthess-obs] float64 observation made while preparing exacthess, not from a paper ({REFS})"


def q_of(ctx: Context) -> int:
    return min((ctx.r, ctx.K) + tuple(ctx.widths))


def s_generic(ctx: Context) -> int:
    return min(ctx.r, ctx.K)


def _no_bias(ctx: Context):
    return "biases: no published formula encoded" if ctx.bias else None


def _no_bias_deep(ctx: Context):
    if ctx.bias:
        return _no_bias(ctx)
    if ctx.L < 1:
        return "no hidden layer (L = 0): F is linear in each sample and H_f = 0; the formula is for L >= 1"
    return None


def _residual(ctx: Context):
    if ctx.bias or ctx.L < 1:
        return _no_bias_deep(ctx)
    if ctx.s >= min(ctx.r, ctx.K):
        return f"rank(Omega) = {ctx.s} = min(r, K): generic residual, the published formulas apply"
    return None


def _no_bias_generic_targets(ctx: Context):
    if ctx.bias or ctx.L < 1:
        return _no_bias_deep(ctx)
    if ctx.s != min(ctx.r, ctx.K):
        return f"rank(Omega) = {ctx.s} < min(r, K) = {min(ctx.r, ctx.K)} (non-generic residual)"
    return None


def _pred_H_o(ctx):
    q = q_of(ctx)
    return q * (ctx.r + ctx.K - q)


def _pred_H_f(ctx):
    q, s = q_of(ctx), s_generic(ctx)
    return 2 * q * sum(ctx.widths) + 2 * q * s - (ctx.L + 1) * q * q


def _pred_H_L(ctx):
    q = q_of(ctx)
    return 2 * q * sum(ctx.widths) - (ctx.L + 1) * q * q + q * (ctx.r + ctx.K)


register(Statement(
    id="singh2021.H_o", quantity="H_o", kind=Kind.EXACT_GENERIC, relation=Relation.EQ, generic=True,
    formula="q (r + K - q)", condition="no biases; generic parameters",
    citation=CITE, predict=_pred_H_o, applies=_no_bias))

register(Statement(
    id="singh2021.H_f", quantity="H_f", kind=Kind.EXACT_GENERIC, relation=Relation.EQ, generic=True,
    formula="2q sum(m_l) + 2qs - (L+1) q^2, s = min(r, K)",
    condition="no biases; L >= 1; generic parameters and targets (rank Omega = min(r, K))",
    citation=CITE, predict=_pred_H_f, applies=_no_bias_generic_targets))

register(Statement(
    id="singh2021.H_f.bound", quantity="H_f", kind=Kind.PROVEN_BOUND, relation=Relation.LE,
    formula="2q sum(m_l) + 2qs - (L+1) q^2, s = min(r, K)",
    condition="no biases (the notebook states it as a bound)",
    citation=CITE, predict=_pred_H_f, applies=_no_bias, generic_bound=True))

register(Statement(
    id="singh2021.H_L", quantity="H_L", kind=Kind.EXACT_GENERIC, relation=Relation.EQ, generic=True,
    formula="2q sum(m_l) - (L+1) q^2 + q (r + K)",
    condition="no biases; generic parameters and targets (rank Omega = min(r, K))",
    citation=CITE, predict=_pred_H_L, applies=_no_bias_generic_targets))


# ---- conjectures: float64 observations made while preparing exacthess, not from the paper --
def _qs(ctx):
    return min((ctx.s,) + tuple(ctx.widths))


def _pred_res_H_f(ctx):
    qs = _qs(ctx)
    return 2 * qs * sum(ctx.widths) + 2 * qs * ctx.s - (ctx.L + 1) * qs * qs


def _pred_res_H_L(ctx):
    q, qs = q_of(ctx), _qs(ctx)
    return q * (ctx.r + ctx.K - q) + 2 * qs * sum(ctx.widths) - ctx.L * qs * qs


register(Statement(
    id="conjecture.residual.H_f", quantity="H_f", kind=Kind.CONJECTURE, relation=Relation.EQ,
    generic=True, keep_residual_rank=True,
    formula="2 q_s sum(m_l) + 2 q_s s - (L+1) q_s^2, s = rank(Omega), q_s = min(s, m_1..m_L)",
    condition="no biases; L >= 1; s = rank(Omega) < min(r, K); generic parameters with that s",
    citation=CITE_OBS, predict=_pred_res_H_f, applies=_residual))

register(Statement(
    id="conjecture.residual.H_L", quantity="H_L", kind=Kind.CONJECTURE, relation=Relation.EQ,
    generic=True, keep_residual_rank=True,
    formula="q (r + K - q) + 2 q_s sum(m_l) - L q_s^2",
    condition="no biases; L >= 1; s = rank(Omega) < min(r, K); generic parameters with that s",
    citation=CITE_OBS, predict=_pred_res_H_L, applies=_residual))


def _fcn_layers(ctx):
    return range(1, ctx.L + 2)


def _pred_block_column(ctx, l):
    q = q_of(ctx)
    m = (ctx.s,) + tuple(ctx.widths) + (ctx.s,)
    return q * (m[l - 1] + m[l]) - q * q


register(Statement(
    id="conjecture.block_column", quantity="H_f[:,{l}]", kind=Kind.CONJECTURE, relation=Relation.EQ, generic=True,
    formula="q (m'_{l-1} + m'_l) - q^2, m'_0 = m'_{L+1} = s",
    condition="no biases; L >= 1; generic parameters and targets", citation=CITE_OBS,
    predict=_pred_block_column, applies=_no_bias_generic_targets, layers=_fcn_layers))


def _fcn_spec(d, widths, K, bias=True) -> dict:
    return {"family": "fcn", "input_dim": d, "widths": list(widths), "output_dim": K, "bias": bias}


def _bias_only(ctx):
    return None if ctx.bias else "network has no biases"


def _bias_one_hidden(ctx):
    if not ctx.bias:
        return "network has no biases"
    return None if ctx.L == 1 else f"formula fitted for one hidden layer; L = {ctx.L}"


def _pred_bias_H_o(ctx):
    q = q_of(ctx)
    return q * (ctx.r + ctx.K - q) + ctx.K


def _pred_bias_H_f(ctx):
    return 2 * ctx.widths[0] * min(ctx.r + 1, ctx.K)


def _pred_bias_H_L(ctx):
    q, st = q_of(ctx), min(ctx.r + 1, ctx.K)
    return ctx.ranks["H_o"] + ctx.ranks["H_f"] - q * (2 * st - q - 1)


register(Statement(
    id="conjecture.bias.H_o", quantity="H_o", kind=Kind.CONJECTURE, relation=Relation.EQ, generic=True,
    formula="q (r + K - q) + K", condition="biases on every layer; generic parameters",
    citation=CITE_OBS + "; empirical fit", predict=_pred_bias_H_o, applies=_bias_only,
    counterexamples=(PinnedCounterexample(
        spec=_fcn_spec(1, (), 1), n_samples=1, seed=0, ranks={"H_o": 1, "H_f": 0, "H_L": 1}, verdict="refuted",
        note="one sample: the outputs lie in a space of dimension rank(Sigma~) = 1, and image.H_o proves the "
             "generic rank <= 1 < q (r + K - q) + K = 2"),)))

register(Statement(
    id="conjecture.bias.H_f", quantity="H_f", kind=Kind.CONJECTURE, relation=Relation.EQ, generic=True,
    formula="2 m_1 min(r + 1, K)", condition="biases; one hidden layer; generic parameters",
    citation=CITE_OBS + "; empirical fit", predict=_pred_bias_H_f, applies=_bias_one_hidden,
    counterexamples=(PinnedCounterexample(
        spec=_fcn_spec(1, (1,), 2), n_samples=1, seed=0, ranks={"H_o": 2, "H_f": 2, "H_L": 4}, verdict="refuted",
        note="rank H_f = 2 m_1 rank(Omega~) <= 2 m_1 min(rank Sigma~, K) (onehidden.H_f): with one sample "
             "rank Sigma~ = 1, not r + 1 = 2"),)))

register(Statement(
    id="conjecture.bias.H_L", quantity="H_L", kind=Kind.CONJECTURE, relation=Relation.EQ,
    formula="rank H_o + rank H_f - q (2 s~ - q - 1), s~ = min(r + 1, K)",
    condition="biases on every layer; generic parameters (judged at the point: the prediction uses its ranks)",
    citation=CITE_OBS + "; empirical fit", predict=_pred_bias_H_L, applies=_bias_only,
    counterexamples=(PinnedCounterexample(
        spec=_fcn_spec(1, (), 2), n_samples=1, seed=0, ranks={"H_o": 2, "H_f": 0, "H_L": 2}, verdict="refuted",
        note="no hidden layer and one sample: the formula predicts 2 + 0 - 1 (2 * 2 - 1 - 1) = 0"),)))

register(Statement(
    id="subadditivity", quantity="H_L", kind=Kind.PROVEN_BOUND, relation=Relation.LE,
    formula="rank H_o + rank H_f", condition="always (H_L = H_o + H_f)",
    citation=f"linear algebra (rank of a sum), as used in [singh2023] ({REFS})",
    predict=lambda ctx: ctx.ranks["H_o"] + ctx.ranks["H_f"], family=("fcn", "cnn"), activations=(ALL,), losses=(ALL,)))


# ---- cross-entropy forms (the notebook: K -> K - 1 in q, s and the formulas) -----------------
def _ce(fn):
    """The MSE formula with ``K`` replaced by ``K - 1`` (softmax outputs have one fewer dimension)."""
    return lambda ctx: fn(replace(ctx, K=ctx.K - 1))


def _ce_applies(check):
    def applies(ctx):
        if ctx.K < 2:
            return "cross-entropy needs K >= 2 outputs"
        return check(replace(ctx, K=ctx.K - 1))
    return applies


for _qty, _pred, _check, _formula in (
        ("H_o", _pred_H_o, _no_bias, "q' (r + K - 1 - q'), q' = min(r, K - 1, m_1..m_L)"),
        ("H_f", _pred_H_f, _no_bias_generic_targets, "2q' sum(m_l) + 2q's' - (L+1) q'^2, s' = min(r, K - 1)"),
        ("H_L", _pred_H_L, _no_bias_generic_targets, "2q' sum(m_l) - (L+1) q'^2 + q' (r + K - 1)")):
    register(Statement(
        id=f"singh2021.ce.{_qty}", quantity=_qty, kind=Kind.EXACT_GENERIC, relation=Relation.EQ, generic=True,
        formula=_formula, condition="softmax cross-entropy on the logits; no biases; generic parameters and targets",
        citation=CITE + " (the notebook's cross-entropy form: K replaced by K - 1)",
        predict=_ce(_pred), applies=_ce_applies(_check), losses=("cross_entropy",)))
