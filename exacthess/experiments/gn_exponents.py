r"""The Gauss--Newton error as exact polynomials in the initialisation scale, and its proven exponents.

Multiply every parameter (weights and biases) of a network by :math:`s` and keep the inputs and
targets fixed. With a polynomial (or linear) activation and the MSE loss (or weighted MSE), every
entry of :math:`G`, :math:`C_{\mathrm{cross}}`, :math:`C_{\mathrm{act}}` and
:math:`C = C_{\mathrm{cross}} + C_{\mathrm{act}}` (:mod:`exacthess.experiments.gn_gap`) is a
polynomial in the parameters, hence a polynomial in :math:`s` with rational coefficients, and so
are the squared Frobenius norms :math:`\|G\|_F^2, \|C\|_F^2, \|C_{\mathrm{act}}\|_F^2,
\|C_{\mathrm{cross}}\|_F^2 \in \mathbb Q[s]`.

:func:`norm_polynomials` computes them *symbolically in* :math:`s`: the parameters are the
sympy expressions :math:`s\,\theta_0`, the Hessian engine runs over the symbolic ring, and every
matrix entry (an expression tree in :math:`s`) is evaluated in FLINT's ``fmpq_poly`` (no
expansion by sympy, no interpolation, no degree bound assumed).

For a ratio :math:`N(s)/D(s)` of two nonzero polynomials with lowest degrees (valuations)
:math:`v_N, v_D` and lowest coefficients :math:`n_0, d_0`,

.. math:: \frac{N(s)}{D(s)} = \frac{n_0}{d_0}\, s^{v_N - v_D}\,(1 + O(s)) \quad (s \to 0),

so the small-scale exponent :math:`v_N - v_D` is *proven*, not fitted: the ratio tends to 0 iff
it is positive, to the nonzero constant :math:`n_0/d_0` iff it is 0, and to infinity iff it is
negative. A zero numerator polynomial makes the ratio identically 0.

>>> from exacthess import FCN
>>> polys = norm_polynomials(FCN(2, (2,), 1, activation="poly(0, 1, 0, -1/3)"), n_samples=3)
>>> polys.exponent("activation_share"), polys.exponent("curvature_ratio")
(4, -4)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from flint import fmpq, fmpq_poly

from ..core.errors import InvalidValueError, ProblemTooLargeError
from ..core.validate import check_progress, check_samples, check_seed
from ..hessian.cost import gap_cost, require_fits
from ..models.architectures import check_architecture
from ..verification.points import standard_data, standard_params

__all__ = ["ScalePolynomials", "norm_polynomials", "sympy_to_poly", "RATIO_PARTS", "MAX_DEGREE"]

#: each ratio of :data:`exacthess.experiments.gn_scaling.RATIOS` as (numerator, denominator) norms
RATIO_PARTS = {"curvature_ratio": ("curvature", "gn"), "activation_ratio": ("activation", "gn"),
               "activation_share": ("activation", "cross_layer")}
#: the largest degree in ``s`` of a squared norm computed symbolically (expression sizes grow with it)
MAX_DEGREE = 400


def sympy_to_poly(expr, s, cache: dict | None = None) -> fmpq_poly:
    """The polynomial ``expr`` in the symbol ``s`` as an exact ``fmpq_poly``, evaluated on sympy's
    expression tree (sums, products, non-negative integer powers, rationals), shared subtrees once.

    Raises:
        InvalidValueError: ``expr`` is not a polynomial in ``s`` with rational coefficients.

    >>> import sympy
    >>> s = sympy.Symbol("s")
    >>> sympy_to_poly((s + sympy.Rational(1, 2)) * (s - 1) ** 2, s)
    x^3 + (-3/2)*x^2 + 1/2
    """
    cache = {} if cache is None else cache
    out = cache.get(expr)
    if out is not None:
        return out
    if expr.is_Rational:
        out = fmpq_poly([fmpq(int(expr.p), int(expr.q))])
    elif expr == s:
        out = fmpq_poly([0, 1])
    elif expr.is_Add or expr.is_Mul:
        out = fmpq_poly(0 if expr.is_Add else 1)
        for a in expr.args:
            out = out + sympy_to_poly(a, s, cache) if expr.is_Add else out * sympy_to_poly(a, s, cache)
    elif expr.is_Pow and expr.exp.is_Integer and int(expr.exp) >= 0:
        out = sympy_to_poly(expr.base, s, cache) ** int(expr.exp)
    else:
        raise InvalidValueError(f"the entry {expr} is not a polynomial in {s} with rational coefficients; expected "
                                "a polynomial activation and the mse or weighted_mse loss")
    cache[expr] = out
    return out


def _valuation(p: fmpq_poly):
    """The lowest degree with a nonzero coefficient (None for the zero polynomial)."""
    return next((i for i, c in enumerate(p.coeffs()) if c != 0), None)


@dataclass
class ScalePolynomials:
    r"""The squared Frobenius norms of the split as exact polynomials in the scale ``s``.

    Attributes:
        arch: the network; n_samples, seed: the fixed point (:math:`s = 1` is the seeded point).
        gn, curvature, activation, cross_layer: ``fmpq_poly`` in ``s`` of
            :math:`\|G\|_F^2`, :math:`\|C\|_F^2`, :math:`\|C_{\mathrm{act}}\|_F^2`, :math:`\|C_{\mathrm{cross}}\|_F^2`.
    """

    arch: object
    n_samples: int
    seed: int
    gn: fmpq_poly
    curvature: fmpq_poly
    activation: fmpq_poly
    cross_layer: fmpq_poly

    def valuation(self, name: str):
        """Lowest degree in ``s`` of the norm ``name`` (None if it is the zero polynomial)."""
        return _valuation(getattr(self, name))

    def exponent(self, ratio: str):
        r"""The proven exponent ``e`` of ``ratio ~ c s^e`` as ``s -> 0`` (a key of :data:`RATIO_PARTS`):
        ``valuation(numerator) - valuation(denominator)``; ``None`` when the numerator is the zero
        polynomial (the ratio is identically 0).

        Raises:
            InvalidValueError: the denominator is the zero polynomial (the ratio is undefined)."""
        num, den = RATIO_PARTS[ratio]
        vn, vd = self.valuation(num), self.valuation(den)
        if vd is None:
            raise InvalidValueError(f"{ratio} is undefined for {self.arch!r}: the squared norm {den!r} is the zero "
                                    "polynomial in s; expected a network with a hidden layer and nonzero targets")
        return None if vn is None else vn - vd

    def leading(self, ratio: str):
        """The limit coefficient ``n_0 / d_0`` of ``ratio / s^e`` as ``s -> 0`` (exact; 0 if identically 0)."""
        num, den = (getattr(self, k) for k in RATIO_PARTS[ratio])
        vn, vd = _valuation(num), _valuation(den)
        return fmpq(0) if vn is None else num.coeffs()[vn] / den.coeffs()[vd]

    def ratio_at(self, ratio: str, s) -> fmpq:
        """The exact ratio at the rational scale ``s``."""
        num, den = (getattr(self, k) for k in RATIO_PARTS[ratio])
        return num(fmpq(s)) / den(fmpq(s))

    def to_dict(self) -> dict:
        out = {"architecture": repr(self.arch), "n_samples": self.n_samples, "seed": self.seed}
        for k in ("gn", "curvature", "activation", "cross_layer"):
            p = getattr(self, k)
            out[k + "_fro2"] = {"degree": p.degree(), "valuation": _valuation(p)}
        for r in RATIO_PARTS:
            try:
                out[r + "_exponent"] = self.exponent(r)
            except InvalidValueError:
                out[r + "_exponent"] = None
        return out


def _degree_bound(arch) -> int:
    """An upper bound on the degree in ``s`` of the squared norms: with ``a`` the activation's degree,
    pre-activations have degree ``d_1 = 1``, ``d_{k+1} = a d_k + 1``; Hessian entries of an MSE loss
    at most ``2 d_{L+1} - 2``, their squares twice that."""
    act = arch.activation
    a = 1 if act.kind == "linear" else max(1, len(act.coeffs) - 1)
    d = 1
    for _ in range(arch.depth):
        d = a * d + 1
    return 4 * d - 4


def norm_polynomials(arch, *, params=None, data=None, n_samples: int | None = None, seed: int = 0, loss="mse",
                     progress=None) -> ScalePolynomials:
    r"""The squared norms of ``G``, ``C``, ``C_act``, ``C_cross`` at ``s * params`` as exact polynomials in ``s``.

    Args:
        arch: a network with a polynomial or linear activation.
        params, data: the point at :math:`s = 1` (default: the seeded standard-initialisation point
            :func:`~exacthess.verification.points.standard_params` and its seeded data).
        n_samples, seed: the seeded point (default ``2 d`` samples).
        loss: ``"mse"`` or a ``"weighted_mse(...)"`` (exact polynomial losses).

    Raises:
        InvalidValueError: a ReLU-type activation (not polynomial in ``s``), a loss computed at
            rational stand-ins, or a network whose polynomials would exceed degree :data:`MAX_DEGREE`.
    """
    import sympy

    from ..core.domains import SR
    from ..hessian.engine import Engine
    from ..hessian.problem import check_params, make_problem
    from .gn_gap import split_blocks
    check_architecture(arch)
    seed, n_samples = check_seed(seed), check_samples(n_samples)
    check_progress(progress)
    if arch.activation.piecewise:
        raise InvalidValueError(f"activation = {arch.activation.name!r} is piecewise linear: the Hessian is not a "
                                "polynomial in the scale s; expected a polynomial activation such as "
                                "'poly(0, 1, 0, -1/3)'")
    bound = _degree_bound(arch)
    if bound > MAX_DEGREE:
        raise ProblemTooLargeError(f"{arch!r} gives squared norms of degree up to {bound} in s (> {MAX_DEGREE}); "
                                   "expected fewer hidden layers or a lower-degree activation")
    n = n_samples or (len(data[0]) if data is not None else 2 * arch.input_dim)
    require_fits(gap_cost(arch, n, loss=loss))
    base = standard_params(arch, seed) if params is None else check_params(arch, params)
    data = standard_data(arch, n, seed) if data is None else data
    s = sympy.Symbol("s")
    sym = [np.vectorize(lambda v: s * sympy.Rational(int(fmpq(v).p), int(fmpq(v).q)), otypes=[object])(
        np.asarray(p, dtype=object)) for p in base]
    if progress:
        progress("the split H_L = G + C, symbolically in s")
    problem = make_problem(arch, params=sym, data=data, loss=loss, symbolic=True)
    blocks = split_blocks(Engine(problem, SR))
    if progress:
        progress("squared norms as exact polynomials in s")
    cache: dict = {}
    norms = {k: fmpq_poly(0) for k in ("gn", "curvature", "activation", "cross_layer")}
    for G, X, A in blocks.values():
        for g in G.flat:
            p = sympy_to_poly(g, s, cache)
            norms["gn"] += p * p
        for x, a in zip(X.flat, A.flat):
            px, pa = sympy_to_poly(x, s, cache), sympy_to_poly(a, s, cache)
            norms["cross_layer"] += px * px
            norms["activation"] += pa * pa
            norms["curvature"] += (px + pa) * (px + pa)
    return ScalePolynomials(arch, problem.n_samples, seed, **norms)
