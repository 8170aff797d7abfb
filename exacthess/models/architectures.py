"""Architectures: immutable, validated descriptions of linear networks.

Every layer of every network is described by one :class:`ConvLayer`: a 2-D cross-correlation
(as in PyTorch) with ``c_in`` input and ``c_out`` output channels, kernel ``(kh, kw)``,
stride and zero padding, and an optional per-channel bias. A fully-connected layer
``R^n -> R^m`` is the special case of a 1x1 map with ``c_in = n``, ``c_out = m`` and a 1x1
kernel; the last layer of a CNN is a convolution whose kernel covers the whole map. 1-D
convolutions are maps of height 1. So the Hessian engine has one code path.

Vectorisation is channel-major: a feature map ``h[c, y, x]`` is the vector with index
``c * (H * W) + y * W + x``.

Parameter ordering (``FCN`` and ``CNN`` alike): layer by layer from the input; within a layer
the weight tensor ``[c_out, c_in, kh, kw]`` flattened row-major (for an FCN the matrix
``W_l`` of shape ``(m_l, m_{l-1})`` row-major, as ``torch.nn.Linear.weight``), then the bias
``[c_out]``.

>>> net = FCN(25, (5, 10), 10)
>>> net.n_params, net.layer_shapes
(275, ((5, 25), (10, 5), (10, 10)))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..core.errors import InvalidArchitectureError, InvalidTypeError, describe
from ..core.validate import check_bool, check_int, check_option, is_int
from .activations import Activation, activation as parse_activation
from .geometry import ConvLayer

LINEAR = parse_activation("linear")

__all__ = ["ConvLayer", "Architecture", "FCN", "CNN", "from_spec", "check_architecture", "SPEC_KEYS"]


def _check_size(value, name: str, minimum: int = 1) -> int:
    return check_int(value, name, minimum, error=InvalidArchitectureError)


def check_architecture(value, name: str = "arch") -> "Architecture":
    """``value`` if it is an :class:`Architecture`, else :class:`~exacthess.core.errors.InvalidTypeError`."""
    if not isinstance(value, Architecture):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected an "
                               "architecture such as FCN(...) or CNN(...)")
    return value


@dataclass(frozen=True)
class Architecture:
    """A linear network: a chain of :class:`ConvLayer` ending in ``output_dim`` outputs."""

    layers: tuple[ConvLayer, ...] = field(repr=False)
    activation: Activation = field(default=LINEAR, repr=False)

    @property
    def input_dim(self) -> int:
        return self.layers[0].n_in

    @property
    def output_dim(self) -> int:
        return self.layers[-1].n_out

    @property
    def depth(self) -> int:
        """Number of hidden layers L (there are L + 1 weight layers)."""
        return len(self.layers) - 1

    @property
    def bias(self) -> bool:
        return any(layer.bias for layer in self.layers)

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)

    @property
    def layer_param_counts(self) -> tuple[int, ...]:
        return tuple(layer.n_params for layer in self.layers)

    @property
    def layer_offsets(self) -> tuple[int, ...]:
        """Index of each layer's first parameter in the flat parameter vector."""
        return tuple(int(v) for v in np.cumsum((0,) + self.layer_param_counts)[:-1])

    @property
    def hidden_sizes(self) -> tuple[int, ...]:
        """Flattened hidden sizes ``m_l d_l`` (for an FCN the widths)."""
        return tuple(layer.n_out for layer in self.layers[:-1])

    @property
    def live_hidden_sizes(self) -> tuple[int, ...]:
        """Per hidden layer, the number of coordinates that are not identically zero.

        Zero padding can create output positions whose every tap reads padding (a 1x1 kernel
        with padding 1, say): those coordinates are 0 for every input and every parameter.
        A coordinate is *live* when some tap reads a live coordinate of the layer below (the
        input is live; a bias makes every coordinate live). For an FCN these are the widths.

        >>> CNN((1,), (1,), 1, 2, in_channels=2, paddings=1).live_hidden_sizes
        (1,)
        """
        live = np.ones(self.layers[0].n_in, dtype=bool)
        out = []
        for layer in self.layers[:-1]:
            ext = np.concatenate([live, [True, False]])  # index n_in: bias tap; n_in + 1: padding
            pos = ext[layer.sources].any(axis=0)
            live = np.tile(pos, layer.c_out)
            out.append(int(live.sum()))
        return tuple(out)

    def param_shapes(self) -> list[tuple[int, ...]]:
        """Shapes of the ``params`` list: for each layer its weight, then its bias if any."""
        shapes = []
        for layer in self.layers:
            shapes.append(self._weight_shape(layer))
            if layer.bias:
                shapes.append((layer.c_out,))
        return shapes

    def _weight_shape(self, layer: ConvLayer) -> tuple[int, ...]:
        return layer.weight_shape

    def to_spec(self) -> dict:  # pragma: no cover - overridden
        """A plain, JSON-serialisable dict that :func:`from_spec` turns back into this network."""
        raise NotImplementedError

    def _with_activation(self, spec: dict) -> dict:
        if not self.activation.is_linear:
            spec["activation"] = self.activation.name
        return spec

    @staticmethod
    def from_spec(spec: dict) -> "Architecture":
        """The architecture described by ``spec`` (see :func:`from_spec`)."""
        return from_spec(spec)


