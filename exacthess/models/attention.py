r"""Self-attention and small Transformer blocks as graphs (:class:`~exacthess.models.graph.Graph`).

One layer on a sequence :math:`X \in \mathbb{R}^{T \times d}` (a sample is the ``(T, d)`` map, flattened
row-major), with ``H`` heads, as ``torch.nn.MultiheadAttention(d, H, batch_first=True)`` computes it:

.. math:: Q_h = X W_{Q,h}^\top (+\, b_{Q,h}), \quad K_h = X W_{K,h}^\top, \quad V_h = X W_{V,h}^\top,
          \qquad A_h = \mathrm{softmax}_{\mathrm{rows}}(c\, Q_h K_h^\top) \ \text{or}\ c\, Q_h K_h^\top,

.. math:: \mathrm{Attn}(X) = [A_1 V_1, \dots, A_H V_H]\, W_O^\top (+\, b_O),

``attention="softmax"`` or ``"linear"`` (no softmax, as in Ormaniec, Dangel & Singh's linear
attention). The score scale ``c`` is a rational: the user's choice, or by default :math:`1/\sqrt{d_k}`
itself when :math:`d_k` is a square and otherwise its dyadic stand-in within :math:`2^{-64}` relatively
(:func:`~exacthess.models.standins.inv_sqrt`; the graph is then the network *with that scale*, exactly).
``causal`` masks the entries :math:`j > i` (weight exactly 0 after softmax; 0 in linear attention).
Softmax values are rational stand-ins (:mod:`~exacthess.models.standins`): Hessians are exact at them.

Node names, for ``prefix="attn"``: ``attn.q{h}``, ``attn.k{h}``, ``attn.v{h}`` (linear), ``attn.scores{h}``
(:math:`Q_h K_h^\top`), ``attn.weights{h}`` (:math:`A_h`), ``attn.head{h}`` (:math:`A_h V_h`),
``attn.cat`` (heads joined, ``H > 1``), ``attn.out`` (:math:`W_O`, when ``out_proj``).
:func:`torch_order` lists the parameters as ``nn.MultiheadAttention.named_parameters()`` holds
them (``in_proj_weight`` is ``[W_Q; W_K; W_V]`` with the heads' rows consecutive), so a flat parameter
vector of the module is the graph's.

>>> g = transformer_block(4, 3, heads=2, attention="linear", ffn="relu", output_dim=2)
>>> g.input_shape, g.output_shape, g.n_params
((3, 4), (3, 2), 200)
"""

from __future__ import annotations

from ..core.errors import InvalidArchitectureError, describe
from ..core.validate import check_bool, is_int
from .graph import Graph, GraphBuilder
from .standins import inv_sqrt

__all__ = ["self_attention", "transformer_block", "torch_order", "ATTENTION_KINDS"]

#: what may follow the scores
ATTENTION_KINDS = ("softmax", "linear")


def _positive(v, name: str) -> int:
    if not is_int(v) or int(v) < 1:
        raise InvalidArchitectureError(f"{name} = {describe(v)}; expected an int >= 1")
    return int(v)


