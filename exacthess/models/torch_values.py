r"""The values of a forward pass traced by :mod:`exacthess.models.torch_graph`, and how sizes and reshapes are read.

An fx node's value is a :class:`Traced` tensor (a graph node and its per-sample shape, the batch
axis dropped), a size (:class:`SizeOf`, ints, :data:`BATCH` for the batch size), a constant (a
Python number, or a tensor that does not depend on the input: a buffer, or one built in forward
from constants), or a value of attention (:mod:`exacthess.models.torch_attention`): a
:class:`Scaled` tensor waiting for its scale or causal mask to be folded into a softmax (any other
reader makes it an ``affine`` node, :func:`materialize`), or the two outputs of ``nn.MultiheadAttention``.

>>> Traced("matmul", (3, 3))
the tensor of node 'matmul' (per-sample shape (3, 3))

>>> SizeOf((3, 4)).item(0) is BATCH, SizeOf((3, 4)).item(-1)
(True, 4)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flint import fmpq

from ..core.errors import describe
from ..core.validate import is_int
from .graph import Node
from .torch_modules import Site, refuse

__all__ = ["Traced", "Scaled", "SizeOf", "Outputs", "Unread", "BATCH", "FOLD", "read_size", "read_reshape", "emit",
           "materialize"]


class _Batch:
    def __repr__(self):
        return "<batch size>"


#: the batch size (``x.size(0)``): known only as the batch axis
BATCH = _Batch()


class _Fold:
    def __repr__(self):
        return "<constant, computed by torch>"


#: the value of a constant node until torch has computed it
FOLD = _Fold()


@dataclass(frozen=True)
class Traced:
    """A tensor of the forward pass: its graph node ``name`` and per-sample ``shape`` (None until torch ran it)."""

    name: str
    shape: tuple

    def __repr__(self):  # as messages name it
        return f"the tensor of node {self.name!r}" + (f" (per-sample shape {self.shape})" if self.shape else "")


@dataclass(frozen=True)
class Scaled:
    """``scale * base``, its entries ``j > i`` set to -inf when ``causal``, not yet a graph node: a softmax
    takes it as its ``scale`` and ``causal`` attributes, anything else as an ``affine`` node (:func:`materialize`)."""

    base: Traced
    scale: fmpq
    causal: bool
    site: Site
    node: object  # the fx node whose value this is

    def __repr__(self):
        return f"{self.scale} times {self.base!r}" + (", -inf at j > i" if self.causal else "")


def _fresh(reader, name: str) -> str:
    while name in reader.sites:
        name = f"{name}_"
    return name


def emit(reader, name: str, site: Site, op: str, attrs: dict, inputs: list, shape: tuple) -> Traced:
    """Append a node that no fx node stands for (its per-sample shape given), named ``name`` (made unique)."""
    name = _fresh(reader, name)
    reader.nodes.append(Node(name, op, tuple(x.name for x in inputs), attrs, site.where))
    reader.sites[name] = site
    return Traced(name, shape)


def materialize(reader, v: Scaled) -> Traced:
    """The ``affine`` node of a scale read by something other than a softmax (refused after a -inf mask)."""
    if v.causal:
        users = ", ".join(repr(u.name) for u in v.node.users) or "nothing"
        refuse(v.site, f"sets the causal entries to -inf in a tensor read by {users}, not by a softmax over the last "
                       "axis; expected masked_fill(mask, float('-inf')) or an additive -inf mask to feed "
                       "softmax(dim=-1), directly or through a positive scale (masked_fill(mask, 0) is the causal mask "
                       "of linear attention)")
    T = v.base.shape[0]
    out = emit(reader, v.node.name, v.site, "affine", dict(scale=(v.scale,) * T, shift=(fmpq(0),) * T), [v.base],
               v.base.shape)
    reader.env[v.node] = out
    return out


@dataclass(frozen=True)
class SizeOf:
    """``x.size()`` / ``x.shape`` of a tensor of per-sample shape ``shape``."""

    shape: tuple

    def item(self, k):
        r = len(self.shape) + 1
        if not is_int(k) or not -r <= k < r:
            return None
        return BATCH if k % r == 0 else self.shape[k % r - 1]


@dataclass(frozen=True)
class Unread:
    """An output exacthess does not read (``what`` says which): refused where it is used."""

    what: str

    def __repr__(self):
        return self.what


@dataclass(frozen=True)
class Outputs:
    """The tuple a module returns (``nn.MultiheadAttention``: its output and :class:`Unread` weights)."""

    items: tuple

    def item(self, k):
        return self.items[k] if is_int(k) and -len(self.items) <= k < len(self.items) else None


def read_size(reader, site, target, args, kwargs):
    """The value of ``x.size()``, ``x.size(i)``, ``x.shape`` or ``x.shape[i]``."""
    if target == "size":
        x = reader.tensor(args[0], site)
        dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
        if dim is None:
            return SizeOf(x.shape)
        args = (SizeOf(x.shape), dim)
    if target is getattr:
        x = reader.tensor(args[0], site)
        if args[1] != "shape":
            refuse(site, f"reads the attribute {args[1]!r} of a tensor; expected only x.shape (and x.mT)")
        return SizeOf(x.shape)
    obj, k = reader.value(args[0]), reader.value(args[1])
    got = obj.item(k) if isinstance(obj, (SizeOf, Outputs)) else None
    if got is None:
        what = f"the tensor of node {obj.name!r}" if isinstance(obj, Traced) else describe(obj)
        refuse(site, f"indexes {what} by {describe(k)}; expected only x.shape[i] / x.size(i) (tensors are "
                     "not sliced) and the first output of nn.MultiheadAttention")
    return got


def read_reshape(reader, site, x: Traced, dims) -> tuple:
    """The per-sample shape of ``x.view(*dims)`` / ``x.reshape(dims)``: the batch axis must stay first."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = dims[0]
    dims = [reader.value(d) for d in dims]
    n = math.prod(x.shape)
    if not dims or (dims[0] is not BATCH and dims[0] != -1):
        refuse(site, f"reshapes to {dims}, whose first size is not the batch size; expected the batch axis kept "
                     "first (x.size(0) or -1)")
    rest = list(dims[1:])
    if not rest or any(not is_int(d) for d in rest) or (dims[0] == -1 and -1 in rest) or rest.count(-1) > 1:
        refuse(site, f"reshapes to {dims}; expected the batch size first and per-sample sizes (at most one -1) "
                     "after it")
    if dims[0] == -1 and math.prod(rest) != n:
        refuse(site, f"reshapes to {dims}: with the per-sample shape {x.shape} ({n} entries) its -1 would merge "
                     "samples (the batch axis); expected the batch axis kept first, e.g. x.view(x.size(0), -1)")
    known = math.prod(d for d in rest if d != -1)
    if -1 in rest and known > 0 and n % known == 0:
        rest[rest.index(-1)] = n // known
    if math.prod(rest) != n or min(rest, default=1) < 1:
        refuse(site, f"reshapes the per-sample shape {x.shape} ({n} entries) to {dims}; expected {n} entries per "
                     "sample")
    return tuple(int(d) for d in rest)
