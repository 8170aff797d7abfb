r"""Attention read from a torch.fx trace (:mod:`exacthess.models.torch_graph`): the functional spellings.

On ``(batch, T, d)`` tensors (per sample a ``(T, d)`` map) these calls become graph nodes:

* ``a @ b``, ``torch.matmul``, ``torch.bmm``, ``a.matmul(b)``: ``matmul`` of ``(m, k)`` and ``(k, n)`` maps;
* ``x.transpose(1, 2)`` / ``(-2, -1)``, ``torch.transpose``, ``x.mT``, ``x.permute(0, 2, 1)``: ``transpose``;
* ``torch.softmax(x, dim=-1)``, ``F.softmax``, ``x.softmax(-1)``, ``nn.Softmax(dim=-1)``: ``softmax`` (row-wise
  over the last axis); a softmax whose value forward returns is refused, per token or over classes: it
  belongs to the loss (``loss='cross_entropy(T)'`` or ``'cross_entropy'``);
* ``x * c``, ``c * x``, ``x / c``, ``-x`` (``torch.mul`` / ``torch.div`` too) for a constant ``c`` (a Python
  number, a 0-dim constant tensor, or computed from sizes such as ``x.size(-1) ** -0.5``): the scale
  ``c`` (``1/c`` for a division) as the *exact* rational of its float -- ``1 / math.sqrt(8)`` is read as
  the float64 it is, not as :math:`1/\sqrt 8`. A scale feeding a softmax becomes the softmax's
  ``scale``; otherwise an ``affine`` node;
* ``x.masked_fill(mask, float("-inf"))`` with a constant causal ``mask`` (True exactly at ``j > i``: a
  buffer, or built from constants, e.g. ``torch.triu(torch.ones((T, T), dtype=torch.bool), 1)``) feeding a
  softmax, directly or through a positive scale: ``softmax(causal=True)``; with the value 0: ``mask``;
  likewise ``x + mask`` with a constant additive causal ``mask`` (a float (T, T) tensor, -inf at ``j > i``
  and 0 elsewhere; other constant tensors added are refused). A mask must have the scores' shape
  ``(T, S)`` (or ``(1, T, S)``): one built for another number of tokens is refused;
* ``torch.cat([...], dim=-1)`` (any per-sample axis): ``concat``;
* ``F.scaled_dot_product_attention(q, k, v)`` (``is_causal``, a constant causal ``attn_mask``, ``scale``):
  :math:`\mathrm{softmax}(c\,q k^\top) v` with :math:`c` the float64 ``1 / math.sqrt(E)`` read exactly when
  ``scale`` is None, as torch computes it.

Constants (buffers, tensors built from constants, sizes, ``x.device`` / ``x.dtype``) are computed by
torch and used only as masks and scales. Anything else is refused with :class:`~exacthess.core.errors.UnsupportedModuleError`
naming the fx node: a softmax over another axis, a non-constant or non-causal mask, ``masked_fill``
with -inf not feeding a softmax, products of two tensors other than matrix products, dropout in SDPA.
``nn.MultiheadAttention`` is read by :mod:`exacthess.models.torch_multihead`.
"""

from __future__ import annotations

import math
import operator
from flint import fmpq

from ..core.errors import describe
from ..core.exact import to_rational
from ..core.validate import is_int
from .torch_modules import Site, refuse
from .torch_values import FOLD, Scaled, Traced, emit

__all__ = ["read_attention_call", "softmax_node", "causal_mask", "scalar", "FINAL_SOFTMAX"]

_NEG_INF = float("-inf")


def scalar(reader, v, site: Site, what: str):
    """The exact rational of a constant number (a Python number or a 0-dim constant tensor), None if ``v`` is not one."""
    torch = reader.torch
    if isinstance(v, torch.Tensor):
        if v.dim() != 0 or v.is_complex():
            return None
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    if not math.isfinite(v):
        refuse(site, f"has the {what} {v!r}; expected a finite constant")
    return to_rational(v, what)


def _axis(site: Site, dim, shape: tuple, what: str) -> int:
    r = len(shape) + 1
    if not is_int(dim) or not -r <= dim < r:
        refuse(site, f"has dim = {describe(dim)} for a tensor of per-sample shape {shape}; expected an int in "
                     f"[{-r}, {r})")
    if dim % r == 0:
        refuse(site, f"{what} along dim {dim}, the batch axis; expected a per-sample axis (dim=-1)")
    return dim % r - 1


