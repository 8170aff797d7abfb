r"""How :mod:`exacthess.models.torch_graph` traces a module with torch.fx.

:func:`traced` returns the ``torch.fx.GraphModule`` of a module's forward pass:

* a bare ``torch.nn`` module (``nn.Linear``, ...) is traced as the one-module chain
  ``nn.Sequential(module)``; a bare ``nn.MultiheadAttention`` as self-attention, ``attn(x, x, x)[0]``
  (query = key = value = the input; its first output). Either way the module sits at path ``"0"``
  of the traced root, which the reader strips (the top-level module has the path ``""``);
* the forward is traced by ``torch.fx.symbolic_trace``. When that fails, it is traced once more with
  buffers as graph constants (``get_attr`` nodes), so that a buffer sliced by a traced size -- the
  nanoGPT idiom ``T = x.size(1); self.tril[:T, :T]`` -- becomes a call torch computes on the
  constant buffer (sizes are ints to the reader). Other spellings that need a size as a Python int
  (``torch.ones(T, T)``, ``range(T)``, slicing a plain tensor attribute) cannot be traced: the refusal
  then says how to write them (:func:`size_hint`).
"""

from __future__ import annotations

import linecache
import operator
import os
import re

from ..core.errors import ExactHessError, UnsupportedModuleError
from .torch_modules import SUPPORTED, one_line

__all__ = ["traced", "traced_root", "size_hint", "SIZE_HINT"]

#: how to write a mask or a size that torch.fx cannot trace
SIZE_HINT = ("torch.fx traces a size such as T = x.size(1) as a symbol, not a Python int, so it cannot slice a plain "
             "tensor or size a new one (torch.ones(T, T)); register the mask with register_buffer (a buffer sliced "
             "as self.mask[:T, :T] is read), or use a buffer of exactly (T, T) indexed without slicing, or a Python "
             "int T fixed at construction (self.T)")


def traced_root(torch, module):
    """``(root, strip)``: the module that is traced (and run) for ``module``, and the path prefix of ``module``
    inside it (None: the module itself)."""
    nn = torch.nn
    if not type(module).__module__.startswith("torch.nn") or isinstance(module, nn.Sequential):
        return module, None
    if isinstance(module, nn.MultiheadAttention):
        class SelfAttention(nn.Module):
            """A bare nn.MultiheadAttention read as self-attention: its first output at query = key = value."""

            def __init__(self, attn):
                super().__init__()
                self.add_module("0", attn)

            def forward(self, x):
                return getattr(self, "0")(x, x, x)[0]

        return SelfAttention(module), "0"
    return nn.Sequential(module), "0"  # a bare leaf is traced as a one-module chain


def _is_size(node, torch) -> bool:
    """Whether fx node ``node`` is a size read from a tensor (``x.size()``, ``x.size(i)``, ``x.shape``, or an item)."""
    if node.op == "call_method" and node.target == "size":
        return True
    if node.op == "call_function" and node.target is getattr:
        return node.args[1] == "shape"
    if node.op == "call_function" and node.target is operator.getitem and isinstance(node.args[0], torch.fx.Node):
        return _is_size(node.args[0], torch)
    return False


def size_hint(exc: BaseException, torch) -> bool:
    """Whether ``exc``, raised while torch.fx traced a forward, is a TypeError of a statement that uses a traced
    size (``T = x.size(1)``, ``x.shape[1]``) where torch needs an int: the innermost frame of the user's code
    holds such a size in a variable its failing line names, or the line reads ``.size(`` / ``.shape``."""
    if not isinstance(exc, TypeError):
        return False
    tb, frame = exc.__traceback__, None
    inside = os.path.dirname(torch.__file__)
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(inside):
            frame, line = tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next
    if frame is None:
        return False
    text = linecache.getline(frame.f_code.co_filename, line)
    sizes = [k for k, v in frame.f_locals.items() if isinstance(v, torch.fx.Proxy) and _is_size(v.node, torch)]
    return bool(re.search(r"\.size\(|\.shape\b", text)) or any(re.search(rf"\b{re.escape(k)}\b", text) for k in sizes)


def traced(torch, module) -> tuple:
    """``(graph_module, root, strip)``: the torch.fx trace of ``module`` (see the module doc), the module traced
    (``module`` or the root around a bare ``torch.nn`` module) and the path prefix the reader strips from module
    paths (None or ``"0"``).

    Raises:
        UnsupportedModuleError: torch.fx cannot trace the forward (naming the exception, with
            :data:`SIZE_HINT` when a traced size is used where torch needs an int).
    """
    root, strip = traced_root(torch, module)

    class Buffers(torch.fx.Tracer):
        proxy_buffer_attributes = True

    try:
        return torch.fx.symbolic_trace(root), root, strip
    except ExactHessError:
        raise
    except Exception as exc:  # data-dependent control flow, sizes used as ints, and the like
        first = exc
    try:  # buffers as graph constants: a buffer sliced by a traced size is then an ordinary call
        return torch.fx.GraphModule(root, Buffers().trace(root), type(root).__name__), root, strip
    except ExactHessError:
        raise
    except Exception:
        pass
    hint = f"; {SIZE_HINT}" if size_hint(first, torch) else ""
    raise UnsupportedModuleError(
        f"module {type(module).__name__} cannot be traced by torch.fx ({one_line(first)}){hint}; expected a forward "
        "torch.fx can trace (no control flow on tensor values); supported: " + ", ".join(SUPPORTED),
        index=None, module=type(module).__name__) from None
