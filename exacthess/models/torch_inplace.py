"""In-place operations in a traced forward: allowed only when nothing reads the old value afterwards.

``nn.ReLU(inplace=True)``, ``F.relu(x, inplace=True)``, ``out += identity`` and ``x.relu_()``
overwrite their first argument. torch.fx records them as ordinary calls, so a graph read from them
would describe the module only if no later operation reads the overwritten tensor -- or any tensor
sharing its storage (views, reshapes, flattening, the identity). :func:`check_in_place` refuses
a module where one does, naming both operations: the exact network would otherwise differ from
torch's (the torchvision idiom ``out = relu(bn(conv(x))); out += identity; out = relu(out)`` is fine).
"""

from __future__ import annotations

import operator

from .torch_modules import Site, refuse

__all__ = ["check_in_place"]

_IN_PLACE_FUNCTIONS = (operator.iadd, operator.isub, operator.imul, operator.itruediv)
#: operations whose result shares the storage of their input
_ALIASING_METHODS = ("view", "reshape", "flatten", "contiguous", "view_as", "squeeze", "unsqueeze")
_ALIASING_MODULES = ("Flatten", "Identity", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout")


def _in_place(n, modules) -> bool:
    if n.op == "call_module":
        return bool(getattr(modules.get(n.target), "inplace", False))
    if n.op == "call_function":
        return n.target in _IN_PLACE_FUNCTIONS or bool(n.kwargs.get("inplace", False)) or (
            getattr(n.target, "__name__", "") in ("relu", "leaky_relu") and len(n.args) > 2 and n.args[-1] is True)
    return n.op == "call_method" and isinstance(n.target, str) and n.target.endswith("_") and \
        not n.target.startswith("_")


def _aliases(n, modules, torch) -> bool:
    if n.op == "call_method":
        return n.target in _ALIASING_METHODS
    if n.op == "call_module":
        return type(modules.get(n.target)).__name__ in _ALIASING_MODULES
    return n.op == "call_function" and n.target in (torch.flatten, torch.reshape)


def check_in_place(gm, modules, torch, path) -> None:
    """Refuse an in-place operation whose overwritten tensor (or a view of it) is read after it."""
    order = {n: i for i, n in enumerate(gm.graph.nodes)}
    for n in gm.graph.nodes:
        if not _in_place(n, modules) or not n.args or not isinstance(n.args[0], torch.fx.Node):
            continue
        group, todo = set(), [n.args[0]]
        while todo:  # every node sharing the storage of the overwritten tensor
            v = todo.pop()
            if v in group:
                continue
            group.add(v)
            if _aliases(v, modules, torch) and v.args and isinstance(v.args[0], torch.fx.Node):
                todo.append(v.args[0])
            todo.extend(u for u in v.users if _aliases(u, modules, torch))
        late = sorted((u for v in group for u in v.users if u is not n and order[u] > order[n]
                       and not _aliases(u, modules, torch)), key=order.get)
        if late:
            where = path(n.target) if n.op == "call_module" else n.name
            what = type(modules[n.target]).__name__ if n.op == "call_module" else str(n.target)
            refuse(Site("module" if n.op == "call_module" else "call", where, f"{where} ({what})", what),
                   f"overwrites its input {n.args[0].name!r} in place (inplace=True, +=, or a method ending in _), "
                   f"and {', '.join(repr(u.name) for u in late[:3])} reads that tensor afterwards, so the module "
                   "computes with the overwritten values; expected an out-of-place operation there "
                   "(inplace=False, out = out + identity)")
