r"""Symbolic deep linear residual networks for the proofs, as reparameterised plain networks.

:class:`ResidualNetwork` builds, over the ring ``Q[theta, X, Y]`` of the plain FCN
(:class:`~exacthess.proofs.linear_networks.SymbolicNetwork`) extended by one variable per
residual weight:

* the residual network's outputs by an **explicit loop**
  ``h_0 = W_in x + b_in, h_l = h_{l-1} + W_l h_{l-1} + b_l, F = W_out h_L + b_out``
  (``h_0 = x``, ``F = h_L`` without projections), and its ``J``, ``H_L``, ``H_o``, ``H_f`` by
  differentiating the expanded polynomials;
* the substitutions ``V_l = I + W_l`` (the plain network's block weights) and ``W_l = 0``;
* the closed forms at ``W = 0`` (``proofs/residual_linear.py``, statement 2).

Parameters: ``(W_in, b_in, W_1, b_1, ..., W_L, b_L, W_out, b_out)``, each weight row-major (as
``torch.nn.Linear.weight``), then its bias. A helper of the proof files, not a proof itself.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from flint import fmpq_mat

from exacthess.models.architectures import FCN
from exacthess.proofs.linear_networks import SymbolicNetwork
from exacthess.proofs.support import poly_matmul, poly_zeros

__all__ = ["Case", "ResidualNetwork", "grid", "exact_rank", "integer_point", "evaluate"]


class Case(NamedTuple):
    """Sizes: input ``d``, width ``M``, output ``K``, ``L`` blocks, projections, biases, ``n`` samples."""
    d: int
    M: int
    K: int
    L: int
    proj: bool = True
    bias: bool = False
    n: int = 2

    def plain(self) -> FCN:
        """The plain FCN whose hidden layers are the residual stream."""
        hidden = (self.M,) * (self.L + 1 if self.proj else self.L - 1)
        return FCN(self.d, hidden, self.K, bias=self.bias)

    def describe(self) -> str:
        shape = f"d={self.d} M={self.M} K={self.K}" if self.proj else f"d=K=M={self.M}, no projections"
        return f"{shape} L={self.L}{' bias' if self.bias else ''} n={self.n}"


class ResidualNetwork:
    """The residual network over the plain network's ring ``Q[theta_plain, X, Y, W_1..W_L]``.

    The plain FCN (:class:`SymbolicNetwork`) names its layers ``W1 .. W{L+2}``; the residual
    weights are extra variables ``R1 .. RL`` of the same ring, so ``V_l = I + W_l`` is the
    substitution ``W{l+1} -> I + Rl`` (``Wl -> I + Rl`` without projections).
    """

    def __init__(self, case: Case):
        self.case = case
        self.plain = SymbolicNetwork(case.plain(), case.n, extra=[(f"R{l}", (case.M, case.M))
                                                                    for l in range(1, case.L + 1)])
        self.ctx, self.vars = self.plain.ctx, self.plain.vars
        self.zero, self.one = self.plain.zero, self.plain.one
        #: plain layer index of block l (1-based)
        self.block = {l: l + 1 if case.proj else l for l in range(1, case.L + 1)}
        theta = []
        for j in range(1, len(case.plain().layers) + 1):
            blocks = [l for l, jj in self.block.items() if jj == j]
            theta += list(self.vars[f"R{blocks[0]}" if blocks else f"W{j}"].ravel())
            if case.bias:
                theta += list(self.vars[f"b{j}"])
        self.theta = theta
        self.p = len(theta)
        assert self.p == self.plain.p

    def bias(self, j: int):
        """The bias of plain layer ``j`` (None without biases)."""
        return self.vars[f"b{j}"] if self.case.bias else None

    def forward(self, x) -> list:
        """``F(x)`` by the explicit loop ``h_l = h_{l-1} + W_l h_{l-1} + b_l`` (``K`` polynomials).

        Args:
            x: the ``d`` input entries (polynomials).
        """
        c, h = self.case, list(x)

        def affine(W, b, h):
            return [sum((W[a, e] * h[e] for e in range(len(h))), self.zero) + (b[a] if b is not None else 0)
                    for a in range(W.shape[0])]
        if c.proj:
            h = affine(self.vars["W1"], self.bias(1), h)
        for l in range(1, c.L + 1):
            step = affine(self.vars[f"R{l}"], self.bias(self.block[l]), h)
            h = [h[a] + step[a] for a in range(c.M)]
        if c.proj:
            last = c.L + 2
            h = affine(self.vars[f"W{last}"], self.bias(last), h)
        return h

    def outputs(self) -> np.ndarray:
        """``F[i, k] = F_k(x_i)`` for the ``n`` symbolic samples."""
        return grid([self.forward(self.plain.X[i]) for i in range(self.case.n)])

    def jacobians(self, F: np.ndarray) -> list:
        """``J_i[k, t] = dF_k(x_i) / d theta_t``."""
        names = [str(t) for t in self.theta]
        return [grid([[F[i, k].derivative(v) for v in names] for k in range(self.case.K)])
                for i in range(self.case.n)]

    def derivatives(self, F: np.ndarray):
        """Differentiate the expanded polynomials in the residual parameters.

        Returns:
            ``(J, H_L, H_o, H_f)``: the list of ``J_i``, ``H_L`` (the loss differentiated twice),
            ``H_o = sum_i J_i^T J_i`` and ``H_f = H_L - H_o``.
        """
        names = [str(t) for t in self.theta]
        J = self.jacobians(F)
        loss = sum(((F[i, k] - self.plain.Y[i, k]) ** 2 for i in range(self.case.n) for k in range(self.case.K)),
                   self.zero) / 2
        grad = [loss.derivative(v) for v in names]
        H_L = grid([[g.derivative(v) for v in names] for g in grad])
        H_o = poly_zeros(self.ctx, (self.p, self.p))
        for Ji in J:
            H_o = H_o + poly_matmul(self.ctx, np.ascontiguousarray(Ji.T), Ji)
        return J, H_L, H_o, H_L - H_o

    def substitute(self, arr, images: dict) -> np.ndarray:
        """Compose every entry with ``variable name -> polynomial`` (other variables fixed)."""
        gens = list(self.ctx.gens())
        args = [images.get(str(g), g) for g in gens]
        out = np.empty(np.shape(arr), dtype=object)
        for idx, v in np.ndenumerate(np.asarray(arr, dtype=object)):
            out[idx] = v.compose(*args) if not v.is_zero() else v
        return out

    def to_residual(self) -> dict:
        """``V_l = I + W_l``: plain block weight ``(a, b)`` -> ``delta_ab + R_l[a, b]``."""
        images = {}
        for l, j in self.block.items():
            V, R = self.vars[f"W{j}"], self.vars[f"R{l}"]
            for a in range(self.case.M):
                for b in range(self.case.M):
                    images[str(V[a, b])] = R[a, b] + (self.one if a == b else self.zero)
        return images

    def at_identity(self) -> dict:
        """``W_1 = ... = W_L = 0``."""
        return {str(v): self.zero for l in self.block for v in self.vars[f"R{l}"].ravel()}

    # ----- the closed form at W = 0 ----------------------------------------------------------
    def projections(self):
        """``(W_in, W_out)`` (identities without projections)."""
        c = self.case
        if not c.proj:
            eye = grid([[self.one if a == b else self.zero for b in range(c.M)] for a in range(c.M)])
            return eye, eye
        return self.vars["W1"], self.vars[f"W{c.L + 2}"]

    def offset(self, l: int):
        """``c_l = b_in + sum_{k<l} b_k`` (``l = L + 1``: the offset of ``h_L``)."""
        c = self.case
        total = [self.zero] * c.M
        if not c.bias:
            return total
        parts = ([self.vars["b1"]] if c.proj else []) + [self.vars[f"b{self.block[k]}"] for k in range(1, l)]
        for b in parts:
            total = [t + b[a] for a, t in enumerate(total)]
        return total

    def block_columns(self, j: int) -> slice:
        """The parameter columns of plain layer ``j`` (weight, then bias)."""
        start = self.plain.arch.layer_offsets[j - 1]
        return slice(start, start + self.plain.arch.layers[j - 1].n_params)

    def stream(self, l: int, x) -> list:
        """``[h; 1]`` (``[h]`` without biases): the input ``h = W_in x + c_l`` of block ``l`` at ``W = 0``
        (``l = L + 1``: ``h_L``, the output layer's input)."""
        c = self.case
        W_in, _ = self.projections()
        off = self.offset(l)
        h = [sum((W_in[a, e] * x[e] for e in range(len(x))), self.zero) + off[a] for a in range(c.M)]
        return h + ([self.one] if c.bias else [])

    def column(self, j: int, a: int, e: int) -> int:
        """Column of ``W[a, e]`` of plain layer ``j`` (``e`` = its input size: the bias ``b[a]``)."""
        layer = self.plain.arch.layers[j - 1]
        start, width = self.block_columns(j).start, layer.c_in
        return start + (a * width + e if e < width else layer.c_out * width + a)

    def expected_jacobian(self, x) -> np.ndarray:
        """The closed form of statement 2 for one input ``x`` (``K x p``)."""
        c = self.case
        _, W_out = self.projections()
        J = poly_zeros(self.ctx, (c.K, self.p))
        inputs = ([(1, list(x) + ([self.one] if c.bias else []))] if c.proj else []) + [
            (j, self.stream(l, x)) for l, j in self.block.items()]
        for j, h in inputs:  # W_out (x) [h; 1]^T
            for k in range(c.K):
                for a in range(c.M):
                    for e, he in enumerate(h):
                        J[k, self.column(j, a, e)] = W_out[k, a] * he
        if c.proj:  # I_K (x) [h_L; 1]^T
            for k in range(c.K):
                for e, he in enumerate(self.stream(c.L + 1, x)):
                    J[k, self.column(c.L + 2, k, e)] = he
        return J

    def expected_block(self, l: int, m: int) -> np.ndarray:
        """``H_o^{(l,m)}`` at ``W = 0``: entry ``((a, e), (a', e'))`` is
        ``(W_out^T W_out)[a, a'] sum_i [h_l(x_i); 1][e] [h_m(x_i); 1][e']``."""
        c = self.case
        _, W_out = self.projections()
        gram = poly_matmul(self.ctx, np.ascontiguousarray(W_out.T), W_out)
        j, k = self.block[l], self.block[m]
        sl, sm = self.block_columns(j), self.block_columns(k)
        out = poly_zeros(self.ctx, (sl.stop - sl.start, sm.stop - sm.start))
        streams = [(self.stream(l, self.plain.X[i]), self.stream(m, self.plain.X[i])) for i in range(c.n)]
        width = c.M + int(c.bias)
        for e in range(width):
            for f in range(width):
                s = sum((hl[e] * hm[f] for hl, hm in streams), self.zero)
                for a in range(c.M):
                    for b in range(c.M):
                        out[self.column(j, a, e) - sl.start, self.column(k, b, f) - sm.start] = gram[a, b] * s
        return out

    def transfer(self, l: int) -> np.ndarray:
        """``T_l``: block ``l``'s parameters ``(dW, db)`` -> ``(dW W_in, dW c_l + db)`` on the first layer's."""
        c = self.case
        W_in, _ = self.projections()
        d_first = c.d if c.proj else c.M
        rows = c.M * d_first + (c.M if c.bias else 0)
        cols = c.M * c.M + (c.M if c.bias else 0)
        T, off = poly_zeros(self.ctx, (rows, cols)), self.offset(l)
        for a in range(c.M):
            for b in range(c.M):
                for e in range(d_first):
                    T[a * d_first + e, a * c.M + b] = W_in[b, e]
                if c.bias:
                    T[c.M * d_first + a, a * c.M + b] = off[b]
            if c.bias:
                T[c.M * d_first + a, c.M * c.M + a] = self.one
        return T


def grid(rows) -> np.ndarray:
    """A 2-D object array of polynomials (numpy would read a polynomial as a sequence)."""
    out = np.empty((len(rows), len(rows[0]) if rows else 0), dtype=object)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            out[i, j] = v
    return out


def exact_rank(A) -> int:
    """The rank over Q of an integer matrix (FLINT, exact)."""
    A = np.asarray(A, dtype=object)
    return 0 if A.size == 0 else fmpq_mat([[int(v) for v in row] for row in A]).rank()


def integer_point(net: ResidualNetwork, rng, overrides=None) -> dict:
    """Random integers in ``[-999, 999]`` for every variable of the ring, by name, then ``overrides``."""
    vals = {str(g): int(rng.integers(-999, 1000)) for g in net.ctx.gens()}
    vals.update(overrides or {})
    return vals


def evaluate(arr, net, vals) -> np.ndarray:
    """Exact integer values of polynomials at ``vals`` (variable name -> int; every variable assigned)."""
    args = [vals[str(g)] for g in net.ctx.gens()]
    out = np.empty(np.shape(arr), dtype=object)
    for idx, v in np.ndenumerate(np.asarray(arr, dtype=object)):
        value = v(*args)
        assert value.q == 1
        out[idx] = int(value.p)
    return out
