r"""The matrices a certificate speaks about, by name: the matrix source of the checker.

:mod:`exacthess.certify.checker` verifies certificates against matrices it asks for by name;
this module computes them from one exact problem (over :math:`\mathbb Q`, or modulo a prime),
with the engine (:mod:`exacthess.hessian.engine`) -- the same computation that defines the
Hessian, which is tested entry by entry against independent routes (sympy, PyTorch). Names:

* ``"H_o"``, ``"H_f"``, ``"H_L"`` (``p x p``, symmetric), any rows and columns;
* ``"J"`` (the stacked Jacobian over the columns of ``R``: ``H_o = J^T (G (x) I) J``), ``"CJ"``
  (:math:`C_i J_i` stacked over samples), ``"J_f"``, ``"J_p"``, ``"C_act"``, ``"C_within"``;
* the factors of the structural theorems: ``"T{k}"``, ``"Omega"``, ``"Delta"``, ``"X"``, ``"R"``,
  ``"C"``, ``"C+G"``, ``"M{l},{m}[:,:n{l}]"``, ``"M{m},{l}[:,:n]"``, ``"M{m},{l}"``, ``"P{l},{m}"``,
  ``"P{m},{l}[:,:n{l}]"``, ``"B{l}"``, ``"CB{l}"``, ``"S{l}"``, ``"R{l}"`` (:mod:`exacthess.hessian.structure`)
  and ``"eps{l},{o}"``, ``"phi{l}"``, ``"grad{l}"``, ``"datagrad{l}"``, ``"epsW{l},{o}"``,
  ``"Efull{l},{o}"`` (:mod:`exacthess.hessian.composite`).

``premise(key)`` answers the facts the theorems need (:mod:`exacthess.certify.theorems`).
"""

from __future__ import annotations

import re

import numpy as np

from ..core.domains import ABS, GF, QQ
from ..core.resources import memory_limit
from .assemble import hessian_part
from .engine import Engine

__all__ = ["ProblemSource", "output_factor", "entry_degrees"]

_SMALL_PRIME = 1 << 31
_FACTORS = ("J", "CJ", "J_f")  # kept whole up to an eighth of the memory budget
_SHAPE_PRIME = 1048573  # shapes of named matrices are read from their residues modulo this prime


def output_factor(problem):
    """The loss's kernel factor ``C`` when it is the same rational matrix at every sample, else None."""
    factors = None if problem.sample_free else problem.forward.kernel_factors
    if factors is None or isinstance(factors, str) or not all((f == factors[0]).all() for f in factors):
        return None
    return np.asarray(factors[0], dtype=object)