def _two_d(site: Site, x: Traced, what: str) -> None:
    if len(x.shape) != 2:
        refuse(site, f"{what} a tensor of per-sample shape {x.shape}; expected (batch, T, d) tensors, per sample a "
                     "(T, d) map (heads as separate modules joined by torch.cat(dim=-1), not a head axis)")


def causal_mask(reader, site: Site, mask, shape: tuple, true_means: str) -> bool:
    """Whether the constant ``mask`` on ``(T, S)`` scores is the causal mask (True) or masks nothing (False);
    anything else is refused. ``true_means``: ``"masked"`` (masked_fill, nn.MultiheadAttention) or ``"kept"``
    (scaled_dot_product_attention) for boolean masks; float masks are additive (0 kept, -inf masked)."""
    torch = reader.torch
    if not isinstance(mask, torch.Tensor):
        what = "a tensor computed from the input" if isinstance(mask, (Traced, Scaled)) else describe(mask)
        refuse(site, f"has the mask {what}; expected a constant causal mask (a buffer, or a tensor built from "
                     "constants such as torch.triu(torch.ones((T, T), dtype=torch.bool), 1))")
    if mask.is_meta:
        refuse(site, "has a mask on torch's 'meta' device (a shape, no values); expected a mask with values")
    T, S = shape
    m = mask.detach().to("cpu")
    fits = all(a in (1, b) for a, b in zip(reversed(m.shape), (S, T, 1)))  # broadcasts to (1, T, S)
    if m.dim() > 3 or not fits:
        tokens = f"the input has T = {T} tokens" if T == S else f"the scores are (T, S) = {(T, S)}"
        refuse(site, f"has a mask of shape {tuple(m.shape)}; {tokens}: expected a {(T, S)} mask, one for every sample "
                     "(a mask built for another number of tokens does not fit)")
    m = m.broadcast_to((1, T, S))[0]
    if m.dtype == torch.bool:
        masked = m if true_means == "masked" else ~m
    elif m.is_floating_point():
        masked = m == _NEG_INF
        if not bool(((m == 0) | masked).all()):
            refuse(site, "has a float (additive) mask with entries other than 0 and -inf; expected the causal mask")
    else:
        refuse(site, f"has a mask of dtype {m.dtype}; expected a boolean or an additive float mask")
    upper = torch.triu(torch.ones((T, S), dtype=torch.bool), 1)
    if torch.equal(masked, upper) or not bool(masked.any()):
        return bool(masked.any())
    refuse(site, f"masks the entries {[tuple(map(int, ij)) for ij in masked.nonzero()[:6]]}...; expected the causal "
                 "mask (exactly the entries j > i masked)")


#: the refusal of a softmax whose value is the network's output
FINAL_SOFTMAX = ("is the network's output: a final softmax belongs to the loss, not to the model (its outputs would "
                 "be probabilities, and cross-entropy would apply softmax twice); drop it and use "
                 "loss='cross_entropy(T)' (per token; T the number of tokens) or loss='cross_entropy'")


def softmax_node(reader, n, site: Site, v, dim) -> None:
    """``softmax(v, dim)``: a softmax node over the last axis, a pending scale and causal mask folded into it.
    A softmax forward returns is refused (:data:`FINAL_SOFTMAX`)."""
    if any(u.op == "output" for u in n.users):
        refuse(site, FINAL_SOFTMAX)
    base, scale, causal = (v.base, v.scale, v.causal) if isinstance(v, Scaled) else (v, fmpq(1), False)
    if not isinstance(base, Traced):
        refuse(site, f"receives {describe(base)}; expected a tensor computed from the input")
    if len(base.shape) != 2 or dim is None or _axis(site, dim, base.shape, "takes a softmax") != 1:
        refuse(site, f"takes a softmax along dim {dim} of a tensor of per-sample shape {base.shape}; expected the last "
                     "axis (dim=-1) of (batch, T, S) attention scores; a final softmax over classes belongs to the "
                     "loss: loss='cross_entropy' or 'bce'")
    reader.add_node(n, site, "softmax", dict(scale=scale, causal=causal), [base])


def _arg(args, kwargs, i: int, name: str, default=None):
    return args[i] if len(args) > i else kwargs.get(name, default)


