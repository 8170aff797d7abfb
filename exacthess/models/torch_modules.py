r"""What :func:`~exacthess.models.torch_graph.graph_from_torch` reads: one converter per torch operation.

Each converter turns one call of a ``torch.nn`` module (or of the function of the same meaning,
``F.max_pool2d`` for ``nn.MaxPool2d``) on a per-sample input of shape ``shape`` into the ``op`` and
``attrs`` of a :class:`~exacthess.models.graph.Node`, or None when the call is the identity
(``nn.Identity``, eval-mode dropout), or refuses it with
:class:`~exacthess.core.errors.UnsupportedModuleError` naming the module path and type, what is
not supported and what is (:data:`SUPPORTED`).

**Batch normalisation** (eval mode, running statistics) is
:math:`y = w_c\,(x - \mu_c)\,s_c + b_c` with :math:`s_c` a rational stand-in of
:math:`1/\sqrt{\mathrm{var}_c + \varepsilon}` (:func:`~exacthess.models.standins.inv_sqrt`: exact
when :math:`\mathrm{var}_c + \varepsilon` is the square of a rational, otherwise within
:math:`2^{-64}` relatively); ``eps`` is a Python float and its exact binary value is used. The node
records the bound in ``attrs["standin_rel_error"]`` (0 or :math:`2^{-64}`): Hessians are exact
*at the stand-in*.

>>> sorted(MODULES)[:4]
['AdaptiveAvgPool1d', 'AdaptiveAvgPool2d', 'AdaptiveAvgPool3d', 'AlphaDropout']
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from flint import fmpq

from ..core.errors import UnsupportedModuleError, describe
from ..core.exact import rational_array, to_rational
from .standins import STANDIN_BITS, inv_sqrt
from .torch_check import require_torch

__all__ = ["SUPPORTED", "MODULES", "Site", "refuse", "why_not", "exact_tensor", "convert_module",
           "call_args", "CALL_ARGS", "check_module", "one_line", "function_name", "function_table", "METHODS"]

#: what :func:`~exacthess.models.torch_graph.graph_from_torch` reads
SUPPORTED = ("nn.Linear", "nn.Conv1d/2d/3d (stride, zero or circular padding, 'same' when symmetric, dilation, groups)",
             "nn.ReLU", "nn.LeakyReLU", "nn.BatchNorm1d/2d/3d (eval mode)", "nn.MaxPool1d/2d/3d",
             "nn.AvgPool1d/2d/3d", "nn.AdaptiveAvgPool1d/2d/3d (output size dividing the input)", "nn.Flatten",
             "nn.Identity", "dropout in eval mode", "nested nn.Sequential", "x + y", "torch.relu / F.relu",
             "F.leaky_relu", "F.max_pool*d / F.avg_pool*d / F.adaptive_avg_pool*d", "torch.flatten",
             "x.view / x.reshape / x.flatten keeping the batch axis first",
             "nn.MultiheadAttention (self-attention, batch_first=True, constant causal attn_mask)",
             "a @ b / torch.matmul / torch.bmm of (batch, m, k) and (batch, k, n) tensors",
             "x.transpose(1, 2) / x.mT", "softmax(dim=-1) / nn.Softmax(dim=-1) of (batch, T, S) scores",
             "x * c / x / c for a constant c", "masked_fill with a constant causal mask (-inf before softmax, or 0)",
             "scores + a constant additive causal mask (-inf at j > i, 0 elsewhere) before softmax",
             "torch.cat(dim=-1)", "F.scaled_dot_product_attention")
_SUPPORTED = "supported: " + ", ".join(SUPPORTED)
_CLI_SPELLING = {"loss='cross_entropy' or 'bce'": "--loss cross_entropy or --loss bce",
                 "loss='cross_entropy(T)' (per token; T the number of tokens) or loss='cross_entropy'":
                 "--loss 'cross_entropy(T)' (per token; T the number of tokens) or --loss cross_entropy"}
_BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
_DROPOUTS = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")


@dataclass(frozen=True)
class Site:
    """Where an operation comes from: ``kind`` ("module", "call" or "parameter"), ``index`` (the module path
    or torch.fx node name), ``text`` (its description) and ``type`` (the module or function name)."""

    kind: str
    index: str
    text: str
    type: str

    @property
    def where(self) -> str:
        return f"{self.index} {self.type}".strip()

    @property
    def place(self) -> str:
        """``module [path]``, ``call [node]``; the top-level module (path ``""``) is "the top-level module"."""
        return "the top-level module" if self.kind == "module" and not self.index else f"{self.kind} [{self.index}]"

    def attribute(self, name: str) -> str:
        """How messages name an attribute of the site: ``module [path].eps``, ``the top-level module's eps``."""
        return f"{self.place}'s {name}" if self.kind == "module" and not self.index else f"{self.place}.{name}"


