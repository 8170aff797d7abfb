r"""Self-attention found in a graph by its pattern (not by node names), for the symmetry statements.

A *query-key pair* is a ``matmul`` node ``S = Q K^T`` whose left input is a ``linear`` node ``q``
and whose right input is a ``transpose`` of another ``linear`` node ``k``, where ``q``, ``k`` and
the transpose feed nothing else (and none is the output). Then
:math:`(Q G)(K G^{-\top})^\top = Q K^\top` for every invertible ``G`` (``d_k x d_k``): the scores,
hence everything downstream, do not see it.

Downstream of ``S`` the *attention chain* follows single consumers through ``affine`` (a fixed
per-row scale and shift: the channel of a ``(T, T)`` map is its row), ``mask``, ``identity`` and
``softmax`` nodes to a ``matmul`` that reads the chain's end as its *left* operand: the head
``A V``. The chain is

* *row-shift invariant* (``softmax``) when the first node after the ``affine`` run is a softmax
  over the rows' entries: adding a constant to every entry of a row changes nothing, so the key
  bias (``q_i . b_k``, constant along row ``i``) is invisible;
* *homogeneous* (linear attention) when it has no softmax and every ``affine`` shift is zero:
  ``A(alpha S) = alpha A(S)``, so ``Q -> alpha Q``, ``V -> V / alpha`` is a symmetry too;
* *row-stochastic* when it ends with the softmax (identities after it only): every row of ``A``
  sums to 1, so ``A (1 c^T) = 1 c^T`` and a value bias ``b_v -> b_v + c`` is undone by the output
  bias ``b_o -> b_o - W_o c`` of a linear consumer.

A *value-output pair* is a head ``H = A V`` (any left operand ``A``) whose right input is a
``linear`` node ``v`` feeding nothing else, and whose value is read only by a ``linear`` node
``o`` -- directly, or through a ``concat`` along the last axis read only by ``o``: then
:math:`(A V G)(W_o G^{-\top})^\top = A V W_o^\top` on the head's columns of ``W_o``.

>>> from exacthess.models.graph import GraphBuilder
>>> b = GraphBuilder((3, 2))
>>> q, k, v = (b.linear(b.input, 2, name=n) for n in "qkv")
>>> g = b.build(b.linear(b.matmul(b.matmul(q, b.transpose(k)), v), 2, name="o"))
>>> [(h.q, h.k, h.v, h.out, h.out_cols, h.homogeneous) for h in attention_heads(g)]
[('q', 'k', 'v', 'o', (0, 2), True)]
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AttentionHead", "ValueOutput", "attention_heads", "value_outputs", "consumers"]

#: nodes an attention chain may pass through between the scores and the head
CHAIN_OPS = ("affine", "mask", "identity", "softmax")


@dataclass(frozen=True)
class ValueOutput:
    """A value-output pair: head ``head = A v``; ``out`` reads it on columns ``out_cols`` of its weight."""

    v: str
    head: str
    out: str
    out_cols: tuple


@dataclass(frozen=True)
class AttentionHead:
    """A query-key pair (see the module doc) and what follows it.

    Attributes:
        q, k: the linear nodes of the queries and keys; ``scores``: the ``matmul`` ``Q K^T``.
        d_k: the width of ``q`` and ``k``.
        row_shift: the scores go (through fixed per-row affine maps only) into a softmax over rows.
        homogeneous: the attention map is linear and homogeneous in the scores (no softmax, no shift).
        stochastic: the attention map is the softmax itself (rows summing to 1).
        head: the ``matmul`` ``A V`` at the end of the chain, or None; ``v``: its right operand when
            that is a linear node feeding nothing else, else None.
        out, out_cols: the linear consumer of the head and the columns of its weight that read
            the head (value-output pair), or None.
    """

    q: str
    k: str
    scores: str
    d_k: int
    row_shift: bool = False
    homogeneous: bool = False
    stochastic: bool = False
    head: str | None = None
    v: str | None = None
    out: str | None = None
    out_cols: tuple | None = None


def consumers(graph) -> dict:
    """``name -> [(consumer name, input position)]``; the graph's output has the consumer ``(None, 0)``."""
    out = {n.name: [] for n in graph.nodes}
    for n in graph.nodes:
        for pos, i in enumerate(n.inputs):
            out[i].append((n.name, pos))
    out[graph.output].append((None, 0))
    return out


