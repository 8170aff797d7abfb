r"""Exact tangent vectors of the symmetries of self-attention, and their proposal as null vectors.

For the patterns of :mod:`exacthess.models.attention_pattern` (torch layout: ``W`` is
``(out, in)``, a linear node computes ``x W^T + b``), at the exact point ``theta``:

* **query-key** ``GL(d_k)``, for each ``E = e_a e_b^T`` (``d_k^2`` vectors per head):
  ``dW_q = E^T W_q``, ``db_q = E^T b_q``, ``dW_k = -E W_k``, ``db_k = -E b_k`` -- the derivative at
  ``G = I`` of ``Q -> Q G``, ``K -> K G^{-T}``, which leaves ``Q K^T`` unchanged;
* **key bias** (scores into a softmax over rows): the unit vectors of ``b_k``: ``q_i . b_k`` is
  constant along row ``i`` of the scores, and softmax does not see row-constant shifts;
* **value-output** ``GL(d_v)``, for each ``E`` (``d_v^2`` vectors per head read by a linear
  node ``o``): ``dW_v = E^T W_v``, ``db_v = E^T b_v``, ``dW_o[:, c] = -(W_o[:, c] E^T)`` on the
  head's columns ``c`` -- ``V -> V G``, ``W_o -> W_o G^{-T}``;
* **query-value scaling** (linear attention: the attention map homogeneous in the scores):
  ``dW_q = W_q``, ``db_q = b_q``, ``dW_v = -W_v``, ``db_v = -b_v`` -- ``Q -> a Q``, ``V -> V / a``;
* **value bias** (softmax attention map, rows summing to 1, read by a linear node ``o`` with a bias):
  ``db_v = e_a``, ``db_o = -W_o[:, c_a]`` -- ``A (1 c^T) = 1 c^T`` passes through to the output bias.

Each leaves the network function unchanged along a curve through ``theta``, so ``J v = 0``
(``proofs/attention_symmetry.py`` proves the identities in polynomial rings), hence
``H_o v = 0`` at every point; ``H_L v = H_f v = 0`` only where the loss gradient vanishes.
:func:`symmetry_dimension` is the exact dimension of their span over Q;
:func:`symmetry_proposal` hands an independent subset to the certifier as a
:class:`~exacthess.certify.certificate.NullVectors` *proposal* (the checker verifies
``M v = 0`` before it bounds anything).
"""

from __future__ import annotations

import itertools
from math import prod

import numpy as np
from flint import fmpq

from ..certify.certificate import NullBlock, NullVectors
from ..certify.kernel import qmat
from ..core.modular import pivot_cols, pivot_rows, reduce_mod
from ..models.attention_pattern import attention_heads, value_outputs

__all__ = ["symmetry_vectors", "symmetry_dimension", "symmetry_proposal"]

_ZERO = fmpq(0)


class _Vec:
    """One tangent vector being written, parameter by parameter."""

    def __init__(self, slices, P):
        self.slices, self.v = slices, np.full(P, _ZERO, dtype=object)

    def put(self, name, kind, arr):
        if (name, kind) in self.slices:
            start, shape = self.slices[(name, kind)]
            self.v[start:start + prod(shape)] = np.asarray(arr, dtype=object).reshape(-1)


def _get(problem, name, kind):
    p = problem.param(name, kind)
    return None if p is None else np.asarray(p, dtype=object)


def _gl_in(problem, name, a, b, sign):
    """``sign * E^T W`` and ``sign * E^T b`` (``E = e_a e_b^T``: row ``b`` := row ``a``) of linear node ``name``."""
    W, bias = _get(problem, name, "weight"), _get(problem, name, "bias")
    dW = np.full(W.shape, _ZERO, dtype=object)
    dW[b] = W[a] * sign
    db = None
    if bias is not None:
        db = np.full(bias.shape, _ZERO, dtype=object)
        db[b] = bias[a] * sign
    return dW, db


