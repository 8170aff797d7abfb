r"""The round-trip check of :func:`~exacthess.models.torch_graph.graph_from_torch`.

:func:`graph_values` evaluates a :class:`~exacthess.models.graph.Graph` at one sample exactly, node
by node, from the tap tables and pooling windows of :mod:`exacthess.models.graph_ops` (every map
flattened row-major):

* ``linear`` / ``conv``: :math:`z[o] = \sum_{t:\,\mathrm{out}_t = o} w[\mathrm{w}_t]\,u[\mathrm{in}_t] + b`;
* ``batchnorm``: :math:`w_c (u - \mu_c) s_c + b_c`; ``affine``: :math:`a_c u + b_c`;
* ``avgpool``: the window's sum (padding counted as zeros) over the kernel size; ``maxpool``: the
  window's maximum over its entries inside the map; ``act``: the activation; ``add``: the sum;
* ``matmul``, ``transpose``, ``concat``: as numpy on the maps; ``mask``: the entries ``j > i`` set to 0;
  ``softmax``: each row's softmax of ``scale`` times its kept entries computed in float64 (shifted by the
  row's maximum) and read exactly, 0 at masked ones -- not the 2^-64 stand-ins, whose denominators grow
  with the scores: a check of the conversion must stay cheap at saturated scores.

:func:`graph_round_trip_check` compares the output at three test inputs of dyadic numbers (``k/64``
in ``[-1, 1]``, its negative, and ``k/64`` in ``[-8, 8]``: other signs and scales give other ReLU
patterns and maxima) with torch's float64 forward of a copy of the module. The tolerance, :math:`10^{-9}` times the largest
output in absolute value, only decides whether the conversion describes the module (a wrong
layout, padding or order gives differences of the order of the outputs); no rank or verdict
depends on it. It also covers the float64 softmax of both sides (within about :math:`10^{-15}`
relatively) and an irrational score scale :math:`1/\sqrt{d_k}`, stand-in or float.

>>> from exacthess.models.graph import GraphBuilder
>>> b = GraphBuilder((2,))
>>> g = b.build(b.act(b.linear(b.input, 1, name="fc"), "relu"))
>>> [str(v) for v in graph_values(g, [[[1, -3]]], [2, 1])[g.output]], [str(v) for v in graph_values(g, [[[1, 3]]], [2, 1])[g.output]]
(['0'], ['5'])
"""

from __future__ import annotations

import copy
import math

import numpy as np
from flint import fmpq

from ..core.errors import UnsupportedModuleError
from ..core.exact import rational_array, to_rational
from .graph import Graph
from .graph_ops import conv_taps, linear_taps, pool_windows
from .torch_check import require_torch

__all__ = ["graph_values", "graph_round_trip_check", "ROUND_TRIP_TOLERANCE"]

#: the round-trip check's tolerance, relative to the largest output
ROUND_TRIP_TOLERANCE = 1e-9


def _bilinear(graph: Graph, node, u, w, b):
    a, s = node.attrs, graph.shapes[node.inputs[0]]
    n_out = math.prod(graph.shapes[node.name])
    if node.op == "linear":
        out, inp, wi = linear_taps(s, a["out_features"])
        bidx = np.arange(n_out) % a["out_features"]
    else:
        out, inp, wi = conv_taps(s, a["out_channels"], a["kernel"], a["stride"], a["padding"], a["dilation"],
                                 a["groups"], a["padding_mode"])
        bidx = np.arange(n_out) // (n_out // a["out_channels"])
    z = np.full(n_out, fmpq(0), dtype=object)
    np.add.at(z, out, w.reshape(-1)[wi] * u[inp])
    return z + b.reshape(-1)[bidx] if b is not None else z


def _pool(graph: Graph, node, u):
    a = node.attrs
    win = pool_windows(graph.shapes[node.inputs[0]], a["kernel"], a["stride"], a["padding"], a["dilation"])
    if node.op == "avgpool":
        k = fmpq(1, win.shape[1])
        return np.array([sum((u[j] for j in row if j >= 0), fmpq(0)) * k for row in win], dtype=object)
    return np.array([max(u[j] for j in row if j >= 0) for row in win], dtype=object)


def _float_softmax(z: list) -> list:
    """The softmax of the rationals ``z`` in float64 (shifted by the maximum), each value read exactly."""
    top = max(z)

    def gap(v):
        try:
            return float(v - top)
        except OverflowError:  # beyond the float64 range: its weight is 0.0 in float64 too
            return -np.inf
    e = np.exp(np.array([gap(v) for v in z]))
    return [fmpq(*float(v).as_integer_ratio()) for v in e / e.sum()]


