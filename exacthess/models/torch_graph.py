r"""PyTorch models as graphs: ``graph, params = graph_from_torch(module, input_shape)``.

Any ``nn.Module`` that ``torch.fx.symbolic_trace`` can trace (the ``torch.nn`` modules are leaves,
user modules are traced through, nested ``nn.Sequential`` inlined) becomes a
:class:`~exacthess.models.graph.Graph` whose nodes are the calls of its forward pass, read by
:mod:`exacthess.models.torch_modules`: linear layers, convolutions (1-3 spatial axes, stride,
zero or circular padding, dilation, groups), ReLU and leaky ReLU, eval-mode batch normalisation,
max and average pooling, residual sums ``x + y``, flattening and reshapes that keep the batch axis
first (``x.view(x.size(0), -1)``), the identity (``nn.Identity``, eval-mode dropout). The model maps
one sample of ``input_shape`` (no batch axis) to its outputs, flattened row-major as
``out.reshape(n, -1)``; data ``X`` are the samples flattened alike, ``x.reshape(n, -1)``.

**Attention**, on ``(batch, T, d)`` tensors (a sample is a ``(T, d)`` map; ``nn.Linear`` acts per
token): ``nn.MultiheadAttention(d, H, batch_first=True)`` as self-attention ``attn(x, x, x)[0]``
(:mod:`exacthess.models.torch_multihead`), and written out (:mod:`exacthess.models.torch_attention`):
``q @ k.transpose(-2, -1)`` (``torch.matmul``, ``torch.bmm``, ``k.mT``, ``permute(0, 2, 1)``),
``torch.softmax(s, dim=-1)`` (``F.softmax``, ``s.softmax(-1)``, ``nn.Softmax(dim=-1)``), ``s * c`` and
``s / c`` for a constant ``c`` (its float read exactly; folded into a following softmax's scale),
``s.masked_fill(mask, float("-inf"))`` or ``s + mask`` with a constant causal mask before a softmax (0:
linear attention's mask), ``torch.cat([...], dim=-1)``, ``F.scaled_dot_product_attention``. Constants (buffers,
tensors built in forward from sizes, a buffer sliced by a traced size) are computed by torch and read only
as masks and scales. A bare ``nn.MultiheadAttention`` is read as self-attention (its first output);
a softmax that forward returns is refused (it belongs to the loss). Tracing: :mod:`exacthess.models.torch_trace`.

**Shapes** are read from torch: the traced graph is run once on a zero batch of two samples
(before, every call is checked against its input's shape, so a refusal names the module rather
than torch's error), and every node of the exact graph must have torch's per-sample shape.

**Parameters** are those of ``module.named_parameters()``, in that order (``param_order``), each
converted exactly (float64 holds every narrower float), so the flat parameter vector is
``torch.cat([p.flatten() for p in model.parameters()])``. A parameter used twice (tied weights:
one ``Parameter`` under two names, or a module with parameters called twice), a parameter of a
module forward does not call, a buffer of a ``torch.nn`` module other than batch normalisation's
running statistics, or a parameter read directly by forward is refused. ``nn.MultiheadAttention``'s
``in_proj_weight`` is split into the weights of its nodes ``q0.., k0.., v0..`` in that order.

**What is exact.** Every operation is exact on the converted weights, except eval-mode batch
normalisation's :math:`1/\sqrt{\mathrm{var} + \varepsilon}` and ``nn.MultiheadAttention``'s
:math:`1/\sqrt{d/H}`, replaced by rational stand-ins within :math:`2^{-64}` relatively (exact for
squares of rationals; the node's ``attrs["standin_rel_error"]``), and softmax values (stand-ins
likewise): Hessians are then exact *at the stand-ins*.

**Round-trip check** (``check=True``): the exact forward pass at a dyadic test input must agree
with torch's float64 forward of a copy of the module within :math:`10^{-9}` of the largest output
(:mod:`exacthess.models.torch_graph_check`); the tolerance only decides whether the conversion
describes the module.

>>> import torch.nn as nn  # doctest: +SKIP
>>> graph, params = graph_from_torch(nn.Sequential(nn.Linear(3, 2), nn.Tanh()), (3,))  # doctest: +SKIP
Traceback (most recent call last):
UnsupportedModuleError: module [1] Tanh() is an activation exacthess does not read from torch ...
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..core.errors import ExactHessError, InvalidArchitectureError, InvalidTypeError, UnsupportedModuleError, describe
from ..core.resources import hessian_floor_bytes, require_memory
from ..core.validate import check_bool, check_int, is_int
from .graph import Graph, Node
from .torch_attention import FINAL_SOFTMAX, read_attention_call
from .torch_check import require_torch
from .torch_graph_check import graph_round_trip_check
from .torch_inplace import check_in_place
from .torch_modules import (METHODS, MODULES, SUPPORTED, Site, call_args, check_module, convert_module, exact_tensor,
                            function_name, function_table, one_line, refuse, why_not)
from .torch_multihead import ATTENTION_MODULES, read_attention_module
from .torch_trace import traced
from .torch_values import FOLD, Scaled, Traced, materialize, read_reshape, read_size

__all__ = ["graph_from_torch", "graph_architecture", "module_and_shape", "SUPPORTED"]

_B = 2  # the batch size of the shape pass


class _Reader:
    """One pass over the traced forward: the graph's nodes, the shapes torch gives them, the parameter owners."""

    def __init__(self, module, shape: tuple):
        torch = self.torch = require_torch()
        self.module, self.shape = module, shape
        self.gm, self.root, self.strip = traced(torch, module)  # a bare leaf inside a one-module root, at "0"
        self.modules = dict(self.root.named_modules())
        check_module(module)
        check_in_place(self.gm, self.modules, torch, self.path)
        self.functions = function_table(torch)
        self.nodes, self.env, self.torch_shapes = [], {}, {}
        self.sites = {"input": Site("input", "input", "the input", "input")}
        self.owner, self.calls, self.output, self.param_map = {}, {}, None, {}

    def path(self, target: str) -> str:
        if self.strip is None:
            return target
        return target[2:] if target.startswith("0.") else ("" if target == "0" else target)

    # ----- one fx node ----------------------------------------------------------------------------
    def raw(self, a):
        """The value of an argument (:mod:`~exacthess.models.torch_values`), a pending scale left pending."""
        return self.env.get(a, a) if isinstance(a, self.torch.fx.Node) else a

    def value(self, a):
        """The value of an argument: a tensor (:class:`Traced`), a size, or a constant."""
        v = self.raw(a)
        return materialize(self, v) if isinstance(v, Scaled) else v

    def tensor(self, a, site: Site) -> Traced:
        v = self.value(a)
        if not isinstance(v, Traced):
            what = f"a constant tensor of shape {tuple(v.shape)}" if isinstance(v, self.torch.Tensor) else describe(v, 200)
            refuse(site, f"receives {what} where a tensor computed from the input is expected; expected such tensors "
                         "(constants only as causal masks and scalar factors)")
        return v

    def add_node(self, n, site: Site, op: str, attrs: dict, inputs: list) -> None:
        name = site.index if site.kind == "module" and site.index else n.name
        while name in self.sites:  # a module called twice, or a path equal to another node's name
            name = f"{name}_"
        self.nodes.append(Node(name, op, tuple(x.name for x in inputs), attrs, site.where))
        self.sites[name] = site
        self.env[n] = Traced(name, None)

    def convert(self, n) -> None:
        """Read fx node ``n`` before torch runs it (a refusal names the module, not torch's error)."""
        op, torch = n.op, self.torch
        if op == "placeholder":
            if self.env:
                refuse(Site("input", n.name, n.name, "placeholder"), "is a second input of forward; expected one tensor")
            self.env[n] = Traced("input", None)
        elif op == "get_attr":
            v = self.gm
            for part in n.target.split("."):
                v = getattr(v, part)
            if isinstance(v, torch.nn.Parameter) or not isinstance(v, torch.Tensor):
                refuse(Site("attribute", n.target, repr(n.target), "get_attr"),
                       "is read directly by forward; expected parameters only inside nn.Linear, nn.Conv, "
                       "nn.BatchNorm and nn.MultiheadAttention modules, constants only as masks and scales")
            self.env[n] = v  # a constant: a buffer, or a tensor torch.fx made while tracing
        elif op == "call_module":
            self._module(n)
        elif op == "call_function":
            self._function(n, n.target, function_name(n.target, torch))
        elif op == "call_method":
            self._function(n, n.target, f"Tensor.{n.target}")
        elif op == "output":
            out = n.args[0]
            if not isinstance(out, torch.fx.Node) or not isinstance(self.value(out), Traced):
                refuse(Site("output", n.name, describe(out), "output"), "is what forward returns; expected one tensor")
            self.output = self.value(out).name
            nodes = {nd.name: nd for nd in self.nodes}
            last = nodes.get(self.output)
            while last is not None and last.op == "reshape":  # softmax, then a flatten: still the output
                last = nodes.get(last.inputs[0])
            if last is not None and last.op == "softmax":
                refuse(self.sites[last.name], FINAL_SOFTMAX)

    def _module(self, n) -> None:
        m = self.modules[n.target]
        path = self.path(n.target)
        site = Site("module", path, describe(m), type(m).__name__)
        name = type(m).__name__
        if (name not in MODULES and name not in ATTENTION_MODULES) or not type(m).__module__.startswith("torch.nn"):
            refuse(site, why_not(m))
        owns = any(True for _ in m.parameters(recurse=False))
        if owns and path in self.calls:
            refuse(site, f"is called twice (torch.fx nodes {self.calls[path]} and {n.name}): its parameters would be "
                         "used twice (tied weights); expected a separate module per use")
        self.calls[path] = n.name
        if name in ATTENTION_MODULES:
            return read_attention_module(self, n, m, site, path)
        if len(n.args) != 1 or n.kwargs:
            refuse(site, f"is called with {len(n.args)} arguments {describe(n.kwargs)}; expected one tensor")
        x = self.tensor(n.args[0], site)
        res = convert_module(m, site, x.shape)
        if res is None:
            self.env[n] = x
            return
        self.add_node(n, site, res[0], res[1], [x])
        if owns:
            self.owner[path] = self.env[n].name

    def _function(self, n, target, fname: str) -> None:
        site = Site("call", n.name, fname, fname)
        args, kwargs, torch = n.args, dict(n.kwargs), self.torch
        if read_attention_call(self, n, target, site):  # products, softmax, scales, masks, cat; constants
            return
        if target in (operator.add, operator.iadd, torch.add, "add", "add_"):
            alpha = kwargs.pop("alpha", 1)
            other = kwargs.pop("other", args[1] if len(args) > 1 else None)
            if alpha != 1 or kwargs or len(args) > 2:
                refuse(site, f"has arguments {describe(kwargs)} alpha = {alpha}; expected x + y")
            x, y = self.value(args[0]), self.value(other)
            if not (isinstance(x, Traced) and isinstance(y, Traced)):
                refuse(site, f"adds {describe(x)} and {describe(y)}; expected two tensors (no constants)")
            if x.shape != y.shape:
                refuse(site, f"adds per-sample shapes {x.shape} and {y.shape}; expected equal shapes (no broadcasting)")
            return self.add_node(n, site, "add", {}, [x, y])
        if target in ("view", "reshape") or target is torch.reshape:
            x = self.tensor(args[0], site)
            dims = args[1:] if target != torch.reshape else args[1]
            return self.add_node(n, site, "reshape", {"shape": read_reshape(self, site, x, dims)}, [x])
        if target == "contiguous":
            self.env[n] = self.tensor(args[0], site)
            return
        if target in ("size", getattr) or target is operator.getitem:
            self.env[n] = read_size(self, site, target, args, kwargs)
            return
        kind = self.functions.get(target) if not isinstance(target, str) else (METHODS.get(target), 0)
        if not kind or not kind[0]:
            refuse(site, "is not supported")
        x = self.tensor(args[0], site)
        res = convert_module(call_args(kind[0], args[1:], kwargs, site), site, x.shape, kind[0], kind[1])
        if res is None:
            self.env[n] = x
            return
        self.add_node(n, site, res[0], res[1], [x])

    # ----- the pass -------------------------------------------------------------------------------
    def run(self) -> None:
        torch, reader = self.torch, self

        class Pass(torch.fx.Interpreter):
            def run_node(self, n):
                reader.convert(n)
                try:
                    result = super().run_node(n)
                except ExactHessError:
                    raise
                except Exception as exc:
                    site = reader.sites.get(getattr(reader.env.get(n), "name", None)) or Site("call", n.name, n.name,
                                                                                             str(n.target))
                    refuse(site, f"fails in torch's forward pass on a batch of shape {(_B,) + reader.shape} "
                                 f"({one_line(exc)}); expected a module that runs on that input")
                reader.record(n, result)
                return result

        sample = next((t for t in self.module.parameters()), None)
        dtype = sample.dtype if sample is not None and sample.is_floating_point() else torch.float32
        device = sample.device if sample is not None else "cpu"
        run = Pass(self.gm)
        run.extra_traceback = False  # torch would append its notes to a refusal's message
        with torch.no_grad():
            run.run(torch.zeros((_B,) + self.shape, dtype=dtype, device=device))

    def record(self, n, result) -> None:
        v = self.env.get(n)
        if v is FOLD:
            self.env[n] = result
        if not isinstance(v, Traced) or n.op == "output":
            return
        if not isinstance(result, self.torch.Tensor) or result.dim() < 1 or result.shape[0] != _B:
            refuse(self.sites.get(v.name, Site("call", n.name, n.name, str(n.target))),
                   f"gives {describe(getattr(result, 'shape', result))} on a batch of {_B}; expected a tensor with "
                   "the batch axis first")
        self.env[n] = Traced(v.name, tuple(int(s) for s in result.shape[1:]))
        self.torch_shapes[v.name] = self.env[n].shape

    def graph(self) -> Graph:
        order = []
        for name, _ in self.module.named_parameters():
            if name in self.param_map:  # nn.MultiheadAttention's in_proj_weight: the weights of several nodes
                order += self.param_map[name]
                continue
            path, _, kind = name.rpartition(".")
            if path not in self.owner:
                m = self.module.get_submodule(path)
                refuse(Site("module", path, describe(m), type(m).__name__),
                       f"has the parameter {name!r} but forward does not call it; expected every parameter to take "
                       "part in the forward pass (the parameter vector is torch.cat of model.parameters())")
            order.append((self.owner[path], kind))
        if not order:
            raise UnsupportedModuleError("module has no parameters in its forward pass (no nn.Linear, nn.Conv or "
                                         "affine nn.BatchNorm layer); expected at least one; supported: "
                                         + ", ".join(SUPPORTED), index=None, module=type(self.module).__name__)
        try:
            graph = Graph(self.shape, self.nodes, output=self.output, param_order=order)
        except InvalidArchitectureError as err:
            raise UnsupportedModuleError(f"the graph read from the module does not fit together: {err}", index=None,
                                         module=type(self.module).__name__) from None
        for name, shape in self.torch_shapes.items():
            if name != "input" and graph.shapes[name] != shape:
                refuse(self.sites[name], f"gives per-sample shape {shape} in torch but {graph.shapes[name]} as read; "
                                         "expected the two to agree")
        return graph


