r"""KFAC, exactly: the Kronecker factors of every linear and convolution layer over Q.

A parameterised layer is a *linear weight-sharing layer* (Eschenhagen et al. 2023,
``[eschenhagen2023]`` in docs/references.md): sample ``i`` gives it ``S`` input vectors
:math:`a_{i,s}` (a linear layer on a ``(..., d_in)`` map: ``S`` = the product of the leading axes,
``1`` for an FCN; a convolution: ``S`` = the output positions, :math:`a_{i,s}` = the patch read
there, ``c_in * prod(kernel)`` entries, zero in the padding) and outputs
:math:`z_{i,s} = W a_{i,s} + b`. The bias joins the weight as a last input column of ones:
:math:`\tilde W = [W \mid b]`, :math:`\tilde a = (a, 1)` (a layer without bias: :math:`\tilde W = W`).
With :math:`J_{i,s} = \partial F(x_i) / \partial z_{i,s}` (``K x out``) and
:math:`\Lambda_i = \nabla^2 l_i` (``K x K``), the exact GGN block of the layer
(:attr:`Curvature.ggn <exacthess.oracle.operator.Curvature.ggn>`, loss summed over the samples) is

.. math:: G = \sum_i \Big(\sum_s J_{i,s} \otimes \tilde a_{i,s}^\top\Big)^\top \Lambda_i
              \Big(\sum_s J_{i,s} \otimes \tilde a_{i,s}^\top\Big)

in the **row-major** order of :math:`\tilde W` (torch's ``W.flatten()``: entry ``(o, j)`` at
``o * in + j``, the bias entry of row ``o`` at ``j = in - 1``). KFAC replaces it by
:math:`B \otimes A` (``numpy.kron(B, A)``: the output-side factor first, as curvlinops' operator
and the tutorial's ``rvec`` convention; :math:`A \otimes B` is the column-major ``cvec`` order):

* **expand** -- :math:`A = \frac{1}{NS}\sum_{i,s} \tilde a_{i,s}\tilde a_{i,s}^\top`,
  :math:`B = \sum_{i,s} J_{i,s}^\top \Lambda_i J_{i,s}` (positions treated as samples);
* **reduce** -- :math:`A = \frac{1}{NS^2}\sum_i \bar a_i \bar a_i^\top`,
  :math:`B = \sum_i \bar J_i^\top \Lambda_i \bar J_i` with :math:`\bar a_i = \sum_s \tilde a_{i,s}`,
  :math:`\bar J_i = \sum_s J_{i,s}` (positions summed before the outer products).

``N`` is the number of samples; ``S = 1`` makes the two equal (the KFAC of Martens & Grosse).
Only the product is defined: the ``1/N`` (input side here, output side in the tutorial) moves
freely between the factors. :math:`B` uses :math:`\Lambda_i` itself, not sampled labels: the
type-2 (GGN, curvlinops' ``"type-2"``) flavour, so no symmetric factor of :math:`\Lambda_i` is
needed. Expand is exact when :math:`J_{i,s}^\top\Lambda_i J_{i,s'}` is ``0`` for ``s != s'`` and
the same for every ``(i, s)`` (deep linear networks of position-wise layers with one loss term
per position, MSE: the expand setting); reduce when :math:`J_{i,s}` does not depend on ``s`` and
:math:`\bar J_i^\top \Lambda_i \bar J_i` not on ``i`` (the positions averaged before a linear head,
MSE: the reduce setting). Batch normalisation's weights are not covered (no block: zero rows in
:func:`kfac_matrix`); a grouped convolution is refused.

>>> import exacthess as eh
>>> C = eh.curvature(eh.FCN(2, (), 1, bias=True), params=[[[1, 1]], [0]], data=([[1, 0], [0, 2]], [[1], [0]]))
>>> [b] = C.kfac("expand")
>>> b.A.tolist(), b.B.tolist(), kfac_error(C)[0].exact
([[1/2, 0, 1/2], [0, 2, 1], [1/2, 1, 1]], [[2]], True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from flint import fmpq

from ..core.domains import QQ
from ..core.errors import InvalidArchitectureError, InvalidTypeError, describe
from ..core.validate import check_option
from ..hessian.graph_forward import GraphProblem, make_graph_problem, taps_of
from ..hessian.graph_route import GraphHessians

__all__ = ["KINDS", "KFACBlock", "KFACDifference", "kfac_factors", "kfac_matrix", "kfac_error"]

#: the KFAC flavours of weight-sharing layers
KINDS = ("expand", "reduce")


@dataclass(frozen=True, eq=False)
class KFACBlock:
    r"""The exact KFAC factors of one layer (module doc).

    Attributes:
        name: the layer (``"layer1"`` for FCN/CNN chains, the node name for a graph).
        kind: ``"expand"`` or ``"reduce"``.
        params: the parameter names it covers (weight, then bias), as in ``Curvature.names``.
        op: ``"linear"`` or ``"conv"``.
        shape: ``(out, in)`` of :math:`\tilde W = [W \mid b]` (``in`` counts the bias column).
        positions: ``S``, the weight-sharing positions per sample.
        n_samples: ``N``.
        A: the input-side factor, ``in x in``, exact.
        B: the output-side factor, ``out x out``, exact.
        block: the exact GGN block of these parameters, ``(out in) x (out in)``, row-major in :math:`\tilde W`.
        index: ``index[o * in + j]`` = the position of entry ``(o, j)`` of :math:`\tilde W` in the
            parameter vector (``block = curv.ggn[np.ix_(index, index)]``).
        n_params: ``p``, the network's parameter count.
    """

    name: str
    kind: str
    params: tuple
    op: str
    shape: tuple
    positions: int
    n_samples: int
    A: np.ndarray
    B: np.ndarray
    block: np.ndarray
    index: np.ndarray
    n_params: int

    @cached_property
    def approx(self) -> np.ndarray:
        r"""``kron(B, A)``: KFAC's block, row-major in :math:`\tilde W`, exact."""
        return np.kron(self.B, self.A)

    def __repr__(self) -> str:
        return (f"KFACBlock({self.name!r}, {self.kind}, params={list(self.params)}, shape={self.shape}, "
                f"S={self.positions}, N={self.n_samples})")


