r"""The discussion thread's claims about the loss Hessian at a minimum (``[thread]`` in
docs/references.md), as checkable statements.

With :math:`\ell(\theta) = \sum_i l(F(x_i;\theta), y_i)`,
:math:`H_L = J_f^\top [\nabla^2 l] J_f + \sum_i \sum_c (\nabla l_i)_c \nabla^2 F_c(x_i)`.
At a *perfect fit* (every output gradient :math:`\nabla l_i` exactly 0; ``exacthess verify
--perfect-fit`` builds one by taking the network's own predictions as targets) the second term
vanishes, and when :math:`\nabla^2 l` is diagonal and positive (MSE, weighted MSE, BCE)
:math:`\operatorname{rank} H_L = \operatorname{rank} J_f`.

For softmax cross-entropy on logits, :math:`\nabla^2 l_i = \mathrm{diag}\,p_i - p_ip_i^\top` has
kernel :math:`\mathrm{span}(\mathbf 1)`. Moving the output layer's weights by :math:`\mathbf 1 v^\top`
moves every sample's logits by :math:`(v^\top \tilde h_{L,i})\mathbf 1`, a vector of the column
space of :math:`J_f` in the kernel of :math:`\mathrm{blockdiag}_i \nabla^2 l_i`; it is nonzero as
soon as some last hidden representation :math:`\tilde h_{L,i}` (with the 1 of a bias) is nonzero.
Hence (exacthess's proof of the thread's "it is not satisfied")
:math:`\operatorname{rank} H_L = \operatorname{rank} J_f^\top A J_f \le \operatorname{rank} J_f - 1`.
Taking the probabilities as the outputs restores the equality with their Jacobian
:math:`J_p = \mathrm{blockdiag}(A_i) J_f`: :math:`\operatorname{rank} J_f^\top A J_f = \operatorname{rank} A J_f`
for positive semi-definite :math:`A`.
"""

from __future__ import annotations

from .registry import ALL, Context, Kind, Relation, Statement, register

__all__ = ["perfect_fit_condition"]

REFS = "see docs/references.md"
CITE = f"[thread] comment 'A few points about rank equality at a perfect-behavior global min' ({REFS})"


def perfect_fit_condition(ctx: Context) -> str | None:
    """None at a perfect fit (every output gradient exactly 0), else why the statement is n/a."""
    if ctx.extra.get("perfect_fit"):
        return None
    return "not a perfect fit (some output gradient is nonzero); exacthess verify --perfect-fit builds one"


def _ce_logits(ctx: Context) -> str | None:
    why = perfect_fit_condition(ctx)
    if why:
        return why
    if ctx.K < 2:
        return f"K = {ctx.K}: softmax over one logit is constant; the statement needs K >= 2"
    if not ctx.extra.get("last_hidden_nonzero"):
        return "every last hidden representation is zero: the all-ones direction is not in the image of J_f"
    return None


_FAMILIES = ("fcn", "cnn")

register(Statement(
    id="thread.perfect_fit.H_f", quantity="H_f", kind=Kind.CLAIMED_EQUALITY, relation=Relation.LE,
    formula="0 (the second term sum_p grad_p l * D^2 f_p vanishes)",
    condition="perfect fit: every output gradient grad_f l(F(x_i), y_i) is exactly 0 (any activation, any loss)",
    citation=CITE + "; 'the second term disappears if grad_f l = 0'", predict=lambda ctx: 0,
    applies=perfect_fit_condition, family=_FAMILIES, activations=(ALL,), losses=(ALL,), point="perfect_fit"))

register(Statement(
    id="thread.perfect_fit.H_L", quantity="H_L", kind=Kind.CLAIMED_EQUALITY, relation=Relation.EQ,
    formula="rank J_f (stacked Jacobian of the outputs, nK x p)",
    condition="perfect fit; a loss whose output-space Hessian is diagonal and positive (mse, weighted_mse, bce)",
    citation=CITE + "; 'holds as long as Hess(l) is a diagonal matrix'", predict=lambda ctx: ctx.ranks["J_f"],
    applies=perfect_fit_condition, family=_FAMILIES, activations=(ALL,), losses=("mse", "weighted_mse", "bce"),
    needs=("J_f",), point="perfect_fit"))

register(Statement(
    id="thread.perfect_fit.cross_entropy_logits", quantity="H_L", kind=Kind.DERIVED, relation=Relation.LE,
    formula="rank J_f - 1 (the equality rank H_L = rank J_f fails)",
    condition="perfect fit; softmax cross-entropy on the logits; K >= 2; some last hidden representation "
              "(with the 1 of a bias) is nonzero",
    citation=f"[thread] 'not satisfied if we consider the behavior to be raw logits', proven by [exacthess-derived] "
             f"in docs/statements.md ({REFS})",
    predict=lambda ctx: ctx.ranks["J_f"] - 1, applies=_ce_logits, family=_FAMILIES, activations=(ALL,),
    losses=("cross_entropy",), needs=("J_f",), point="perfect_fit"))

register(Statement(
    id="thread.perfect_fit.cross_entropy_probabilities", quantity="H_L", kind=Kind.CLAIMED_EQUALITY,
    relation=Relation.EQ, formula="rank J_p, J_p = blockdiag_i(diag p_i - p_i p_i^T) J_f (Jacobian of the probabilities)",
    condition="perfect fit; softmax cross-entropy with the probabilities taken as the outputs",
    citation=CITE + "; 'considering probability (after softmax) as behavior'", predict=lambda ctx: ctx.ranks["J_p"],
    applies=perfect_fit_condition, family=_FAMILIES, activations=(ALL,), losses=("cross_entropy",),
    needs=("J_p",), point="perfect_fit"))
