r"""Statements about self-attention: its continuous symmetries bound the Hessian ranks.

**The symmetries** (derived; proven in ``proofs/attention_symmetry.py`` and docs/statements.md).
For a query-key pair ``S = Q K^T``, ``Q = X W_q^T + 1 b_q^T``, ``K = X W_k^T + 1 b_k^T`` (found in
the graph by pattern, :mod:`exacthess.models.attention_pattern`), ``Q -> Q G``,
``K -> K G^{-T}`` leaves ``S`` unchanged for every invertible ``G``; with a linear consumer ``o``
of the head ``A V`` (an output projection), ``V -> V G``, ``W_o -> W_o G^{-T}`` (on the head's
columns) leaves ``A V W_o^T`` unchanged; under a softmax over rows the key bias is invisible
(``q_i . b_k`` is constant along row ``i``); in linear attention (no softmax, no shift)
``Q -> a Q``, ``V -> V / a`` is a symmetry too. Let ``d_sym`` be the exact dimension over Q of the
span of their tangent vectors at the point (:func:`exacthess.hessian.attention_symmetry.symmetry_vectors`).

* ``attention.qk.H_o``: ``J v = 0`` for each tangent vector, so ``H_o v = sum_i J_i^T A_i J_i v = 0``
  and :math:`\operatorname{rank} H_o \le p - d_{sym}` at **every** point, for every loss.
* ``attention.qk.H_f``, ``attention.qk.H_L``: the loss is constant along each orbit, so
  ``grad l . v = 0`` and, differentiating, ``H_L v + (Dv)^T grad l = 0``: at a **critical point**
  (``grad l = 0`` exactly) ``H_L v = 0`` and ``H_f v = H_L v - H_o v = 0``, so both ranks are at most
  ``p - d_sym``. Away from critical points that bound is false (a pinned point in
  ``tests/statements/test_attention.py``: ``rank H_L = p``); what holds at every point is
  ``rank <= p - d_bk``, ``d_bk`` the key-bias directions under softmax: ``F`` does not depend on
  ``b_k`` at all, so every derivative along them vanishes (their vector field is constant, ``Dv = 0``).
"""

from __future__ import annotations

from .registry import ALL, Context, Kind, Relation, Statement, register

__all__ = ["symmetry_bound"]

CITE = ("[exacthess-derived] continuous symmetries of self-attention (query-key GL(d_k), value-output GL(d_v), "
        "key bias under softmax, query-value scaling of linear attention), proven in proofs/attention_symmetry.py "
        "and docs/statements.md (see docs/references.md)")


def symmetry_bound(ctx: Context) -> int:
    """``p - d_sym``."""
    return ctx.p - ctx.extra["attention"]["d_sym"]


def second_order_bound(ctx: Context) -> int:
    """``p - d_sym`` at a critical point, else ``p - d_bk`` (key-bias directions under softmax)."""
    a = ctx.extra["attention"]
    return ctx.p - (a["d_sym"] if a["critical"] else a["families"].get("key bias", 0))


def _attention(ctx: Context, critical: bool = False):
    a = ctx.extra.get("attention")
    if a is None:
        return "no self-attention pattern (a matmul of a linear query node and a transposed linear key node)"
    if critical and not a.get("critical") and not a["families"].get("key bias"):
        return ("not a critical point: grad l != 0, and H_L v = -(Dv)^T grad l is not 0 there (p - d_sym holds at "
                "critical points only; no key-bias directions give a bound elsewhere)")
    return None


register(Statement(
    id="attention.qk.H_o", quantity="H_o", kind=Kind.DERIVED, relation=Relation.LE,
    formula="p - d_sym, d_sym = dim span of the attention symmetries' tangent vectors at the point (exact)",
    condition="a graph with self-attention (query-key pairs; value-output pairs; softmax or linear attention); "
              "every point, every loss",
    citation=CITE, predict=symmetry_bound, applies=_attention, family=("graph",), activations=(ALL,),
    losses=(ALL,)))

for _q in ("H_f", "H_L"):
    register(Statement(
        id=f"attention.qk.{_q}", quantity=_q, kind=Kind.DERIVED, relation=Relation.LE,
        formula="p - d_sym at a critical point (grad l = 0); elsewhere p - d_bk (key-bias directions under softmax)",
        condition="a graph with self-attention; p - d_sym at critical points only (false elsewhere)",
        citation=CITE, predict=second_order_bound, applies=lambda ctx: _attention(ctx, critical=True),
        family=("graph",), activations=(ALL,), losses=(ALL,)))
