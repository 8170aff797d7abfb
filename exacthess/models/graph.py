r"""Architectures as graphs: a directed acyclic graph of exact operations.

A :class:`Graph` maps one sample ``x`` of ``input_shape`` to ``F(x)`` through named nodes, each
reading earlier nodes (shapes exclude the batch axis; every map is flattened row-major, as torch
flattens):

======================  =====================================================================  ============
op                      computes                                                               parameters
======================  =====================================================================  ============
``linear``              ``W u + b`` on the last axis (``nn.Linear``)                           weight, bias
``conv``                convolution of ``[C, *spatial]`` maps, 1-3 spatial axes; stride, zero  weight, bias
                        or circular padding, dilation, groups (``nn.Conv1d/2d/3d``)
``act``                 an :class:`~exacthess.models.activations.Activation` entrywise
``add``                 the sum of two nodes of one shape (residual connections)
``avgpool``             average pooling (a fixed linear map; padding counted, as torch)
``maxpool``             max pooling: the argmax read exactly from the point, ties refused
``reshape``             the same entries in a new shape (``nn.Flatten``, ``view``)
``affine``              ``scale[c] x + shift[c]`` with fixed rational coefficients per channel
``batchnorm``           eval-mode batch normalisation ``weight[c] (x - mean[c]) s[c] + bias[c]``  weight, bias
                        with ``s[c]`` a rational stand-in of ``1 / sqrt(var[c] + eps)``           (if affine)
``identity``            ``x`` (eval-mode dropout)
``matmul``              ``a b`` of two nodes, ``(m, k) (k, n)`` maps (attention: ``Q K^T``, ``A V``)
``transpose``           the transpose of a 2-D map
``softmax``             row-wise softmax of ``scale * a`` for a 2-D map ``a`` (attention weights), values
                        rational stand-ins within 2^-64 (:mod:`~exacthess.models.standins`); ``causal``:
                        entries ``j > i`` masked out (weight exactly 0)
``mask``                the causal mask of linear attention: entries ``j > i`` of a 2-D map set to 0
``concat``              nodes of one shape but along ``axis`` (default the last), joined (heads)
======================  =====================================================================  ============

The parameters are the weights and biases of the nodes that own them, in ``param_order`` (by
default node by node, weight then bias; :func:`~exacthess.models.torch_graph.graph_from_torch`
uses the module's ``named_parameters`` order), each tensor row-major as torch stores it.

>>> b = GraphBuilder((3,))
>>> h = b.act(b.linear(b.input, 4, bias=True, name="fc1"), "relu")
>>> g = b.build(b.add(b.linear(h, 3, name="fc2"), b.linear(b.input, 3, name="skip")))
>>> g.n_params, g.output_shape, [n for n, _ in g.param_order]
(37, (3,), ['fc1', 'fc1', 'fc2', 'skip'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from ..core.errors import InvalidArchitectureError, InvalidTypeError, describe
from ..core.validate import is_int
from .graph_attrs import spec_attr
from .graph_shapes import node_shape

__all__ = ["Node", "Graph", "GraphBuilder", "OPS"]

#: the operations of a graph
OPS = ("input", "linear", "conv", "act", "add", "avgpool", "maxpool", "reshape", "affine", "batchnorm", "identity",
       "matmul", "transpose", "softmax", "mask", "concat")
_ARITY = {"input": 0, "add": 2, "matmul": 2, "concat": None}
_OWNS = {"linear", "conv", "batchnorm"}


@dataclass(frozen=True)
class Node:
    """One operation: ``name``, ``op`` (one of :data:`OPS`), the names of its ``inputs`` and its ``attrs``
    (see :class:`Graph`; ``where`` names the module it came from, for messages)."""

    name: str
    op: str
    inputs: tuple = ()
    attrs: dict = field(default_factory=dict, compare=True)
    where: str = ""

    def label(self) -> str:
        return f"node {self.name!r} ({self.where or self.op})"


class Graph:
    """A directed acyclic graph of exact operations (see the module doc).

    Args:
        input_shape: the shape of one sample (``(d,)`` or ``(C, *spatial)``).
        nodes: :class:`Node` records in an order where every node comes after its inputs; the
            first reads nothing and is the input (added when missing).
        output: the name of the output node (default: the last node).
        param_order: ``(node name, "weight" | "bias")`` pairs, each parameter once (default: node
            order, weight then bias).

    Raises:
        InvalidArchitectureError: an unknown op, a missing input, shapes that do not fit, naming the node.
    """

    family = "graph"

    def __init__(self, input_shape, nodes, output: str | None = None, param_order=None):
        if not isinstance(input_shape, (tuple, list)) or not input_shape or not all(
                is_int(v) and int(v) >= 1 for v in input_shape):
            raise InvalidArchitectureError(f"input_shape = {describe(input_shape)}; expected a tuple of ints >= 1")
        self.input_shape = tuple(int(v) for v in input_shape)
        nodes = list(nodes)
        if not nodes or nodes[0].op != "input":
            nodes.insert(0, Node("input", "input"))
        self.by_name: dict = {}
        self.shapes: dict = {}
        for node in nodes:
            self._add(node)
        self.nodes: tuple = tuple(self.by_name.values())
        self.output = output if output is not None else self.nodes[-1].name
        if self.output not in self.by_name:
            raise InvalidArchitectureError(f"output = {self.output!r} is not a node; expected one of "
                                           f"{', '.join(self.by_name)}")
        owned = [(n.name, k) for n in self.nodes for k in ("weight", "bias") if self._param_shape(n, k) is not None]
        order = owned if param_order is None else [tuple(p) for p in param_order]
        if sorted(order) != sorted(owned):
            raise InvalidArchitectureError(f"param_order = {order}; expected each of {owned} once")
        self.param_order: tuple = tuple(order)
        #: how the graph was made, for the report's command line (``transformer_block`` sets the options of
        #: ``exacthess verify transformer``); not part of the graph's identity
        self.origin: dict | None = None

    # ----- construction -----------------------------------------------------------------
    def _add(self, node: Node) -> None:
        if not isinstance(node, Node):
            raise InvalidTypeError(f"node = {describe(node)} has type {type(node).__name__}; expected a Node")
        if node.name in self.by_name:
            raise InvalidArchitectureError(f"{node.label()}: the name is used twice; expected unique node names")
        if node.op not in OPS:
            raise InvalidArchitectureError(f"{node.label()}: op {node.op!r} is unknown; expected one of {', '.join(OPS)}")
        arity = _ARITY.get(node.op, 1)
        if (len(node.inputs) != arity) if arity is not None else not node.inputs:
            raise InvalidArchitectureError(f"{node.label()}: {len(node.inputs)} inputs; expected "
                                           f"{arity if arity is not None else 'at least 1'}")
        for i in node.inputs:
            if i not in self.by_name:
                raise InvalidArchitectureError(f"{node.label()}: input {i!r} is not an earlier node")
        shapes = [self.shapes[i] for i in node.inputs]
        attrs = dict(node.attrs)
        node = Node(node.name, node.op, tuple(node.inputs), attrs, node.where)
        self.shapes[node.name] = self._shape(node, attrs, shapes)  # completes and normalises attrs
        self.by_name[node.name] = node

    def _shape(self, node: Node, a: dict, shapes: list) -> tuple:
        return node_shape(node, a, shapes, self.input_shape)

    # ----- parameters -------------------------------------------------------------------
    def _param_shape(self, node: Node, kind: str):
        a, s = node.attrs, self.shapes.get(node.inputs[0]) if node.inputs else None
        if node.op == "linear":
            return (a["out_features"], s[-1]) if kind == "weight" else ((a["out_features"],) if a["bias"] else None)
        if node.op == "conv":
            if kind == "bias":
                return (a["out_channels"],) if a["bias"] else None
            return (a["out_channels"], s[0] // a["groups"]) + a["kernel"]
        if node.op == "batchnorm" and a["affine"]:
            return (s[0],)
        return None

    def param_shapes(self) -> list:
        """The shapes of the parameters in :attr:`param_order`."""
        return [self._param_shape(self.by_name[n], k) for n, k in self.param_order]

    @property
    def layer_param_counts(self) -> tuple:
        """Parameters per parameterised node (its weight and bias), in order of first appearance in
        :attr:`param_order`: the "layers" of block ``(l, m)`` of a Hessian."""
        counts: dict = {}
        for (name, _), shape in zip(self.param_order, self.param_shapes()):
            counts[name] = counts.get(name, 0) + prod(shape)
        return tuple(counts.values())

    def param_slices(self) -> dict:
        """``(node, kind) -> (start, shape)``: where each parameter sits in the flat vector (``param_order``)."""
        out, start = {}, 0
        for key, shape in zip(self.param_order, self.param_shapes()):
            out[tuple(key)] = (start, tuple(shape))
            start += prod(shape)
        return out

    @property
    def n_params(self) -> int:
        return sum(prod(s) for s in self.param_shapes())

    @property
    def output_shape(self) -> tuple:
        return self.shapes[self.output]

    @property
    def input_dim(self) -> int:
        return prod(self.input_shape)

    @property
    def output_dim(self) -> int:
        return prod(self.output_shape)

    @property
    def activations(self) -> list:
        """The activations of the ``act`` nodes, in order."""
        return [n.attrs["activation"] for n in self.nodes if n.op == "act"]

    @property
    def is_linear(self) -> bool:
        """Whether ``F`` is affine in its input ``x``: no activation other than linear, no max pooling, and
        no ``matmul`` (a product of two values that both depend on ``x``, as attention's ``Q K^T``), no softmax."""
        return all(a.is_linear for a in self.activations) and not any(n.op in ("maxpool", "matmul", "softmax")
                                                                       for n in self.nodes)

    @property
    def bias(self) -> bool:
        """Whether any node has a bias (a parameter entering additively)."""
        return any(k == "bias" for _, k in self.param_order)

    def to_spec(self) -> dict:
        """The graph as plain data (JSON): ``{"family": "graph", "input_shape", "nodes", "output",
        "param_order"}``, rationals as strings; :meth:`from_spec` inverts it."""
        def plain(v):
            if isinstance(v, (tuple, list)):
                return [plain(x) for x in v]
            if isinstance(v, (bool, int, str)) or v is None:
                return v
            return str(v)  # an Activation (its name) or an exact rational
        nodes = [{"name": n.name, "op": n.op, "inputs": list(n.inputs),
                  "attrs": {k: plain(v) for k, v in n.attrs.items()}, "where": n.where} for n in self.nodes[1:]]
        return {"family": "graph", "input_shape": list(self.input_shape), "nodes": nodes, "output": self.output,
                "param_order": [list(p) for p in self.param_order]}

    @staticmethod
    def from_spec(spec: dict) -> "Graph":
        """The graph of :meth:`to_spec`'s plain data.

        Raises:
            InvalidArchitectureError: a malformed spec, naming what is missing or wrong.
        """
        try:
            nodes = [Node(str(n["name"]), str(n["op"]), tuple(n.get("inputs", ())),
                          {k: spec_attr(v) for k, v in dict(n.get("attrs", {})).items()},
                          str(n.get("where", ""))) for n in spec["nodes"]]
            order = spec.get("param_order")
            return Graph(tuple(spec["input_shape"]), nodes, output=spec.get("output"),
                         param_order=None if order is None else [tuple(p) for p in order])
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidArchitectureError(f"spec = {describe(spec)} is not a graph spec ({type(exc).__name__}: {exc}); "
                                           "expected Graph.to_spec()'s dict: input_shape, nodes (name, op, inputs, "
                                           "attrs), output, param_order") from None

    def __repr__(self) -> str:
        ops = " -> ".join(n.op if n.op != "act" else str(n.attrs["activation"]) for n in self.nodes[1:])
        return f"Graph(input_shape={self.input_shape}, {len(self.nodes) - 1} nodes: {ops}; {self.n_params} parameters)"

    def __eq__(self, other):
        return (isinstance(other, Graph) and self.input_shape == other.input_shape and self.nodes == other.nodes
                and self.output == other.output and self.param_order == other.param_order)

    def __hash__(self):
        return hash((self.input_shape, tuple(n.name for n in self.nodes), self.output))


class GraphBuilder:
    """Build a :class:`Graph` node by node; each method returns the new node's name.

    Args:
        input_shape: the shape of one sample.
    """

    def __init__(self, input_shape):
        self.input_shape = tuple(input_shape)
        self.input = "input"
        self._nodes = [Node("input", "input")]
        self._count: dict = {}

    def _node(self, op: str, inputs, name=None, where: str = "", **attrs) -> str:
        if name is None:
            self._count[op] = self._count.get(op, 0) + 1
            name = f"{op}{self._count[op]}"
        self._nodes.append(Node(name, op, tuple(inputs), attrs, where))
        return name

    def linear(self, x, out_features, *, bias=False, name=None):
        return self._node("linear", [x], name, out_features=out_features, bias=bias)

    def conv(self, x, out_channels, kernel, *, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros",
             bias=False, name=None):
        return self._node("conv", [x], name, out_channels=out_channels, kernel=kernel, stride=stride,
                          padding=padding, dilation=dilation, groups=groups, padding_mode=padding_mode, bias=bias)

    def act(self, x, activation, *, name=None):
        return self._node("act", [x], name, activation=activation)

    def add(self, x, y, *, name=None):
        return self._node("add", [x, y], name)

    def avgpool(self, x, kernel, *, stride=None, padding=0, name=None):
        return self._node("avgpool", [x], name, kernel=kernel, stride=stride if stride is not None else kernel,
                          padding=padding)

    def maxpool(self, x, kernel, *, stride=None, padding=0, dilation=1, name=None):
        return self._node("maxpool", [x], name, kernel=kernel, stride=stride if stride is not None else kernel,
                          padding=padding, dilation=dilation)

    def reshape(self, x, shape, *, name=None):
        return self._node("reshape", [x], name, shape=tuple(shape))

    def flatten(self, x, *, name=None):
        return self.reshape(x, (prod(self._shape(x)),), name=name)

    def affine(self, x, scale, shift, *, name=None):
        return self._node("affine", [x], name, scale=tuple(scale), shift=tuple(shift))

    def batchnorm(self, x, mean, scale, *, affine=True, name=None):
        return self._node("batchnorm", [x], name, mean=tuple(mean), scale=tuple(scale), affine=affine)

    def matmul(self, x, y, *, name=None):
        return self._node("matmul", [x, y], name)

    def transpose(self, x, *, name=None):
        return self._node("transpose", [x], name)

    def identity(self, x, *, name=None):
        return self._node("identity", [x], name)

    def softmax(self, x, *, scale=1, causal=False, name=None):
        return self._node("softmax", [x], name, scale=scale, causal=causal)

    def mask(self, x, *, name=None):
        return self._node("mask", [x], name, causal=True)

    def concat(self, xs, *, axis=-1, name=None):
        return self._node("concat", list(xs), name, axis=axis)

    def _shape(self, x) -> tuple:
        return Graph(self.input_shape, list(self._nodes), output=x).shapes[x]

    def build(self, output=None, param_order=None) -> Graph:
        return Graph(self.input_shape, list(self._nodes), output=output, param_order=param_order)