def _only(cons, name):
    """The single consumer ``(node, position)`` of ``name``, or None."""
    c = cons[name]
    return c[0] if len(c) == 1 and c[0][0] is not None else None


def _softmax_over_rows(node) -> bool:
    axis = node.attrs.get("axis", -1)
    return axis in (-1, 1)


def _value_output(graph, cons, head: str):
    node = graph.by_name[head]
    v = node.inputs[1]
    if graph.by_name[v].op != "linear" or _only(cons, v) != (head, 1):
        return None
    nxt = _only(cons, head)
    if nxt is None:
        return None
    c = graph.by_name[nxt[0]]
    start = 0
    if c.op == "concat":
        axis = c.attrs.get("axis", -1)
        if axis not in (-1, len(graph.shapes[head]) - 1):
            return None
        start = sum(graph.shapes[i][-1] for i in c.inputs[:nxt[1]])
        if c.inputs.count(head) != 1:
            return None
        nxt = _only(cons, c.name)
        if nxt is None:
            return None
        c = graph.by_name[nxt[0]]
    if c.op != "linear":
        return None
    return ValueOutput(v=v, head=head, out=c.name, out_cols=(start, start + graph.shapes[head][-1]))


def value_outputs(graph) -> list:
    """Every value-output pair of ``graph`` (:class:`ValueOutput`)."""
    cons = consumers(graph)
    found = []
    for n in graph.nodes:
        if n.op == "matmul":
            vo = _value_output(graph, cons, n.name)
            if vo is not None:
                found.append(vo)
    return found


def attention_heads(graph) -> list:
    """Every query-key pair of ``graph`` with its chain (:class:`AttentionHead`), in node order."""
    if getattr(graph, "family", None) != "graph":
        return []
    cons = consumers(graph)
    heads = []
    for n in graph.nodes:
        if n.op != "matmul":
            continue
        q, t = (graph.by_name[i] for i in n.inputs)
        if q.op != "linear" or t.op != "transpose":
            continue
        k = graph.by_name[t.inputs[0]]
        if k.op != "linear" or k.name == q.name or _only(cons, q.name) != (n.name, 0) \
                or _only(cons, t.name) != (n.name, 1) or _only(cons, k.name) != (t.name, 0):
            continue
        heads.append(_follow(graph, cons, n.name, q.name, k.name))
    return heads


def _follow(graph, cons, scores: str, q: str, k: str) -> AttentionHead:
    """The attention chain after the scores (see the module doc)."""
    cur, shifts, row_shift, softmax, ok = scores, False, False, False, True
    first, last = True, None
    while True:
        nxt = _only(cons, cur)
        if nxt is None:
            ok = False
            break
        node = graph.by_name[nxt[0]]
        if node.op == "matmul" and nxt[1] == 0:
            break
        if node.op not in CHAIN_OPS:
            ok = False
            break
        last = node.op if node.op != "identity" else last
        if node.op == "affine":
            shifts = shifts or any(s != 0 for s in node.attrs["shift"])
        elif node.op == "softmax":
            if first and _softmax_over_rows(node):
                row_shift = True
            softmax = True
            first = False
        elif node.op != "identity":
            first = False
        cur = node.name
    d_k = graph.shapes[q][-1]
    if not ok:
        return AttentionHead(q=q, k=k, scores=scores, d_k=d_k, row_shift=row_shift)
    head = nxt[0]
    vo = _value_output(graph, cons, head)
    v = graph.by_name[head].inputs[1]
    v_ok = graph.by_name[v].op == "linear" and _only(cons, v) == (head, 1)
    return AttentionHead(q=q, k=k, scores=scores, d_k=d_k, row_shift=row_shift,
                         homogeneous=not softmax and not shifts, stochastic=last == "softmax", head=head, v=v if v_ok else None,
                         out=None if vo is None else vo.out, out_cols=None if vo is None else vo.out_cols)