def _attention(graph: Graph, node, u, vals):
    a, op, s = node.attrs, node.op, graph.shapes[node.inputs[0]]
    if op == "matmul":
        A, B = u.reshape(s), vals[node.inputs[1]].reshape(graph.shapes[node.inputs[1]])
        return np.array([sum((A[i, t] * B[t, j] for t in range(s[1])), fmpq(0)) for i in range(s[0])
                         for j in range(B.shape[1])], dtype=object)
    if op == "transpose":
        return u.reshape(s).T.reshape(-1)
    if op == "concat":
        return np.concatenate([vals[i].reshape(graph.shapes[i]) for i in node.inputs], axis=a["axis"]).reshape(-1)
    rows, v = u.reshape(s), np.full(s, fmpq(0), dtype=object)
    for i in range(s[0]):
        k = min(i + 1, s[1]) if a["causal"] else s[1]  # a causal row keeps its entries j <= i
        v[i, :k] = rows[i, :k] if op == "mask" else _float_softmax([a["scale"] * z for z in rows[i, :k]])
    return v.reshape(-1)


def graph_values(graph: Graph, params: list, x) -> dict:
    """The exact value of every node of ``graph`` at one sample ``x`` (flattened row-major).

    Args:
        graph: the graph.
        params: exact parameters in ``graph.param_order`` (each of the shape ``graph.param_shapes()`` gives).
        x: one sample, ``prod(graph.input_shape)`` numbers.

    Returns:
        ``{node name: 1-D object array of fmpq}``.
    """
    P = {key: rational_array(p, f"params[{key[0]}.{key[1]}]") for key, p in zip(graph.param_order, params)}
    vals: dict = {}
    for node in graph.nodes:
        if node.op == "input":
            vals[node.name] = rational_array(np.asarray(x).reshape(-1), "x")
            continue
        u, a, op = vals[node.inputs[0]], node.attrs, node.op
        w, b = P.get((node.name, "weight")), P.get((node.name, "bias"))
        if op in ("linear", "conv"):
            v = _bilinear(graph, node, u, w, b)
        elif op in ("batchnorm", "affine"):
            s = graph.shapes[node.inputs[0]]
            ch = np.arange(u.shape[0]) // (u.shape[0] // s[0])
            if op == "affine":
                v = u * np.array(a["scale"], dtype=object)[ch] + np.array(a["shift"], dtype=object)[ch]
            else:
                v = (u - np.array(a["mean"], dtype=object)[ch]) * np.array(a["scale"], dtype=object)[ch]
                if w is not None:
                    v = v * w.reshape(-1)[ch] + b.reshape(-1)[ch]
        elif op == "act":
            v = np.array([a["activation"].value(z) for z in u], dtype=object)
        elif op == "add":
            v = u + vals[node.inputs[1]]
        elif op in ("avgpool", "maxpool"):
            v = _pool(graph, node, u)
        elif op in ("matmul", "transpose", "concat", "softmax", "mask"):
            v = _attention(graph, node, u, vals)
        else:  # reshape, identity
            v = u
        vals[node.name] = v
    return vals


def graph_round_trip_check(module, graph: Graph, params: list, shape: tuple) -> None:
    """Compare :func:`graph_values` with torch's float64 forward of a copy of ``module`` at a test
    input of dyadic numbers ``k/64`` (one sample of ``shape``).

    Raises:
        UnsupportedModuleError: an output differs by more than :data:`ROUND_TRIP_TOLERANCE` times the
            largest output: the conversion does not reproduce the module.
    """
    torch = require_torch()
    rng = np.random.default_rng(20240613)
    x0 = rng.integers(-64, 65, size=math.prod(shape)) / 64.0  # dyadic: exact in float64
    model = copy.deepcopy(module).to(dtype=torch.float64)
    for x in (x0, -x0, rng.integers(-512, 513, size=x0.size) / 64.0):  # other signs, another scale: other patterns
        _compare(graph, params, model, x, shape, torch)


def _compare(graph: Graph, params: list, model, x, shape: tuple, torch) -> None:
    exact = graph_values(graph, params, x)[graph.output]
    with torch.no_grad():
        ref = model(torch.tensor(x).reshape((1,) + tuple(shape)))
    got = ref.detach().reshape(-1).numpy()
    if got.shape[0] != len(exact):
        raise UnsupportedModuleError(f"module returns {got.shape[0]} outputs for one sample; the graph read from it "
                                     f"has {len(exact)}: the conversion does not reproduce the module")
    scale = max([abs(float(z)) for z in exact] + [float(np.max(np.abs(got), initial=0.0))])
    tol = to_rational(ROUND_TRIP_TOLERANCE * scale)
    for k, (z, t) in enumerate(zip(exact, got)):
        diff = abs(z - to_rational(float(t), name=f"torch output {k}"))
        if diff > tol:
            raise UnsupportedModuleError(
                f"round-trip check failed: output {k} of the exact graph is {float(z)!r} while torch's float64 "
                f"forward gives {float(t)!r} (difference {float(diff):.3g}, tolerance {float(tol):.3g} = "
                f"{ROUND_TRIP_TOLERANCE:g} of the largest output); the conversion does not reproduce the module "
                "(an in-place operation such as += on a tensor that is read again under another name, forward "
                "hooks, or an operation torch.fx does not see)")