def _scale(reader, n, site, x, c) -> None:
    """``c * x`` for a tensor (or pending scale) ``x`` and an exact rational ``c``."""
    if isinstance(x, Scaled):
        if x.causal and c <= 0:
            refuse(site, f"multiplies scores set to -inf (masked_fill) by {c} <= 0; expected a positive scale after "
                         "the mask (or the scale before masked_fill)")
        base, s, causal = x.base, x.scale * c, x.causal
    elif isinstance(x, Traced):
        base, s, causal = x, c, False
    else:
        refuse(site, f"scales {describe(x)}; expected a tensor computed from the input")
    reader.env[n] = Scaled(base, s, causal, site, n) if (s != 1 or causal) else base


def _product(reader, n, site, kind, args, kwargs) -> None:
    raw = reader.raw
    if kind == "neg":
        return _scale(reader, n, site, raw(args[0]), fmpq(-1))
    a, b = raw(args[0]), raw(_arg(args, kwargs, 1, "other"))
    if kind == "div":
        mode = _arg(args, kwargs, 2, "rounding_mode")
        c = scalar(reader, b, site, "divisor")
        if mode is not None or c is None or c == 0:
            refuse(site, f"divides {describe(a)} by {describe(b)} (rounding_mode = {mode!r}); expected a tensor "
                         "divided by a nonzero constant (x / c)")
        return _scale(reader, n, site, a, 1 / c)
    ca, cb = scalar(reader, a, site, "factor"), scalar(reader, b, site, "factor")
    if (ca is None) == (cb is None):
        refuse(site, f"multiplies {describe(a)} by {describe(b)}; expected a tensor times a constant number (products "
                     "of two tensors only as matrix products a @ b)")
    _scale(reader, n, site, b if cb is None else a, ca if cb is None else cb)


def _masked_fill(reader, n, site, args, kwargs) -> None:
    x = reader.raw(args[0])
    mask, value = reader.raw(_arg(args, kwargs, 1, "mask")), reader.raw(_arg(args, kwargs, 2, "value"))
    base = x.base if isinstance(x, Scaled) else x
    if not isinstance(base, Traced):
        refuse(site, f"fills {describe(x)}; expected a tensor computed from the input")
    _two_d(site, base, "masks")
    if isinstance(value, reader.torch.Tensor) and value.dim() == 0:
        value = value.item()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, _NEG_INF):
        if not causal_mask(reader, site, mask, base.shape, "masked"):
            reader.env[n] = x
        elif value == 0:
            reader.add_node(n, site, "mask", dict(causal=True), [reader.tensor(args[0], site)])
        else:
            reader.env[n] = Scaled(base, x.scale if isinstance(x, Scaled) else fmpq(1), True, site, n)
        return
    refuse(site, f"fills with {describe(value)}; expected float('-inf') before a softmax (causal attention) or 0 "
                 "(causal linear attention)")


def _add_constant(reader, n, site, args, kwargs) -> bool:
    """``scores + mask`` for a constant additive causal ``mask`` (-inf at j > i, 0 elsewhere): as masked_fill with
    -inf; other constant tensors are refused. False (read as ``x + y`` elsewhere) when neither is a constant tensor."""
    torch = reader.torch
    a, b = reader.raw(args[0]), reader.raw(_arg(args, kwargs, 1, "other"))
    if isinstance(a, torch.Tensor) == isinstance(b, torch.Tensor):
        return False
    c, x = (a, b) if isinstance(a, torch.Tensor) else (b, a)
    base = x.base if isinstance(x, Scaled) else x
    ok = kwargs.get("alpha", 1) == 1 and isinstance(base, Traced) and len(base.shape) == 2
    if ok and not c.is_meta:
        ok = c.is_floating_point() and c.dim() >= 1 and bool(((c == 0) | (c == _NEG_INF)).all())
    if not ok:
        T = base.shape[0] if isinstance(base, Traced) and base.shape else "T"
        refuse(site, f"adds a constant tensor of shape {tuple(c.shape)} to {describe(x, 120)}; expected tensors "
                     f"computed from the input (x + y), or an additive causal mask: a constant ({T}, {T}) float tensor, "
                     "-inf at j > i and 0 elsewhere, added to attention scores that feed a softmax")
    if causal_mask(reader, site, c, base.shape, "masked"):
        reader.env[n] = Scaled(base, x.scale if isinstance(x, Scaled) else fmpq(1), True, site, n)
    else:  # adds zeros
        reader.env[n] = x
    return True


