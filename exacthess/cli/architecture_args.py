"""Architecture options shared by every command that takes one (``verify fcn|cnn``, ``prove generic fcn|cnn``).

``add_fcn_options(p)`` / ``add_cnn_options(p)`` add the options that describe the network;
``arch_from_args(args, family)`` builds the :class:`~exacthess.models.architectures.FCN` or
:class:`~exacthess.models.architectures.CNN` they describe (``--bias`` and, where the command has it,
``--activation`` included). Bad values raise :class:`~exacthess.core.errors.InvalidArchitectureError`
naming the option, which the command line prints as one line.
"""

from __future__ import annotations

import argparse

from ..core.errors import InvalidArchitectureError

__all__ = ["parse_ints", "add_fcn_options", "add_cnn_options", "arch_from_args"]


def parse_ints(text: str, name: str) -> list:
    """``"5,10"`` -> ``[5, 10]``; ``"3x2,1x1"`` -> ``[(3, 2), (1, 1)]``; ``""`` -> ``[]``.

    >>> parse_ints("5,10", "--widths"), parse_ints("3x2,1x1", "--kernel-sizes")
    ([5, 10], [(3, 2), (1, 1)])
    """
    text = text.strip().strip('"').strip("'")
    if not text:
        return []
    out = []
    for part in text.split(","):
        part = part.strip()
        try:
            out.append(tuple(int(v) for v in part.split("x")) if "x" in part else int(part))
        except ValueError:
            raise InvalidArchitectureError(f"{name} = {text!r} is not valid; expected comma-separated integers "
                                           "(e.g. 5,10) or per-dimension pairs like 3x2") from None
    return out


def add_fcn_options(p: argparse.ArgumentParser) -> None:
    """``--input-dim``, ``--widths``, ``--output-dim``."""
    p.add_argument("--input-dim", type=int, required=True, help="input dimension d")
    p.add_argument("--widths", type=str, default="", help="hidden widths, comma-separated (empty: no hidden layer)")
    p.add_argument("--output-dim", type=int, required=True, help="output dimension K")


def add_cnn_options(p: argparse.ArgumentParser) -> None:
    """``--input-shape``, ``--channels``, ``--kernel-sizes``, ``--output-dim``, ``--in-channels``,
    ``--strides``, ``--paddings``."""
    p.add_argument("--input-shape", type=str, required=True, help="d0 (1-D) or HxW (2-D)")
    p.add_argument("--channels", type=str, required=True, help="filters per hidden layer, comma-separated")
    p.add_argument("--kernel-sizes", type=str, required=True, help="kernel size per layer (k or KHxKW), comma-separated")
    p.add_argument("--output-dim", type=int, required=True, help="output dimension K")
    p.add_argument("--in-channels", type=int, default=1, help="input channels m_0 (default 1)")
    p.add_argument("--strides", type=str, default="1", help="stride per layer (default 1)")
    p.add_argument("--paddings", type=str, default="0", help="zero padding per layer (default 0)")


def arch_from_args(args: argparse.Namespace, family: str):
    """The ``family`` (``"fcn"`` or ``"cnn"``) architecture described by parsed options.

    >>> ns = argparse.Namespace(input_dim=4, widths="3", output_dim=2, bias=True)
    >>> arch_from_args(ns, "fcn")
    FCN(input_dim=4, widths=(3,), output_dim=2, bias=True)
    """
    from ..models.architectures import CNN, FCN
    activation = getattr(args, "activation", "linear")
    if family == "fcn":
        return FCN(args.input_dim, parse_ints(args.widths, "--widths"), args.output_dim, bias=args.bias,
                   activation=activation)
    shape = parse_ints(args.input_shape.replace(",", "x"), "--input-shape")
    if not shape:
        raise InvalidArchitectureError("--input-shape = '' is not valid; expected d0 or HxW")
    shape = shape[0] if isinstance(shape[0], tuple) else tuple(shape)

    def per_layer(text, name):
        vals = parse_ints(text, name)
        return vals[0] if len(vals) == 1 else list(vals)
    return CNN(shape, tuple(parse_ints(args.channels, "--channels")), per_layer(args.kernel_sizes, "--kernel-sizes"),
               args.output_dim, in_channels=args.in_channels, strides=per_layer(args.strides, "--strides"),
               paddings=per_layer(args.paddings, "--paddings"), bias=args.bias, activation=activation)


def add_transformer_options(p) -> None:
    """The options of ``exacthess verify transformer`` (:func:`exacthess.models.attention.transformer_block`)."""
    p.add_argument("--width", type=int, required=True, help="model width d (each token's size)")
    p.add_argument("--tokens", type=int, required=True, help="tokens per sequence T")
    p.add_argument("--heads", type=int, default=1, help="attention heads (default 1)")
    p.add_argument("--d-k", type=int, default=None, help="query/key width per head (default d / heads)")
    p.add_argument("--d-v", type=int, default=None, help="value width per head (default d / heads)")
    p.add_argument("--attention", default="softmax", metavar="{softmax,linear}",
                   help="softmax (default; values are rational stand-ins within 2^-64) or linear (no softmax)")
    p.add_argument("--scale", default=None, metavar="RATIONAL",
                   help="score scale, a rational such as 1/2 (default 1/sqrt(d_k), or its stand-in within 2^-64)")
    p.add_argument("--causal", action="store_true", help="mask the entries j > i (causal attention)")
    p.add_argument("--no-out-proj", action="store_true", help="no output projection W_O")
    p.add_argument("--residual", action="store_true", help="residual connections around attention (and the FFN)")
    p.add_argument("--ffn", default=None, metavar="ACT",
                   help="add a feed-forward block with this activation (linear, relu, leaky_relu(a), poly(...))")
    p.add_argument("--ffn-width", type=int, default=None, help="feed-forward width (default 4 d)")
    p.add_argument("--output-dim", type=int, default=None, help="per-token read-out width (default: none)")
    p.add_argument("--bias", action="store_true", help="biases on every projection")


def transformer_from_args(args):
    """The :func:`~exacthess.models.attention.transformer_block` graph of parsed ``verify transformer`` options."""
    from ..core.errors import InvalidArchitectureError
    from ..core.validate import check_int
    from ..models.attention import transformer_block
    for value, flag in ((args.width, "--width"), (args.tokens, "--tokens"), (args.heads, "--heads")):
        check_int(value, flag, 1)
    for value, flag in ((args.d_k, "--d-k"), (args.d_v, "--d-v"), (args.ffn_width, "--ffn-width"),
                        (args.output_dim, "--output-dim")):
        if value is not None:
            check_int(value, flag, 1)
    if args.ffn is None and args.ffn_width is not None:
        raise InvalidArchitectureError(f"--ffn-width {args.ffn_width} without a feed-forward block; expected --ffn "
                                       "ACT (e.g. --ffn relu) with it, or no --ffn-width")
    scale = None
    if args.scale is not None:
        from ..models.graph_attrs import exact_attr
        scale = exact_attr(args.scale, "--scale")
    return transformer_block(args.width, args.tokens, heads=args.heads, d_k=args.d_k, d_v=args.d_v,
                             attention=args.attention, scale=scale, causal=args.causal,
                             out_proj=not args.no_out_proj, residual=args.residual, ffn=args.ffn,
                             ffn_width=args.ffn_width, output_dim=args.output_dim, bias=args.bias)