def _fcn_layer(n_in: int, n_out: int, bias: bool) -> ConvLayer:
    return ConvLayer(c_in=n_in, c_out=n_out, in_shape=(1, 1), kernel=(1, 1), bias=bias)


@dataclass(frozen=True, init=False)
class FCN(Architecture):
    """Fully-connected network ``F(x) = W_{L+1} s(W_L ... s(W_1 x))`` (+ biases).

    Args:
        input_dim: d = d_0 >= 1.
        widths: hidden widths m_1..m_L (ints >= 1); empty for no hidden layer.
        output_dim: K >= 1.
        bias: add a bias to every layer.
        activation: applied after every hidden layer (not after the output layer):
            ``"linear"`` (default), ``"relu"``, ``"leaky_relu(a)"`` or ``"poly(c0, c1, ...)"``
            (see :mod:`exacthess.models.activations`).

    ``W_l`` has shape ``(m_l, m_{l-1})``; the parameter vector is
    ``vec_row(W_1), [b_1], vec_row(W_2), [b_2], ...``.
    """

    input_dim_: int = 0
    widths: tuple[int, ...] = ()
    output_dim_: int = 0
    bias_: bool = False

    def __init__(self, input_dim: int, widths: Sequence[int] = (), output_dim: int = 1,
                 bias: bool = False, activation="linear"):
        d = _check_size(input_dim, "input_dim")
        if is_int(widths):
            widths = (widths,)
        if isinstance(widths, (str, bytes, dict, set)) or not hasattr(widths, "__iter__"):
            raise InvalidTypeError(f"widths = {describe(widths)} has type {type(widths).__name__}; "
                                   "expected a sequence of ints >= 1")
        ws = tuple(_check_size(w, f"widths[{i}]") for i, w in enumerate(widths))
        k = _check_size(output_dim, "output_dim")
        check_bool(bias, "bias")
        sizes = (d,) + ws + (k,)
        layers = tuple(_fcn_layer(sizes[i], sizes[i + 1], bool(bias)) for i in range(len(sizes) - 1))
        for key, value in dict(layers=layers, input_dim_=d, widths=ws, output_dim_=k, bias_=bool(bias),
                               activation=parse_activation(activation)).items():
            object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        act = "" if self.activation.is_linear else f", activation={self.activation.name!r}"
        return (f"FCN(input_dim={self.input_dim_}, widths={self.widths}, "
                f"output_dim={self.output_dim_}, bias={self.bias_}{act})")

    @property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        """Shapes ``(m_l, m_{l-1})`` of the weight matrices."""
        return tuple((layer.c_out, layer.c_in) for layer in self.layers)

    def _weight_shape(self, layer: ConvLayer) -> tuple[int, ...]:
        return (layer.c_out, layer.c_in)

    def to_spec(self) -> dict:
        """``{"family": "fcn", "input_dim", "widths", "output_dim", "bias"}``.

        >>> FCN(3, (2,), 1).to_spec()
        {'family': 'fcn', 'input_dim': 3, 'widths': [2], 'output_dim': 1, 'bias': False}
        """
        spec = {"family": "fcn", "input_dim": self.input_dim_, "widths": list(self.widths),
                "output_dim": self.output_dim_, "bias": self.bias_}
        return self._with_activation(spec)