def symmetry_vectors(problem) -> tuple:
    """``(V, labels, families)``: the tangent vectors of the module doc at the problem's point, as the
    columns of a ``p x m`` object array of ``fmpq``; ``families`` counts them per family."""
    graph = problem.arch
    slices, P = graph.param_slices(), graph.n_params
    cols, labels = [], []
    fam = {"query-key": 0, "key bias": 0, "value-output": 0, "query-value scaling": 0, "value bias": 0}

    def emit(vec, label, family):
        cols.append(vec.v)
        labels.append(label)
        fam[family] += 1
    for h in attention_heads(graph):
        for a, b in itertools.product(range(h.d_k), repeat=2):
            vec = _Vec(slices, P)
            dWq, dbq = _gl_in(problem, h.q, a, b, 1)  # E^T W_q: row b := row a
            dWk, dbk = _gl_in(problem, h.k, b, a, -1)  # -E W_k: row a := -row b
            vec.put(h.q, "weight", dWq)
            vec.put(h.k, "weight", dWk)
            if dbq is not None:
                vec.put(h.q, "bias", dbq)
            if dbk is not None:
                vec.put(h.k, "bias", dbk)
            emit(vec, f"query-key E_{a}{b} ({h.q}, {h.k})", "query-key")
        if h.row_shift and (h.k, "bias") in slices:
            for a in range(h.d_k):
                vec = _Vec(slices, P)
                e = np.full(h.d_k, _ZERO, dtype=object)
                e[a] = fmpq(1)
                vec.put(h.k, "bias", e)
                emit(vec, f"key bias {a} ({h.k})", "key bias")
        if h.homogeneous and h.v is not None:
            vec = _Vec(slices, P)
            for name, sign in ((h.q, 1), (h.v, -1)):
                for kind in ("weight", "bias"):
                    arr = _get(problem, name, kind)
                    if arr is not None:
                        vec.put(name, kind, arr * sign)
            emit(vec, f"query-value scaling ({h.q}, {h.v})", "query-value scaling")
        if h.stochastic and h.v is not None and h.out is not None and (h.v, "bias") in slices \
                and (h.out, "bias") in slices:
            Wo = _get(problem, h.out, "weight")
            for a in range(h.out_cols[1] - h.out_cols[0]):
                vec = _Vec(slices, P)
                e = np.full(h.out_cols[1] - h.out_cols[0], _ZERO, dtype=object)
                e[a] = fmpq(1)
                vec.put(h.v, "bias", e)
                vec.put(h.out, "bias", -Wo[:, h.out_cols[0] + a])
                emit(vec, f"value bias {a} ({h.v}, {h.out})", "value bias")
    for vo in value_outputs(graph):
        Wo = _get(problem, vo.out, "weight")
        c0, c1 = vo.out_cols
        for a, b in itertools.product(range(c1 - c0), repeat=2):
            vec = _Vec(slices, P)
            dWv, dbv = _gl_in(problem, vo.v, a, b, 1)
            vec.put(vo.v, "weight", dWv)
            if dbv is not None:
                vec.put(vo.v, "bias", dbv)
            dWo = np.full(Wo.shape, _ZERO, dtype=object)
            dWo[:, c0 + a] = -Wo[:, c0 + b]  # -(W_o E^T): column a := -column b
            vec.put(vo.out, "weight", dWo)
            emit(vec, f"value-output E_{a}{b} ({vo.v}, {vo.out})", "value-output")
    V = np.stack(cols, axis=1) if cols else np.empty((P, 0), dtype=object)
    return V, labels, {k: n for k, n in fam.items() if n}


def symmetry_dimension(V) -> int:
    """The exact dimension over Q of the span of the columns of ``V`` (FLINT's rank of ``fmpq_mat``)."""
    return qmat(V).rank()


def symmetry_proposal(problem, p: int, V=None) -> NullVectors | None:
    """An independent subset of the symmetry vectors (modulo ``p``) and their pivot coordinates, as a
    :class:`~exacthess.certify.certificate.NullVectors` proposal for the kernel of ``J`` (``"CJ"``) and
    ``H_o``; None when the graph has no attention pattern (or ``p`` divides a denominator)."""
    if V is None:
        V = symmetry_vectors(problem)[0]
    if not V.shape[1]:
        return None
    try:
        Vp = reduce_mod(V, p)
    except ZeroDivisionError:
        return None
    sel = pivot_cols(Vp, p)
    if not sel:
        return None
    support = [i for i in range(V.shape[0]) if any(x != 0 for x in V[i, sel])]
    piv = pivot_rows(np.ascontiguousarray(Vp[np.ix_(support, sel)]), p)
    return NullVectors(prime=p, blocks=(NullBlock(rows=tuple(support), vectors=np.ascontiguousarray(V[np.ix_(support, sel)])),),
                       pivots=tuple(int(support[i]) for i in piv),
                       how="symmetries of self-attention (query-key, value-output, key bias, query-value scaling)")
