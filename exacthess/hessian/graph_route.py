r"""The Hessians of a graph network, sample by sample, over any domain.

For one sample, forward-mode Jacobians :math:`J_v = \partial v / \partial\theta` (``dim(v) x p``)
of every node follow the graph: a parameterised node :math:`z = T(w)\,u + b` (bilinear in the
weight and the input, written as a tap table, :mod:`exacthess.models.graph_ops`) gives
:math:`J_z = T(w) J_u + [\partial z/\partial w \mid \partial z/\partial b]`; an activation
:math:`\mathrm{diag}(\sigma'(a)) J_a`; a sum :math:`J_a + J_b`; pooling, reshaping and fixed affine
maps their fixed (or, for max pooling, selected) linear map. With :math:`\varphi = g^\top F`
(:math:`g = \nabla l` held fixed) and the adjoints :math:`\delta_v = \partial\varphi/\partial v`
propagated backwards,

.. math:: H_o = \sum_i J_{F,i}^\top A_i J_{F,i}, \qquad
          H_f = \sum_i \Big[\sum_{z = T(w)u} (C_z + C_z^\top)
          + \sum_{h = \sigma(a)} J_a^\top \mathrm{diag}(\sigma''(a) \odot \delta_h) J_a\Big],

where :math:`C_z` has the rows of ``w`` and :math:`C_z[w_k, :] = \sum_t \delta_z[\mathrm{out}_t]
J_u[\mathrm{in}_t, :]` over the taps of ``w_k``: the second derivative of the bilinear map
(:math:`d^2 z = 2\,dT\,du`), which has no block within ``w`` because :math:`J_u` does not depend on
``w`` (a graph has no tied weights). Max pooling is linear near a point with a unique maximum in
every window; eval-mode batch normalisation is a fixed affine map followed by the bilinear
:math:`\gamma \odot \hat x + \beta`. For a chain this is :class:`~exacthess.hessian.persample.PerSample`'s
formula; the two share no code, and the tests compare them.
"""

from __future__ import annotations

import math
from functools import cached_property

import numpy as np
from flint import fmpq

from ..core.domains import Ring
from .graph_attention import (matmul_adjoints, matmul_curvature, matmul_jacobian, softmax_adjoint,
                              softmax_curvature, softmax_jacobian)
from .graph_forward import GraphProblem, causal_keep, channel_of, concat_index, taps_of, transpose_index, windows_of

__all__ = ["GraphHessians"]


