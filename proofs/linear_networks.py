r"""Symbolic linear networks for the proofs: every weight, input and target entry a variable.

:class:`SymbolicNetwork` builds, over one python-flint polynomial ring ``Q[theta, X, Y]``:

* the outputs ``F(x_i)`` by an **explicit convolution loop** written here (a fully-connected
  layer is the 1x1 case), independent of exacthess's Toeplitz code;
* the MSE loss ``l = 1/2 sum_i ||F(x_i) - y_i||^2`` and its exact Hessian ``H_L`` by
  differentiating the expanded polynomial; ``H_o = sum_i J_i^T J_i`` from the derivatives of
  the outputs, and ``H_f = H_L - H_o``;
* each layer's (augmented) operator ``T~_l`` read off the loop: column ``c`` is
  ``loop(e_c) - loop(0)`` (the loop is affine in its input) and the bias column is
  ``loop(0)``;
* the exact :class:`~exacthess.hessian.problem.Problem` (weights in tap order, ``Sigma~``,
  ``Yhat~``, ``R``, ``G`` with symbolic entries) and an
  :class:`~exacthess.hessian.engine.Engine` over the same ring, so a proof can compare the
  engine's output with the symbolic derivation.

Parameters follow exacthess's order (layer by layer; the weight tensor row-major, then the
bias). This module is a helper of the proof files, not a proof itself.
"""

from __future__ import annotations

import itertools
from functools import cached_property

import numpy as np

from exacthess.hessian.engine import Engine
from exacthess.hessian.problem import Problem
from exacthess.models.architectures import Architecture
from exacthess.proofs.support import PolynomialDomain, poly_eye, poly_matmul, poly_ring, poly_zeros

__all__ = ["SymbolicNetwork", "conv_loop", "short_name"]


def short_name(arch: Architecture) -> str:
    """A compact description: ``fcn 2-(2,2)-2 bias`` or ``cnn (4,) ch (2,) k 2 s 2 p 1 K=1``."""
    from exacthess.models.architectures import FCN
    tail = " bias" if arch.bias else ""
    if isinstance(arch, FCN):
        widths = ",".join(map(str, arch.widths))
        return f"fcn {arch.input_dim}-({widths})-{arch.output_dim}{tail}"
    def one(v):
        vals = set(v)
        v0 = next(iter(vals)) if len(vals) == 1 else None
        v0 = v0 if v0 is not None else tuple(v)
        return "x".join(map(str, v0)) if isinstance(v0, tuple) else str(v0)
    shape = "(" + "x".join(map(str, arch.input_shape)) + ")"
    ch = ",".join(map(str, arch.channels))
    text = f"cnn {shape}"
    if arch.in_channels != 1:
        text += f" cin {arch.in_channels}"
    text += f" ch ({ch}) k {one(arch.kernel_sizes)}"
    if set(arch.strides) != {1} and set(arch.strides) != {(1, 1)}:
        text += f" s {one(arch.strides)}"
    if set(arch.paddings) != {0} and set(arch.paddings) != {(0, 0)}:
        text += f" p {one(arch.paddings)}"
    return f"{text} K={arch.output_dim}{tail}"


def conv_loop(layer, weight: np.ndarray, bias, h: np.ndarray, zero) -> np.ndarray:
    """One layer by explicit loops: ``out[o, y, x] = sum_{i,a,b} w[o,i,a,b] h[i, s y + a - p, s x + b - p] + b[o]``.

    Args:
        layer: a :class:`~exacthess.models.ConvLayer` (sizes, stride, padding only).
        weight: ``(c_out, c_in, kh, kw)`` array.
        bias: ``(c_out,)`` array or None.
        h: the input, flat channel-major (length ``c_in * H * W``).
        zero: the zero of the ring.

    Returns:
        The output, flat channel-major.
    """
    (hi, wi), (ho, wo) = layer.in_shape, layer.out_shape
    hh = np.asarray(h, dtype=object).reshape(layer.c_in, hi, wi)
    out = np.empty((layer.c_out, ho, wo), dtype=object)
    for o, y, x in itertools.product(range(layer.c_out), range(ho), range(wo)):
        acc = zero
        for i, a, b in itertools.product(range(layer.c_in), range(layer.kernel[0]), range(layer.kernel[1])):
            yy = y * layer.stride[0] + a - layer.padding[0]
            xx = x * layer.stride[1] + b - layer.padding[1]
            if 0 <= yy < hi and 0 <= xx < wi:
                acc = acc + weight[o, i, a, b] * hh[i, yy, xx]
        if bias is not None:
            acc = acc + bias[o]
        out[o, y, x] = acc
    return out.ravel()