def refuse(site: Site, what: str):
    """Raise :class:`UnsupportedModuleError` for ``site``: ``<kind> [<index>] <text> <what>; supported: ...``
    (``the top-level module <text> ...`` for the module at path ``""``)."""
    msg = f"{site.place} {site.text} {what}; {_SUPPORTED}"
    cli = msg
    for python, command_line in _CLI_SPELLING.items():
        cli = cli.replace(python, command_line)
    raise UnsupportedModuleError(msg, index=site.index, module=site.type, cli=cli if cli != msg else None)


def why_not(m) -> str:
    """Why a ``torch.nn`` module outside :data:`MODULES` is refused."""
    where = type(m).__module__
    if any(type(p).__name__.startswith("Uninitialized") for p in m.parameters(recurse=False)):
        return "has uninitialised (lazy) parameters; run one forward pass before converting it"
    if where.endswith("activation"):
        return ("is an activation exacthess does not read from torch (ReLU and LeakyReLU are; polynomials are "
                "activation='poly(...)' of FCN/CNN; a final softmax or sigmoid belongs to the loss: "
                "loss='cross_entropy' or 'bce')")
    if where.endswith(("batchnorm", "normalization", "instancenorm")):
        return "is a normalisation exacthess does not express (eval-mode BatchNorm1d/2d/3d is)"
    if where.endswith("rnn"):
        return "is a recurrent layer, which exacthess graphs do not have"
    if where.endswith("pooling"):
        return "is a pooling layer exacthess does not express (max, average and evenly dividing adaptive average are)"
    return "is not supported"


def exact_tensor(t, name: str) -> np.ndarray:
    """The entries of a real floating-point tensor as exact rationals (float64 holds every narrower float)."""
    torch = require_torch()
    if t.is_complex() or not t.is_floating_point():
        raise UnsupportedModuleError(f"{name} has dtype {t.dtype}; expected real floating-point values")
    return rational_array(t.detach().to(device="cpu", dtype=torch.float64).numpy(), name)


def _tuple(v, n: int) -> tuple:
    return tuple(int(x) for x in v) if isinstance(v, (tuple, list)) else (int(v),) * n


def _spatial(site: Site, shape: tuple, nd: int, what: str) -> None:
    if len(shape) != nd + 1:
        want = ("(C, L)", "(C, H, W)", "(C, D, H, W)")[nd - 1]
        refuse(site, f"receives per-sample shape {shape}; expected {want}{what}")


def _linear(m, site, shape, nd):
    if not shape or shape[-1] != m.in_features:
        hint = " (add nn.Flatten() before it)" if len(shape) > 1 else ""
        refuse(site, f"receives per-sample shape {shape}; expected ({m.in_features},) or (..., {m.in_features}): "
                     f"nn.Linear acts on the last axis{hint}")
    return "linear", dict(out_features=m.out_features, bias=m.bias is not None)