class GraphHessians:
    """``H_o``, ``H_f``, ``H_L`` and the Jacobian of a :class:`GraphProblem` over ``ring``.

    Attributes:
        offsets: ``offsets[(node, kind)]`` = the first column of that parameter.
        groups: per parameterised node (in ``param_order`` of first appearance), its columns:
            the "layers" of :meth:`block`.
    """

    def __init__(self, problem: GraphProblem, ring: Ring):
        self.problem, self.ring, self.fw = problem, ring, problem.forward
        g = problem.arch
        self.graph = g
        self.offsets = {key: start for key, (start, _) in g.param_slices().items()}
        self.p = g.n_params
        names = list(dict.fromkeys(n for n, _ in g.param_order))
        self.groups = [np.concatenate([np.arange(self.offsets[(n, k)], self.offsets[(n, k)] + math.prod(s))
                                       for (n2, k), s in zip(g.param_order, g.param_shapes()) if n2 == n])
                       for n in names]
        conv = ring.convert
        self._T, self._taps, self._scales = {}, {}, {}
        for node in g.nodes:
            if node.op in ("linear", "conv") or (node.op == "batchnorm" and node.attrs["affine"]):
                out, inp, w, bidx = taps_of(g, node.name)
                W = conv(problem.param(node.name, "weight").ravel())
                dim, din = math.prod(g.shapes[node.name]), math.prod(g.shapes[node.inputs[0]])
                T = ring.zeros((dim, din))
                np.add.at(T, (out, inp), W[w])
                self._T[node.name] = self._reduce(T)
                self._taps[node.name] = (out, inp, w, bidx)

    def _scale(self, name: str) -> np.ndarray:
        """The fixed scale of an ``affine`` / ``batchnorm`` node (per channel) or a causal ``mask`` (1 where kept,
        0 above the diagonal), per entry of its input, over the ring (converted once)."""
        if name not in self._scales:
            node = self.graph.by_name[name]
            if node.op == "mask":
                self._scales[name] = self.ring.convert(causal_keep(self.graph.shapes[name]).astype(np.int64))
            else:
                ch = channel_of(self.graph, node.inputs[0])
                self._scales[name] = self.ring.convert(np.array(node.attrs["scale"], dtype=object)[ch])
        return self._scales[name]

    def _reduce(self, a):
        p = getattr(self.ring, "p", None)
        return a % p if p is not None else a

    def _scatter_rows(self, n_rows, index, rows):
        out = self.ring.zeros((n_rows, rows.shape[1]))
        np.add.at(out, index, rows)
        return self._reduce(out)

    # ----- one sample ---------------------------------------------------------------------
    def _input_of(self, fw, name: str, i: int):
        """The exact value node ``name`` reads, converted (batch norm: the normalised input)."""
        g, a = self.graph, self.graph.by_name[name].attrs
        u = fw.values[g.by_name[name].inputs[0]][i]
        if g.by_name[name].op == "batchnorm":
            ch = channel_of(g, g.by_name[name].inputs[0])
            u = (u - np.array(a["mean"], dtype=object)[ch]) * np.array(a["scale"], dtype=object)[ch]
        return self.ring.convert(u)

    def _jacobians(self, fw, i: int) -> dict:
        R, g = self.ring, self.graph
        J: dict = {}
        for node in g.nodes:
            name, op = node.name, node.op
            dim = math.prod(g.shapes[name])
            Ju = J.get(node.inputs[0]) if node.inputs else None
            if op == "input":
                J[name] = None
            elif name in self._T:
                if op == "batchnorm" and Ju is not None:
                    Ju = R.mul(self._scale(name)[:, None], Ju)
                Z = R.zeros((dim, self.p)) if Ju is None else R.matmul(self._T[name], Ju)
                out, inp, w, bidx = self._taps[name]
                u = self._input_of(fw, name, i)
                w0 = self.offsets[(name, "weight")]
                Z[out, w0 + w] = R.add(Z[out, w0 + w], u[inp])
                if (name, "bias") in self.offsets:
                    b0 = self.offsets[(name, "bias")]
                    Z[np.arange(dim), b0 + bidx] = R.add(Z[np.arange(dim), b0 + bidx], R.one)
                J[name] = Z
            elif op in ("batchnorm", "affine", "mask"):  # a fixed scale per entry (batch norm without parameters)
                J[name] = None if Ju is None else R.mul(self._scale(name)[:, None], Ju)
            elif op == "act":
                J[name] = None if Ju is None else R.mul(R.convert(fw.d1[name][i])[:, None], Ju)
            elif op == "add":
                Jv = J.get(node.inputs[1])
                J[name] = Jv if Ju is None else (Ju if Jv is None else R.add(Ju, Jv))
            elif op == "matmul":
                a_, b_ = self._factors(fw, i, node)
                J[name] = matmul_jacobian(R, a_, b_, Ju, J.get(node.inputs[1]), self.p)
            elif op == "transpose":
                J[name] = None if Ju is None else Ju[transpose_index(g.shapes[node.inputs[0]])]
            elif op == "softmax":
                J[name] = None if Ju is None else softmax_jacobian(R, self._softmax(fw, i, name),
                                                                   node.attrs["scale"], Ju, self.p)[0]
            elif op == "concat":
                parts = [J.get(s) for s in node.inputs]
                J[name] = None if all(P is None for P in parts) else np.concatenate(
                    [R.zeros((math.prod(g.shapes[s]), self.p)) if P is None else P
                     for s, P in zip(node.inputs, parts)], axis=0)[concat_index(g, name)]
            elif op == "avgpool":
                J[name] = None if Ju is None else self._pool_avg(name, Ju)
            elif op == "maxpool":
                J[name] = None if Ju is None else Ju[fw.selected[name][i]]
            else:  # reshape, identity
                J[name] = Ju
        return J

    def _factors(self, fw, i: int, node):
        """The converted factors ``a (m, k)``, ``b (k, n)`` of a ``matmul`` node at sample ``i``."""
        g, R = self.graph, self.ring
        (m, k), (_, n) = g.shapes[node.inputs[0]], g.shapes[node.inputs[1]]
        a = R.convert(fw.values[node.inputs[0]][i]).reshape(m, k)
        b = R.convert(fw.values[node.inputs[1]][i]).reshape(k, n)
        return a, b

    def _softmax(self, fw, i: int, name: str):
        """The softmax stand-ins of node ``name`` at sample ``i``, converted, ``(m, n)``."""
        return self.ring.convert(fw.softmax[name][i]).reshape(self.graph.shapes[name])

    def _pool_avg(self, name, Ju):
        R = self.ring
        win = windows_of(self.graph, name)
        keep = win >= 0
        rows = np.nonzero(keep)[0]
        S = self._scatter_rows(win.shape[0], rows, Ju[win[keep]])
        return R.mul(S, R.convert(np.array([1], dtype=object) * _inv(win.shape[1]))[0])

    def _adjoints(self, fw, i: int, seed) -> dict:
        """``delta[node]``: the gradient of ``seed^T F(x_i)`` in the node's value (``seed`` converted)."""
        R, g = self.ring, self.graph
        delta = {g.output: seed}
        for node in reversed(g.nodes):
            name, op, a = node.name, node.op, node.attrs
            d = delta.pop(name, None) if op != "input" else None
            if d is None:
                continue
            delta[name + "\0"] = d  # keep the node's own adjoint for the curvature terms
            if op == "input":
                continue
            src = node.inputs[0]
            if name in self._T:
                back = R.matmul(self._T[name].T, d[:, None])[:, 0]
                if op == "batchnorm":
                    back = R.mul(back, self._scale(name))
            elif op in ("batchnorm", "affine", "mask"):
                back = R.mul(d, self._scale(name))
            elif op == "act":
                back = R.mul(d, R.convert(fw.d1[name][i]))
            elif op == "matmul":
                for s_, v in zip(node.inputs, matmul_adjoints(R, *self._factors(fw, i, node), d)):
                    delta[s_] = v if s_ not in delta else R.add(delta[s_], v)
                continue
            elif op == "transpose":
                back = d[np.argsort(transpose_index(g.shapes[src]))]
            elif op == "softmax":
                back = softmax_adjoint(R, self._softmax(fw, i, name), a["scale"], d)
            elif op == "concat":
                stacked = R.zeros((d.shape[0],))
                stacked[concat_index(g, name)] = d
                off = 0
                for s_ in node.inputs:
                    size = math.prod(g.shapes[s_])
                    v = stacked[off:off + size]
                    off += size
                    delta[s_] = v if s_ not in delta else R.add(delta[s_], v)
                continue
            elif op == "avgpool":
                win = windows_of(g, name)
                keep = win >= 0
                back = self._scatter_rows(math.prod(g.shapes[src]), win[keep], np.repeat(d[:, None], win.shape[1],
                                                                                          axis=1)[keep][:, None])[:, 0]
                back = R.mul(back, R.convert(np.array([_inv(win.shape[1])], dtype=object))[0])
            elif op == "maxpool":
                back = self._scatter_rows(math.prod(g.shapes[src]), fw.selected[name][i], d[:, None])[:, 0]
            else:  # add, reshape, identity
                back = d
            for s in node.inputs:
                delta[s] = back if s not in delta else R.add(delta[s], back)
        return {k[:-1]: v for k, v in delta.items() if k.endswith("\0")}

    def node_jacobians(self, i: int, names) -> dict:
        r"""The Jacobians :math:`\partial F(x_i) / \partial v` of the output in the values of the nodes
        ``names``: ``{name: (K, dim v)}``, row ``k`` the adjoint of ``v`` for the seed ``e_k`` (``K``
        backward passes; a node the output does not read has zero rows)."""
        R, g = self.ring, self.graph
        K = g.output_dim
        out = {n: R.zeros((K, math.prod(g.shapes[n]))) for n in names}
        for k in range(K):
            seed = R.zeros((K,))
            seed[k] = R.one
            delta = self._adjoints(self.fw, i, seed)
            for n in names:
                if delta.get(n) is not None:
                    out[n][k] = delta[n]
        return out

    # ----- the matrices ---------------------------------------------------------------------
    def _curvature(self, fw, i: int, J: dict, delta: dict, acc: dict) -> None:
        """Record sample ``i``'s second-order terms of ``seed^T F`` (adjoints ``delta``) in ``acc``: per
        parameterised node the factors ``(M_delta, J_u)`` of ``C = M_delta J_u``, per curved activation
        ``(J_a, c J_a)``; :meth:`_functional` multiplies them out, all samples in one product."""
        R, g = self.ring, self.graph
        for node in g.nodes:
            name = node.name
            d = delta.get(name)
            if d is None:
                continue
            Ju = J.get(node.inputs[0]) if node.inputs else None
            if name in self._T and Ju is not None:
                out, inp, w, _ = self._taps[name]
                if node.op == "batchnorm":
                    Ju = R.mul(self._scale(name)[:, None], Ju)
                n_w = math.prod(g.param_shapes()[g.param_order.index((name, "weight"))])
                Md = R.zeros((n_w, Ju.shape[0]))  # Md[w_t, in_t] += delta[out_t]: C = Md J_u
                np.add.at(Md, (w, inp), d[out])
                acc.setdefault(("C", name), ([], []))
                acc[("C", name)][0].append(self._reduce(Md))
                acc[("C", name)][1].append(Ju)
            elif node.op == "matmul" and Ju is not None and J.get(node.inputs[1]) is not None:
                acc.setdefault(("mm", name), ([], []))
                acc[("mm", name)][0].append(matmul_curvature(R, g.shapes[node.inputs[0]], g.shapes[name][1], Ju, d))
                acc[("mm", name)][1].append(J[node.inputs[1]])
            elif node.op == "softmax" and Ju is not None:
                left, right = softmax_curvature(R, self._softmax(fw, i, name), node.attrs["scale"], Ju, d, self.p)
                acc.setdefault(("act", name), ([], []))
                acc[("act", name)][0].append(left)
                acc[("act", name)][1].append(right)
            elif node.op == "act" and name in fw.d2 and Ju is not None:
                c = R.mul(R.convert(fw.d2[name][i]), d)
                acc.setdefault(("act", name), ([], []))
                acc[("act", name)][0].append(Ju)
                acc[("act", name)][1].append(R.mul(c[:, None], Ju))

    def _functional(self, acc: dict):
        """``H_f`` from the recorded factors: ``sum_i M_i J_i = [M_1 ... M_n] [J_1; ...; J_n]`` per node."""
        R = self.ring
        Hf = R.zeros((self.p, self.p))
        for (kind, name), (left, right) in acc.items():
            if kind == "C":
                C = R.matmul(np.concatenate(left, axis=1), np.concatenate(right, axis=0))
                w0 = self.offsets[(name, "weight")]
                Hf[w0:w0 + C.shape[0]] = R.add(Hf[w0:w0 + C.shape[0]], C)
                Hf[:, w0:w0 + C.shape[0]] = R.add(Hf[:, w0:w0 + C.shape[0]], C.T)
            elif kind == "mm":
                C = R.matmul(np.concatenate(left, axis=1), np.concatenate(right, axis=0))
                Hf = R.add(Hf, R.add(C, np.ascontiguousarray(C.T)))
            else:
                Hf = R.add(Hf, R.matmul(np.ascontiguousarray(np.concatenate(left, axis=0).T),
                                        np.concatenate(right, axis=0)))
        return Hf

    def _output_jacobian(self, J: dict):
        JF = J[self.graph.output]
        return JF if JF is not None else self.ring.zeros((self.graph.output_dim, self.p))

    @property
    def sample_free(self) -> bool:
        """Whether the matrices come from the data moments (:meth:`_moments`): ``F`` affine in ``x``
        (no nonlinear activation, no max pooling), a quadratic loss, more samples than ``d + 1``."""
        return (self.graph.is_linear and self.problem.loss.quadratic
                and self.problem.X.shape[0] > self.graph.input_dim + 1)

    @cached_property
    def _matrices(self) -> tuple:
        return self._moments() if self.sample_free else self._per_sample()

    def _per_sample(self) -> tuple:
        R, fw = self.ring, self.fw
        n = self.problem.X.shape[0]
        A = R.convert(fw.hessians)
        jac, weighted, acc = [], [], {}
        for i in range(n):
            J = self._jacobians(fw, i)
            JF = self._output_jacobian(J)
            jac.append(JF)
            weighted.append(R.matmul(A[i], JF))
            self._curvature(fw, i, J, self._adjoints(fw, i, R.convert(fw.gradients[:, i])), acc)
        Ho = R.matmul(np.ascontiguousarray(np.concatenate(jac, axis=0).T), np.concatenate(weighted, axis=0))
        return Ho, self._functional(acc), jac

    def _moments(self) -> tuple:
        r"""The sample-free route. ``F(x) = A(theta) x + c(theta)`` is affine in ``x``, so with
        :math:`\tilde x = (x, 1)` the output Jacobian is :math:`J(x) = \sum_j \tilde x_j D_j`
        (:math:`D_j = J(e_j) - J(0)`, :math:`D_{d+1} = J(0)`) and ``H_f`` at ``(x, g)`` is bilinear in
        :math:`(\tilde x, g)`. Hence, with :math:`\tilde\Sigma = \sum_i \tilde x_i \tilde x_i^\top`
        and :math:`\tilde\Omega = \sum_i g_i \tilde x_i^\top`,

        .. math:: H_o = \sum_{a,b} \tilde\Sigma_{ab} D_a^\top A D_b, \qquad
                  H_f = \sum_{j \le d} H_f(e_j, \tilde\Omega_{:,j})
                        + H_f\big(0, \tilde\Omega_{:,d+1} - \textstyle\sum_{j \le d} \tilde\Omega_{:,j}\big):

        ``d + 2`` evaluations at the basis vectors and at 0, whatever the number of samples."""
        from dataclasses import replace as _replace
        from .graph_forward import GraphForward
        R, fw, prob = self.ring, self.fw, self.problem
        d, K = self.graph.input_dim, self.graph.output_dim
        basis = np.array([[fmpq(int(i == j)) for j in range(d)] for i in range(d + 1)], dtype=object)  # e_j, then 0
        vf = GraphForward(_replace(prob, X=basis, Y=np.zeros((d + 1, K), dtype=object)))
        Js = [self._output_jacobian(self._jacobians(vf, j)) for j in range(d + 1)]
        D = [R.sub(Js[j], Js[d]) for j in range(d)] + [Js[d]]
        n = prob.X.shape[0]
        Xt = np.concatenate([prob.X, np.full((n, 1), fmpq(1), dtype=object)], axis=1)  # (n, d+1)
        from ..core.domains import QQ
        sigma = R.convert(QQ.matmul(np.ascontiguousarray(Xt.T), Xt))
        omega = R.convert(QQ.matmul(fw.gradients, Xt))  # (K, d+1)
        A = R.convert(fw.hessians[0])
        Dstack = np.concatenate(D, axis=0)  # ((d+1) K, p)
        weight = np.concatenate([np.concatenate([R.mul(sigma[a, b], A) for b in range(d + 1)], axis=1)
                                 for a in range(d + 1)], axis=0)
        Ho = R.matmul(Dstack.T, R.matmul(weight, Dstack))
        acc, rest = {}, omega[:, d]
        for j in range(d):
            self._curvature(vf, j, self._jacobians(vf, j), self._adjoints(vf, j, omega[:, j]), acc)
            rest = R.sub(rest, omega[:, j])
        self._curvature(vf, d, self._jacobians(vf, d), self._adjoints(vf, d, rest), acc)
        Hf = self._functional(acc)
        flat = np.stack([Dj.reshape(-1) for Dj in D])  # (d+1, K p): J_i = sum_j x~_ij D_j
        return Ho, Hf, [R.matmul(R.convert(Xt[i:i + 1]), flat).reshape(K, self.p) for i in range(n)]

    def full(self, name: str) -> np.ndarray:
        """The whole ``p x p`` matrix ``name`` (``"H_o"``, ``"H_f"`` or ``"H_L"``) in ``param_order``."""
        Ho, Hf, _ = self._matrices
        if name == "H_o":
            return Ho
        if name == "H_f":
            return Hf
        return self.ring.add(Ho, Hf)

    def block(self, name: str, l: int, m: int) -> np.ndarray:
        """Block ``(l, m)`` of ``name``: the parameters of the l-th and m-th parameterised node (1-based)."""
        M = self.full(name)
        return M[np.ix_(self.groups[l - 1], self.groups[m - 1])]

    def block_column(self, name: str, m: int) -> np.ndarray:
        """All rows, the columns of the m-th parameterised node."""
        return self.full(name)[:, self.groups[m - 1]]

    @property
    def jacobian_stack(self) -> np.ndarray:
        """The Jacobians of the outputs, samples stacked: ``(n K) x p``."""
        return np.concatenate(self._matrices[2], axis=0)


def _inv(k: int):
    from flint import fmpq
    return fmpq(1, k)
