r"""The shapes of graph nodes: each op's output shape from its inputs' shapes, its attributes checked
and normalised (:class:`~exacthess.models.graph.Graph` calls :func:`node_shape` once per node)."""

from __future__ import annotations

from math import prod

from ..core.errors import InvalidArchitectureError, describe
from ..core.validate import is_int
from .activations import activation as parse_activation
from .graph_attrs import exact_attr
from .graph_ops import conv_output_shape, pool_output_shape

__all__ = ["node_shape"]


def _ints(value, n: int, what: str, node, minimum: int) -> tuple:
    vals = tuple(value) if isinstance(value, (tuple, list)) else (value,) * n
    if len(vals) != n or not all(is_int(v) and int(v) >= minimum for v in vals):
        raise InvalidArchitectureError(f"{node.label()}: {what} = {describe(value)}; expected {n} int(s) >= {minimum}")
    return tuple(int(v) for v in vals)


def node_shape(node, a: dict, shapes: list, input_shape: tuple) -> tuple:
    """The output shape of ``node`` reading maps of ``shapes``; completes and normalises its attributes ``a``."""
    op = node.op
    if op == "input":
        return input_shape
    s = shapes[0]
    if op in ("identity",):
        return s
    if op == "concat":
        return _concat_shape(node, a, shapes)
    if op in ("softmax", "mask"):  # row-wise over the last axis of a 2-D map (attention weights)
        if len(s) != 2:
            raise InvalidArchitectureError(f"{node.label()}: {op} of shape {s}; expected a 2-D map (rows, columns)")
        a["causal"] = bool(a.get("causal", op == "mask"))
        if op == "softmax":
            a["scale"] = exact_attr(a.get("scale", 1), f"{node.name}.scale")
        return s
    if op == "matmul":  # a (m, k) @ b (k, n): attention scores Q K^T, and A V
        if len(shapes[0]) != 2 or len(shapes[1]) != 2 or shapes[0][1] != shapes[1][0]:
            raise InvalidArchitectureError(f"{node.label()}: multiplies shapes {shapes[0]} and {shapes[1]}; "
                                           "expected (m, k) and (k, n)")
        return (shapes[0][0], shapes[1][1])
    if op == "transpose":
        if len(s) != 2:
            raise InvalidArchitectureError(f"{node.label()}: transposes shape {s}; expected a 2-D map")
        return (s[1], s[0])
    if op == "act":
        a["activation"] = parse_activation(a.get("activation", "linear"))
        return s
    if op == "add":
        if shapes[0] != shapes[1]:
            raise InvalidArchitectureError(f"{node.label()}: adds shapes {shapes[0]} and {shapes[1]}; expected equal shapes")
        return s
    if op == "linear":
        a["out_features"] = _ints(a.get("out_features"), 1, "out_features", node, 1)[0]
        a["bias"] = bool(a.get("bias", False))
        return s[:-1] + (a["out_features"],)
    if op == "reshape":
        shape = _ints(a.get("shape"), len(a.get("shape") or ()), "shape", node, 1)
        if prod(shape) != prod(s):
            raise InvalidArchitectureError(f"{node.label()}: reshapes {s} to {shape}; expected {prod(s)} entries")
        a["shape"] = shape
        return shape
    if op in ("affine", "batchnorm"):
        C = s[0]
        keys = ("scale", "shift") if op == "affine" else ("mean", "scale")
        for k in keys:
            vals = list(a.get(k, ()))
            if len(vals) != C:
                raise InvalidArchitectureError(f"{node.label()}: {k} has {len(vals)} entries; expected {C} (channels)")
            a[k] = tuple(exact_attr(v, f"{node.name}.{k}") for v in vals)
        if op == "batchnorm":
            a["affine"] = bool(a.get("affine", True))
        return s
    dims = len(s) - 1
    if dims < 1 or dims > 3:
        raise InvalidArchitectureError(f"{node.label()}: input shape {s}; expected [C, *spatial] with 1-3 "
                                       "spatial axes")
    kernel = _ints(a.get("kernel"), dims, "kernel", node, 1)
    stride = _ints(a.get("stride", kernel if op != "conv" else 1), dims, "stride", node, 1)
    padding = _ints(a.get("padding", 0), dims, "padding", node, 0)
    dilation = _ints(a.get("dilation", 1), dims, "dilation", node, 1)
    a.update(kernel=kernel, stride=stride, padding=padding, dilation=dilation)
    if op == "conv":
        out = _ints(a.get("out_channels"), 1, "out_channels", node, 1)[0]
        groups = _ints(a.get("groups", 1), 1, "groups", node, 1)[0]
        if s[0] % groups or out % groups:
            raise InvalidArchitectureError(f"{node.label()}: groups = {groups} does not divide the channels "
                                           f"({s[0]} in, {out} out)")
        mode = a.get("padding_mode", "zeros")
        if mode not in ("zeros", "circular"):
            raise InvalidArchitectureError(f"{node.label()}: padding_mode = {mode!r}; expected 'zeros' or 'circular'")
        a.update(out_channels=out, groups=groups, padding_mode=mode, bias=bool(a.get("bias", False)))
        shape = conv_output_shape(s, out, kernel, stride, padding, dilation)
    else:
        if any(2 * p > k for p, k in zip(padding, kernel)):
            raise InvalidArchitectureError(f"{node.label()}: padding {padding} exceeds half the kernel {kernel}")
        shape = pool_output_shape(s, kernel, stride, padding, dilation)
    if min(shape[1:]) < 1:
        raise InvalidArchitectureError(f"{node.label()}: the input {s} is smaller than the kernel {kernel} "
                                       "(with its dilation and padding); expected an output of size >= 1")
    return shape


def _concat_shape(node, a: dict, shapes: list) -> tuple:
    """``concat``: maps of one rank, equal except along ``axis`` (default the last), joined along it."""
    rank = len(shapes[0])
    axis = a.get("axis", -1)
    if not is_int(axis) or not -rank <= int(axis) < rank:
        raise InvalidArchitectureError(f"{node.label()}: axis = {describe(axis)}; expected an int in [{-rank}, {rank})")
    axis = int(axis) % rank
    for s in shapes:
        if len(s) != rank or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:]:
            raise InvalidArchitectureError(f"{node.label()}: joins shapes {', '.join(map(str, shapes))} along axis "
                                           f"{axis}; expected equal shapes except along that axis")
    a["axis"] = axis
    return shapes[0][:axis] + (sum(s[axis] for s in shapes),) + shapes[0][axis + 1:]