def self_attention(b: GraphBuilder, x: str, *, heads: int = 1, d_k=None, d_v=None, attention: str = "softmax",
                   scale=None, causal: bool = False, out_proj: bool = True, bias: bool = False,
                   prefix: str = "attn") -> str:
    r"""Add a self-attention layer reading the ``(T, d)`` node ``x`` to ``b``; returns its output node.

    Args:
        heads: the number of heads ``H``.
        d_k, d_v: the width of each head's queries/keys and values (default ``d / H``, as torch).
        attention: ``"softmax"`` or ``"linear"``.
        scale: the rational score scale ``c`` (default: :math:`1/\sqrt{d_k}` or its stand-in, module doc).
        causal: mask the entries ``j > i``.
        out_proj: end with the output projection :math:`W_O` (width ``d``).
        bias: biases on every projection (``nn.MultiheadAttention``'s default ``bias=True``).
    """
    shape = b._shape(x)
    if len(shape) != 2:
        raise InvalidArchitectureError(f"self_attention reads {x!r} of shape {shape}; expected a (T, d) sequence")
    d = shape[1]
    H = _positive(heads, "heads")
    if (d_k is None or d_v is None) and d % H:
        raise InvalidArchitectureError(f"heads = {H} does not divide the width d = {d}; expected a divisor of d "
                                       "or explicit d_k and d_v")
    dk = _positive(d_k if d_k is not None else d // H, "d_k")
    dv = _positive(d_v if d_v is not None else d // H, "d_v")
    check_bool(causal, "causal")
    check_bool(out_proj, "out_proj")
    check_bool(bias, "bias")
    if attention not in ATTENTION_KINDS:
        raise InvalidArchitectureError(f"attention = {attention!r}; expected one of {', '.join(ATTENTION_KINDS)}")
    c = inv_sqrt(dk) if scale is None else scale
    outs = []
    for h in range(H):
        q, k = (b.linear(x, dk, bias=bias, name=f"{prefix}.{w}{h}") for w in ("q", "k"))
        v = b.linear(x, dv, bias=bias, name=f"{prefix}.v{h}")
        s = b.matmul(q, b.transpose(k, name=f"{prefix}.kT{h}"), name=f"{prefix}.scores{h}")
        if attention == "softmax":
            a = b.softmax(s, scale=c, causal=causal, name=f"{prefix}.weights{h}")
        else:
            T = b._shape(s)[0]
            if causal:
                s = b.mask(s, name=f"{prefix}.masked{h}")
            a = b.affine(s, [c] * T, [0] * T, name=f"{prefix}.weights{h}")
        outs.append(b.matmul(a, v, name=f"{prefix}.head{h}"))
    out = outs[0] if H == 1 else b.concat(outs, name=f"{prefix}.cat")
    return b.linear(out, d, bias=bias, name=f"{prefix}.out") if out_proj else out


def torch_order(graph: Graph, prefix: str = "attn") -> list:
    """The ``(node, kind)`` pairs of the attention layer ``prefix`` in ``nn.MultiheadAttention``'s
    ``named_parameters`` order: ``in_proj_weight`` (queries, keys, values, heads consecutive),
    ``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``."""
    heads = sorted(int(n.name[len(prefix) + 2:]) for n in graph.nodes if n.name.startswith(f"{prefix}.q"))
    order = []
    for kind in ("weight", "bias"):
        order += [(f"{prefix}.{w}{h}", kind) for w in "qkv" for h in heads if (f"{prefix}.{w}{h}", kind)
                  in graph.param_order]
    order += [(f"{prefix}.out", kind) for kind in ("weight", "bias") if (f"{prefix}.out", kind) in graph.param_order]
    return order


def transformer_block(d: int, T: int, *, heads: int = 1, d_k=None, d_v=None, attention: str = "softmax",
                      scale=None, causal: bool = False, out_proj: bool = True, residual: bool = False, ffn=None,
                      ffn_width=None, output_dim=None, bias: bool = False) -> Graph:
    r"""One Transformer block on ``T`` tokens of width ``d``, with per-token outputs ``(T, output_dim)``.

    ``h = X + Attn(X)`` (``residual``) or ``Attn(X)``; then, with ``ffn`` an activation (``"linear"``,
    ``"relu"``, a polynomial, ...), ``h + W_2 \sigma(W_1 h)`` (width ``ffn_width``, default ``4 d``; with a
    residual when ``residual``); then a per-token read-out to ``output_dim`` when given. Arguments of the
    attention layer as :func:`self_attention`; its parameters come first, in ``nn.MultiheadAttention``'s
    order (:func:`torch_order`), then the feed-forward block's and the read-out's.
    """
    check_bool(residual, "residual")  # causal, out_proj, bias: checked by self_attention
    if ffn is None and ffn_width is not None:
        raise InvalidArchitectureError(f"ffn_width = {ffn_width!r} without a feed-forward block; expected ffn= an "
                                       "activation (e.g. 'relu') with it, or no ffn_width")
    b = GraphBuilder((_positive(T, "T"), _positive(d, "d")))
    h = self_attention(b, b.input, heads=heads, d_k=d_k, d_v=d_v, attention=attention, scale=scale, causal=causal,
                       out_proj=out_proj, bias=bias)
    if residual:
        if b._shape(h) != b._shape(b.input):
            raise InvalidArchitectureError(f"residual = True needs the attention output of shape {b._shape(h)} to "
                                           f"match the input ({T}, {d}); expected out_proj=True or d_v * heads = d "
                                           "(on the command line: no --no-out-proj, or --d-v)")
        h = b.add(b.input, h, name="res1")
    if ffn is not None:
        width = _positive(ffn_width if ffn_width is not None else 4 * d, "ffn_width")
        f = b.linear(b.act(b.linear(h, width, bias=bias, name="ffn.fc1"), ffn, name="ffn.act"), b._shape(h)[1],
                     bias=bias, name="ffn.fc2")
        h = b.add(h, f, name="res2") if residual else f
    if output_dim is not None:
        h = b.linear(h, _positive(output_dim, "output_dim"), bias=bias, name="readout")
    g = b.build(h)
    first = torch_order(g)
    g = b.build(h, param_order=first + [k for k in g.param_order if k not in first])
    g.origin = {"family": "transformer", "width": d, "tokens": T, "heads": heads if heads != 1 else None,
                "d_k": d_k, "d_v": d_v, "attention": None if attention == "softmax" else attention,
                "scale": None if scale is None else str(scale), "causal": causal, "no_out_proj": not out_proj,
                "residual": residual, "ffn": None if ffn is None else str(ffn), "ffn_width": ffn_width,
                "output_dim": output_dim, "bias": bias}  # the `exacthess verify transformer` options
    return g