@dataclass(frozen=True)
class KFACDifference:
    """How far KFAC is from the exact GGN block of one layer: ``exact`` (``kron(B, A) == block``,
    entry by entry over Q), ``fro2`` (the squared Frobenius norm of the difference, exact) and
    ``block_fro2`` (that of the block)."""

    name: str
    kind: str
    exact: bool
    fro2: fmpq
    block_fro2: fmpq


def _problem(curv):
    """``(graph, GraphHessians over Q, layer labels by node)`` of a curvature's exact point."""
    if not all(hasattr(curv, a) for a in ("result", "problem", "names", "ggn", "n_params")):
        raise InvalidTypeError(f"curv = {describe(curv)} has type {type(curv).__name__}; expected a Curvature "
                               "(exacthess.curvature(...))")
    engine, prob = curv.result.engine, curv.problem
    if isinstance(prob, GraphProblem) and isinstance(engine, GraphHessians):
        g = prob.arch
        nodes = list(dict.fromkeys(n for n, _ in g.param_order))
        return g, engine, {n: n for n in nodes}
    from ..hessian.saved import documented_params
    from ..models.graph_chains import chain_graph
    g = chain_graph(curv.arch)
    gp = make_graph_problem(g, params=documented_params(prob), data=(prob.X, prob.Y), loss=prob.loss)
    nodes = list(dict.fromkeys(n for n, _ in g.param_order))
    return g, GraphHessians(gp, QQ), {n: f"layer{l}" for l, n in enumerate(nodes, 1)}


def _layout(g, name: str):
    """``(positions S, in_w, out, patch columns, entry position)`` of a linear / conv node's taps."""
    node = g.by_name[name]
    out, inp, w, _ = taps_of(g, name)
    wshape = g.param_shapes()[g.param_order.index((name, "weight"))]
    n_out, in_w = wshape[0], math.prod(wshape[1:])
    dim = math.prod(g.shapes[name])
    S = dim // n_out
    if node.op == "linear":  # output entry pos * out + o
        pos, chan = out // n_out, out % n_out
    else:  # output entry o * S + q
        pos, chan = out % S, out // S
    return S, in_w, n_out, pos, chan, w - chan * in_w, inp


