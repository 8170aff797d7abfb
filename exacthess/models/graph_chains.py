r"""FCNs and CNNs as graphs: the chains are special cases of :class:`~exacthess.models.graph.Graph`.

:func:`chain_graph` writes an :class:`~exacthess.FCN` or :class:`~exacthess.CNN` as the graph of the
same network: one ``linear`` (FCN) or ``conv`` node (CNN; 1-D or 2-D, stride, zero padding) per hidden
layer with the activation after it, and the output layer (a CNN's convolution covering the whole
last map) followed by a reshape to ``(K,)``. Parameters keep the chain's documented order and
layout (weight row-major ``[c_out, c_in, (kh,) kw]``, then the bias), so the same parameter list
and data give the same Hessians whichever engine computes them (the tests compare the two
engines entry by entry).

>>> from exacthess import FCN
>>> chain_graph(FCN(3, (4,), 2, bias=True, activation="relu"))
Graph(input_shape=(3,), 3 nodes: linear -> relu -> linear; 26 parameters)
"""

from __future__ import annotations

from .architectures import CNN, FCN, Architecture
from .graph import Graph, GraphBuilder

__all__ = ["chain_graph"]


def chain_graph(arch: Architecture) -> Graph:
    """The :class:`~exacthess.models.graph.Graph` of an FCN or CNN (see the module doc)."""
    act = arch.activation.name
    if isinstance(arch, FCN):
        b = GraphBuilder((arch.input_dim,))
        h = b.input
        for w in arch.widths:
            h = b.linear(h, w, bias=arch.bias)
            h = b.act(h, act)
        return b.build(b.linear(h, arch.output_dim, bias=arch.bias))
    if not isinstance(arch, CNN):
        from ..core.errors import InvalidTypeError, describe
        raise InvalidTypeError(f"arch = {describe(arch)} has type {type(arch).__name__}; expected an FCN or a CNN")
    one_d = len(arch.input_shape) == 1
    b = GraphBuilder((arch.in_channels,) + tuple(arch.input_shape))
    h = b.input

    def dims(v):
        return v[1:] if one_d else v
    for layer in arch.layers[:-1]:
        h = b.conv(h, layer.c_out, dims(layer.kernel), stride=dims(layer.stride), padding=dims(layer.padding),
                   padding_mode=layer.padding_mode, bias=arch.bias)
        h = b.act(h, act)
    last = arch.layers[-1]
    h = b.conv(h, last.c_out, dims(last.kernel), bias=arch.bias)
    return b.build(b.reshape(h, (arch.output_dim,)))
