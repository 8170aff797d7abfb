r"""The squared Frobenius norms of a self-attention layer's Hessian blocks along a scale, exactly.

A *scale kind* says what is multiplied by :math:`t` while everything else stays fixed:

* ``"data"`` -- the inputs, :math:`X \to tX` (targets and weights fixed);
* ``"weights"`` -- every parameter, :math:`\theta \to t\theta`;
* ``"W_Q"``, ``"W_K"``, ``"W_V"`` -- one projection matrix only.

For each part :math:`P \in \{H_o, H_f, H_L\}` and each block :math:`(A, B)`, :math:`A, B \in \{Q, K, V\}`
(the rows of :math:`W_A`'s entries, the columns of :math:`W_B`'s, in the graph's parameter order), the
squared norm :math:`N_{P,AB}(t) = \|P(t)_{AB}\|_F^2` is computed exactly (:func:`block_norms`).

**Linear attention: exact polynomials, proven.** Without a softmax every node of the graph is a
polynomial in the scaled quantities, and :func:`degree_bound` bounds its degree in :math:`t` *from
the graph alone*: the input has degree 1 (``"data"``) or 0; a linear map adds 1 when its weight is
scaled; a product of two nodes adds the degrees; sums, transposes, masks and fixed scalings keep the
largest. With :math:`D` the bound at the output, every entry of :math:`F`, of
:math:`\partial F/\partial\theta_i` and of :math:`\partial^2 F/\partial\theta_i\partial\theta_j` at the
scaled point is a polynomial in :math:`t` of degree :math:`\le D` (a derivative removes factors, it
never adds a scaled one); with the MSE loss :math:`H_o = J^\top J` and
:math:`H_f = \sum_k (F_k - Y_k)\,\nabla^2 F_k` have entries of degree :math:`\le 2D`, and the squared
norms degree :math:`\le 4D`. A polynomial of degree :math:`\le 4D` is determined by its values at
:math:`4D + 1` distinct points, so :func:`norm_polynomials` evaluates the norms exactly at
:math:`t = 1, \dots, 4D + 1` and interpolates (Newton's divided differences over
:math:`\mathbb{Q}`): the result *is* :math:`N(t)`, not a fit. One further point :math:`t = 4D + 2` is
checked as a guard against a wrong bound. For the paper's layer (one head, no biases, no output
projection) :math:`D = 3` for ``"data"`` and ``"weights"`` and :math:`D = 1` for one matrix.

**Softmax attention: exact values, measured slopes.** The softmax is not a polynomial; its values are
the rational stand-ins of :mod:`exacthess.models.standins` (within :math:`2^{-64}` relatively), so
:func:`measured_norms` gives the norms exactly *at the stand-ins* along a sweep of rational scales,
and any exponent read from them is a measurement.

>>> from exacthess.models.attention import transformer_block
>>> degree_bound(transformer_block(4, 3, attention="linear", out_proj=False), "data")
3
"""

from __future__ import annotations

import numpy as np
from flint import fmpq, fmpq_poly

from ..core.errors import InternalError, InvalidArchitectureError, InvalidOptionError, describe
from ..core.exact import rational_array, to_rational
from ..verification.points import frobenius2

__all__ = ["SCALE_KINDS", "PARTS", "BLOCKS", "MATRICES", "degree_bound", "scaled_point", "block_columns", "block_norms",
           "interpolate", "norm_polynomials", "measured_norms", "valuation"]

#: what :math:`t` multiplies (module doc)
SCALE_KINDS = ("data", "weights", "W_Q", "W_K", "W_V")
#: the parts of the Hessian followed
PARTS = ("H_o", "H_f", "H_L")
#: the blocks (upper triangle: the ``(A, B)`` block with ``A`` before ``B``; ``H_{BA}`` is its transpose)
BLOCKS = ("QQ", "QK", "QV", "KK", "KV", "VV")
#: the projection matrix of each letter: node ``attn.{q,k,v}0`` of :mod:`exacthess.models.attention`
MATRICES = {"Q": "attn.q0", "K": "attn.k0", "V": "attn.v0"}

_KEEP = ("transpose", "mask", "affine", "reshape", "identity", "concat", "add")


def check_kind(kind, name: str = "kind") -> str:
    if kind not in SCALE_KINDS:
        raise InvalidOptionError(f"{name} = {describe(kind)} is not a scale kind; expected one of "
                                 f"{', '.join(SCALE_KINDS)}")
    return kind


def _scaled_nodes(graph, kind: str) -> set:
    """The nodes whose weight (and bias) is multiplied by ``t`` for ``kind``."""
    if kind == "data":
        return set()
    if kind == "weights":
        return {name for name, _ in graph.param_order}
    node = MATRICES[kind[-1]]
    if node not in graph.by_name:
        raise InvalidArchitectureError(f"kind = {kind!r} scales node {node!r}, which the graph does not have; "
                                       "expected a layer of exacthess.models.attention with one head")
    return {node}


def degree_bound(graph, kind: str) -> int:
    r"""An upper bound :math:`D` on the degree in :math:`t` of every output entry of ``graph`` when
    ``kind`` is scaled by :math:`t` (module doc): a walk over the nodes, degree 1 at the input for
    ``"data"``, +1 through a linear map whose weight is scaled, the sum through a product, the largest
    through sums, transposes, masks and fixed scalings.

    Raises:
        InvalidArchitectureError: a node that is not a polynomial (softmax, a nonlinear activation, a
            pooling, a convolution or batch norm): the norms are then not polynomials in :math:`t`.
    """
    check_kind(kind)
    scaled = _scaled_nodes(graph, kind)
    deg = {}
    for node in graph.nodes:
        ins = [deg[i] for i in node.inputs]
        if node.op == "input":
            deg[node.name] = 1 if kind == "data" else 0
        elif node.op == "linear":
            s = int(node.name in scaled)
            deg[node.name] = max(ins[0] + s, s if node.attrs.get("bias") else 0)
        elif node.op == "matmul":
            deg[node.name] = ins[0] + ins[1]
        elif node.op == "act" and str(node.attrs.get("activation")) in ("linear", "identity"):
            deg[node.name] = ins[0]
        elif node.op in _KEEP:
            deg[node.name] = max(ins)
        else:
            raise InvalidArchitectureError(f"{node.label()} is not a polynomial in the scale; expected linear "
                                           "attention (linear maps, products, transposes, masks, fixed scalings)")
    return deg[graph.output]


