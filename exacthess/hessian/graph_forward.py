r"""The exact point of a graph network and its exact forward pass.

:class:`GraphProblem` holds a :class:`~exacthess.models.graph.Graph`, its parameters and the data
as exact rationals (seeded like the chains' problems, :mod:`exacthess.hessian.problem`), and the
loss. :class:`GraphForward` evaluates every node for every sample exactly and records what the
Hessian needs:

* ``values[name]``: ``(n, dim)`` exact values (rows are samples, each map flattened row-major);
* ``d1[name]``, ``d2[name]`` of ``act`` nodes: :math:`\sigma'`, :math:`\sigma''` at the input;
* ``selected[name]`` of ``maxpool`` nodes: the flat input entry each output reads (the argmax);
* ``softmax[name]`` of ``softmax`` nodes: the values, row by row the rational stand-ins
  (:func:`~exacthess.models.standins.softmax`, within :math:`2^{-64}` relatively, summing to exactly 1)
  of the softmax of ``scale`` times the kept entries; every derivative is that of the softmax at the
  stand-ins (:math:`\partial s / \partial z = \mathrm{diag}(s) - s s^\top`), so the Hessians are exact
  at the stand-ins;
* ``const[name]``: entries *locally constant* in the parameters (the data; an output of a
  parameterised layer with no bias whose every input entry is locally zero; an inactive ReLU
  unit; ...): through them every derivative vanishes. A ReLU-type unit whose input is locally
  constant has no kink, whatever its value; any other pre-activation exactly at 0 is refused,
  naming the sample, the node and the unit, and so is a tie for the maximum of a pooling window
  unless every tied entry is locally constant.

The loss derivatives (gradients, Hessians, kernel factors, softmax / sigmoid stand-ins) are
those of :class:`~exacthess.hessian.forward.ExactForward`, at the graph's outputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from flint import fmpq

from ..core.domains import QQ
from ..core.errors import InvalidDataError, InvalidTypeError, NonDifferentiableError, describe
from ..core.exact import rational_array
from ..models.graph import Graph
from ..models.graph_ops import channel_taps, conv_taps, linear_taps, pool_windows
from ..models.losses import Loss
from ..models.standins import softmax as standin_softmax
from .graph_standins import check_softmax_standins
from .forward import ExactForward
from .problem import BIAS_SCALE, POINTS, prepare_data, rand_gaussian, rand_ints

__all__ = ["GraphProblem", "GraphForward", "make_graph_problem", "seeded_graph_params", "taps_of", "windows_of",
           "transpose_index", "causal_keep", "concat_index"]


def taps_of(graph: Graph, name: str):
    """``(out, in, w, bias_index)`` of a parameterised node (``bias_index[o]``: the bias entry of output ``o``)."""
    node = graph.by_name[name]
    a, s = node.attrs, graph.shapes[node.inputs[0]]
    n_out = math.prod(graph.shapes[name])
    if node.op == "linear":
        out, inp, w = linear_taps(s, a["out_features"])
        return out, inp, w, np.arange(n_out) % a["out_features"]
    if node.op == "conv":
        out, inp, w = conv_taps(s, a["out_channels"], a["kernel"], a["stride"], a["padding"], a["dilation"],
                                a["groups"], a["padding_mode"])
        return out, inp, w, np.arange(n_out) // (n_out // a["out_channels"])
    out, inp, w = channel_taps(s)  # batchnorm: weight[c] times the normalised input
    return out, inp, w, w.copy()


def windows_of(graph: Graph, name: str) -> np.ndarray:
    """The pooling windows of an ``avgpool`` / ``maxpool`` node (:func:`~exacthess.models.graph_ops.pool_windows`)."""
    node = graph.by_name[name]
    a = node.attrs
    return pool_windows(graph.shapes[node.inputs[0]], a["kernel"], a["stride"], a["padding"], a["dilation"])


def transpose_index(shape) -> np.ndarray:
    """``perm`` with ``x.T.ravel() == x.ravel()[perm]`` for a 2-D map of ``shape``."""
    return np.arange(shape[0] * shape[1]).reshape(shape).T.ravel()


def causal_keep(shape) -> np.ndarray:
    """The entries ``(i, j)``, ``j <= i``, of a 2-D map that a causal mask keeps, flattened row-major."""
    m, n = shape
    return (np.arange(n)[None, :] <= np.arange(m)[:, None]).reshape(-1)


def concat_index(graph: Graph, name: str) -> np.ndarray:
    """``idx[o]``: the position of output entry ``o`` of a ``concat`` node in its inputs' flattened values
    placed one after another."""
    node = graph.by_name[name]
    axis, parts, off = node.attrs["axis"], [], 0
    for i in node.inputs:
        shape = graph.shapes[i]
        parts.append(off + np.arange(math.prod(shape)).reshape(shape))
        off += math.prod(shape)
    return np.concatenate(parts, axis=axis).reshape(-1)


def channel_of(graph: Graph, name: str) -> np.ndarray:
    """The channel (first axis) of every flat entry of node ``name``'s map."""
    shape = graph.shapes[name]
    return np.arange(math.prod(shape)) // (math.prod(shape) // shape[0])


