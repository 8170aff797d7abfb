r"""PyTorch models in: ``arch, params = from_torch(module, input_shape)``.

Two readers. **Chains**: an ``nn.Sequential`` of ``nn.Linear`` / ``nn.Conv1d`` / ``nn.Conv2d`` layers with one activation
(``nn.ReLU`` or ``nn.LeakyReLU``) between consecutive layers and none after the last is an
exacthess network :math:`F(x) = T_{L+1}\,\sigma(T_L \cdots \sigma(T_1 x))` (+ biases):

* only ``nn.Linear`` layers (after an optional ``nn.Flatten``): an :class:`~exacthess.FCN`;
* convolutions, then ``nn.Flatten`` and ``nn.Linear`` layers: a :class:`~exacthess.CNN`. A
  ``nn.Linear`` on the flattened map ``[C, H, W]`` *is* a convolution whose kernel covers the whole
  map: torch's ``Flatten`` orders the map channel-major (``c * H W + y W + x``), which is exacthess's
  vectorisation, so ``Linear.weight`` of shape ``(m, C H W)`` read row-major is the kernel
  ``[m, C, H, W]`` read row-major. Further ``nn.Linear`` layers are ``1 x 1`` convolutions on a
  ``1 x 1`` map. The last layer may also be a convolution covering its whole (unpadded) input.

``nn.Identity``, and dropout in eval mode (or with ``p = 0``), are the identity and are skipped;
nested ``nn.Sequential`` are read in order (indices dotted, as in ``named_modules``).

**Graphs**: any other ``nn.Module`` -- a chain this reader refuses (mixed activations, pooling,
batch normalisation, ``nn.Conv3d``, dilation, groups, circular padding, ...) or a module with its
own ``forward`` (residual connections) -- is read through torch.fx as a
:class:`~exacthess.models.graph.Graph` by :func:`~exacthess.models.torch_graph.graph_from_torch`,
with its parameters in ``named_parameters()`` order; see that module for what it reads.

**Exact conversion.** Every float16/bfloat16/float32/float64 weight is a dyadic rational and is
converted exactly (``float.as_integer_ratio``). The ``negative_slope`` of ``nn.LeakyReLU`` is a
Python float stored on the module: its exact binary value is used, so ``0.01`` becomes
``5764607523034235/576460752303423488`` (:math:`= 0.01 + 2.1\cdot 10^{-19}`), not ``1/100``.
(A float32 model evaluated by torch in float32 rounds that slope again, to float32; the exact
network is the one the module describes, evaluated exactly.)

**Parameter order** (as :meth:`~exacthess.models.architectures.Architecture.param_shapes`): layer by
layer, the weight tensor row-major (``[c_out, c_in, (kh,) kw]``, as torch stores it; a ``Linear``
weight of a CNN reshaped to ``[m, C, (H,) W]``), then the bias.

**Round-trip check** (``check=True``): the exact forward pass at a dyadic test input must agree with
torch's float64 forward within a proven float64 error bound (:mod:`exacthess.models.torch_check`);
this tolerance decides only whether the conversion describes the module, never a rank.

>>> import torch.nn as nn  # doctest: +SKIP
>>> arch, params = from_torch(nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1)), (3,))  # doctest: +SKIP
>>> arch  # doctest: +SKIP
FCN(input_dim=3, widths=(2,), output_dim=1, bias=True, activation='relu')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import UnsupportedModuleError, describe
from ..core.exact import rational_array, to_rational
from ..core.resources import hessian_floor_bytes, require_memory
from ..core.validate import check_bool
from .activations import activation as parse_activation
from .architectures import CNN, FCN, Architecture
from .torch_check import require_torch, round_trip_check
from .torch_graph import graph_architecture, graph_from_torch, module_and_shape

__all__ = ["from_torch", "torch_architecture", "SUPPORTED_MODULES"]

#: what :func:`from_torch` reads
SUPPORTED_MODULES = ("nn.Linear", "nn.Conv1d", "nn.Conv2d (stride, zero padding, bias)", "nn.ReLU",
                     "nn.LeakyReLU", "nn.Flatten", "nn.Identity", "dropout in eval mode", "nested nn.Sequential")
_SUPPORTED = "supported: " + ", ".join(SUPPORTED_MODULES)


#: advice in Python spelling and as the command line spells it (``exacthess verify torch``)
_CLI_SPELLING = {"loss='cross_entropy' or 'bce'": "--loss cross_entropy or --loss bce",
                 "FCN/CNN(activation='poly(...)')": "exacthess verify fcn|cnn --activation 'poly(...)'"}


def _refuse(idx, m, what: str):
    name = type(m).__name__
    msg = f"module [{idx}] {describe(m)} {what}; {_SUPPORTED}"
    cli = msg
    for python, command_line in _CLI_SPELLING.items():
        cli = cli.replace(python, command_line)
    raise UnsupportedModuleError(msg, index=str(idx), module=name, cli=cli if cli != msg else None)


@dataclass
class _Dense:
    """One affine layer read from torch, as a convolution on a ``[C, *spatial]`` map."""

    index: str
    module: object
    map_in: tuple  # (C, *spatial) of its input
    map_out: tuple
    kernel: tuple
    stride: tuple
    padding: tuple

    @property
    def is_conv(self) -> bool:
        return type(self.module).__name__ != "Linear"


def _walk(module, prefix="", seen=None):
    """``(index, module)`` in order, repeats included (``named_children`` skips a module used twice);
    a layer with parameters used twice (tied weights) is refused."""
    nn = require_torch().nn
    seen = {} if seen is None else seen
    for name, child in module._modules.items():
        if child is None:
            continue
        idx = f"{prefix}{name}"
        if type(child) is nn.Sequential:
            yield from _walk(child, idx + ".", seen)
            continue
        if id(child) in seen and any(True for _ in child.parameters()):
            _refuse(idx, child, f"is the same module as [{seen[id(child)]}]: its weights are shared (tied); expected "
                                "a separate module per layer (exacthess gives every layer its own parameters)")
        seen.setdefault(id(child), idx)
        yield idx, child


def _conv(m, idx, cur: tuple) -> _Dense:
    nd = 1 if type(m).__name__ == "Conv1d" else 2
    if len(cur) != nd + 1 or cur[0] != m.in_channels:
        want = "(C, L)" if nd == 1 else "(C, H, W)"
        _refuse(idx, m, f"receives per-sample shape {cur}; expected {want} with C = in_channels = {m.in_channels}")
    if any(d != 1 for d in m.dilation):
        _refuse(idx, m, f"has dilation = {tuple(m.dilation)}; expected dilation 1 (no dilated convolutions)")
    if m.groups != 1:
        _refuse(idx, m, f"has groups = {m.groups}; expected groups = 1 (no grouped or depthwise convolutions)")
    if m.padding_mode != "zeros":
        _refuse(idx, m, f"has padding_mode = {m.padding_mode!r}; expected 'zeros'")
    k, s, spatial = tuple(m.kernel_size), tuple(m.stride), cur[1:]
    if m.padding == "valid":
        p = (0,) * nd
    elif m.padding == "same":
        p = []
        for a in range(nd):
            left, right = (k[a] - 1) // 2, k[a] - 1 - (k[a] - 1) // 2
            if left != right:
                _refuse(idx, m, f"has padding = 'same' with the even kernel size {k[a]}: torch pads {left} before and "
                                f"{right} after, while exacthess pads symmetrically; expected an odd kernel or an "
                                "explicit int padding")
            p.append(left)
        p = tuple(p)
    else:
        p = tuple(m.padding)
    for a in range(nd):
        if spatial[a] + 2 * p[a] < k[a]:
            _refuse(idx, m, f"has kernel size {k[a]} larger than its padded input {spatial[a]} + 2 x {p[a]}; "
                            "expected a kernel no larger than the padded input")
    out = tuple((spatial[a] + 2 * p[a] - k[a]) // s[a] + 1 for a in range(nd))
    return _Dense(idx, m, cur, (m.out_channels,) + out, k, s, p)


def _linear(m, idx, cur: tuple, flat_from: tuple) -> _Dense:
    if len(cur) != 1 or cur[0] != m.in_features:
        hint = " (add nn.Flatten() before it)" if len(cur) > 1 else ""
        _refuse(idx, m, f"receives per-sample shape {cur}; expected ({m.in_features},){hint}")
    spatial = flat_from[1:]
    return _Dense(idx, m, flat_from, (m.out_features,) + (1,) * len(spatial), spatial, (1,) * len(spatial),
                  (0,) * len(spatial))


def _flatten(m, idx, cur: tuple) -> tuple:
    r = len(cur)
    start, end = m.start_dim % (r + 1), m.end_dim % (r + 1)
    if start == 0:
        _refuse(idx, m, f"has start_dim = {m.start_dim}, which merges the batch dimension; expected start_dim = 1")
    new = cur[: start - 1] + (math.prod(cur[start - 1:end]),) + cur[end:] if end >= start else cur
    if len(new) != 1 and new != cur:
        _refuse(idx, m, f"flattens {cur} to {new}; expected a full flatten (start_dim = 1, end_dim = -1)")
    return new


def _activation_name(m, idx) -> str | None:
    nn = require_torch().nn
    if type(m) is nn.ReLU:
        return "relu"
    if type(m) is nn.LeakyReLU:
        a = to_rational(m.negative_slope, name=f"module [{idx}].negative_slope")
        return "relu" if a == 0 else parse_activation(f"leaky_relu({a})").name
    return None


def _why_not(m) -> str:
    nn = require_torch().nn
    if any(isinstance(p, nn.parameter.UninitializedParameter) for p in m.parameters()):
        return "has uninitialised (lazy) parameters; run one forward pass before converting it"
    where = type(m).__module__
    if where.endswith("batchnorm") or where.endswith("normalization"):
        return "is a normalisation layer, which exacthess networks do not have (fold it into the preceding layer)"
    if where.endswith("pooling"):
        return "is a pooling layer, which exacthess networks do not have"
    if where.endswith("activation"):
        return ("is an activation exacthess does not read from torch (ReLU and LeakyReLU are; polynomials are "
                "FCN/CNN(activation='poly(...)'); a final softmax or sigmoid belongs to the loss: "
                "loss='cross_entropy' or 'bce')")
    return "is not supported"


def _read(module, shape: tuple):
    """Walk the module: dense layers, the activation after each and the running shape."""
    nn = require_torch().nn
    dropouts = tuple(getattr(nn, n) for n in ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
                                                "FeatureAlphaDropout") if hasattr(nn, n))
    dense, gaps = [], [[]]  # gaps[j]: activations after dense layer j (gaps[0]: before the first)
    cur, flat_from = shape, shape
    for idx, m in _walk(module):
        if type(m) in (nn.Linear, nn.Conv1d, nn.Conv2d):
            d = _conv(m, idx, cur) if type(m) is not nn.Linear else _linear(m, idx, cur, flat_from)
            dense.append(d)
            gaps.append([])
            cur = flat_from = d.map_out if d.is_conv else (d.map_out[0],)
            if not d.is_conv:
                flat_from = d.map_out
        elif (act := _activation_name(m, idx)) is not None:
            gaps[-1].append((idx, m, act))
        elif type(m) is nn.Flatten:
            before = cur
            cur = _flatten(m, idx, cur)
            if len(before) > 1:
                flat_from = before
        elif type(m) is nn.Identity:
            continue
        elif isinstance(m, dropouts):
            if m.training and m.p > 0:
                _refuse(idx, m, "is in training mode (random masks); call model.eval() first")
        else:
            _refuse(idx, m, _why_not(m))
    if not dense:
        raise UnsupportedModuleError(f"module has no nn.Linear, nn.Conv1d or nn.Conv2d layer; {_SUPPORTED}")
    return dense, gaps, cur


def _activation(dense, gaps) -> str:
    """The one activation applied after every hidden layer (``"linear"`` when there is none)."""
    if gaps[0]:
        idx, m, _ = gaps[0][0]
        _refuse(idx, m, "comes before the first layer; expected activations only between layers")
    if gaps[-1]:
        idx, m, _ = gaps[-1][0]
        _refuse(idx, m, "comes after the output layer; exacthess applies no activation to the outputs "
                        "(a softmax or sigmoid belongs to the loss: loss='cross_entropy' or 'bce')")
    hidden = gaps[1:-1]
    for g in hidden:
        if len(g) > 1:
            _refuse(g[1][0], g[1][1], f"follows the activation [{g[0][0]}] with no layer in between; expected one "
                                      "activation between consecutive layers")
    found = [g[0] for g in hidden if g]
    for idx, m, act in found[1:]:
        if act != found[0][2]:
            _refuse(idx, m, f"is {act} while [{found[0][0]}] is {found[0][2]}; exacthess applies the same "
                            "activation after every hidden layer")
    if found and len(found) != len(hidden):
        j = next(j for j, g in enumerate(hidden) if not g)
        d = dense[j + 1]
        _refuse(d.index, d.module, f"follows the layer [{dense[j].index}] with no activation in between, while "
                                   f"other hidden layers are followed by {found[0][2]}; expected the same "
                                   "activation after every hidden layer (or none anywhere: a linear network)")
    return found[0][2] if found else "linear"


def _architecture(dense, act: str, shape: tuple, out_shape: tuple) -> Architecture:
    bias = [d.module.bias is not None for d in dense]
    for d, b in zip(dense, bias):
        if b != bias[0]:
            _refuse(d.index, d.module, f"has {'a' if b else 'no'} bias while [{dense[0].index}] has "
                                       f"{'one' if bias[0] else 'none'}; exacthess networks have biases on every "
                                       "layer or on none")
    if len(out_shape) != 1 and math.prod(out_shape[1:]) != 1:
        last = dense[-1]
        _refuse(last.index, last.module, f"outputs shape {out_shape}; expected the network to end in K outputs "
                                         "(end with nn.Flatten() and nn.Linear, or a convolution covering its "
                                         "whole unpadded input)")
    if not any(d.is_conv for d in dense):
        return FCN(dense[0].module.in_features, tuple(d.module.out_features for d in dense[:-1]),
                   dense[-1].module.out_features, bias=bias[0], activation=act)
    last = dense[-1]
    if last.is_conv and (last.kernel != last.map_in[1:] or any(last.padding)):
        _refuse(last.index, last.module, f"is the output layer with kernel {last.kernel} and padding {last.padding} "
                                         f"on a map {last.map_in[1:]}; expected the output layer to cover its whole "
                                         "unpadded input (nn.Flatten() and nn.Linear, or a convolution with kernel "
                                         f"{last.map_in[1:]} and padding 0)")
    hidden = dense[:-1]
    if not hidden:  # one convolution covering its whole input: a fully-connected layer on the flattened sample
        return FCN(math.prod(shape), (), last.map_out[0], bias=bias[0], activation=act)
    nd = len(shape) - 1
    one = (lambda t: t[0]) if nd == 1 else tuple
    return CNN(shape[1] if nd == 1 else tuple(shape[1:]), tuple(d.map_out[0] for d in hidden),
               [one(d.kernel) for d in hidden], dense[-1].map_out[0], in_channels=shape[0],
               strides=[one(d.stride) for d in hidden], paddings=[one(d.padding) for d in hidden],
               bias=bias[0], activation=act)


def _tensor(t, shape, name: str) -> np.ndarray:
    torch = require_torch()
    if t.is_complex() or not t.is_floating_point():
        raise UnsupportedModuleError(f"{name} has dtype {t.dtype}; expected real floating-point weights")
    arr = t.detach().to(device="cpu", dtype=torch.float64).numpy()  # exact: float64 holds every narrower float
    return rational_array(arr.reshape(shape), name)


def _read_architecture(module, shape: tuple):
    dense, gaps, out_shape = _read(module, shape)
    return _architecture(dense, _activation(dense, gaps), shape, out_shape), dense


def _chain(module, shape: tuple):
    """``(arch, dense)`` when ``module`` is a chain the chain reader accepts, or None (the graph reader
    then reads it, :func:`~exacthess.models.torch_graph.graph_from_torch`)."""
    if type(module) is not require_torch().nn.Sequential or len(shape) > 3:
        return None
    try:
        return _read_architecture(module, shape)
    except UnsupportedModuleError:
        return None


def torch_architecture(module, input_shape):
    """The exacthess network a module describes, read from its shapes alone: no weight is read or
    converted, so it sizes the work before any is done (``exacthess verify torch`` estimates its cost
    from it). A chain (see the module doc) is read from its layers' shapes, instantly for any model (on
    torch's ``meta`` device too); any other module is read by one forward pass of torch.fx's trace on
    zeros (:func:`~exacthess.models.torch_graph.graph_architecture`).

    Args and Raises: as :func:`from_torch`.

    >>> import torch.nn as nn  # doctest: +SKIP
    >>> torch_architecture(nn.Sequential(nn.Linear(784, 3000), nn.Linear(3000, 10)), (784,))  # doctest: +SKIP
    FCN(input_dim=784, widths=(3000,), output_dim=10, bias=True)
    """
    chain = _chain(module, module_and_shape(module, input_shape))
    return chain[0] if chain is not None else graph_architecture(module, input_shape)


def _require_values(dense) -> None:
    """Refuse weights without values (torch's ``meta`` device) before any conversion."""
    for d in dense:
        for what in ("weight", "bias"):
            t = getattr(d.module, what, None)
            if t is not None and getattr(t, "is_meta", False):
                raise UnsupportedModuleError(
                    f"module [{d.index}].{what} is on torch's 'meta' device: it has a shape but no values; expected "
                    "weights with values (build the model outside torch.device('meta'), or materialise it with "
                    "model.to_empty(device='cpu') and load its weights with load_state_dict)",
                    index=str(d.index), module=type(d.module).__name__)


def from_torch(module, input_shape, *, check: bool = True):
    """Read a PyTorch module as an exacthess network with exact parameters.

    A chain (an ``nn.Sequential`` of the module doc's form) is an :class:`~exacthess.FCN` or
    :class:`~exacthess.CNN`; any other ``nn.Module`` (mixed activations, pooling, batch normalisation,
    ``nn.Conv3d``, a subclass with its own ``forward``) is a :class:`~exacthess.models.graph.Graph`
    read through torch.fx (:func:`~exacthess.models.torch_graph.graph_from_torch`, whose error, naming
    the module path and type, is raised when it refuses the module too).

    The network is sized from its shapes before any weight is converted: a model whose ``p x p``
    Hessian cannot be held even modulo a prime (:func:`hessian_floor_bytes` against the memory
    budget, 12 GiB or three quarters of the machine's memory, or ``EXACTHESS_MEMORY_LIMIT_GB``) is
    refused at once with the estimate.

    Args:
        module: a ``torch.nn.Module`` (see the module docstring for what it may contain).
        input_shape: one sample's shape as torch sees it: ``(d,)`` for ``nn.Linear`` inputs,
            ``(C, L)`` for ``nn.Conv1d``, ``(C, H, W)`` for ``nn.Conv2d``, ``(C, D, H, W)`` for ``nn.Conv3d``.
        check: compare the exact forward pass with torch's float64 forward on a test input.

    Returns:
        ``(arch, params)``: an :class:`~exacthess.FCN`, :class:`~exacthess.CNN` or
        :class:`~exacthess.models.graph.Graph` and the list of exact parameter arrays (``fmpq``) of
        shapes ``arch.param_shapes()``, ready for ``exacthess.hessian(arch, params=params, ...)``. Data
        ``X`` are the samples flattened channel-major (``x.reshape(n, -1)``, as ``nn.Flatten``).

    Raises:
        MissingDependencyError: torch is not installed (an ``ImportError``).
        InvalidTypeError: ``module`` is not an ``nn.Module``, or ``input_shape`` is not a shape.
        UnsupportedModuleError: a module exacthess cannot express (the message names its index or
            path), weights without values (torch's ``meta`` device), or a failed round-trip check.
        ProblemTooLargeError: the network is too large for any exact Hessian (the message gives
            the estimate); nothing was converted.
    """
    shape = module_and_shape(module, input_shape)
    check = check_bool(check, "check")
    chain = _chain(module, shape)
    if chain is None:
        return graph_from_torch(module, shape, check=check)
    arch, dense = chain
    p = arch.n_params
    require_memory(hessian_floor_bytes(p), f"the Hessian of {arch!r} ({p:,} parameters; one {p:,} x {p:,} matrix "
                   "modulo a prime, the least any exact Hessian computation holds)",
                   "refused before converting any weight; verify holds several such matrices; set "
                   "EXACTHESS_MEMORY_LIMIT_GB to change the limit")
    _require_values(dense)
    shapes, params = iter(arch.param_shapes()), []
    for d in dense:
        params.append(_tensor(d.module.weight, next(shapes), f"module [{d.index}].weight"))
        if d.module.bias is not None:
            params.append(_tensor(d.module.bias, next(shapes), f"module [{d.index}].bias"))
    if check:
        round_trip_check(module, arch, params, shape)
    return arch, params