def _matmul(reader, n, site, args, kwargs) -> None:
    a, b = reader.tensor(args[0], site), reader.tensor(_arg(args, kwargs, 1, "other", kwargs.get("mat2")), site)
    if len(a.shape) != 2 or len(b.shape) != 2 or a.shape[1] != b.shape[0]:
        refuse(site, f"multiplies per-sample shapes {a.shape} and {b.shape}; expected (batch, m, k) @ (batch, k, n) "
                     "tensors of the input (no weights read directly, no broadcasting)")
    reader.add_node(n, site, "matmul", {}, [a, b])


def _transpose(reader, n, site, kind, args, kwargs) -> None:
    x = reader.tensor(args[0], site)
    if kind == "permute":
        dims = args[1:] if len(args) > 2 else _arg(args, kwargs, 1, "dims")
        if len(x.shape) != 2 or [d % 3 if is_int(d) else d for d in dims] not in ([0, 1, 2], [0, 2, 1]):
            refuse(site, f"permutes the axes of a (batch, *{x.shape}) tensor by {describe(dims)}; expected "
                         "permute(0, 2, 1) of a (batch, T, d) tensor")
        swap = [d % 3 for d in dims] == [0, 2, 1]
    else:
        _two_d(site, x, "transposes")
        d0, d1 = (-2, -1) if kind == "mT" else (_arg(args, kwargs, 1, "dim0"), _arg(args, kwargs, 2, "dim1"))
        swap = _axis(site, d0, x.shape, "transposes") != _axis(site, d1, x.shape, "transposes")
    if swap:
        reader.add_node(n, site, "transpose", {}, [x])
    else:
        reader.env[n] = x


def _cat(reader, n, site, args, kwargs) -> None:
    parts = _arg(args, kwargs, 0, "tensors")
    if not isinstance(parts, (list, tuple)) or not parts:
        refuse(site, f"joins {describe(parts)}; expected a list of tensors")
    xs = [reader.tensor(p, site) for p in parts]
    axis = _axis(site, _arg(args, kwargs, 1, "dim", 0), xs[0].shape, "joins tensors")
    if len(xs) == 1:
        reader.env[n] = xs[0]
    else:
        reader.add_node(n, site, "concat", dict(axis=axis), xs)


def _sdpa(reader, n, site, args, kwargs) -> None:
    names = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
    a = dict(zip(names, (None, None, None, None, 0.0, False, None, False)))
    a.update(zip(names, args))
    a.update(kwargs)
    if set(a) - set(names):
        refuse(site, f"has the arguments {sorted(set(a) - set(names))}; expected those of torch's "
                     "scaled_dot_product_attention")
    q, k, v = (reader.tensor(a[w], site) for w in names[:3])
    for x in (q, k, v):
        _two_d(site, x, "attends with")
    if q.shape[1] != k.shape[1] or k.shape[0] != v.shape[0]:
        refuse(site, f"attends with query, key and value of per-sample shapes {q.shape}, {k.shape}, {v.shape}; "
                     "expected (T, E), (S, E) and (S, Ev)")
    if a["dropout_p"] != 0 or a["enable_gqa"] or not isinstance(a["is_causal"], bool):
        refuse(site, f"has dropout_p = {a['dropout_p']!r} (applied in eval mode too), enable_gqa = {a['enable_gqa']!r}, "
                     f"is_causal = {describe(a['is_causal'])}; expected dropout_p=0, enable_gqa=False, a bool is_causal")
    causal = a["is_causal"]
    mask = reader.raw(a["attn_mask"])
    if mask is not None:
        causal = causal_mask(reader, site, mask, (q.shape[0], k.shape[0]), "kept") or causal
    c = scalar(reader, reader.raw(a["scale"]), site, "scale") if a["scale"] is not None else \
        to_rational(1.0 / math.sqrt(q.shape[1]))  # torch's default, the float64 1/sqrt(E), read exactly
    if c is None:
        refuse(site, f"has scale = {describe(a['scale'])}; expected a constant number or None")
    kT = emit(reader, f"{n.name}.kT", site, "transpose", {}, [k], k.shape[::-1])
    s = emit(reader, f"{n.name}.scores", site, "matmul", {}, [q, kT], (q.shape[0], k.shape[0]))
    w = emit(reader, f"{n.name}.weights", site, "softmax", dict(scale=c, causal=causal), [s], s.shape)
    reader.add_node(n, site, "matmul", {}, [w, v])