def seeded_graph_params(graph: Graph, seed: int = 0, point: str = "gaussian") -> list:
    """Seeded parameters in ``graph.param_order``: weights about ``N(0, 1/fan_in)``, biases ``BIAS_SCALE``
    times that, batch-norm weights about ``1`` (``1 + N(0, 1/16)``) on the dyadic grid of
    :func:`~exacthess.hessian.problem.seeded_params`; ``point="integers"``: integers in ``[-999, 999]``."""
    rng = np.random.default_rng([seed, 1])
    out = []
    for (name, kind), shape in zip(graph.param_order, graph.param_shapes()):
        if point == "integers":
            out.append(rand_ints(rng, shape))
            continue
        node = graph.by_name[name]
        if node.op == "batchnorm":
            vals = rand_gaussian(rng, shape, 0.25)
            out.append(vals + fmpq(1) if kind == "weight" else vals * fmpq(1, 4))
            continue
        wshape = graph.param_shapes()[graph.param_order.index((name, "weight"))]
        sigma = 1.0 / math.sqrt(math.prod(wshape[1:]))
        out.append(rand_gaussian(rng, shape, sigma if kind == "weight" else BIAS_SCALE * sigma))
    return out


def _split(graph: Graph, params) -> list:
    shapes = graph.param_shapes()
    if not isinstance(params, (list, tuple)):
        flat = rational_array(params, "params", ndim=1)
        if flat.shape != (graph.n_params,):
            raise InvalidDataError(f"params has shape {flat.shape}; expected a list of arrays of shapes {shapes} "
                                   f"or a flat vector of {graph.n_params} entries")
        offs = np.cumsum([0] + [math.prod(s) for s in shapes])
        return [flat[offs[i]:offs[i + 1]].reshape(s) for i, s in enumerate(shapes)]
    if len(params) != len(shapes):
        raise InvalidDataError(f"params has {len(params)} arrays; expected {len(shapes)} of shapes {shapes} "
                               f"({', '.join(f'{n}.{k}' for n, k in graph.param_order)})")
    out = []
    for (name, kind), p, s in zip(graph.param_order, params, shapes):
        arr = rational_array(p, f"params[{name}.{kind}]")
        if arr.shape != tuple(s):
            raise InvalidDataError(f"params[{name}.{kind}] has shape {arr.shape}; expected {tuple(s)}")
        out.append(arr)
    return out


@dataclass
class GraphProblem:
    """Exact inputs of a graph network's Hessians: ``arch`` (the graph), ``params`` (exact, in
    ``arch.param_order``), data ``X`` ``(n, input_dim)`` and ``Y`` ``(n, output_dim)``, the loss."""

    arch: Graph
    params: list
    X: np.ndarray
    Y: np.ndarray
    n_samples: int
    loss: Loss
    aug: bool = field(default=False)

    @cached_property
    def forward(self) -> "GraphForward":
        return GraphForward(self)

    def param(self, name: str, kind: str) -> np.ndarray:
        """The exact parameter ``kind`` (``"weight"`` / ``"bias"``) of node ``name``, or None."""
        key = (name, kind)
        return self.params[self.arch.param_order.index(key)] if key in self.arch.param_order else None