class SymbolicNetwork:
    """A linear network with symbolic parameters and ``n`` symbolic samples.

    Args:
        arch: an :class:`~exacthess.FCN` or :class:`~exacthess.CNN`.
        n: number of samples (``X`` is ``n x d``, ``Y`` is ``n x K``).
        extra: further ``(name, shape)`` variable groups of the ring.
    """

    def __init__(self, arch: Architecture, n: int, extra=()):
        self.arch, self.n = arch, n
        self.K, self.d = arch.output_dim, arch.input_dim
        self.aug = arch.bias
        groups, self.param_names = [], []
        for l, layer in enumerate(arch.layers, start=1):
            groups.append((f"W{l}", (layer.c_out, layer.n_taps - int(layer.bias))))
            self.param_names.append(f"W{l}")
            if layer.bias:
                groups.append((f"b{l}", (layer.c_out,)))
                self.param_names.append(f"b{l}")
        groups += [("X", (n, self.d)), ("Y", (n, self.K))] + list(extra)
        self.ctx, self.vars = poly_ring(groups)
        self.zero, self.one = self.ctx.constant(0), self.ctx.constant(1)
        self.X, self.Y = self.vars["X"], self.vars["Y"]
        #: the flat parameter vector in exacthess's documented order
        self.theta = np.concatenate([self.vars[name].ravel() for name in self.param_names])
        self.p = len(self.theta)

    # ----- layers --------------------------------------------------------------------
    def layer_params(self, l: int):
        """``(weight (c_out, c_in, kh, kw), bias or None)`` of layer l (1-based)."""
        layer = self.arch.layers[l - 1]
        w = self.vars[f"W{l}"].reshape(layer.weight_shape)
        return w, (self.vars[f"b{l}"] if layer.bias else None)

    def layer_slice(self, l: int) -> slice:
        start = self.arch.layer_offsets[l - 1]
        return slice(start, start + self.arch.layers[l - 1].n_params)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``F(x)`` by the explicit loop (``K`` polynomials)."""
        h = np.asarray(x, dtype=object)
        for l, layer in enumerate(self.arch.layers, start=1):
            w, b = self.layer_params(l)
            h = conv_loop(layer, w, b, h, self.zero)
        return h

    @cached_property
    def outputs(self) -> np.ndarray:
        """``F[i, c] = F_c(x_i)``."""
        return np.stack([self.forward(self.X[i]) for i in range(self.n)])

    @cached_property
    def residuals(self) -> np.ndarray:
        """``delta[i, c] = F_c(x_i) - y_ic``."""
        return self.outputs - self.Y

    @cached_property
    def loss(self):
        """``1/2 sum_i ||F(x_i) - y_i||^2`` as one polynomial."""
        total = self.zero
        for v in self.residuals.ravel():
            total = total + v * v
        return total / 2

    def derivative(self, f, k: int):
        """``df / d theta_k``."""
        return f.derivative(str(self.theta[k]))

    @cached_property
    def jacobians(self) -> list:
        """``J_i[c, k] = dF_c(x_i) / d theta_k``."""
        out = []
        for i in range(self.n):
            J = np.empty((self.K, self.p), dtype=object)
            for c in range(self.K):
                for k in range(self.p):
                    J[c, k] = self.derivative(self.outputs[i, c], k)
            out.append(J)
        return out

    @cached_property
    def gradient(self) -> np.ndarray:
        """``grad l`` (length p)."""
        g = np.empty(self.p, dtype=object)
        for k in range(self.p):
            g[k] = self.derivative(self.loss, k)
        return g

    @cached_property
    def H_L(self) -> np.ndarray:
        """``grad^2 l`` by differentiating the expanded loss twice."""
        H = np.empty((self.p, self.p), dtype=object)
        for a in range(self.p):
            for b in range(a, self.p):
                H[a, b] = H[b, a] = self.derivative(self.gradient[a], b)
        return H

    @cached_property
    def H_o(self) -> np.ndarray:
        """``sum_i J_i^T J_i``."""
        H = poly_zeros(self.ctx, (self.p, self.p))
        for J in self.jacobians:
            H = H + poly_matmul(self.ctx, np.ascontiguousarray(J.T), J)
        return H

    @cached_property
    def H_f(self) -> np.ndarray:
        """``H_L - H_o``."""
        return self.H_L - self.H_o

    # ----- operators read off the loop -----------------------------------------------
    def dim(self, l: int) -> int:
        """Size of the (augmented) space after layer l (l = 0: the input)."""
        layer = self.arch.layers[0] if l == 0 else self.arch.layers[l - 1]
        return (layer.n_in if l == 0 else layer.n_out) + int(self.aug)

    @cached_property
    def operators(self) -> list:
        """``T~_l`` (1-based list index l - 1): the loop's affine map as a matrix,
        ``[[T, b], [0, 1]]`` when the network has biases."""
        ops = []
        for l, layer in enumerate(self.arch.layers, start=1):
            w, b = self.layer_params(l)
            zero_in = poly_zeros(self.ctx, (layer.n_in,))
            offset = conv_loop(layer, w, b, zero_in, self.zero)
            T = poly_zeros(self.ctx, (self.dim(l), self.dim(l - 1)))
            for c in range(layer.n_in):
                e = zero_in.copy()
                e[c] = self.one
                T[: layer.n_out, c] = conv_loop(layer, w, b, e, self.zero) - offset
            if self.aug:
                T[: layer.n_out, layer.n_in] = offset
                T[layer.n_out, layer.n_in] = self.one
            else:
                assert all(v.is_zero() for v in offset), "a layer without bias has a nonzero offset"
            ops.append(T)
        return ops

    def product(self, hi: int, lo: int) -> np.ndarray:
        """``T~_hi ... T~_lo`` (identity of size dim(lo - 1) when hi < lo)."""
        cur = poly_eye(self.ctx, self.dim(lo - 1))
        for k in range(lo, hi + 1):
            cur = poly_matmul(self.ctx, self.operators[k - 1], cur)
        return cur

    def after(self, l: int) -> np.ndarray:
        """``T~_{>l}`` restricted to the K outputs (``K x dim(l)``)."""
        full = self.product(len(self.arch.layers), l + 1)
        return full[: self.K]

    @cached_property
    def inputs_aug(self) -> np.ndarray:
        """``X~`` (``n x dim(0)``): ``[X, 1]`` with biases, else ``X``."""
        if not self.aug:
            return self.X
        ones = np.empty((self.n, 1), dtype=object)
        ones.fill(self.one)
        return np.concatenate([self.X, ones], axis=1)

    @cached_property
    def omega(self) -> np.ndarray:
        """``Omega~ = sum_i delta_i x~_i^T`` (``K x dim(0)``)."""
        return poly_matmul(self.ctx, np.ascontiguousarray(self.residuals.T), self.inputs_aug)

    # ----- the exact inputs of exacthess's engine, symbolic --------------------------
    def problem(self) -> Problem:
        """The engine's :class:`Problem` with symbolic entries: ``Sigma~ = X~^T X~``,
        ``Yhat~ = Y^T X~``; ``R = X~^T, G = I`` when ``n <= dim(0)``, else ``R = I, G = Sigma~``
        (as :func:`exacthess.hessian.problem.make_problem` forms them)."""
        Xt = np.ascontiguousarray(self.inputs_aug.T)
        sigma = poly_matmul(self.ctx, Xt, self.inputs_aug)
        yhat = poly_matmul(self.ctx, np.ascontiguousarray(self.Y.T), self.inputs_aug)
        if self.n <= self.dim(0):
            R, G = Xt, poly_eye(self.ctx, self.n)
        else:
            R, G = poly_eye(self.ctx, self.dim(0)), sigma
        weights = []
        for l, layer in enumerate(self.arch.layers, start=1):
            w = self.vars[f"W{l}"].reshape(layer.c_out, -1)
            if layer.bias:
                w = np.concatenate([w, self.vars[f"b{l}"].reshape(-1, 1)], axis=1)
            weights.append(w)
        return Problem(self.arch, weights, sigma, yhat, R, G, self.n)

    def engine(self) -> Engine:
        """exacthess's engine over ``Q[theta, X, Y]``."""
        return Engine(self.problem(), PolynomialDomain(self.ctx))
