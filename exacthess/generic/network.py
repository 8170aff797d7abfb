r"""A linear network with a polynomial variable in every weight, input and target.

**Variables.** One variable per parameter, in the documented parameter order (so variable ``j``
is parameter ``j``), and the data:

* *moments* regime (``n >= d + 1`` with biases, ``n >= d`` without): a free ``K x (d+b)``
  matrix :math:`\omega` (``b = 1`` with biases) standing for the residual moment
  :math:`\tilde\Omega = \sum_i \delta_i \tilde x_i^\top`;
* *samples* regime (fewer samples): the inputs ``X`` (``n x d``) and a free ``K x n`` matrix
  ``Z`` with :math:`\tilde\Omega = Z \tilde X`, :math:`\tilde X = [X, 1]`.

Two free vectors ``u`` and ``a`` (never given values) serve the rank-one lemma
(:mod:`~exacthess.generic.lemma`).

**Why these rings prove statements about the data.** With :math:`\delta_i = F(x_i) - y_i` and
:math:`\tilde\Omega = (\hat F \tilde X^\top - Y^\top)\tilde X`, the substitutions
:math:`\omega \mapsto \tilde\Omega(\theta, X, Y)` and
:math:`Z \mapsto \hat F(\theta)\tilde X^\top - Y^\top` are ring homomorphisms into
:math:`\mathbb Z[\theta, X, Y]`. The functional Hessian is
:math:`H_f = \nabla^2_\theta \langle \tilde\Omega, \tilde\mu(\theta)\rangle` with
:math:`\tilde\Omega` held fixed (:math:`\tilde\mu = \hat F` the end-to-end matrix, linear in
each layer), and :math:`H_o = \sum_i J(\tilde x_i)^\top J(\tilde x_i)` with
:math:`J(\tilde x) v = D\tilde\mu[v]\,\tilde x`. So a polynomial vector ``v`` with
:math:`H_f(\theta, \omega)\, v \equiv 0` (:meth:`SymbolicNetwork.check_f`) stays a null vector
of the true :math:`H_f` after substitution, and :math:`D\tilde\mu[v] \equiv 0` (moments) or
:math:`D\tilde\mu[v]\,\tilde X^\top \equiv 0` (samples) (:meth:`SymbolicNetwork.check_o`) gives
:math:`J(\tilde x_i) v = 0` for every sample, hence :math:`H_o v = 0`.

**Points.** A :class:`Point` draws every variable uniformly from ``[0, p)`` (an exact integer
point) for a prime ``p < 2**31`` (:class:`~exacthess.generic.random_points.RandomPoint`), and the matching data: in the moments regime random ``X, Y``
with ``n`` samples and :math:`\omega = \tilde\Omega(\theta, X, Y) \bmod p`; in the samples regime
random ``X, Z`` and :math:`Y = (\hat F \tilde X^\top - Z)^\top \bmod p` (an integer point whose
``Z`` agrees with the substituted one modulo p).

>>> from exacthess import FCN
>>> net = SymbolicNetwork(FCN(2, (1,), 1), n_samples=4)
>>> net.regime, len(net.theta), str(net.mu[0, 0])
('moments', 3, 't0*t2')
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from flint import fmpz_mpoly_ctx

from ..core.domains import GF
from ..models.architectures import Architecture
from ..models.toeplitz import toeplitz_operator
from .polymat import PolyRing, evaluate, obj_array, poly_matmul
from .random_points import PROVER_STREAM, RandomPoint

__all__ = ["SymbolicNetwork", "Point"]


@dataclass
class Point:
    """An exact integer point modulo ``p``: ``values`` of every ring variable, the parameters
    (documented list) and the data ``(X, Y)`` to hand to :func:`exacthess.hessian`."""

    p: int
    values: list
    params: list
    X: np.ndarray
    Y: np.ndarray


class SymbolicNetwork:
    """Polynomial operators, end-to-end map and Hessian identities of one architecture.

    Args:
        arch: an :class:`~exacthess.FCN` or :class:`~exacthess.CNN`.
        n_samples: number of samples the statement is about.
    """

    def __init__(self, arch: Architecture, n_samples: int):
        self.arch = arch
        self.aug = int(arch.bias)
        self.layers = arch.layers
        self.L1 = len(arch.layers)
        self.K = arch.output_dim
        self.n0 = arch.input_dim
        self.n = int(n_samples)
        self.P = arch.n_params
        self.regime = "moments" if self.n >= self.n0 + self.aug else "samples"
        names: list = [("t", self.P)]
        if self.regime == "moments":
            names.append(("w", self.K * (self.n0 + self.aug)))
        else:
            names += [("x", self.n * self.n0), ("z", self.K * self.n)]
        # free vectors u, a for the rank-one lemma (never evaluated at a point)
        self.n_u = max(self.size(l) for l in range(1, self.L1 + 1))
        self.n_a = max(self.size(l - 1) for l in range(1, self.L1 + 1)) + self.aug
        names += [("u", self.n_u), ("a", self.n_a)]
        self.ctx = fmpz_mpoly_ctx.get(names)
        self.ring = PolyRing(self.ctx)
        gens = self.ctx.gens()
        self.theta = list(gens[: self.P])
        self.free_u = list(gens[-(self.n_u + self.n_a): -self.n_a])
        self.free_a = list(gens[-self.n_a:])
        rest = gens[self.P: len(gens) - self.n_u - self.n_a]
        if self.regime == "moments":
            self.omega_vars = obj_array(rest, (self.K, self.n0 + self.aug))
        else:
            nx = self.n * self.n0
            self.X_vars = obj_array(rest[:nx], (self.n, self.n0))
            self.Z_vars = obj_array(rest[nx:], (self.K, self.n))
        # parameter j of layer l sits at tap-flat index perm[j - offset]
        self.offsets = arch.layer_offsets
        self.tap_index = []  # per layer: tap-flat index -> global parameter index
        for l, layer in enumerate(self.layers):
            inv = np.empty(layer.n_params, dtype=np.int64)
            inv[layer.tap_to_documented] = np.arange(layer.n_params)
            self.tap_index.append(self.offsets[l] + inv)

    # ---- layers -----------------------------------------------------------------------
    def taps(self, l: int) -> np.ndarray:
        """Layer ``l``'s ``(c_out, n_taps)`` array of parameter variables (tap ordering)."""
        layer = self.layers[l - 1]
        return obj_array([self.theta[j] for j in self.tap_index[l - 1]], (layer.c_out, layer.n_taps))

    def param_index(self, l: int, o: int, tau: int) -> int:
        """Global parameter index of output channel ``o``, tap ``tau`` of layer ``l``."""
        return int(self.tap_index[l - 1][o * self.layers[l - 1].n_taps + tau])

    def size(self, l: int) -> int:
        """``n_l``: flattened size after layer l (``l = 0``: the input)."""
        return self.n0 if l == 0 else self.layers[l - 1].n_out

    def is_dense(self, l: int) -> bool:
        """True when layer l is a full matrix ``[W_l, b_l]`` (every FCN layer, a CNN's last)."""
        layer = self.layers[l - 1]
        return layer.out_shape == (1, 1) and layer.n_taps == layer.n_in + int(layer.bias) and bool(
            np.array_equal(layer.sources[:, 0], np.arange(layer.n_taps)))

    @cached_property
    def ops(self) -> list:
        r"""Augmented polynomial operators :math:`\tilde T_l` (``(n_l + b) x (n_{l-1} + b)``)."""
        return [toeplitz_operator(layer, self.taps(l), self.ring, bool(self.aug))
                for l, layer in enumerate(self.layers, start=1)]

    def op(self, l: int) -> np.ndarray:
        return self.ops[l - 1]

    def lin(self, l: int) -> np.ndarray:
        """Linear part :math:`T_l` (``n_l x n_{l-1}``)."""
        return self.ops[l - 1][: self.size(l), : self.size(l - 1)]

    @cached_property
    def X_tilde(self) -> np.ndarray:
        r""":math:`\tilde X = [X, 1]` (samples regime)."""
        if not self.aug:
            return self.X_vars
        ones = obj_array([self.ring.one] * self.n, (self.n, 1))
        return np.concatenate([self.X_vars, ones], axis=1)

    def omega_factors(self) -> list:
        r""":math:`\tilde\Omega` as a product, factors in the order they act: ``[omega]`` or
        ``[X~, Z]`` (:math:`\tilde\Omega = Z\tilde X`)."""
        if self.regime == "moments":
            return [self.omega_vars]
        return [self.X_tilde, self.Z_vars]

    @cached_property
    def omega(self) -> np.ndarray:
        f = self.omega_factors()
        return f[0] if len(f) == 1 else poly_matmul(f[1], f[0], self.ring.zero)

    @cached_property
    def mu(self) -> np.ndarray:
        r""":math:`\tilde\mu(\theta)`: the first K rows of :math:`\tilde T_{L+1}\cdots\tilde T_1`."""
        cur = self.op(self.L1)[: self.K]
        for l in range(self.L1 - 1, 0, -1):
            cur = poly_matmul(cur, self.op(l), self.ring.zero)
        return cur

    # ---- identities -------------------------------------------------------------------
    @cached_property
    def left(self) -> list:
        r"""``left[l-1]`` = first K rows of :math:`\tilde T_{L+1}\cdots\tilde T_{l+1}`."""
        out = [None] * self.L1
        cur = self.op(self.L1)[: self.K]
        out[self.L1 - 1] = np.ascontiguousarray(obj_array([self.ring.one if i == j else self.ring.zero
                                                           for i in range(self.K) for j in range(self.K + self.aug)],
                                                          (self.K, self.K + self.aug)))
        for l in range(self.L1 - 1, 0, -1):
            out[l - 1] = cur
            cur = poly_matmul(cur, self.op(l), self.ring.zero)
        return out

    @cached_property
    def right(self) -> list:
        r"""``right[l-1]`` = :math:`\tilde C_l = \tilde T_{l-1}\cdots\tilde T_1` (identity for l = 1)."""
        n = self.n0 + self.aug
        cur = obj_array([self.ring.one if i == j else self.ring.zero for i in range(n) for j in range(n)], (n, n))
        out = []
        for l in range(1, self.L1 + 1):
            out.append(cur)
            cur = poly_matmul(self.op(l), cur, self.ring.zero)
        return out

    def directional(self, v: dict) -> np.ndarray:
        r""":math:`D\tilde\mu[v] = \sum_l (\tilde T_{L+1}\cdots\tilde T_{l+1})\,
        \tilde T_l(v_l)\,\tilde C_l` (Leibniz's rule for the product of the layers' operators,
        each linear in its own parameters; :math:`\tilde T_l(v_l)` has no constant corner)."""
        acc = np.empty(self.mu.shape, dtype=object)
        acc.fill(self.ring.zero)
        for l, layer in enumerate(self.layers, start=1):
            idx = self.tap_index[l - 1]
            if not any(int(j) in v for j in idx):
                continue
            taps = obj_array([v.get(int(j), self.ring.zero) for j in idx], (layer.c_out, layer.n_taps))
            dT = toeplitz_operator(layer, taps, self.ring, bool(self.aug))
            if self.aug:
                dT[-1, -1] = self.ring.zero
            term = poly_matmul(poly_matmul(self.left[l - 1], dT, self.ring.zero), self.right[l - 1], self.ring.zero)
            acc = acc + term
        return acc

    @cached_property
    def grad_g(self) -> list:
        r"""Gradient of :math:`g = \langle\tilde\Omega, \tilde\mu\rangle` in the parameters."""
        g = self.ring.zero
        for a, b in np.ndindex(*self.mu.shape):
            g = g + self.omega[a, b] * self.mu[a, b]
        return [g.derivative(j) for j in range(self.P)]

    @cached_property
    def layer_of(self) -> np.ndarray:
        out = np.empty(self.P, dtype=np.int64)
        for l, layer in enumerate(self.layers):
            out[self.offsets[l]: self.offsets[l] + layer.n_params] = l
        return out

    @cached_property
    def multilinear(self) -> bool:
        """Whether every monomial of ``g`` has at most one parameter of each layer (checked on
        the polynomial); then every diagonal block of :math:`H_f` is identically zero."""
        g = self.ring.zero
        for a, b in np.ndindex(*self.mu.shape):
            g = g + self.omega[a, b] * self.mu[a, b]
        for mono in g.monoms():
            counts = np.bincount(self.layer_of, weights=np.asarray(mono[: self.P], dtype=float), minlength=self.L1)
            if counts.max(initial=0) > 1:
                return False
        return True

    def hess_f_entry(self, k: int, j: int):
        r""":math:`(H_f)_{kj} = \partial_k\partial_j g` (zero within a layer when ``g`` is
        :attr:`multilinear`)."""
        key = (min(k, j), max(k, j))
        cache = self.__dict__.setdefault("_hess_cache", {})
        if key not in cache:
            same = self.layer_of[k] == self.layer_of[j] and self.multilinear
            cache[key] = self.ring.zero if same else self.grad_g[key[1]].derivative(key[0])
        return cache[key]

    def block_f(self, rows, cols) -> np.ndarray:
        """The block of :math:`H_f` with the given parameter rows and columns (polynomials)."""
        return obj_array([self.hess_f_entry(int(k), int(j)) for k in rows for j in cols], (len(rows), len(cols)))

    def check_o(self, v: dict) -> bool:
        r""":math:`D\tilde\mu[v] \equiv 0` (moments) or :math:`D\tilde\mu[v]\tilde X^\top
        \equiv 0` (samples) in the polynomial ring; ``v`` maps parameter index to polynomial."""
        acc = self.directional(v)
        if self.regime == "samples":
            acc = poly_matmul(acc, np.ascontiguousarray(self.X_tilde.T), self.ring.zero)
        return all(f.is_zero() for f in acc.flat)

    def check_f(self, v: dict) -> bool:
        r""":math:`H_f v \equiv 0` in the polynomial ring (every row)."""
        items = [(j, vj) for j, vj in v.items() if not vj.is_zero()]
        for k in range(self.P):
            acc = self.ring.zero
            for j, vj in items:
                h = self.hess_f_entry(k, j)
                if not h.is_zero():
                    acc = acc + h * vj
            if not acc.is_zero():
                return False
        return True

    # ---- points -----------------------------------------------------------------------
    def point(self, seed: int, index: int) -> Point:
        """A random exact point (see the module docstring)."""
        draw = RandomPoint(seed, PROVER_STREAM, index)  # every variable uniform in [0, p)
        p = draw.p
        theta = [int(v) for v in draw.uniform(self.P)]
        gf = GF(p)
        taps = []
        for l, layer in enumerate(self.layers, start=1):
            t = np.array([theta[j] for j in self.tap_index[l - 1]], dtype=np.int64)
            taps.append(t.reshape(layer.c_out, layer.n_taps))
        params = []
        for l, layer in enumerate(self.layers, start=1):
            nw = layer.n_taps - int(layer.bias)
            params.append(taps[l - 1][:, :nw].reshape(self.arch.param_shapes()[len(params)]).tolist())
            if layer.bias:
                params.append(taps[l - 1][:, nw].tolist())
        X = draw.uniform((self.n, self.n0))
        ops = [toeplitz_operator(layer, taps[l], gf, bool(self.aug)) for l, layer in enumerate(self.layers)]
        Fhat = ops[-1][: self.K]
        for o in reversed(ops[:-1]):
            Fhat = gf.matmul(Fhat, o)
        Xt = np.concatenate([X, np.ones((self.n, self.aug), dtype=np.int64)], axis=1)
        if self.regime == "moments":
            Y = draw.uniform((self.n, self.K))
            resid = (gf.matmul(Fhat, np.ascontiguousarray(Xt.T)) - Y.T) % p  # K x n
            omega = gf.matmul(resid, Xt)
            values = theta + [int(v) for v in omega.ravel()]
        else:
            Z = draw.uniform((self.K, self.n))
            Y = ((gf.matmul(Fhat, np.ascontiguousarray(Xt.T)) - Z) % p).T
            values = theta + [int(v) for v in X.ravel()] + [int(v) for v in Z.ravel()]
        values += [0] * (self.n_u + self.n_a)  # the free vectors never enter a null vector
        return Point(p, values, params, X, np.ascontiguousarray(Y))

    def evaluate(self, arr: np.ndarray, pt: Point) -> np.ndarray:
        return evaluate(arr, pt.values, pt.p)