def make_graph_problem(arch: Graph, *, n_samples=None, seed: int = 0, data=None, params=None, loss="mse",
                       point: str = "gaussian") -> GraphProblem:
    """Check or seed the parameters and data of a graph network (arguments as
    :func:`~exacthess.hessian.problem.make_problem`; ``X`` may also hold the samples as maps,
    ``(n, *input_shape)``, flattened row-major as torch's ``x.reshape(n, -1)``)."""
    if not isinstance(arch, Graph):
        raise InvalidTypeError(f"arch = {describe(arch)} has type {type(arch).__name__}; expected a Graph")
    if isinstance(data, (tuple, list)) and len(data) == 2 and len(arch.input_shape) > 1:
        shape = tuple(np.shape(data[0]))
        if len(shape) == 1 + len(arch.input_shape) and shape[1:] == arch.input_shape:  # samples as maps
            data = (np.asarray(data[0]).reshape(shape[0], -1), data[1])  # row-major: torch's x.reshape(n, -1)
    X, Y, n, the_loss, point = prepare_data(arch, n_samples=n_samples, seed=seed, data=data, loss=loss, point=point)
    plist = seeded_graph_params(arch, seed, point if point in POINTS else "gaussian") if params is None else \
        _split(arch, params)
    return GraphProblem(arch, plist, X, Y, int(n), the_loss)


def _map(fn, arr):
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = fn(v)
    return out