def _conv(m, site, shape, nd):
    _spatial(site, shape, nd, f" with C = in_channels = {m.in_channels}")
    if shape[0] != m.in_channels:
        refuse(site, f"receives per-sample shape {shape}; expected C = in_channels = {m.in_channels} channels first")
    if m.padding_mode not in ("zeros", "circular"):
        refuse(site, f"has padding_mode = {m.padding_mode!r}; expected 'zeros' or 'circular'")
    k, s, d = tuple(m.kernel_size), tuple(m.stride), tuple(m.dilation)
    if m.padding == "valid":
        p = (0,) * nd
    elif m.padding == "same":
        p = []
        for a in range(nd):
            total = d[a] * (k[a] - 1)
            if total % 2:
                refuse(site, f"has padding = 'same' with the even kernel size {k[a]} (dilation {d[a]}): torch pads "
                             f"{total // 2} before and {total - total // 2} after, while exacthess pads symmetrically; "
                             "expected an odd kernel or an explicit int padding")
            p.append(total // 2)
        p = tuple(p)
    else:
        p = tuple(m.padding)
    for a in range(nd):
        if shape[1 + a] + 2 * p[a] < d[a] * (k[a] - 1) + 1:
            refuse(site, f"has (dilated) kernel size {d[a] * (k[a] - 1) + 1} larger than its padded input "
                         f"{shape[1 + a]} + 2 x {p[a]}; expected a kernel no larger than the padded input")
    return "conv", dict(out_channels=m.out_channels, kernel=k, stride=s, padding=p, dilation=d, groups=m.groups,
                        padding_mode=m.padding_mode, bias=m.bias is not None)


def _relu(m, site, shape, nd):
    return "act", dict(activation="relu")


def _leaky(m, site, shape, nd):
    a = to_rational(m.negative_slope, site.attribute("negative_slope"))  # a float: its exact binary value
    return "act", dict(activation="relu" if a == 0 else f"leaky_relu({a})")


def _identity(m, site, shape, nd):
    return None


def _dropout(m, site, shape, nd):
    if m.training and m.p > 0:
        refuse(site, "is in training mode (random masks); " + (
            "pass training=self.training (F.dropout defaults to training=True, even in eval mode) or p=0"
            if site.kind == "call" else "call model.eval() first"))
    return None


def _flatten(m, site, shape, nd):
    r = len(shape) + 1
    start, end = m.start_dim % r, m.end_dim % r
    if start == 0:
        refuse(site, f"has start_dim = {m.start_dim}, which merges the batch dimension; expected start_dim = 1")
    new = shape[:start - 1] + (math.prod(shape[start - 1:end]),) + shape[end:] if end >= start else shape
    return "reshape", dict(shape=new)


def _pool_common(m, site, shape, nd):
    _spatial(site, shape, nd, "")
    if getattr(m, "ceil_mode", False):
        refuse(site, "has ceil_mode = True; expected ceil_mode = False (torch's floor mode)")
    k = _tuple(m.kernel_size, nd)
    s = m.stride
    s = k if s is None or (isinstance(s, (tuple, list)) and not s) else _tuple(s, nd)
    p = _tuple(m.padding, nd)
    if any(2 * pp > kk for pp, kk in zip(p, k)):
        refuse(site, f"has padding {p} above half the kernel {k}; expected padding <= kernel / 2")
    return k, s, p


def _maxpool(m, site, shape, nd):
    k, s, p = _pool_common(m, site, shape, nd)
    if getattr(m, "return_indices", False):
        refuse(site, "has return_indices = True; expected one tensor out")
    return "maxpool", dict(kernel=k, stride=s, padding=p, dilation=_tuple(m.dilation, nd))


def _avgpool(m, site, shape, nd):
    k, s, p = _pool_common(m, site, shape, nd)
    if not getattr(m, "count_include_pad", True) and any(p):
        refuse(site, "has count_include_pad = False with padding; expected count_include_pad = True (torch's default: "
                     "every window divided by the kernel size)")
    if getattr(m, "divisor_override", None) is not None:
        refuse(site, f"has divisor_override = {m.divisor_override}; expected None")
    return "avgpool", dict(kernel=k, stride=s, padding=p)


def _adaptive(m, site, shape, nd):
    _spatial(site, shape, nd, "")
    out = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,) * nd
    out = tuple(shape[1 + a] if o is None else int(o) for a, o in enumerate(out))
    if any(n % o for n, o in zip(shape[1:], out)):
        refuse(site, f"has output size {out} not dividing the input {shape[1:]} (torch's windows then differ in size); "
                     "expected an output size dividing the input")
    k = tuple(n // o for n, o in zip(shape[1:], out))
    return "avgpool", dict(kernel=k, stride=k, padding=(0,) * nd)


def _batchnorm(m, site, shape, nd):
    ranks = (1, 2) if nd == 1 else (nd + 1,)
    if len(shape) not in ranks or shape[0] != m.num_features:
        refuse(site, f"receives per-sample shape {shape}; expected {m.num_features} channels first and "
                     f"{' or '.join(map(str, ranks))} axes")
    if m.training:
        refuse(site, "is a batch normalisation in training mode (it normalises by the batch's statistics and "
                     "updates its running statistics); call model.eval() first")
    if m.running_mean is None or m.running_var is None:
        refuse(site, "has no running statistics (track_running_stats=False): it normalises by the batch's statistics "
                     "even in eval mode; expected running statistics")
    C = m.num_features
    if m.running_mean.is_meta or m.running_var.is_meta:  # shapes only (sizing): placeholders
        mean, var = [fmpq(0)] * C, [fmpq(1)] * C
    else:
        mean = list(exact_tensor(m.running_mean, site.attribute("running_mean")))
        var = list(exact_tensor(m.running_var, site.attribute("running_var")))
    eps = to_rational(m.eps, site.attribute("eps"))
    if any(v + eps <= 0 for v in var):
        refuse(site, "has running_var + eps <= 0 in some channel; expected a positive variance")
    scale = [inv_sqrt(v + eps) for v in var]
    exact = all(r * r * (v + eps) == 1 for r, v in zip(scale, var))
    return "batchnorm", dict(mean=tuple(mean), scale=tuple(scale), affine=bool(m.affine), eps=eps,
                             standin_rel_error=fmpq(0) if exact else fmpq(1, 2 ** STANDIN_BITS))


def _table() -> dict:
    out = {"Linear": (_linear, 0), "ReLU": (_relu, 0), "LeakyReLU": (_leaky, 0), "Identity": (_identity, 0),
           "Flatten": (_flatten, 0)}
    out.update({name: (_dropout, 0) for name in _DROPOUTS})
    for nd in (1, 2, 3):
        out.update({f"Conv{nd}d": (_conv, nd), f"MaxPool{nd}d": (_maxpool, nd), f"AvgPool{nd}d": (_avgpool, nd),
                    f"AdaptiveAvgPool{nd}d": (_adaptive, nd), f"BatchNorm{nd}d": (_batchnorm, nd)})
    return out


#: ``torch.nn`` class name -> (converter, spatial dimensions)
MODULES = _table()

#: the arguments after the input of the functions of ``torch.nn.functional`` read like modules, with defaults
CALL_ARGS = {
    "max_pool": (("kernel_size", None), ("stride", None), ("padding", 0), ("dilation", 1), ("ceil_mode", False),
                 ("return_indices", False)),
    "avg_pool": (("kernel_size", None), ("stride", None), ("padding", 0), ("ceil_mode", False),
                 ("count_include_pad", True), ("divisor_override", None)),
    "adaptive_avg_pool": (("output_size", None),),
    "flatten": (("start_dim", 0), ("end_dim", -1)),
    "relu": (("inplace", False),),
    "leaky_relu": (("negative_slope", 0.01), ("inplace", False)),
    "dropout": (("p", 0.5), ("training", True), ("inplace", False)),
    "alpha_dropout": (("p", 0.5), ("training", False), ("inplace", False)),
}
_CALLS = {"max_pool": _maxpool, "avg_pool": _avgpool, "adaptive_avg_pool": _adaptive, "flatten": _flatten,
          "relu": _relu, "leaky_relu": _leaky, "dropout": _dropout, "alpha_dropout": _dropout}


def call_args(kind: str, args: tuple, kwargs: dict, site: Site):
    """A module-like record (attributes named as the module's) of the arguments of a call
    ``f(x, *args, **kwargs)`` of the function ``kind`` (:data:`CALL_ARGS`)."""
    names = CALL_ARGS[kind]
    if len(args) > len(names) or set(kwargs) - {n for n, _ in names}:
        refuse(site, f"has arguments {describe(args)} {describe(kwargs)}; expected those of torch's {kind}")
    vals = {n: d for n, d in names}
    vals.update(zip((n for n, _ in names), args))
    vals.update(kwargs)
    return type("CallArgs", (), vals)()


def check_module(module) -> None:
    """Refuse lazy (uninitialised) parameters, buffers of ``torch.nn`` modules other than batch
    normalisation's running statistics, and one ``Parameter`` under two names (tied weights), naming
    the module. (A buffer of a module with its own forward is a constant of the trace, which the
    reader accepts only as a causal mask or a scalar factor.)"""
    for path, m in module.named_modules():
        if any(type(p).__name__.startswith("Uninitialized") for p in m.parameters(recurse=False)):
            refuse(Site("module", path, describe(m), type(m).__name__), why_not(m))
    first = {}
    for path, m in module.named_modules(remove_duplicate=False):
        if id(m) in first and any(True for _ in m.parameters(recurse=False)):
            refuse(Site("module", path, describe(m), type(m).__name__),
                   f"is the same module as [{first[id(m)]}]: its weights are shared (tied); expected a separate module "
                   "per layer (exacthess gives every layer its own parameters)")
        first.setdefault(id(m), path)
    for name, _ in module.named_buffers():
        path, _, kind = name.rpartition(".")
        m = module.get_submodule(path)
        if type(m).__module__.startswith("torch.nn") and not (type(m).__name__ in MODULES and type(m).__name__.startswith("BatchNorm") and kind in _BN_BUFFERS):
            refuse(Site("module", path, describe(m), type(m).__name__),
                   f"has the buffer {kind!r}; expected buffers of torch.nn modules only as batch normalisation's "
                   "running statistics")
    seen = {}
    for name, p in module.named_parameters(remove_duplicate=False):
        if id(p) in seen:
            path = name.rpartition(".")[0]
            m = module.get_submodule(path)
            refuse(Site("module", path, describe(m), type(m).__name__),
                   f"has the parameter {name!r}, the same tensor as {seen[id(p)]!r} (tied weights); expected a "
                   "separate parameter per layer (exacthess gives every layer its own parameters)")
        seen[id(p)] = name


def one_line(exc: Exception) -> str:
    """``Type: first line`` of an exception's message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def function_name(target, torch) -> str:
    """``torch.nn.functional.relu``, ``torch.add``, ``operator.add``: the name of a torch.fx call target."""
    name = getattr(target, "__name__", str(target))
    for where, space in (("torch.nn.functional", torch.nn.functional), ("torch", torch)):
        if getattr(space, name, None) is target:
            return f"{where}.{name}"
    mod = getattr(target, "__module__", None) or ""
    return f"{'operator' if mod == '_operator' else mod}.{name}".lstrip(".")


def function_table(torch) -> dict:
    """``{function: (kind of CALL_ARGS, spatial dimensions)}`` of the ``torch`` functions read like modules."""
    F = torch.nn.functional
    table = {F.relu: ("relu", 0), torch.relu: ("relu", 0), F.leaky_relu: ("leaky_relu", 0),
             torch.flatten: ("flatten", 0)}
    for nd in (1, 2, 3):
        table.update({getattr(F, f"max_pool{nd}d"): ("max_pool", nd), getattr(F, f"avg_pool{nd}d"): ("avg_pool", nd),
                      getattr(F, f"adaptive_avg_pool{nd}d"): ("adaptive_avg_pool", nd)})
    for name in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"):
        if hasattr(F, name):
            table[getattr(F, name)] = ("alpha_dropout" if "alpha" in name else "dropout", 0)
    return table


#: ``Tensor`` methods read like modules, by kind of :data:`CALL_ARGS`
METHODS = {"relu": "relu", "relu_": "relu", "flatten": "flatten"}


def convert_module(m, site: Site, shape: tuple, kind: str | None = None, nd: int = 0):
    """``(op, attrs)`` of one call of module ``m`` (or of the function ``kind`` of :data:`CALL_ARGS`, its
    arguments read by :func:`call_args`) on a per-sample input of shape ``shape``, or None for the identity.

    Raises:
        UnsupportedModuleError: an operation or setting exacthess cannot express (naming ``site``).
    """
    if kind is not None:
        return _CALLS[kind](m, site, shape, nd)
    converter, nd = MODULES[type(m).__name__]
    return converter(m, site, shape, nd)