def _per_layer(value, n: int, name: str, dims: int, minimum: int) -> list[tuple[int, int]]:
    """Broadcast an int, a per-dimension tuple or a per-layer sequence to ``n`` 2-tuples.

    A list or tuple with one entry per layer is read per layer (in 2-D with two layers,
    ``(3, 3)`` means kernel 3 in both layers, which is the same thing)."""
    head = 1 if minimum >= 1 else 0  # 1-D maps have height 1: kernel/stride 1, padding 0

    def one(v, where):
        if is_int(v):
            v = _check_size(v, where, minimum)
            return (head, v) if dims == 1 else (v, v)
        want = f"an int >= {minimum}" + ("" if dims == 1 else f" or a tuple of {dims} ints")
        if not isinstance(v, (tuple, list)):
            raise InvalidTypeError(f"{where} = {describe(v)} has type {type(v).__name__}; expected {want}")
        if len(v) == dims:
            vals = tuple(_check_size(x, f"{where}[{j}]", minimum) for j, x in enumerate(v))
            return (head,) + vals if dims == 1 else vals
        raise InvalidArchitectureError(f"{where} = {describe(v)} has {len(v)} entries; expected {want}")
    per_layer = isinstance(value, list) or (
        isinstance(value, tuple) and len(value) == n
        and not (dims == 2 and len(value) == 2 and all(is_int(v) for v in value) and n != 2))
    if dims == 1 and isinstance(value, tuple) and len(value) == 1 and n != 1:
        per_layer = False
    if per_layer:
        if len(value) != n:
            raise InvalidArchitectureError(
                f"{name} = {describe(value)} has {len(value)} entries; expected one per hidden layer ({n})"
            )
        return [one(v, f"{name}[{i}]") for i, v in enumerate(value)]
    return [one(value, name)] * n


@dataclass(frozen=True, init=False)
class CNN(Architecture):
    """CNN: ``L`` convolutions, each followed by the activation, then a fully-connected output layer.

    Args:
        input_shape: ``(d0,)`` for 1-D or ``(h, w)`` for 2-D inputs.
        channels: output channels ``m_1..m_L`` of the hidden convolutions.
        kernel_sizes: one per hidden layer (int, or ``(kh, kw)`` in 2-D), or a single value.
        output_dim: K.
        in_channels: m_0.
        strides, paddings: int, or one per layer (ints or per-dimension tuples).
        bias: per-channel biases on every layer (the output layer included).
        activation: applied after every hidden convolution (see :class:`FCN`).

    Spatial sizes follow ``d_l = (d_{l-1} - k_l + 2 pad_l) // stride_l + 1``.
    """

    input_shape: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    kernel_sizes: tuple = ()
    output_dim_: int = 0
    in_channels: int = 1
    strides: tuple = ()
    paddings: tuple = ()
    bias_: bool = False

    def __init__(self, input_shape, channels, kernel_sizes, output_dim, in_channels=1,
                 strides=1, paddings=0, bias=False, activation="linear"):
        if is_int(input_shape):
            input_shape = (input_shape,)
        if not isinstance(input_shape, (tuple, list)):
            raise InvalidTypeError(f"input_shape = {describe(input_shape)} has type {type(input_shape).__name__}; "
                                   "expected (d0,) or (h, w)")
        if len(input_shape) not in (1, 2):
            raise InvalidArchitectureError(f"input_shape = {describe(input_shape)} has {len(input_shape)} entries; "
                                           "expected (d0,) or (h, w)")
        dims = len(input_shape)
        shape = tuple(_check_size(v, f"input_shape[{i}]") for i, v in enumerate(input_shape))
        if is_int(channels):
            channels = (channels,)
        if isinstance(channels, (str, bytes, dict, set)) or not hasattr(channels, "__iter__"):
            raise InvalidTypeError(f"channels = {describe(channels)} has type {type(channels).__name__}; "
                                   "expected a sequence of ints >= 1 (one per hidden convolution)")
        chans = tuple(_check_size(c, f"channels[{i}]") for i, c in enumerate(channels))
        L = len(chans)
        if not L:
            head = "is empty; expected at least one hidden convolution (a network without hidden layers is fully "
            raise InvalidArchitectureError(
                f"channels = {describe(channels)} {head}connected: FCN(in_channels * prod(input_shape), (), output_dim))",
                cli=f"--channels '' {head}connected: exacthess verify fcn --input-dim <in-channels x input size>)")
        ks = _per_layer(kernel_sizes, L, "kernel_sizes", dims, 1)
        ss = _per_layer(strides, L, "strides", dims, 1)
        ps = _per_layer(paddings, L, "paddings", dims, 0)
        k = _check_size(output_dim, "output_dim")
        m0 = _check_size(in_channels, "in_channels")
        check_bool(bias, "bias")
        hw = (1,) + shape if dims == 1 else shape
        layers = []
        c_prev = m0
        for i in range(L):
            kern, st, pad = ks[i], ss[i], ps[i]
            for a in range(2):
                padded = hw[a] + 2 * pad[a]
                if kern[a] > padded:
                    axis = "" if dims == 1 else (" (height)" if a == 0 else " (width)")
                    raise InvalidArchitectureError(
                        f"layer {i + 1}: kernel size {kern[a] if dims == 2 else kern[1]}{axis} is larger than the "
                        f"padded input {padded} (input {hw[a]} + 2 x padding {pad[a]}); expected a kernel "
                        f"no larger than the padded input"
                    )
            layer = ConvLayer(c_prev, chans[i], hw, kern, st, pad, bool(bias))
            layers.append(layer)
            hw = layer.out_shape
            c_prev = chans[i]
        layers.append(ConvLayer(c_prev, k, hw, hw, (1, 1), (0, 0), bool(bias)))
        def plain(vals):  # 1-D layers are stored with height 1; the attributes show the 1-D values
            return tuple(v if dims == 2 else v[1] for v in vals)
        for key, value in dict(layers=tuple(layers), input_shape=shape, channels=chans, kernel_sizes=plain(ks),
                               output_dim_=k, in_channels=m0, strides=plain(ss), paddings=plain(ps),
                               bias_=bool(bias), activation=parse_activation(activation)).items():
            object.__setattr__(self, key, value)

    def __repr__(self) -> str:
        act = "" if self.activation.is_linear else f", activation={self.activation.name!r}"
        return (f"CNN(input_shape={self.input_shape}, channels={self.channels}, "
                f"kernel_sizes={self.kernel_sizes}, output_dim={self.output_dim_}, "
                f"in_channels={self.in_channels}, strides={self.strides}, "
                f"paddings={self.paddings}, bias={self.bias_}{act})")

    @property
    def spatial_sizes(self) -> tuple[int, ...]:
        """``d_0, d_1, ..., d_L`` (products h*w in 2-D)."""
        return (self.layers[0].in_shape[0] * self.layers[0].in_shape[1],) + tuple(
            l.out_shape[0] * l.out_shape[1] for l in self.layers[:-1])

    def _weight_shape(self, layer: ConvLayer) -> tuple[int, ...]:
        if len(self.input_shape) == 1:
            return (layer.c_out, layer.c_in, layer.kernel[1])
        return layer.weight_shape

    def to_spec(self) -> dict:
        """``{"family": "cnn", "input_shape", "channels", "kernel_sizes", "output_dim",
        "in_channels", "strides", "paddings", "bias"}`` (per-layer lists; 2-D entries as pairs).

        >>> CNN((8,), (2,), 3, 1, paddings=1).to_spec()["paddings"]
        [1]
        """
        def plain(vals):
            return [list(v) if isinstance(v, tuple) else v for v in vals]
        spec = {"family": "cnn", "input_shape": list(self.input_shape), "channels": list(self.channels),
                "kernel_sizes": plain(self.kernel_sizes), "output_dim": self.output_dim_,
                "in_channels": self.in_channels, "strides": plain(self.strides),
                "paddings": plain(self.paddings), "bias": self.bias_}
        return self._with_activation(spec)