def scaled_point(graph, params, X, kind: str, t):
    """``(params, X)`` with ``kind`` multiplied by the rational ``t`` (new arrays; the inputs are kept)."""
    t = to_rational(t, "t")
    scaled = _scaled_nodes(graph, check_kind(kind))
    ps = [rational_array(p, f"params[{name}.{k}]") for (name, k), p in zip(graph.param_order, params)]
    ps = [p * t if name in scaled else p for (name, _), p in zip(graph.param_order, ps)]
    X = rational_array(X, "X")
    return ps, (X * t if kind == "data" else X)


def block_columns(graph) -> dict:
    """The parameter columns of each of ``Q``, ``K``, ``V`` (the weight of its node, :data:`MATRICES`)."""
    offs = np.cumsum([0] + [int(np.prod(s)) for s in graph.param_shapes()])
    out = {}
    for letter, node in MATRICES.items():
        if (node, "weight") not in graph.param_order:
            raise InvalidArchitectureError(f"the graph has no parameter {node}.weight; expected a self-attention "
                                           "layer of exacthess.models.attention with one head (prefix 'attn')")
        i = graph.param_order.index((node, "weight"))
        out[letter] = np.arange(offs[i], offs[i + 1])
    return out


def block_norms(graph, params, data, kind: str = "data", t=1, loss: str = "mse") -> dict:
    r"""The exact squared Frobenius norms :math:`\|P_{AB}\|_F^2` at the point with ``kind`` scaled by
    ``t``, keyed ``(part, block)`` (:data:`PARTS`, :data:`BLOCKS`); softmax values at the stand-ins."""
    from ..hessian.matrices import hessian
    ps, X = scaled_point(graph, params, data[0], kind, t)
    H = hessian(graph, params=ps, data=(X, data[1]), loss=loss)
    cols = block_columns(graph)
    out = {}
    for part, M in (("H_o", H.H_o), ("H_f", H.H_f), ("H_L", H.H_L)):
        for b in BLOCKS:
            out[(part, b)] = frobenius2(M[np.ix_(cols[b[0]], cols[b[1]])])
    return out


def interpolate(ts, values) -> fmpq_poly:
    """The polynomial of degree ``< len(ts)`` through the points ``(t_i, v_i)`` (distinct rationals),
    exactly, by Newton's divided differences.

    >>> interpolate([1, 2, 3], [1, 4, 9])
    x^2
    """
    ts = [fmpq(t) if not isinstance(t, fmpq) else t for t in ts]
    coef = [fmpq(v) if not isinstance(v, fmpq) else v for v in values]
    n = len(ts)
    for j in range(1, n):
        for i in range(n - 1, j - 1, -1):
            coef[i] = (coef[i] - coef[i - 1]) / (ts[i] - ts[i - j])
    out = fmpq_poly([coef[-1]])
    x = fmpq_poly([0, 1])
    for i in range(n - 2, -1, -1):
        out = out * (x - ts[i]) + coef[i]
    return out


def valuation(p: fmpq_poly):
    """The lowest degree with a nonzero coefficient (None for the zero polynomial)."""
    return next((i for i, c in enumerate(p.coeffs()) if c != 0), None)


def norm_polynomials(graph, params, data, kind: str = "data", loss: str = "mse") -> dict:
    r"""The squared norms :math:`N_{P,AB}(t)` of a *linear*-attention layer as exact ``fmpq_poly``,
    keyed ``(part, block)``: values at :math:`t = 1, \dots, 4D + 1` interpolated, with :math:`D` =
    :func:`degree_bound` (module doc: a proof, not a fit), and checked at :math:`t = 4D + 2`.

    Raises:
        InvalidArchitectureError: the graph is not polynomial in the scale (softmax attention).
        InternalError: the check point disagrees (the degree bound would be wrong).
    """
    if loss != "mse":
        raise InvalidOptionError(f"loss = {describe(loss)}; expected 'mse' (the degree bound assumes a "
                                 "quadratic loss)")
    n = 4 * degree_bound(graph, kind) + 1
    ts = list(range(1, n + 1))
    vals = [block_norms(graph, params, data, kind, t) for t in ts]
    polys = {key: interpolate(ts, [v[key] for v in vals]) for key in vals[0]}
    guard = block_norms(graph, params, data, kind, n + 1)
    for key, p in polys.items():
        if p(fmpq(n + 1)) != guard[key]:
            raise InternalError(f"the squared norm {key} at t = {n + 1} differs from its interpolant of degree "
                                f"<= {n - 1}: the degree bound of {kind!r} is wrong")
    return polys


def measured_norms(graph, params, data, kind: str, scales, loss: str = "mse") -> dict:
    """The exact squared norms at each scale of ``scales`` (rationals), keyed ``(part, block)``, as
    lists in the order of ``scales`` (softmax values at the stand-ins)."""
    vals = [block_norms(graph, params, data, kind, t, loss) for t in scales]
    return {key: [v[key] for v in vals] for key in vals[0]}
