r"""Continuous symmetries of self-attention: null vectors of J and H_o, of H_L at critical points only.

**Layer** (``H`` heads; torch layout: a weight is ``(out, in)`` and a linear map is ``x W^T + b``)::

    Q_h = X W_qh^T + 1 b_qh^T,  K_h = X W_kh^T + 1 b_kh^T,  V_h = X W_vh^T + 1 b_vh^T   (X: T x d)
    S_h = Q_h K_h^T,   A_h = c S_h (linear attention; optionally causal: A_ts = 0 for s > t)
    F(X) = [A_1 V_1, ..., A_H V_H] W_o^T + 1 b_o^T    (or A_1 V_1 without output projection)

Tangent vectors at ``theta`` (per head; ``E = e_a e_b^T``):

* query-key ``GL(d_k)``: ``dW_q = E^T W_q, db_q = E^T b_q, dW_k = -E W_k, db_k = -E b_k``
  (``Q -> Q G``, ``K -> K G^{-T}``; ``d_k^2`` vectors);
* value-output ``GL(d_v)``: ``dW_v = E^T W_v, db_v = E^T b_v``, ``dW_o = -W_o E^T`` on the head's
  columns (``V -> V G``, ``W_o -> W_o G^{-T}``; ``d_v^2`` vectors);
* query-value scaling (linear attention): ``dW_q = W_q, db_q = b_q, dW_v = -W_v, db_v = -b_v``;
* key bias (softmax attention): ``db_k = e_a``;
* value bias (softmax attention, rows of ``A`` summing to 1, with ``b_v`` and ``b_o``):
  ``db_v = e_a``, ``db_o = -W_o e_a`` on the head's columns (``A 1 c^T = 1 c^T``).

Statements (``J = dF/dtheta``, ``l = 1/2 sum_i ||F(X_i) - Y_i||^2``, ``Dv = dv/dtheta``):

1. **Linear attention**: ``J(X) v = 0`` identically in ``Q[theta, X]`` for every vector above
   (so ``H_o v = sum_i J_i^T A_i J_i v = 0`` at every point, for every loss); the vectors written
   by exacthess (``exacthess.hessian.attention_symmetry.symmetry_vectors``, run over the
   polynomial ring on the graph of the same layer) are exactly these.
2. **Softmax attention** (chain rule): (a) the scores ``S_h`` (and a fixed per-row affine map of
   them, the softmax input) are unchanged to first order along the query-key vectors, identically
   in ``Q[theta, X]``; (b) along a key-bias vector their change is constant along each row;
   (c) softmax does not see row-constant shifts: ``softmax(s + t 1) = softmax(s)`` and
   ``sum_k d p_j / d s_k = 0`` as identities of rational functions of ``e_k = exp(s_k)`` (and
   ``exp(t)``), over any set of unmasked entries (causal masks); (d) the value-output vectors
   annihilate ``J`` of ``(A V) W_o^T`` with the attention map ``A`` a matrix of free symbols (so for
   any ``A``, softmax included). Hence ``J v = 0`` for softmax attention too.
3. **Critical points**: ``grad l . v = 0`` and ``H_L v + (Dv)^T grad l = 0`` identically in
   ``Q[theta, X, Y]`` (linear attention); so ``H_L v = H_f v = 0`` where ``grad l = 0``, and only
   there (``tests/statements/test_attention.py`` pins a point where ``rank H_L = p > p - d_sym``).
4. **Rank count** (evaluation at a point, stated as such): ``d_sym`` = rank modulo a random
   62-bit prime of all the vectors at a random integer point (a proven lower bound on the
   dimension of their span, generically and there), so the generic ``rank H_o <= p - d_sym``;
   the rank modulo the same prime of the stacked Jacobian at ``(theta_0, X_0)`` is a proven lower
   bound on the generic rank. Where they meet the generic rank of ``H_o`` is proven (for that
   ``n`` and every larger one) and the symmetries explain the whole kernel.

Route: python-flint polynomials in every weight, bias, input and target entry; ``F`` by explicit
loops written here; identities as equalities of polynomials; ranks modulo a prime with FLINT.

Run: ``python proofs/attention_symmetry.py [--thorough]``.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass

import numpy as np
from flint import fmpq

from exacthess.core.modular import random_prime, rank_mod_p
from exacthess.proofs.support import assert_equal, assert_zero, covered, poly_ring, poly_zeros, thorough

__all__ = ["STATEMENT", "SIZES", "THOROUGH_SIZES", "Layer", "SymbolicAttention", "rank_bounds",
           "test_linear_attention_null_vectors", "test_softmax_attention_null_vectors",
           "test_critical_point_null_vectors", "test_rank_count"]

STATEMENT = ("symmetries of self-attention (query-key GL(d_k), value-output GL(d_v), key and value biases under softmax, "
             "query-value scaling of linear attention): J v = 0 identically, H_L v = 0 at critical points; "
             "the rank deficit they prove")


@dataclass(frozen=True)
class Layer:
    """One attention layer: ``T`` tokens of width ``d``, ``heads`` heads of widths ``d_k``, ``d_v``,
    ``K`` outputs when ``out_proj``; ``bias`` on every linear map; ``causal`` mask."""

    T: int
    d: int
    d_k: int
    d_v: int
    K: int = 0
    heads: int = 1
    bias: bool = False
    causal: bool = False
    out_proj: bool = True

    def __str__(self):
        text = f"T={self.T} d={self.d} d_k={self.d_k} d_v={self.d_v}"
        text += f" K={self.K}" if self.out_proj else " no W_o"
        return text + (f" H={self.heads}" if self.heads > 1 else "") + (" bias" if self.bias else "") + (
            " causal" if self.causal else "")


CASES = [(Layer(2, 2, 1, 1, 2), 2), (Layer(3, 2, 2, 2, 2), 1), (Layer(2, 2, 2, 1, 1, bias=True), 1),
         (Layer(3, 2, 1, 1, 2, heads=2, causal=True), 1), (Layer(2, 3, 2, 2, out_proj=False, bias=True), 1)]
MORE = [(Layer(3, 3, 2, 2, 3, bias=True), 1), (Layer(3, 2, 2, 1, 2, heads=2, bias=True, causal=True), 1)]
CRITICAL = [(Layer(2, 2, 1, 1, 1), 2), (Layer(2, 2, 2, 1, 1, bias=True), 1), (Layer(2, 2, 1, 1, out_proj=False), 2)]
CRITICAL_MORE = [(Layer(3, 2, 2, 2, 2), 1), (Layer(2, 2, 1, 1, 2, heads=2, causal=True), 1)]
#: (layer, samples n): the rank count; the bounds are expected to meet in each
RANKS = [(Layer(3, 2, 1, 1, 2), 4), (Layer(3, 2, 2, 2, 2), 6), (Layer(3, 3, 2, 2, 3, bias=True), 6),
         (Layer(3, 2, 1, 1, 2, heads=2), 6), (Layer(3, 2, 2, 2, out_proj=False, bias=True), 6),
         (Layer(3, 2, 1, 1, 2, causal=True), 6)]
RANKS_MORE = [(Layer(4, 3, 2, 2, 3, heads=2, bias=True), 8), (Layer(4, 4, 2, 3, 4, bias=True), 8)]

SIZES = ("identities: " + "; ".join(f"{a} n={n}" for a, n in CASES) + ". softmax: the same layers' scores. "
         "critical points: " + "; ".join(f"{a} n={n}" for a, n in CRITICAL) + ". rank count: "
         + "; ".join(f"{a} n={n}" for a, n in RANKS))
THOROUGH_SIZES = ("also identities: " + "; ".join(f"{a} n={n}" for a, n in MORE) + "; critical points: "
                  + "; ".join(f"{a} n={n}" for a, n in CRITICAL_MORE) + "; rank count: "
                  + "; ".join(f"{a} n={n}" for a, n in RANKS_MORE))


def _mat(arr, shape):
    return np.asarray(arr, dtype=object).reshape(shape)


class SymbolicAttention:
    """One layer over ``Q[theta, X, Y(, A)]``: parameters in the order of the graph built by
    :meth:`graph` (per head ``q, k, v``, each weight then bias; then ``W_o, b_o``)."""

    def __init__(self, layer: Layer, n: int, free_attention: bool = False, stochastic: bool = False):
        self.layer, self.n = layer, n
        L = layer
        groups, self.names = [], []
        for h in range(L.heads):
            for nm, w in (("q", L.d_k), ("k", L.d_k), ("v", L.d_v)):
                groups.append((f"W{nm}{h}", (w, L.d)))
                self.names.append((f"{nm}{h}", "weight"))
                if L.bias:
                    groups.append((f"b{nm}{h}", (w,)))
                    self.names.append((f"{nm}{h}", "bias"))
        if L.out_proj:
            groups.append(("Wo", (L.K, L.heads * L.d_v)))
            self.names.append(("o", "weight"))
            if L.bias:
                groups.append(("bo", (L.K,)))
                self.names.append(("o", "bias"))
        self.K = L.K if L.out_proj else L.d_v
        groups += [("X", (n, L.T, L.d)), ("Y", (n, L.T, self.K))]
        if free_attention:
            groups.append(("A", (L.heads, L.T, L.T)))
        self.ctx, self.vars = poly_ring(groups)
        self.zero, self.one = self.ctx.constant(0), self.ctx.constant(1)
        self.keys = [g for g, _ in groups[:len(self.names)]]
        self.theta = np.concatenate([self.vars[k].ravel() for k in self.keys])
        self.p = len(self.theta)
        self.free, self.stochastic = free_attention, stochastic

    def param(self, name: str, kind: str):
        key = ("W" if kind == "weight" else "b") + name
        return self.vars.get(key)

    def _lin(self, x, W, b):
        """``x W^T + 1 b^T`` by loops (``x``: ``(T, in)``)."""
        T, out = x.shape[0], W.shape[0]
        z = poly_zeros(self.ctx, (T, out))
        for t, o in itertools.product(range(T), range(out)):
            acc = self.zero
            for i in range(W.shape[1]):
                acc = acc + x[t, i] * W[o, i]
            z[t, o] = acc + (b[o] if b is not None else self.zero)
        return z

    def scores(self, i: int, h: int):
        """``S_h = Q_h K_h^T`` on sample ``i``."""
        X = self.vars["X"][i]
        Q = self._lin(X, self.param(f"q{h}", "weight"), self.param(f"q{h}", "bias"))
        K = self._lin(X, self.param(f"k{h}", "weight"), self.param(f"k{h}", "bias"))
        T = self.layer.T
        S = poly_zeros(self.ctx, (T, T))
        for t, s in itertools.product(range(T), range(T)):
            S[t, s] = sum((Q[t, a] * K[s, a] for a in range(self.layer.d_k)), self.zero)
        return S

    def attention(self, i: int, h: int, c=fmpq(1, 2)):
        """``A_h``: ``c S_h`` (zero above the diagonal when causal), or free symbols."""
        if self.free:
            A = self.vars["A"][h].copy()
            if self.stochastic:  # rows summing to 1, as softmax's
                for t in range(self.layer.T):
                    A[t, -1] = self.one - sum((A[t, s] for s in range(self.layer.T - 1)), self.zero)
            return A
        S = self.scores(i, h)
        T = self.layer.T
        A = poly_zeros(self.ctx, (T, T))
        for t, s in itertools.product(range(T), range(T)):
            if not (self.layer.causal and s > t):
                A[t, s] = S[t, s] * c
        return A

    def output(self, i: int):
        L, X = self.layer, self.vars["X"][i]
        heads = []
        for h in range(L.heads):
            V = self._lin(X, self.param(f"v{h}", "weight"), self.param(f"v{h}", "bias"))
            A = self.attention(i, h)
            H = poly_zeros(self.ctx, (L.T, L.d_v))
            for t, j in itertools.product(range(L.T), range(L.d_v)):
                H[t, j] = sum((A[t, s] * V[s, j] for s in range(L.T)), self.zero)
            heads.append(H)
        cat = np.concatenate(heads, axis=1)
        if not L.out_proj:
            return cat
        return self._lin(cat, self.vars["Wo"], self.vars.get("bo"))

    def derivative(self, f, k: int):
        return f.derivative(str(self.theta[k]))

    def directional(self, f, v):
        total = self.zero
        for k, vk in enumerate(v):
            if not (vk == 0 if not hasattr(vk, "is_zero") else vk.is_zero()):
                total = total + vk * self.derivative(f, k)
        return total

    # ----- the tangent vectors, written here ---------------------------------------------------------
    def _vec(self, parts: dict):
        v = poly_zeros(self.ctx, (self.p,))
        start = 0
        for key in self.keys:
            arr = self.vars[key]
            if key in parts:
                v[start:start + arr.size] = np.asarray(parts[key], dtype=object).ravel()
            start += arr.size
        return v

    def vectors(self, softmax: bool = False) -> list:
        """``(label, v)`` for each tangent vector of the module doc (linear or softmax attention)."""
        L, out = self.layer, []
        z = lambda shape: poly_zeros(self.ctx, shape)  # noqa: E731
        for h in range(L.heads):
            Wq, Wk, Wv = (self.vars[f"W{x}{h}"] for x in "qkv")
            bq, bk, bv = (self.vars.get(f"b{x}{h}") for x in "qkv")
            for a, b in itertools.product(range(L.d_k), repeat=2):
                E = z((L.d_k, L.d_k))
                E[a, b] = self.one
                parts = {f"Wq{h}": E.T @ Wq, f"Wk{h}": -(E @ Wk)}
                if L.bias:
                    parts.update({f"bq{h}": E.T @ bq, f"bk{h}": -(E @ bk)})
                out.append((f"query-key E_{a}{b} head {h}", self._vec(parts)))
            if softmax and L.bias:
                for a in range(L.d_k):
                    e = z((L.d_k,))
                    e[a] = self.one
                    out.append((f"key bias {a} head {h}", self._vec({f"bk{h}": e})))
            if not softmax:
                parts = {f"Wq{h}": Wq, f"Wv{h}": -Wv}
                if L.bias:
                    parts.update({f"bq{h}": bq, f"bv{h}": -bv})
                out.append((f"query-value scaling head {h}", self._vec(parts)))
            if L.out_proj:
                Wo = self.vars["Wo"]
                cols = slice(h * L.d_v, (h + 1) * L.d_v)
                for a, b in itertools.product(range(L.d_v), repeat=2):
                    E = z((L.d_v, L.d_v))
                    E[a, b] = self.one
                    dWo = z(Wo.shape)
                    dWo[:, cols] = -(Wo[:, cols] @ E.T)
                    parts = {f"Wv{h}": E.T @ Wv, "Wo": dWo}
                    if L.bias:
                        parts[f"bv{h}"] = E.T @ bv
                    out.append((f"value-output E_{a}{b} head {h}", self._vec(parts)))
                if softmax and L.bias:
                    for a in range(L.d_v):
                        e, dbo = z((L.d_v,)), -Wo[:, h * L.d_v + a]
                        e[a] = self.one
                        out.append((f"value bias {a} head {h}", self._vec({f"bv{h}": e, "bo": dbo})))
        return out

    def graph(self):
        """The same layer as an exacthess graph (linear attention; its ``param_order`` is this ring's)."""
        from exacthess.models.graph import GraphBuilder
        L = self.layer
        b = GraphBuilder((L.T, L.d))
        heads = []
        for h in range(L.heads):
            q, k, v = (b.linear(b.input, w, bias=L.bias, name=f"{x}{h}") for x, w in
                       (("q", L.d_k), ("k", L.d_k), ("v", L.d_v)))
            s = b.affine(b.matmul(q, b.transpose(k)), [fmpq(1, 2)] * L.T, [0] * L.T)
            if L.causal:
                return None  # the causal mask is not an op of this graph builder
            heads.append(b.matmul(s, v))
        if L.heads > 1:
            return None  # concat: not an op of this graph builder
        top = b.linear(heads[0], L.K, bias=L.bias, name="o") if L.out_proj else heads[0]
        return b.build(top)


def test_linear_attention_null_vectors():
    """Linear attention: J(X) v = 0 identically in Q[theta, X] for every query-key, value-output and query-value scaling vector (so H_o v = 0 at every point, every loss); exacthess's symmetry_vectors are these vectors"""
    from exacthess.hessian.attention_symmetry import symmetry_vectors
    for layer, n in CASES + (MORE if thorough() else []):
        net = SymbolicAttention(layer, n)
        vecs = net.vectors()
        for i in range(n):
            F = net.output(i)
            for label, v in vecs:
                for idx, f in np.ndenumerate(F):
                    d = net.directional(f, v)
                    assert d.is_zero(), f"{layer}: J v[{label}] at output {idx} of sample {i} is {d}, not 0"
        g = net.graph()
        text = f"{layer} n={n} (p={net.p}, {len(vecs)} vectors)"
        if g is not None:
            assert [tuple(k) for k in g.param_order] == net.names, (g.param_order, net.names)
            net.arch = g
            V, labels, _ = symmetry_vectors(net)
            mine = np.stack([v for _, v in vecs], axis=1)
            assert V.shape == mine.shape, f"{layer}: exacthess gives {V.shape[1]} vectors, the proof {mine.shape[1]}"
            # same set of vectors (exacthess orders them by family): match each proof vector to one of exacthess's
            left = list(range(V.shape[1]))
            for j in range(mine.shape[1]):
                hit = next((c for c in left if all((V[r, c] - mine[r, j]) == 0 for r in range(net.p))), None)
                assert hit is not None, f"{layer}: the proof's vector {vecs[j][0]} is not among exacthess's"
                left.remove(hit)
            text += "; exacthess's vectors equal"
        covered(text)


def _softmax_shift(T: int, masked: tuple):
    """Statement 2(c) on one row of ``T`` entries, entries in ``masked`` excluded."""
    ctx, v = poly_ring([("e", (T,)), ("u", (1,))])
    e, u = v["e"], v["u"][0]
    keep = [j for j in range(T) if j not in masked]
    Z = sum((e[j] for j in keep), ctx.constant(0))
    Zs = sum((u * e[j] for j in keep), ctx.constant(0))
    for j in keep:  # u e_j / sum_k u e_k - e_j / sum_k e_k, cross-multiplied
        assert (u * e[j] * Z - e[j] * Zs).is_zero(), "softmax(s + t 1) != softmax(s)"
        # sum_k d p_j / d s_k = sum_k p_j (delta_jk - p_k) = e_j (Z - sum_k e_k) / Z^2
        num = sum(((e[j] * Z if k == j else ctx.constant(0)) - e[j] * e[k] for k in keep), ctx.constant(0))
        assert num.is_zero(), "softmax's differential does not kill row-constant shifts"


def test_softmax_attention_null_vectors():
    """Softmax attention: the scores are unchanged to first order along the query-key vectors, change by a row constant along the key-bias vectors; softmax is invariant under row-constant shifts (masked or not); the value-output vectors annihilate J for any attention map A (free symbols), the value-bias vectors for any A with rows summing to 1"""
    for layer, n in CASES + (MORE if thorough() else []):
        net = SymbolicAttention(layer, n)
        vecs = [(lab, v) for lab, v in net.vectors(softmax=True) if not lab.startswith("value")]
        scale = [fmpq(1, t + 2) for t in range(layer.T)]  # a fixed per-row affine map before the softmax
        for i in range(n):
            for h in range(layer.heads):
                S = net.scores(i, h)
                for label, v in vecs:
                    dS = np.array([[net.directional(S[t, s], v) * scale[t] for s in range(layer.T)]
                                   for t in range(layer.T)], dtype=object)
                    if label.startswith("query-key"):
                        assert_zero(dS, f"{layer}: d(scores) v[{label}]")
                    else:
                        assert_zero(dS - dS[:, :1], f"{layer}: d(scores) v[{label}] not constant along rows")
        for t in range(layer.T):
            _softmax_shift(layer.T, tuple(range(t + 1, layer.T)) if layer.causal else ())
        if layer.out_proj:
            free = SymbolicAttention(layer, 1, free_attention=True, stochastic=True)
            F = free.output(0)
            for label, v in free.vectors(softmax=True):
                if label.startswith("value"):
                    for idx, f in np.ndenumerate(F):
                        d = free.directional(f, v)
                        assert d.is_zero(), f"{layer}: J v[{label}] with free A at {idx} is {d}"
        covered(f"{layer} n={n} ({len(vecs)} query-key/key-bias vectors)")


def test_critical_point_null_vectors():
    """grad l . v = 0 and H_L v + (Dv)^T grad l = 0 identically in Q[theta, X, Y] (linear attention); so H_L v = H_f v = 0 wherever grad l = 0"""
    for layer, n in CRITICAL + (CRITICAL_MORE if thorough() else []):
        net = SymbolicAttention(layer, n)
        loss = net.zero
        for i in range(n):
            for r in (net.output(i) - net.vars["Y"][i]).ravel():
                loss = loss + r * r
        loss = loss / 2
        g = [net.derivative(loss, k) for k in range(net.p)]
        for label, v in net.vectors():
            gv = net.directional(loss, v)
            assert gv.is_zero(), f"{layer}: grad l . v[{label}] is not 0"
            for a in range(net.p):
                HLv = net.directional(g[a], v)  # (H_L v)_a = sum_b d^2 l / d theta_a d theta_b v_b
                corr = sum((net.derivative(v[k], a) * g[k] for k in range(net.p)
                            if not (v[k] == 0 if not hasattr(v[k], "is_zero") else v[k].is_zero())), net.zero)
                assert_equal(np.array([HLv + corr], dtype=object), np.array([net.zero], dtype=object),
                             f"{layer}: (H_L v + Dv^T grad l)[{a}], v[{label}]")
        covered(f"{layer} n={n} (p={net.p})")


def _evaluate(polys, names, values):
    out = np.empty(np.shape(polys), dtype=object)
    for idx, f in np.ndenumerate(np.asarray(polys, dtype=object)):
        val = f(*[values[nm] for nm in names]) if hasattr(f, "derivative") else fmpq(f)
        out[idx] = val
    return out


def rank_bounds(layer: Layer, n: int, seed: int = 0) -> dict:
    """Statement 4 for one layer: ``d_sym`` and the rank of the stacked Jacobian, modulo one prime at one
    random integer point (both proven lower bounds)."""
    net = SymbolicAttention(layer, n)
    rng = np.random.default_rng([seed, net.p, n])
    prime = random_prime(rng)
    names = list(net.ctx.names())
    values = {nm: int(rng.integers(-99, 100)) for nm in names}
    vecs = net.vectors()
    V = _evaluate(np.stack([v for _, v in vecs], axis=1), names, values)
    J = []
    for i in range(n):
        for f in net.output(i).ravel():
            J.append([net.derivative(f, k) for k in range(net.p)])
    Jv = _evaluate(np.array(J, dtype=object), names, values)

    def modp(M):
        return np.array([[int(x.p) * pow(int(x.q), -1, prime) % prime for x in row] for row in M], dtype=np.int64)
    d_sym = rank_mod_p(modp(V), prime)
    lower = rank_mod_p(modp(Jv), prime)
    return dict(p=net.p, vectors=len(vecs), d_sym=d_sym, upper=net.p - d_sym, lower=lower, prime=prime)


def test_rank_count():
    """d_sym = rank mod p of the vectors at a random integer point bounds their span from below; rank_p J <= generic rank H_o <= p - d_sym; where they meet the generic rank is proven"""
    for layer, n in RANKS + (RANKS_MORE if thorough() else []):
        b = rank_bounds(layer, n)
        assert b["lower"] <= b["upper"], f"{layer}: bounds cross ({b})"
        assert b["lower"] == b["upper"], f"{layer}: the symmetries do not explain the kernel: {b}"
        covered(f"{layer} n={n}: p={b['p']}, {b['vectors']} vectors span >= {b['d_sym']}; generic rank H_o = "
                f"{b['lower']} = p - d_sym proven")


if __name__ == "__main__":
    from exacthess.cli.prove import script_main
    sys.exit(script_main(sys.modules[__name__]))