#: keys of an architecture spec, per family (``family`` itself is always required)
SPEC_KEYS = {
    "fcn": ("input_dim", "widths", "output_dim", "bias", "activation"),
    "cnn": ("input_shape", "channels", "kernel_sizes", "output_dim", "in_channels", "strides", "paddings", "bias",
            "activation"),
}


def from_spec(spec: dict) -> Architecture:
    """Build an architecture from a plain dict (the inverse of ``to_spec()``).

    >>> from_spec({"family": "fcn", "input_dim": 4, "widths": [3], "output_dim": 2})
    FCN(input_dim=4, widths=(3,), output_dim=2, bias=False)
    """
    if not isinstance(spec, dict):
        raise InvalidTypeError(f"spec = {describe(spec)} has type {type(spec).__name__}; "
                               "expected a dict such as FCN(...).to_spec()")
    if isinstance(spec.get("family"), str) and spec["family"] == "graph":
        from .graph import Graph
        return Graph.from_spec(spec)
    family = check_option(spec.get("family"), "spec['family']", tuple(SPEC_KEYS) + ("graph",))
    known = SPEC_KEYS[family]
    unknown = sorted(set(spec) - set(known) - {"family"})
    if unknown:
        raise InvalidArchitectureError(
            f"spec has unknown key(s) {', '.join(map(repr, unknown))} for family {family!r}; "
            f"expected keys among {', '.join(known)}")
    args = {k: v for k, v in spec.items() if k != "family"}

    def tuples(v):
        return [tuple(x) if isinstance(x, list) else x for x in v] if isinstance(v, list) else v
    if family == "fcn":
        return FCN(**args)
    for key in ("input_shape", "channels"):
        if isinstance(args.get(key), list):
            args[key] = tuple(args[key])
    for key in ("kernel_sizes", "strides", "paddings"):
        if key in args:
            args[key] = tuples(args[key])
    missing = [k for k in ("input_shape", "channels", "kernel_sizes", "output_dim") if k not in args]
    if missing:
        raise InvalidArchitectureError(f"spec is missing key(s) {', '.join(missing)}; expected them for a CNN")
    return CNN(**args)
