r"""``nn.MultiheadAttention`` and ``nn.Softmax`` read from a torch.fx trace (:mod:`exacthess.models.torch_graph`).

``nn.MultiheadAttention(d, H, batch_first=True)`` called as self-attention, ``out, _ = attn(x, x, x)``
(``need_weights`` either way; ``attn_mask`` a constant causal mask -- boolean, True at ``j > i``, or
additive, -inf there -- with ``is_causal`` optional), becomes the nodes of
:func:`~exacthess.models.attention.self_attention` (``H`` heads of width ``d / H``, biases when the
module has them, causal when masked) named after the module path (``attn.q0``, ..., ``attn.out``).
Its parameters keep ``named_parameters()`` order: ``in_proj_weight`` is the weights of the nodes
``q0..q{H-1}, k0.., v0..`` in turn (:func:`~exacthess.models.attention.torch_order`), so the module's flat
parameter vector is the graph's. The score scale :math:`1/\sqrt{d/H}` is exact when ``d / H`` is a
square and otherwise the rational stand-in :func:`~exacthess.models.standins.inv_sqrt` (within
:math:`2^{-64}` relatively), recorded in the softmax nodes' ``attrs["standin_rel_error"]``: Hessians are
exact *at the stand-in*. Only the first output may be used. Refused, naming the module:
``batch_first=False``, ``kdim`` / ``vdim`` other than ``embed_dim``, ``add_bias_kv``, ``add_zero_attn``,
dropout in training mode, ``key_padding_mask``, a non-constant or non-causal ``attn_mask``, and
cross-attention (query, key and value not one tensor). A bare ``nn.MultiheadAttention`` (the module
converted is the attention itself) is read as self-attention on its input, its first output
(:mod:`exacthess.models.torch_trace`).

``nn.Softmax(dim=-1)`` on ``(batch, T, S)`` scores is a ``softmax`` node, as ``torch.softmax``
(:mod:`exacthess.models.torch_attention`).
"""

from __future__ import annotations

import inspect

from flint import fmpq

from ..core.errors import describe
from .attention import self_attention
from .graph import GraphBuilder, Node
from .standins import STANDIN_BITS, inv_sqrt
from .torch_attention import causal_mask, softmax_node
from .torch_modules import Site, refuse
from .torch_values import Outputs, Traced, Unread

__all__ = ["ATTENTION_MODULES", "read_attention_module"]

#: the ``torch.nn`` modules read here
ATTENTION_MODULES = ("MultiheadAttention", "Softmax")


def _settings(m, site: Site) -> None:
    if not m.batch_first:
        refuse(site, "has batch_first = False (inputs (T, batch, d)); expected batch_first=True, so that a sample is a "
                     "(T, d) sequence")
    if m.kdim != m.embed_dim or m.vdim != m.embed_dim:
        refuse(site, f"has kdim = {m.kdim}, vdim = {m.vdim} other than embed_dim = {m.embed_dim}; expected "
                     "self-attention with kdim = vdim = embed_dim")
    if m.bias_k is not None or m.add_zero_attn:
        refuse(site, f"has add_bias_kv = {m.bias_k is not None}, add_zero_attn = {m.add_zero_attn} (extra key/value "
                     "rows); expected both False")
    if m.training and m.dropout > 0:
        refuse(site, f"is in training mode with dropout = {m.dropout} (random masks on the attention weights); call "
                     "model.eval() first, or dropout=0")


def _multihead(reader, n, m, site: Site, path: str) -> None:
    try:
        bound = inspect.signature(m.forward).bind(*n.args, **n.kwargs)
    except TypeError as exc:
        refuse(site, f"is called with {describe(n.args)} {describe(n.kwargs)} ({exc}); expected self-attention "
                     "attn(x, x, x)")
    bound.apply_defaults()
    a = bound.arguments
    q, k, v = (reader.tensor(a[w], site) for w in ("query", "key", "value"))
    if not q.name == k.name == v.name:
        refuse(site, f"reads query {q.name!r}, key {k.name!r} and value {v.name!r}: cross-attention; expected "
                     "self-attention, attn(x, x, x) with one tensor")
    _settings(m, site)
    if a["key_padding_mask"] is not None:
        refuse(site, "has a key_padding_mask; expected None (every token of every sample attends)")
    if len(q.shape) != 2 or q.shape[1] != m.embed_dim:
        refuse(site, f"receives per-sample shape {q.shape}; expected (T, {m.embed_dim}) sequences")
    T, d = q.shape
    mask, is_causal = reader.raw(a["attn_mask"]), reader.raw(a["is_causal"])
    if not isinstance(is_causal, bool) or (is_causal and mask is None):
        refuse(site, f"has is_causal = {describe(is_causal)} with attn_mask = None; expected a bool, and with "
                     "is_causal=True the causal attn_mask (as torch requires)")
    causal = mask is not None and causal_mask(reader, site, mask, (T, T), "masked")
    if is_causal and not causal:
        refuse(site, "has is_causal=True with a mask that masks nothing; expected the causal attn_mask")
    H = m.num_heads
    c = inv_sqrt(d // H)
    err = fmpq(0) if c * c * (d // H) == 1 else fmpq(1, 2 ** STANDIN_BITS)
    bias = m.in_proj_bias is not None
    prefix = path or "attn"
    while any(name.startswith(f"{prefix}.") for name in reader.sites):
        prefix = f"{prefix}_"
    b = GraphBuilder((T, d))
    sub = b.build(self_attention(b, b.input, heads=H, attention="softmax", scale=c, causal=causal, bias=bias,
                                 prefix=prefix))
    for node in sub.nodes[1:]:
        attrs = dict(node.attrs, standin_rel_error=err) if node.op == "softmax" else dict(node.attrs)
        inputs = tuple(q.name if i == "input" else i for i in node.inputs)
        reader.nodes.append(Node(node.name, node.op, inputs, attrs, site.where))
        reader.sites[node.name] = site
    kinds = ("weight", "bias") if bias else ("weight",)
    for kind in kinds:
        reader.param_map[f"{path}.in_proj_{kind}".lstrip(".")] = [(f"{prefix}.{w}{h}", kind) for w in "qkv"
                                                                   for h in range(H)]
        reader.param_map[f"{path}.out_proj.{kind}".lstrip(".")] = [(f"{prefix}.out", kind)]
    which = f"nn.MultiheadAttention [{path}]" if path else "the top-level nn.MultiheadAttention"
    reader.env[n] = Outputs((Traced(sub.output, (T, d)), Unread(
        f"the attention weights (second output of {which}), which exacthess does not read (only the first output, "
        "the attention output, may be used)")))


def read_attention_module(reader, n, m, site: Site, path: str) -> None:
    """Read the call ``n`` of ``m``, an ``nn.MultiheadAttention`` or ``nn.Softmax`` at module path ``path``."""
    if type(m).__name__ == "MultiheadAttention":
        return _multihead(reader, n, m, site, path)
    if len(n.args) != 1 or n.kwargs:
        refuse(site, f"is called with {len(n.args)} arguments {describe(n.kwargs)}; expected one tensor")
    softmax_node(reader, n, site, reader.raw(n.args[0]), m.dim)