def module_and_shape(module, input_shape) -> tuple:
    """``input_shape`` as a tuple of ints after checking ``module`` is an ``nn.Module`` (Raises: as
    :func:`graph_from_torch`)."""
    wrong = InvalidTypeError(f"module = {describe(module)} has type {type(module).__name__}; expected a "
                             "torch.nn.Module (an nn.Sequential or a module torch.fx can trace)")
    if not any(c.__module__.startswith("torch.") for c in type(module).__mro__):
        raise wrong  # not a torch object at all: said even where torch is not installed
    if not isinstance(module, require_torch().nn.Module):
        raise wrong
    if is_int(input_shape):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or not input_shape:
        raise InvalidTypeError(f"input_shape = {describe(input_shape)} is not a shape; expected one sample's shape "
                               "as torch sees it, e.g. (784,), (3, 32), (1, 28, 28) or (1, 8, 16, 16)")
    return tuple(check_int(v, f"input_shape[{i}]", minimum=1) for i, v in enumerate(input_shape))


def _read(module, shape: tuple) -> tuple:
    reader = _Reader(module, shape)
    reader.run()
    return reader.graph(), reader


def graph_architecture(module, input_shape) -> Graph:
    """The :class:`~exacthess.models.graph.Graph` a module describes, read from one forward pass on
    zeros; no parameter is converted (on torch's ``meta`` device batch normalisation's statistics
    are placeholders, mean 0 and variance 1). Args and Raises: as :func:`graph_from_torch`."""
    return _read(module, module_and_shape(module, input_shape))[0]


