r"""Lower bounds on *generic* ranks from random points modulo random primes.

A statement about generic parameters claims that the generic rank :math:`\rho` of a Hessian
(the largest rank over all parameters and targets, for the user's data) equals a formula. When
the rank at the user's point is below the formula, :class:`GenericSampler` evaluates the same
Hessian at independent random points:

* the parameters (and the targets) are uniform integers in :math:`[0, 2^{30})`, the data are
  the user's (exactly), and a prime ``p`` is drawn uniformly from the primes in
  :math:`[2^{30}, 2^{31})` (one :class:`~exacthess.generic.random_points.RandomPoint`, the sampler
  the generic prover draws its points from too); the Hessian is computed over GF(p)
  (:class:`~exacthess.core.domains.GF`).
  Targets enter through :math:`\hat Y = Z\Sigma` with :math:`Z` random, which is
  :math:`\sum_i y_i x_i^\top` for the targets :math:`Y = X Z^\top`; for statements about the
  set :math:`\mathrm{rank}\,\Omega = s` (``keep_residual_rank``),
  :math:`\hat Y = (\hat F - AB)\Sigma` with random :math:`A \in \mathbb Z^{K\times s}`,
  :math:`B \in \mathbb Z^{s\times n_0}`, so that :math:`\Omega = AB\Sigma` has rank at most ``s``.
* **Lower bound.** The Hessian's entries are polynomials with integer coefficients in the
  parameters, the targets and the data moments, so the matrix over GF(p) is the reduction of
  the rational Hessian at the integer point: its rank modulo ``p`` is at most the rational
  rank there, which is at most :math:`\rho`. Proven, for any prime.
* **Failure bound.** If :math:`\rho \ge t`, some ``t``-minor ``P`` is a nonzero polynomial.
  Every entry has total degree at most :math:`e = \max(2L, L + 1)` in the random variables
  (``F`` has degree ``L + 1`` in the parameters, the loss ``2L + 2``, and two derivatives
  remove two; targets enter linearly, or through :math:`AB`), so ``P`` has degree at most
  :math:`D = t e` and vanishes at a uniform point of :math:`[0, 2^{30})^N` with probability at
  most :math:`D / 2^{30}` (Schwartz--Zippel). If it does not vanish, its value times the
  denominators (every entry has degree at most 3 in the data moments
  :math:`\Sigma, R, G`, so at most :math:`\mathrm{den}^{3t}`) is a nonzero integer bounded by
  Hadamard's inequality on the magnitudes (:data:`~exacthess.core.domains.ABS`) times
  :math:`\mathrm{den}^{3t}`, and the random prime divides it with the probability of
  :func:`~exacthess.core.modular.failure_bound`. Points are independent, so ``k`` points
  that all fall short do so with probability at most the product of these bounds.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..core.domains import ABS, GF
from ..core.modular import SMALL_PRIME_BITS, failure_bound, rank_mod_p
from ..generic.random_points import RANGE_BITS, SAMPLER_STREAM, RandomPoint, schwartz_zippel
from ..hessian.engine import Engine
from ..models.quantities import is_quantity, parse_quantity
from ..statements.verdicts import GenericEvidence

__all__ = ["GenericSampler", "entry_degree", "N_POINTS", "RANGE_BITS"]

#: random points evaluated before giving up
N_POINTS = 3


def entry_degree(L: int) -> int:
    """Total degree bound of every Hessian entry in the random parameters and targets."""
    return max(2 * L, L + 1)


def _ints(draw: RandomPoint, shape) -> np.ndarray:
    """Uniform integers in ``[0, 2**RANGE_BITS)`` as exact Python ints."""
    return draw.uniform(shape, 1 << RANGE_BITS).astype(object)


def _matrix(engine: Engine, quantity: str) -> np.ndarray:
    q = parse_quantity(quantity)
    return engine.block_column(q.matrix, q.layer) if q.is_block_column else engine.full(q.matrix)


def _log2_hadamard(B: np.ndarray, t: int) -> float:
    """log2 of a bound on every t-minor of a matrix with entries bounded by ``B``."""
    if t <= 0:
        return 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        rows = np.sqrt((B.astype(np.float64) ** 2).sum(axis=1)) * (1 + 1e-9)
        cols = np.sqrt((B.astype(np.float64) ** 2).sum(axis=0)) * (1 + 1e-9)

    def top(v):
        v = np.sort(v)[::-1][:t]
        if not np.all(np.isfinite(v)):
            return math.inf
        return float(np.log2(np.maximum(v, 1.0)).sum())
    return min(top(rows), top(cols))


def _denominator(problem) -> int:
    """The least common denominator of the data moments ``Sigma, R, G`` (the prime must not divide it)."""
    den = 1
    for arr in (problem.sigma, problem.R, problem.G):
        for v in np.asarray(arr, dtype=object).flat:
            q = int(getattr(v, "q", 1))
            den = den * q // math.gcd(den, q)
    return den


class _Point:
    """One random point: its prime, its GF(p) engine and (lazily) its magnitudes."""

    def __init__(self, problem, draw: RandomPoint, omega_rank: int | None):
        self.den_bits = math.log2(_denominator(problem))
        self.p = p = draw.p
        weights = [_ints(draw, np.shape(w)) for w in problem.weights]
        K, n0 = np.shape(problem.yhat)
        F = GF(p)
        sig = F.convert(problem.sigma)
        if omega_rank is None:
            Z = _ints(draw, (K, n0))
            yhat = F.matmul(F.convert(Z), sig)
            self._abs_targets = ("Z", Z)
        else:
            A, Bm = _ints(draw, (K, omega_rank)), _ints(draw, (omega_rank, n0))
            e0 = Engine(replace(problem, weights=weights, yhat=np.zeros((K, n0), dtype=np.int64)), F)
            AB = F.matmul(F.convert(A), F.convert(Bm))
            yhat = F.matmul(F.sub(e0.end_to_end, AB), sig)
            self._abs_targets = ("AB", (A, Bm))
        self.weights = weights
        self.problem = problem
        self.engine = Engine(replace(problem, weights=weights, yhat=yhat.astype(object)), F)
        self._abs = None

    def rank(self, quantity: str) -> int:
        M = _matrix(self.engine, quantity)
        return rank_mod_p(M, self.p)

    def magnitudes(self, quantity: str) -> np.ndarray:
        """Upper bounds on the absolute values of the rational Hessian at the integer point."""
        if self._abs is None:
            pr = self.problem
            K, n0 = np.shape(pr.yhat)
            sig = ABS.convert(pr.sigma)
            base = Engine(replace(pr, weights=self.weights, yhat=np.zeros((K, n0))), ABS)
            kind, val = self._abs_targets
            if kind == "Z":
                yhat = ABS.convert(val) @ sig
            else:
                A, Bm = val
                yhat = (base.end_to_end + ABS.convert(A) @ ABS.convert(Bm)) @ sig
            self._abs = Engine(replace(pr, weights=self.weights, yhat=yhat), ABS)
        return _matrix(self._abs, quantity)


class GenericSampler:
    """Random points modulo primes for one problem, shared by every statement of a report.

    Args:
        problem: the exact problem (:class:`~exacthess.hessian.problem.Problem`); its data are kept.
        seed: seed of the points and primes.
        n_points: how many points to try before giving up.
    """

    def __init__(self, problem, seed: int = 0, n_points: int = N_POINTS):
        self.problem, self.seed, self.n_points = problem, seed, n_points
        self._points: dict = {}
        self._upper: dict = {}
        self._prover = None  # the generic prover, built on first use (False: none applies)
        self.L = len(problem.arch.layers) - 1

    def _point(self, i: int, omega_rank: int | None) -> _Point:
        key = (i, omega_rank)
        if key not in self._points:
            draw = RandomPoint(self.seed, SAMPLER_STREAM, i, 0 if omega_rank is None else omega_rank + 1,
                               avoid=_denominator(self.problem))
            self._points[key] = _Point(self.problem, draw, omega_rank)
        return self._points[key]

    def evidence(self, quantity: str, target: int, omega_rank: int | None = None) -> GenericEvidence:
        """Ranks of ``quantity`` at up to ``n_points`` random points, stopping at ``target``."""
        best, fail, used = -1, 1.0, 0
        D = target * entry_degree(self.L)
        for i in range(self.n_points):
            pt = self._point(i, omega_rank)
            k = pt.rank(quantity)
            used += 1
            best = max(best, k)
            if best >= target:
                break
            log2_minor = _log2_hadamard(pt.magnitudes(quantity), target) + 3 * target * pt.den_bits
            delta = schwartz_zippel(D) + failure_bound(log2_minor, 1, bits=SMALL_PRIME_BITS)
            fail *= min(1.0, delta)
        how = (f"{used} random point{'s' if used > 1 else ''} in [0, 2^{RANGE_BITS}) modulo primes in "
               f"[2^{RANGE_BITS}, 2^{SMALL_PRIME_BITS}); minors of degree <= {D}")
        upper, upper_how = self.proven_upper(quantity)
        return GenericEvidence(best, used, target, fail if best < target else 0.0, how, upper, upper_how)

    def proven_upper(self, quantity: str) -> tuple:
        """A proven upper bound on the generic rank of ``quantity`` (over weights, targets and data,
        hence also for these data), from the null vectors of :func:`exacthess.generic_rank`: linear
        networks with the MSE loss, within its size limits; ``(None, "")`` otherwise. One prover
        serves every quantity of the report."""
        if quantity not in self._upper:
            supported = is_quantity(quantity)
            prover = self._generic_prover() if supported else None
            self._upper[quantity] = (None, "") if prover is None else (
                prover.bounds(quantity)["upper"], "null vectors proven in a polynomial ring (exacthess.generic_rank)")
        return self._upper[quantity]

    def _generic_prover(self):
        """The generic prover of this problem's architecture and sample count, or None (not a linear
        MSE network, or too large for the symbolic route)."""
        if self._prover is None:
            problem, self._prover = self.problem, False
            if problem.arch.activation.is_linear and problem.loss.name == "mse":
                from ..core.errors import ProblemTooLargeError
                from ..generic.prover import GenericProver
                from ..generic.rank import check_size
                try:
                    check_size(problem.arch, problem.n_samples)
                    self._prover = GenericProver(problem.arch, problem.n_samples, seed=self.seed)
                except ProblemTooLargeError:  # too large for the symbolic route: no proven generic upper bound
                    pass
        return self._prover or None