class GraphForward(ExactForward):
    """The exact forward pass of a :class:`GraphProblem` (attributes in the module doc); ``outputs``
    is ``(K, n)`` as :class:`~exacthess.hessian.forward.ExactForward`'s, whose loss derivatives it shares."""

    def __init__(self, problem: GraphProblem):
        self.problem = problem
        g = problem.arch
        n = problem.X.shape[0]
        self.values, self.const, self.d1, self.d2, self.selected, self.softmax = {}, {}, {}, {}, {}, {}
        for node in g.nodes:
            name, op, a = node.name, node.op, node.attrs
            if op == "input":
                self.values[name] = problem.X
                self.const[name] = np.ones(problem.X.shape, dtype=bool)
                continue
            u = self.values[node.inputs[0]]
            cu = self.const[node.inputs[0]]
            if op in ("linear", "conv", "batchnorm"):
                v, c = self._bilinear(problem, node, u, cu)
            elif op == "act":
                v, c = self._act(node, u, cu, n)
            elif op == "add":
                v = u + self.values[node.inputs[1]]
                c = cu & self.const[node.inputs[1]]
            elif op == "matmul":
                v, c = self._matmul(g, node, u, cu)
            elif op == "transpose":
                perm = transpose_index(g.shapes[node.inputs[0]])
                v, c = u[:, perm], cu[:, perm]
            elif op in ("avgpool", "maxpool"):
                v, c = self._pool(g, node, u, cu, n)
            elif op == "softmax":
                v, c = self._softmax(g, node, u, cu)
            elif op == "mask":
                keep = causal_keep(g.shapes[name])
                v, c = np.where(keep, u, fmpq(0)), cu | ~keep
            elif op == "concat":
                idx = concat_index(g, name)
                v = np.concatenate([self.values[i] for i in node.inputs], axis=1)[:, idx]
                c = np.concatenate([self.const[i] for i in node.inputs], axis=1)[:, idx]
            elif op == "affine":
                ch = channel_of(g, node.inputs[0])
                v = u * np.array(a["scale"], dtype=object)[ch] + np.array(a["shift"], dtype=object)[ch]
                c = cu
            else:  # reshape, identity
                v, c = u, cu
            self.values[name], self.const[name] = v, c
        self.outputs = np.ascontiguousarray(self.values[g.output].T)

    def _bilinear(self, problem, node, u, cu):
        g, a = problem.arch, node.attrs
        dim = math.prod(g.shapes[node.name])
        bias = problem.param(node.name, "bias")
        if node.op == "batchnorm":
            ch = channel_of(g, node.inputs[0])
            u = (u - np.array(a["mean"], dtype=object)[ch]) * np.array(a["scale"], dtype=object)[ch]
            if not a["affine"]:
                return u, cu
        out, inp, w, bidx = taps_of(g, node.name)
        W = problem.param(node.name, "weight").ravel()
        T = QQ.zeros((dim, u.shape[1]))
        np.add.at(T, (out, inp), W[w])
        v = QQ.matmul(u, np.ascontiguousarray(T.T))
        moving = (~(cu & (u == 0))).astype(np.int64)  # entries not locally zero
        reads = np.zeros((dim, u.shape[0]), dtype=np.int64)
        np.add.at(reads, out, moving[:, inp].T)
        c = (reads == 0).T  # an output is constant when every entry it reads is locally zero
        if bias is not None:
            v = v + bias.ravel()[bidx]
            c[:] = False
        return v, c

    def _matmul(self, g, node, u, cu):
        (m, k), (_, n_) = g.shapes[node.inputs[0]], g.shapes[node.inputs[1]]
        w, cw = self.values[node.inputs[1]], self.const[node.inputs[1]]
        rows = []
        for i in range(u.shape[0]):
            rows.append(QQ.matmul(u[i].reshape(m, k), w[i].reshape(k, n_)).reshape(-1))
        v = np.array(rows, dtype=object).reshape(u.shape[0], m * n_)
        za, zb = (cu & (u == 0)).reshape(-1, m, k), (cw & (w == 0)).reshape(-1, k, n_)
        ca, cb = cu.reshape(-1, m, k), cw.reshape(-1, k, n_)
        # constant when both factors are, or when one factor's row / column is locally zero
        c = ((ca.all(axis=2)[:, :, None] & cb.all(axis=1)[:, None, :]) | za.all(axis=2)[:, :, None]
             | zb.all(axis=1)[:, None, :])
        return v, c.reshape(u.shape[0], m * n_)

    def _softmax(self, g, node, u, cu):
        """Row-wise stand-ins ``s`` of ``softmax(scale * u)`` (kept in ``self.softmax``); a row is constant when
        its kept inputs are, a masked entry always (its weight is exactly 0)."""
        m, n_ = g.shapes[node.name]
        keep = causal_keep((m, n_)) if node.attrs["causal"] else np.ones(m * n_, dtype=bool)
        c, k2 = node.attrs["scale"], keep.reshape(m, n_)
        check_softmax_standins(node, u, c, k2, g.n_params)
        v = np.empty(u.shape, dtype=object)
        v.fill(fmpq(0))
        const = ~np.broadcast_to(keep, u.shape).copy()
        for i in range(u.shape[0]):
            ui, ci = u[i].reshape(m, n_), cu[i].reshape(m, n_)
            for r in range(m):
                cols = np.nonzero(k2[r])[0]
                v[i, r * n_ + cols] = standin_softmax([c * x for x in ui[r, cols]])
                const[i, r * n_ + cols] = ci[r, cols].all() or len(cols) == 1
        self.softmax[node.name] = v
        return v, const

    def _act(self, node, u, cu, n):
        act = node.attrs["activation"]
        if act.piecewise:
            bad = np.argwhere((u == 0) & ~cu)
            if len(bad):
                i, unit = (int(x) for x in bad[0])
                raise NonDifferentiableError(
                    f"sample {i}, {node.label()}, unit {unit}: the input of {act.name} is exactly 0, where it has a "
                    "kink, so the Hessian is not defined; expected a point with no pre-activation at 0 (perturb the "
                    "parameters or the data)", sample=i, unit=unit)
        v = u if act.is_linear else _map(act.value, u)
        d1 = _map(act.derivative, u)
        d1[cu] = fmpq(0)
        self.d1[node.name] = d1
        if act.has_curvature:
            d2 = _map(act.second_derivative, u)
            d2[cu] = fmpq(0)
            self.d2[node.name] = d2
        c = cu | ((u < 0) if act.piecewise and act.slope == 0 else False)
        return v, c

    def _pool(self, g, node, u, cu, n):
        win = windows_of(g, node.name)
        pad = win < 0
        safe = np.where(pad, 0, win)
        if node.op == "avgpool":
            vals = np.where(pad[None], fmpq(0), u[:, safe])
            v = vals.sum(axis=2) * fmpq(1, win.shape[1])
            return v, np.where(pad[None], True, cu[:, safe]).all(axis=2)
        vals = u[:, safe]  # (n, out, k)
        sel = np.empty((n, win.shape[0]), dtype=np.int64)
        c = np.empty((n, win.shape[0]), dtype=bool)
        for i in range(n):
            for o in range(win.shape[0]):
                cand = [j for j in range(win.shape[1]) if not pad[o, j]]
                best = max(vals[i, o, j] for j in cand)
                tied = [j for j in cand if vals[i, o, j] == best]
                if len(tied) > 1 and not all(cu[i, win[o, j]] for j in tied):
                    raise NonDifferentiableError(
                        f"sample {i}, {node.label()}, output {o}: the maximum of its window is attained by "
                        f"{len(tied)} entries (inputs {', '.join(str(int(win[o, j])) for j in tied)}), where max "
                        "pooling has a kink, so the Hessian is not defined; expected a point with a unique maximum in "
                        "every window (perturb the parameters or the data)", sample=i, unit=o)
                sel[i, o] = win[o, tied[0]]
                c[i, o] = cu[i, sel[i, o]]
        self.selected[node.name] = sel
        return np.take_along_axis(u, sel, axis=1), c