class ProblemSource:
    """Matrices of one :class:`~exacthess.hessian.problem.Problem` by name, exactly or modulo primes.

    Args:
        problem: the exact problem.
        cache_limit: residue arrays larger than this (entries) are not cached.
    """

    def __init__(self, problem, *, cache_limit: int = 20_000_000):
        self.problem = problem
        self.arch = problem.arch
        self._engines: dict = {}
        self._cache: dict = {}
        self._limit = cache_limit
        self.checked_memo: dict = {}
        self._shapes: dict = {}
        self._dens = None  # the checker's memory of verified certificates (by identity)

    # ----- engines --------------------------------------------------------------------------
    def engine(self, ring) -> Engine:
        if ring not in self._engines:
            self._engines[ring] = Engine(self.problem, ring)
        return self._engines[ring]

    # ----- the source interface -------------------------------------------------------------
    def shape(self, name: str) -> tuple:
        n = self.arch.n_params
        if name in ("H_o", "H_f", "H_L", "C_act", "C_within"):
            return (n, n)
        if name not in self._shapes:  # from any cached residues, else modulo a small prime (never over Q)
            known = next((v.shape for (nm, ring, r, c), v in self._cache.items()
                          if nm == name and r is None and c is None), None)
            self._shapes[name] = known or self._jacobian_shape(name) or \
                self._get(name, GF(_SHAPE_PRIME), None, None).shape
        return self._shapes[name]

    def _jacobian_shape(self, name: str):
        """The shapes of the stacked Jacobians from sizes (they are the largest named matrices: never
        formed just to read a shape), or None for other names."""
        problem, K, n = self.problem, self.arch.output_dim, self.arch.n_params
        if name == "J":
            return ((problem.R.shape[1] if problem.sample_free else problem.n_samples) * K, n)
        if name == "J_f":
            return (problem.n_samples * K, n)
        if name == "CJ" and not problem.sample_free:
            C = problem.forward.kernel_factors
            if C is not None:
                return (problem.n_samples * (K if isinstance(C, str) else int(np.shape(C)[1])), n)
        return None

    def symmetric(self, name: str) -> bool:
        return name in ("H_o", "H_f", "H_L", "C_act", "C_within")

    def exact(self, name: str, rows=None, cols=None) -> np.ndarray:
        return self._get(name, QQ, rows, cols)

    def mod(self, name: str, p: int, rows=None, cols=None) -> np.ndarray:
        if p >= _SMALL_PRIME:  # beyond the GF(p) domain: reduce the exact entries
            from ..core.modular import reduce_mod
            return reduce_mod(self.exact(name, rows, cols), p)
        return self._get(name, GF(p), rows, cols)

    def release_jacobians(self) -> None:
        """Forget the stacked Jacobians (cached here and in the sample-free engines); they are
        formed again if a later check asks for them."""
        for key in [k for k in self._cache if k[0] in _FACTORS]:
            del self._cache[key]
        for e in self._engines.values():
            if e.sample_free:
                e.rep.forget_jacobians()

    def residues(self, name: str, p: int, rows=None, cols=None) -> np.ndarray:
        """``name[rows, cols]`` modulo ``p < 2^31`` as a fresh float64 array of residues in ``[0, p)``
        (the checker eliminates it in place). A Hessian part is assembled block by block straight
        into float64, so no int64 copy of the whole matrix is ever held; nothing is cached."""
        if p >= _SMALL_PRIME:
            return self.mod(name, p, rows, cols).astype(np.float64)
        if name in ("H_o", "H_f", "H_L"):
            return hessian_part(self.engine(GF(p)), name, rows, cols, dtype=np.float64)
        return self.mod(name, p, rows, cols).astype(np.float64)

    def product(self, name: str, p: int, rows, cols, V: np.ndarray):
        """``name[rows, cols] V`` modulo ``p < 2^31`` without forming the matrix, for the stacked
        output Jacobian ``"J_f"`` and ``"CJ"`` (:func:`~exacthess.hessian.products.jacobian_products`:
        one forward pass per column of ``V``); None for other names (the caller forms the matrix)."""
        if name not in ("J_f", "CJ") or p >= _SMALL_PRIME or self.problem.sample_free and name == "CJ":
            return None
        from .products import jacobian_products
        e = self.engine(GF(p))
        n_params = self.arch.n_params
        full = np.zeros((n_params, V.shape[1]), dtype=np.int64)
        full[np.arange(n_params) if cols is None else np.asarray(cols, dtype=np.int64)] = np.asarray(V) % p
        out = jacobian_products(e, full)
        if name == "CJ":
            C = self.problem.forward.kernel_factors
            if C is None:
                return None
            if not isinstance(C, str):
                n, K = len(C), self.arch.output_dim
                out = e.ring.bmatmul(e.ring.convert(np.asarray(C, dtype=object)), out.reshape(n, K, -1))
                out = out.reshape(-1, V.shape[1])
        return out if rows is None else out[np.asarray(rows, dtype=np.int64)]

    def _get(self, name, ring, rows, cols) -> np.ndarray:
        key = (name, ring, None if rows is None else tuple(rows), None if cols is None else tuple(cols))
        if key in self._cache:
            return self._cache[key]
        whole = self._cache.get((name, ring, None, None))
        if whole is not None:  # a submatrix of a matrix already formed
            out = whole if rows is None else whole[list(rows)]
            return np.ascontiguousarray(out if cols is None else out[:, list(cols)])
        e = self.engine(ring)
        if name in ("H_o", "H_f", "H_L"):
            out = hessian_part(e, name, rows, cols)
        else:
            out = self._compute(name, e)
            if rows is not None:
                out = out[list(rows)]
            if cols is not None:
                out = out[:, list(cols)]
        out = np.ascontiguousarray(out)
        if out.size <= self._limit or (name in _FACTORS and rows is None and cols is None
                                       and out.nbytes <= memory_limit() // 8):
            self._cache[key] = out  # the Jacobians are read again (their minors, the checker's products)
        return out

    def magnitudes(self, name: str, rows=None, cols=None) -> np.ndarray:
        """Entrywise upper bounds on ``|name[rows, cols]|`` (float64; :data:`~exacthess.core.domains.ABS`)."""
        return self._get(name, ABS, rows, cols)

    def _category_denominators(self) -> dict:
        """The lcm of the denominators of each kind of exact input: weights and biases ``w``, data
        ``x``, targets ``y``, activation constants ``a``, loss derivatives ``l`` (non-MSE losses:
        the output gradients, loss Hessians and kernel factors at every sample)."""
        if self._dens is None:
            from flint import fmpz
            problem, act = self.problem, self.arch.activation

            def lcm(arrays):  # in FLINT: stand-ins of saturated logits have denominators of millions of bits
                den = fmpz(1)
                for arr in arrays:
                    if arr is None:
                        continue
                    for v in np.asarray(arr, dtype=object).flat:
                        q = getattr(v, "q", 1)
                        if q != 1:
                            den = den.lcm(fmpz(q))
                return int(den)
            loss = []
            if problem.loss.name != "mse":
                fw = problem.forward
                loss = [fw.gradients, fw.hessians]
                if fw.kernel_factors is not None and not isinstance(fw.kernel_factors, str):
                    loss.append(fw.kernel_factors)
            self._dens = {"w": lcm(problem.weights), "x": lcm([problem.X]), "y": lcm([problem.Y]),
                          "a": lcm([np.array(list(act.coeffs) + [act.slope], dtype=object)]), "l": lcm(loss)}
        return self._dens

    def denominator(self) -> int:
        """The lcm of the denominators of every exact input (a prime dividing it cannot be used)."""
        from flint import fmpz
        out = fmpz(1)
        for d in self._category_denominators().values():
            out = out.lcm(fmpz(d))
        return int(out)

    def denominator_log2(self, name: str) -> float:
        """An upper bound on ``log2`` of a common denominator of the entries of ``name``: every entry is
        a polynomial with integer coefficients in the exact inputs with the degrees of
        :func:`entry_degrees` per kind of input, so its denominator divides the product of each
        kind's denominator to that power."""
        dens = self._category_denominators()
        degrees = entry_degrees(self.arch, name, mse=self.problem.loss.name == "mse")
        return sum(deg * (dens[k].bit_length()) for k, deg in degrees.items() if dens[k] > 1)

    def remember(self, name: str, ring, rows, cols, value: np.ndarray) -> None:
        """Store a matrix computed elsewhere from the same engine (saves recomputing it)."""
        self._cache[(name, ring, None if rows is None else tuple(rows), None if cols is None else tuple(cols))] = value

    def premise(self, key):
        arch, problem = self.arch, self.problem
        act = arch.activation
        if key == "activation":
            return {"linear": act.is_linear, "curvature": act.has_curvature, "piecewise": act.piecewise}
        if key == "layers":
            from .nullvectors import channel_rows
            offs = arch.layer_offsets
            return [{"start": offs[i], "n_params": layer.n_params, "c_out": layer.c_out, "c_in": layer.c_in,
                     "biases": tuple(int(offs[i] + channel_rows(layer, o)[-1]) for o in range(layer.c_out))
                     if arch.bias else ()}
                    for i, layer in enumerate(arch.layers)]
        if key == "bias":
            return bool(arch.bias)
        if key == "gram":
            return problem.G
        if key == "loss":
            return self._loss()
        kind = key[0] if isinstance(key, tuple) else None
        if kind == "sum" and key[1] == "H_L":
            return ("H_o", "H_f")
        if kind == "block_diagonal" and key[1] == "C_within":
            return [("H_f", tuple(range(o, o + c)), tuple(range(o, o + c)))
                    for o, c in zip(arch.layer_offsets, arch.layer_param_counts)]
        if kind == "factors":
            return _product_factors(key[1], len(arch.layers))
        if kind == "composite_parts":
            l, with_o = key[1], key[2]
            return (l < len(arch.layers) or with_o, l >= 2)
        raise KeyError(key)

    def _loss(self) -> dict:
        return self.problem.forward.loss_premise()

    # ----- named matrices -------------------------------------------------------------------
    def _compute(self, name: str, e: Engine) -> np.ndarray:  # noqa: C901 - one table of names
        from .composite import assemble, data_gradient, gradient, pieces
        arch, r = self.arch, e.ring
        L1 = len(arch.layers)

        def n_out(l):
            return arch.layers[l - 1].n_out

        def back(l, with_c=False):
            B = e.backward[l][:, : n_out(l)]
            return r.matmul(r.convert(output_factor(self.problem)), B) if with_c else B
        if name == "J":
            return e.jacobian_stack
        if name == "CJ":
            return e.per_sample.factored_jacobian()
        if name == "J_f":
            return _output_jacobian(e)
        if name == "C_act":
            ps = e.per_sample
            return np.concatenate([np.concatenate([ps.block_act(l, m) for m in range(1, L1 + 1)], axis=1)
                                   for l in range(1, L1 + 1)], axis=0)
        if name == "C_within":
            out = r.zeros((arch.n_params,) * 2)
            for o, c, l in zip(arch.layer_offsets, arch.layer_param_counts, range(1, L1 + 1)):
                out[o:o + c, o:o + c] = e.block("H_f", l, l)
            return out
        if name == "J_p":
            A = r.convert(self.problem.forward.hessians)
            J = _output_jacobian(e)
            n, K = A.shape[0], A.shape[1]
            return np.ascontiguousarray(r.bmatmul(A, J.reshape(n, K, -1)).reshape(n * K, -1))
        simple = {"Omega": lambda: e.omega, "Delta": lambda: e.per_sample.g, "R": lambda: e.R,
                  "X": lambda: r.convert(self.problem.X_aug),
                  "C": lambda: r.convert(output_factor(self.problem)),
                  "C+G": lambda: np.concatenate([r.convert(output_factor(self.problem)), e.per_sample.g.T], axis=0)}
        if name in simple:
            return simple[name]()
        m = re.fullmatch(r"(T|B|CB|S|R|grad|datagrad|phi)(\d+)", name)
        if m:
            k = int(m.group(2))
            what = m.group(1)
            return {"T": lambda: e.ops[k - 1], "B": lambda: back(k), "CB": lambda: back(k, True),
                    "S": lambda: e.forward_sigma[k - 1], "R": lambda: e.forward_R[k - 1],
                    "grad": lambda: gradient(e, k).reshape(1, -1), "datagrad": lambda: data_gradient(e, k).reshape(1, -1),
                    "phi": lambda: pieces(e, k, False)[1]}[what]()
        m = re.fullmatch(r"M(\d+),(\d+)(\[:,:n\d*\])?", name)
        if m:
            l, mm = int(m.group(1)), int(m.group(2))
            M = e.between(l, mm)
            return M[:, : n_out(l)] if m.group(3) else M
        m = re.fullmatch(r"P(\d+),(\d+)(\[:,:n(\d+)\])?", name)
        if m:
            l, mm = int(m.group(1)), int(m.group(2))
            P = r.matmul(e.forward_omega[l - 1], e.backward[mm])
            return P[:, : n_out(int(m.group(4)))] if m.group(3) else P
        m = re.fullmatch(r"(eps|epsW|Efull)(\d+),([01])", name)
        if m:
            l, with_o = int(m.group(2)), m.group(3) == "1"
            eps, phi = pieces(e, l, with_o)
            layer = arch.layers[l - 1]
            if m.group(1) == "eps":
                return eps
            if m.group(1) == "Efull":
                return assemble(r, layer, eps, phi)
            g = data_gradient(e, l)
            t = np.empty(len(g), dtype=g.dtype)
            t[layer.tap_to_documented] = g
            return np.concatenate([eps, np.ascontiguousarray(t.reshape(layer.c_out, layer.n_taps).T)], axis=1)
        raise KeyError(f"unknown matrix name {name!r}")


def entry_degrees(arch, name: str, mse: bool = True) -> dict:
    r"""Bounds on the degree of the entries of ``name`` as polynomials in each kind of exact input:
    weights ``w``, data ``x``, targets ``y``, activation constants ``a`` and (non-MSE losses) the
    loss derivatives ``l``.

    The outputs: :math:`z_1 = W_1 x + b_1` has degrees ``(w, x, a) = (1, 1, 0)``; an activation of
    polynomial degree ``d`` (``d = 1`` and one constant for ReLU-type and linear ones) maps
    ``(w, x, a)`` to ``(d w, d x, 1 + d a)``; the next layer adds one weight. Derivatives do not
    raise degrees, so ``J`` has the outputs' degrees; ``H_o = sum J_i^T A_i J_i`` twice those (plus
    one loss derivative); ``H_f = sum g_i d^2 F`` those of ``F`` plus the gradient's (``g = F - y``
    under MSE); names outside the Hessians and Jacobians get the whole-Hessian bound."""
    act = arch.activation
    d = max(1, len(act.coeffs) - 1) if act.kind == "poly" else 1
    extra = 0 if act.is_linear else 1
    w, x, a = 1, 1, 0
    for _ in range(arch.depth):
        w, x, a = d * w, d * x, extra + d * a
        w = 1 + w
    J = {"w": w, "x": x, "y": 0, "a": a, "l": 0}
    loss = {"w": 0, "x": 0, "y": 0, "a": 0, "l": 0 if mse else 1}
    g = {"w": w, "x": x, "y": 1, "a": a, "l": 0} if mse else loss

    def add(*terms):
        return {k: sum(t[k] for t in terms) for k in J}

    def most(*terms):
        return {k: max(t[k] for t in terms) for k in J}
    if name in ("J", "J_f"):
        return J
    if name in ("CJ", "J_p"):
        return add(J, loss)
    H_o, H_f = add(J, J, loss), add(J, g)
    if name == "H_o":
        return H_o
    if name in ("H_f", "C_act", "C_within"):
        return H_f
    return most(H_o, H_f)


def _output_jacobian(e: Engine) -> np.ndarray:
    """``J_f``: the stacked Jacobian of the outputs, ``(n K, p)``, rows (sample, output)."""
    J = np.concatenate([e.per_sample.jacobian(l) for l in range(1, e.L1 + 1)], axis=2)
    return np.ascontiguousarray(J.reshape(-1, J.shape[2]))


def _product_factors(name: str, L1: int) -> list:
    """Factors of the named products (``rank <= rank`` of each): the definitions of
    :mod:`exacthess.hessian.structure`."""
    def ops(a, b):
        return [f"T{k}" for k in range(a, b)]
    m = re.fullmatch(r"M(\d+),(\d+)(\[:,:n\d*\])?", name)
    if m:
        return ops(int(m.group(1)) + 1, int(m.group(2)))
    m = re.fullmatch(r"P(\d+),(\d+)(\[:,:n\d+\])?", name)
    if m:
        return ops(1, int(m.group(1))) + ["Omega"] + ops(int(m.group(2)) + 1, L1 + 1)
    m = re.fullmatch(r"(C?B|S|R)(\d+)", name)
    if m:
        k = int(m.group(2))
        if m.group(1) in ("B", "CB"):
            return ops(k + 1, L1 + 1) + (["C"] if m.group(1) == "CB" else [])
        return ops(1, k) + (["X"] if m.group(1) == "S" else ["R"])
    if name == "Omega":
        return ["Delta", "X"]
    return []