def kfac_factors(curv, kind: str = "expand") -> list:
    """The exact KFAC factors of every linear and convolution layer of ``curv`` (module doc).

    Args:
        curv: a :class:`~exacthess.oracle.operator.Curvature`.
        kind: ``"expand"`` or ``"reduce"``.

    Returns:
        a list of :class:`KFACBlock`, one per layer, in parameter order.

    Raises:
        InvalidOptionError: ``kind`` is not ``"expand"`` or ``"reduce"``.
        InvalidArchitectureError: a grouped convolution (not a layer ``z = W a`` of shared ``W``).
    """
    kind = check_option(kind, "kind", KINDS)
    g, route, label = _problem(curv)
    fw = route.fw
    N = fw.problem.X.shape[0]
    offsets, off = {}, 0
    for nm, shape in curv.names:
        offsets[nm] = off
        off += math.prod(shape)
    layers = [n for n in label if g.by_name[n].op in ("linear", "conv")]
    for n in layers:
        if g.by_name[n].op == "conv" and g.by_name[n].attrs["groups"] != 1:
            raise InvalidArchitectureError(
                f"{g.by_name[n].label()}: groups = {g.by_name[n].attrs['groups']}; expected groups = 1 (KFAC treats a "
                "layer as z_s = W a_s with one weight matrix shared by the positions)")
    info = {n: _layout(g, n) for n in layers}
    Lam = fw.hessians
    acc = {n: [QQ.zeros((info[n][1] + ((n, "bias") in g.param_order),) * 2), QQ.zeros((info[n][2],) * 2)]
           for n in layers}
    for i in range(N):
        jac = route.node_jacobians(i, layers)
        for n in layers:
            S, in_w, n_out, pos, chan, col, inp = info[n]
            bias = (n, "bias") in g.param_order
            P = QQ.zeros((S, in_w + bias))
            P[pos, col] = fw.values[g.by_name[n].inputs[0]][i][inp]
            if bias:
                P[:, in_w] = fmpq(1)
            J = jac[n].reshape(-1, S, n_out) if g.by_name[n].op == "linear" else \
                jac[n].reshape(-1, n_out, S).transpose(0, 2, 1)  # (K, S, out)
            if kind == "reduce":
                P, J = P.sum(axis=0, keepdims=True), J.sum(axis=1, keepdims=True)
            Js = np.ascontiguousarray(J.transpose(1, 0, 2)).reshape(-1, n_out)  # (S' K, out), position-major
            LJ = np.concatenate([QQ.matmul(Lam[i], Js[s * Lam.shape[1]:(s + 1) * Lam.shape[1]])
                                 for s in range(J.shape[1])])
            acc[n][0] = acc[n][0] + QQ.matmul(np.ascontiguousarray(P.T), P)
            acc[n][1] = acc[n][1] + QQ.matmul(np.ascontiguousarray(Js.T), LJ)
    blocks = []
    for n in layers:
        S, in_w, n_out = info[n][:3]
        bias = (n, "bias") in g.param_order
        names = (f"{label[n]}.weight",) + ((f"{label[n]}.bias",) if bias else ())
        w0 = offsets[names[0]]
        cols = [w0 + o * in_w + j for o in range(n_out) for j in range(in_w)]
        if bias:
            cols = [w0 + o * in_w + j if j < in_w else offsets[names[1]] + o
                    for o in range(n_out) for j in range(in_w + 1)]
        index = np.array(cols, dtype=np.int64)
        A = acc[n][0] * fmpq(1, N * S * (S if kind == "reduce" else 1))
        blocks.append(KFACBlock(name=label[n], kind=kind, params=names, op=g.by_name[n].op,
                                shape=(n_out, in_w + bias), positions=S, n_samples=N, A=A, B=acc[n][1],
                                block=curv.ggn[np.ix_(index, index)], index=index, n_params=curv.n_params))
    return blocks


def kfac_matrix(blocks) -> np.ndarray:
    """KFAC's block-diagonal approximation of the GGN as an exact ``p x p`` matrix in parameter order:
    each block's ``kron(B, A)`` at its parameters, zero elsewhere (between layers, and on parameters
    no block covers: batch normalisation's).

    Raises:
        InvalidTypeError: ``blocks`` is not a non-empty list of :class:`KFACBlock` of one network.
    """
    blocks = list(blocks) if isinstance(blocks, (list, tuple)) else None
    if not blocks or not all(isinstance(b, KFACBlock) for b in blocks) or \
            len({b.n_params for b in blocks}) != 1:
        raise InvalidTypeError("blocks is not a non-empty list of KFACBlock of one network; expected "
                               "kfac_factors(curv, kind)'s list")
    M = QQ.zeros((blocks[0].n_params,) * 2)
    for b in blocks:
        M[np.ix_(b.index, b.index)] = b.approx
    return M


def kfac_error(curv, kind: str = "expand") -> list:
    """Per layer, whether KFAC (``kind``) equals the exact GGN block, and the exact squared Frobenius
    norm of the difference (:class:`KFACDifference`)."""
    out = []
    for b in kfac_factors(curv, kind):
        D = b.approx - b.block
        fro2 = sum((v * v for v in D.flat), fmpq(0))
        out.append(KFACDifference(name=b.name, kind=b.kind, exact=fro2 == 0, fro2=fro2,
                                  block_fro2=sum((v * v for v in b.block.flat), fmpq(0))))
    return out