def graph_from_torch(module, input_shape, check: bool = True) -> tuple:
    """Read any module torch.fx can trace as a :class:`~exacthess.models.graph.Graph` with exact parameters.

    Args:
        module: a ``torch.nn.Module`` (see the module docstring for what its forward may do).
        input_shape: one sample's shape as torch sees it (no batch axis).
        check: compare the exact forward pass with torch's float64 forward at a test input.

    Returns:
        ``(graph, params)``: the graph and its exact parameters (``fmpq`` arrays) in
        ``graph.param_order``, which is ``module.named_parameters()`` order.

    Raises:
        MissingDependencyError: torch is not installed.
        InvalidTypeError: ``module`` is not an ``nn.Module``, or ``input_shape`` is not a shape.
        UnsupportedModuleError: an operation exacthess cannot express (the message names the module
            path and type, what is unsupported and what is supported), weights without values, or a
            failed round-trip check.
        ProblemTooLargeError: the Hessian could not be held even modulo a prime; nothing was converted.
    """
    shape = module_and_shape(module, input_shape)
    check = check_bool(check, "check")
    graph, reader = _read(module, shape)
    p = graph.n_params
    require_memory(hessian_floor_bytes(p), f"the Hessian of {graph!r} ({p:,} parameters; one {p:,} x {p:,} matrix "
                   "modulo a prime, the least any exact Hessian computation holds)",
                   "refused before converting any weight; verify holds several such matrices; set "
                   "EXACTHESS_MEMORY_LIMIT_GB to change the limit")
    flat = []
    for name, t in module.named_parameters():
        if getattr(t, "is_meta", False):
            path = name.rpartition(".")[0]
            m = module.get_submodule(path)
            refuse(Site("module", path, describe(m), type(m).__name__),
                   f"has {name!r} on torch's 'meta' device: a shape but no values; expected weights with values (build "
                   "the model outside torch.device('meta'), or materialise it with model.to_empty(device='cpu') and "
                   "load its weights with load_state_dict)")
        flat.append(exact_tensor(t, f"parameter {name}").reshape(-1))
    flat, params = np.concatenate(flat), []
    for want in graph.param_shapes():  # named_parameters order, a tensor split where it feeds several nodes
        params.append(flat[:math.prod(want)].reshape(want))
        flat = flat[math.prod(want):]
    if check:
        graph_round_trip_check(reader.root, graph, params, shape)  # a bare nn.MultiheadAttention: its output 0
    return graph, params
