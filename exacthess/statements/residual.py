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


# ----- deep linear residual networks with identity skips ------------------------------------------
def residual_structure(graph) -> dict | None:
    """``{"M", "L", "proj", "bias", "blocks", "inp", "out"}`` when ``graph`` is a deep linear residual
    network with identity skips -- an optional input projection ``W_in``, ``L >= 1`` blocks
    ``h + W_l h (+ b_l)`` of width ``M``, an optional output projection ``W_out`` (both or neither;
    neither: ``d = K = M``), linear activations only, biases on every layer or none -- else None."""
    if getattr(graph, "family", None) != "graph":
        return None
    nodes = [n for n in graph.nodes[1:] if not (n.op == "identity" or (n.op == "act" and n.attrs["activation"].is_linear))]
    alias = {}

    def src(name):
        while name in alias:
            name = alias[name]
        return name
    for n in graph.nodes[1:]:
        if n not in nodes:
            alias[n.name] = n.inputs[0]
    if not nodes or any(n.op not in ("linear", "add") for n in nodes) or len(graph.input_shape) != 1:
        return None
    linears = [n for n in nodes if n.op == "linear"]
    if len({n.attrs["bias"] for n in linears}) > 1:
        return None
    i, h, inp = 0, "input", None
    if nodes[0].op == "linear" and (len(nodes) < 2 or nodes[1].op == "linear"):
        inp, h, i = nodes[0].name, nodes[0].name, 1
    M = graph.shapes[h][0]
    blocks = []
    while i + 1 < len(nodes) and nodes[i].op == "linear" and nodes[i + 1].op == "add":
        lin, add = nodes[i], nodes[i + 1]
        if src(lin.inputs[0]) != h or sorted(src(x) for x in add.inputs) != sorted([h, lin.name]) \
                or graph.shapes[lin.name] != (M,):
            return None
        blocks.append(lin.name)
        h, i = add.name, i + 2
    out = None
    if i < len(nodes) and nodes[i].op == "linear" and src(nodes[i].inputs[0]) == h:
        out, h, i = nodes[i].name, nodes[i].name, i + 1
    if i != len(nodes) or not blocks or src(graph.output) != h or (inp is None) != (out is None):
        return None
    return {"M": M, "L": len(blocks), "proj": inp is not None, "bias": bool(linears[0].attrs["bias"]),
            "blocks": blocks, "inp": inp, "out": out}


def _residual(ctx: Context, need_zero: bool = False):
    s = ctx.extra.get("residual")
    if s is None:
        return "not a deep linear residual network with identity skips (projections, blocks h + W_l h, linear)"
    if not need_zero and s["bias"]:
        return "biases: the formula is for residual networks without biases"
    if need_zero and not ctx.extra.get("residual_at_identity"):
        return "the residual blocks' weights are not all zero (the statement is about the identity initialisation)"
    return None


def _plain(ctx: Context) -> tuple:
    """``(q, hidden layers of the plain network, M)``."""
    s = ctx.extra["residual"]
    hidden = s["L"] + 1 if s["proj"] else s["L"] - 1
    return min(ctx.r, ctx.K, s["M"]), hidden, s["M"]


def _plain_H_f(ctx: Context) -> int:
    q, hidden, M = _plain(ctx)
    s = min(ctx.r, ctx.K)
    return 2 * q * hidden * M + 2 * q * s - (hidden + 1) * q * q


REPARAM = ("[exacthess-derived] via the reparameterisation V = I + W (proofs/residual_linear.py): Singh et al.'s "
           "formula [singh2021] for the plain network with L + 1 hidden layers (L - 1 without projections); "
           "see docs/references.md")

register(Statement(
    id="residual.H_o", quantity="H_o", kind=Kind.DERIVED, relation=Relation.EQ, generic=True,
    formula="q (r + K - q), q = min(r, K, M)", condition="deep linear residual network, identity skips; no biases; "
    "generic parameters", citation=REPARAM, predict=lambda ctx: (lambda q: q * (ctx.r + ctx.K - q))(_plain(ctx)[0]),
    applies=_residual, family=("graph",), activations=("linear",), losses=("mse",)))

register(Statement(
    id="residual.H_f", quantity="H_f", kind=Kind.DERIVED, relation=Relation.EQ, generic=True,
    formula="2q L' M + 2qs - (L'+1) q^2, s = min(r, K), L' = L + 1 (L - 1 without projections)",
    condition="deep linear residual network, identity skips; no biases; generic parameters and targets",
    citation=REPARAM, predict=_plain_H_f, applies=_residual, family=("graph",), activations=("linear",),
    losses=("mse",)))

register(Statement(
    id="residual.H_L", quantity="H_L", kind=Kind.DERIVED, relation=Relation.EQ, generic=True,
    formula="2q L' M - (L'+1) q^2 + q (r + K), L' = L + 1 (L - 1 without projections)",
    condition="deep linear residual network, identity skips; no biases; generic parameters and targets",
    citation=REPARAM, predict=lambda ctx: (lambda q, h, M: 2 * q * h * M - (h + 1) * q * q + q * (ctx.r + ctx.K))(
        *_plain(ctx)), applies=_residual, family=("graph",), activations=("linear",), losses=("mse",)))

register(Statement(
    id="residual.identity.H_o", quantity="H_o", kind=Kind.DERIVED, relation=Relation.EQ,
    formula="beta r~ + (K - beta) u, beta = rank W_out, u = rank of the rows [h_L(x_i); 1] (no biases: rank X W_in^T, "
            "r~ = r); without projections M r~",
    condition="deep linear residual network with identity skips at the identity initialisation W_1 = ... = W_L = 0 "
              "(projections and biases free)",
    citation="[exacthess-derived] closed form of J at W = 0, proven in proofs/residual_linear.py and docs/statements.md "
             "(see docs/references.md)",
    predict=lambda ctx: ctx.extra["residual_identity_rank"], applies=lambda ctx: _residual(ctx, need_zero=True),
    family=("graph",), activations=("linear",), losses=("mse",)))
