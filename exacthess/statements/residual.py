r"""Statements about graph networks: residual / skip-connected architectures.

**Image dimension of a linear graph network** (``resnet.linear.H_o``, derived). A graph network whose
operations are all linear in its input (linear activations, residual sums, average pooling,
reshaping; no biases, no affine shifts) computes ``F(x) = A(theta) x`` for a ``K x d`` matrix
``A``. Its outputs on the data, :math:`A X^\top`, are ``K x n`` matrices whose rows lie in the row
space of :math:`X^\top` (dimension ``r = rank X``): a linear space of dimension ``K r`` in which
the matrices of rank at most :math:`q = \min(r, K)` form an irreducible variety of dimension
:math:`q (r + K - q)`. ``J`` is the differential of :math:`\theta \mapsto A(\theta) X^\top`, whose
image lies in that variety, so :math:`\operatorname{rank} H_o \le \operatorname{rank} J \le
q (r + K - q)` at every point, for every loss (:math:`H_o = \sum_i J_i^\top A_i J_i`). For a deep
linear residual network with identity skips ``x + W_l x`` this is Singh et al.'s formula for the
plain network (``proofs/residual_linear.py`` proves that the residual network at ``W`` *is* the
plain network at ``V = I + W``: same ``J``, ``H_o``, ``H_f``, ``H_L``), where the bound is attained
for generic parameters when no layer is narrower than ``q``.
"""

from __future__ import annotations

from .registry import ALL, Context, Kind, Relation, Statement, register

__all__ = ["linear_image_bound"]

CITE = ("[exacthess-derived] image dimension of a linear graph network, proven in docs/statements.md; the "
        "reparameterisation of residual networks in proofs/residual_linear.py (see docs/references.md)")


def linear_image_bound(ctx: Context) -> int:
    """``min(p, q (r + K - q))`` with ``q = min(r, K)``."""
    q = min(ctx.r, ctx.K)
    return min(ctx.p, q * (ctx.r + ctx.K - q))


def _linear_map(ctx: Context):
    graph = ctx.arch
    if ctx.bias:
        return "the network has biases: F is affine, not linear, in x"
    shifted = [n.name for n in graph.nodes if n.op == "affine" and any(v != 0 for v in n.attrs["shift"])
               or n.op == "batchnorm"]
    if shifted:
        return f"nodes {', '.join(shifted)} shift their input (affine maps, batch normalisation)"
    return None


register(Statement(
    id="resnet.linear.H_o", quantity="H_o", kind=Kind.DERIVED, relation=Relation.LE, generic_bound=True,
    formula="min(p, q (r + K - q)), q = min(r, K), r = rank X",
    condition="a graph network linear in its input: linear activations, residual sums, pooling, no biases",
    citation=CITE, predict=linear_image_bound, applies=_linear_map, family=("graph",), activations=("linear",),
    losses=(ALL,)))