def _tables(torch) -> None:
    F = torch.nn.functional
    _KINDS.update({
        operator.matmul: "matmul", torch.matmul: "matmul", torch.bmm: "matmul", "matmul": "matmul", "bmm": "matmul",
        torch.transpose: "transpose", "transpose": "transpose", torch.swapaxes: "transpose", "swapaxes": "transpose",
        torch.swapdims: "transpose", "swapdims": "transpose", torch.permute: "permute", "permute": "permute",
        torch.softmax: "softmax", F.softmax: "softmax", "softmax": "softmax", operator.mul: "mul", torch.mul: "mul",
        "mul": "mul", operator.truediv: "div", torch.div: "div", torch.true_divide: "div", "div": "div",
        "true_divide": "div", operator.neg: "neg", torch.neg: "neg", "neg": "neg", "masked_fill": "masked_fill",
        torch.masked_fill: "masked_fill", torch.cat: "cat", torch.concat: "cat", torch.concatenate: "cat",
        F.scaled_dot_product_attention: "sdpa", operator.add: "add", operator.iadd: "add", torch.add: "add",
        "add": "add"})
    for f in ("eq", "ne", "lt", "le", "gt", "ge"):
        _KINDS.update({getattr(operator, f): "compare", getattr(torch, f): "compare", f: "compare"})
    _FOLDABLE.update(getattr(torch, f) for f in ("ones", "zeros", "full", "eye", "arange", "triu", "tril", "tensor",
                                                  "ones_like", "zeros_like", "full_like", "logical_not", "where"))
    _FOLDABLE.update(getattr(operator, f) for f in ("eq", "ne", "lt", "le", "gt", "ge", "invert", "not_", "neg", "add",
                                                     "sub", "mul", "truediv", "floordiv", "pow", "getitem"))
    _FOLDABLE.update({"bool", "float", "double", "to", "triu", "tril", "logical_not", "view", "reshape", "unsqueeze",
                      "squeeze", "expand", "type", "eq", "ne", "masked_fill", "int", "long", "t", "transpose", "flip",
                      "contiguous", "clone", "mul", "div", "add", "sub", math.sqrt})


_KINDS: dict = {}
#: calls computed by torch when every argument is a constant (masks built in forward, scales from sizes)
_FOLDABLE: set = set()


def _constant_call(reader, n, target) -> bool:
    torch = reader.torch
    if target not in _FOLDABLE:
        return False
    found = []
    torch.fx.node.map_arg((n.args, n.kwargs), lambda a: found.append(reader.raw(a)) or a)
    return bool(found) and all(isinstance(v, (int, float, torch.Tensor, torch.dtype, torch.device))
                               and not isinstance(v, bool) for v in found)


def read_attention_call(reader, n, target, site: Site) -> bool:
    """Read fx node ``n`` (a call of ``target``) when it is one of the module doc's; False when it is not."""
    if not _KINDS:
        _tables(reader.torch)
    args, kwargs = n.args, dict(n.kwargs)
    if _constant_call(reader, n, target):
        reader.env[n] = FOLD
        return True
    if target is getattr and len(args) == 2 and args[1] == "mT":
        return _transpose(reader, n, site, "mT", args, kwargs) or True
    if target is getattr and len(args) == 2 and args[1] in ("device", "dtype"):  # mask.to(x.device)
        reader.env[n] = FOLD
        return True
    kind = _KINDS.get(target)
    if kind == "add":
        return _add_constant(reader, n, site, args, kwargs)
    if kind is None:
        return False
    if kind == "compare":
        refuse(site, "compares a tensor computed from the input (a mask that depends on the input); expected masks "
                     "that are constants (a buffer, or built from constants and sizes)")
    if kind in ("mul", "div", "neg"):
        _product(reader, n, site, kind, args, kwargs)
    elif kind == "softmax":
        dim = _arg(args, kwargs, 1, "dim")
        extra = {k: v for k, v in kwargs.items() if k not in ("dim", "dtype", "_stacklevel", "input")}
        if extra or (len(args) > 2 and target is not reader.torch.nn.functional.softmax):
            refuse(site, f"has the arguments {describe(args[2:])} {describe(extra)}; expected softmax(x, dim=-1)")
        softmax_node(reader, n, site, reader.raw(args[0]), dim)
    elif kind == "masked_fill":
        _masked_fill(reader, n, site, args, kwargs)
    elif kind == "matmul":
        _matmul(reader, n, site, args, kwargs)
    elif kind in ("transpose", "permute"):
        _transpose(reader, n, site, kind, args, kwargs)
    elif kind == "cat":
        _cat(reader, n, site, args, kwargs)
    else:
        _sdpa(reader, n, site, args, kwargs)
    return True
