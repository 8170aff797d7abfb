r"""Certification as one pipeline: every rank goes through the same stages.

1. **Lower bound** -- the rank of the matrix (or of a smaller matrix with the same rank) modulo
   a prime: proven for any prime (a minor mod p is the image of a minor).
2. **Structural upper bound** -- from hints computed by the caller: a factorisation
   ``H = J^T G J`` with ``G`` positive definite (``rank H = rank J <= bound``), or per block row a
   space of proven dimension containing its image (:class:`~exacthess.certify.core.BlockRowSpace`).
3. **Core** -- :func:`~exacthess.certify.core.choose_core` restricts a symmetric matrix to a core
   ``H[I, I]`` with the same rank; a core of full rank mod p certifies ``rank H = |I|``.
4. **Hadamard** -- :func:`~exacthess.certify.rank.rank` on the exact core: ranks modulo primes
   whose product exceeds Hadamard's bound on every ``(k+1)``-minor (deterministic).
5. **Probabilistic** -- when Hadamard would exceed the budget (or the core is too large to form
   exactly): a second prime, proven bounds, and a stated failure probability
   (:func:`~exacthess.core.modular.failure_bound`).

The pipeline knows matrices and hints only, never what produced them: the Hessian side
(:mod:`exacthess.hessian.ranks`) supplies a :class:`SymmetricProblem` or a :class:`FactoredProblem`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..core.modular import failure_bound, random_small_prime, rank_mod_p, SMALL_PRIME_BITS
from .bounds import LOWER, UPPER, Bound
from .core import choose_core, rows_without_null_pivots
from .rank import RankResult, rank

__all__ = ["Certifier", "SymmetricProblem", "FactoredProblem", "GENERIC_CORE_LIMIT"]

#: Above this core size the exact (QQ) core is not formed: ranks are proven lower bounds from
#: two primes, reported as probabilistic with a stated failure bound.
GENERIC_CORE_LIMIT = 1500


@dataclass
class FactoredProblem:
    """``H = J^T G J`` with ``G`` positive definite, so ``rank H = rank J``.

    Attributes:
        key: the name of ``H`` (e.g. ``"H_o"``).
        shape: shape of ``H``.
        jacobian_mod_p: ``J`` modulo ``p``.
        p: the prime.
        upper: a proven bound on ``rank J`` (or None).
        exact: returns ``J`` over Q (for the generic stages).
        why: one line saying why ``rank H = rank J``.
    """

    key: str
    shape: tuple
    jacobian_mod_p: np.ndarray
    p: int
    upper: Bound | None
    exact: Callable[[], np.ndarray]
    why: str = "rank H = rank J"


@dataclass
class SymmetricProblem:
    """A symmetric matrix given block by block, with per-block-row structural hints.

    Attributes:
        key: the name of ``H`` (e.g. ``"H_f"``).
        sizes: block sizes ``n_l``.
        p: the prime of the hints and of ``core_mod_p``.
        spaces: one :class:`~exacthess.certify.core.BlockRowSpace` or None per block row.
        core_mod_p: ``rows_per_block -> H[I, I] mod p``.
        core_exact: ``rows_per_block -> H[I, I]`` over Q.
        core_magnitudes: ``rows_per_block ->`` float upper bounds on ``|H[I, I]|`` entrywise
            (for failure bounds of large cores).
        core_mod_q: ``(rows_per_block, q) -> H[I, I] mod q`` for a second prime ``q``.
        denominator_bits: log2 of a bound on the common denominator of the entries.
        zero_diagonal: the diagonal blocks are zero (then a block column has at most
            ``n - n_l`` nonzero rows).
        column_keys: names of the block columns to certify as well (e.g. ``"H_f[:,1]"``), or ().
        null_vectors: optional ``(blocks, how)``: blocks ``(rows, K)`` (disjoint rows, ``K`` mod p with
            independent columns) reducing exact rational null vectors of ``H``; the core then drops
            the rows where they are invertible (``rank H = rank H[I, I] <= n - k``).
        upper_hint: a further proven upper bound on ``rank H`` from elsewhere (e.g. subadditivity).
    """

    key: str
    sizes: tuple
    p: int
    spaces: list
    core_mod_p: Callable
    core_exact: Callable
    core_magnitudes: Callable
    core_mod_q: Callable
    denominator_bits: float = 0.0
    zero_diagonal: bool = False
    column_keys: tuple = ()
    null_vectors: tuple | None = None
    upper_hint: Bound | None = None


@dataclass
class Certifier:
    """Runs the stages; options as in :func:`exacthess.verify`.

    Attributes:
        seed: seed of every prime drawn.
        certify: ``"auto"``, ``"always"`` or ``"never"`` (the Hadamard stage).
        budget_seconds: cost limit of the Hadamard stage in ``"auto"`` mode.
        core_limit: largest core formed over Q.
        progress: callable receiving short messages, or None.
    """

    seed: int = 0
    certify: str = "auto"
    budget_seconds: float = 60.0
    core_limit: int = GENERIC_CORE_LIMIT
    progress: Callable | None = None
    _say: Callable = field(init=False, repr=False)

    def __post_init__(self):
        self._say = self.progress or (lambda msg: None)

    def _generic(self, matrix, upper: Bound | None) -> RankResult:
        return rank(matrix, seed=self.seed, certify=self.certify, budget_seconds=self.budget_seconds,
                    upper_bound=upper)

    def dense(self, key: str, matrix: Callable[[], np.ndarray], upper: Bound | None = None) -> RankResult:
        """Stages 1, 4, 5 on an exact matrix without structural hints."""
        self._say(f"{key} (generic certificate)")
        return self._generic(matrix(), upper)

    # ----- H = J^T G J --------------------------------------------------------------------
    def factored(self, prob: FactoredProblem) -> RankResult:
        """Stages 1-2 on ``J``; stage 4-5 on the exact ``J`` when they do not meet."""
        t0 = time.perf_counter()
        lo = rank_mod_p(prob.jacobian_mod_p, prob.p)
        lower = Bound(lo, LOWER, "mod p", f"rank of J modulo a {prob.p.bit_length()}-bit prime; {prob.why}")
        if prob.upper is not None and prob.upper.value == lo:
            return _result(lower, prob.upper, prob.shape, (prob.p,), t0)
        self._say(f"{prob.key} (generic certificate)")
        res = self._generic(prob.exact(), prob.upper)
        return _with_note(res, prob.why)

    # ----- symmetric, block-structured ---------------------------------------------------
    def symmetric(self, prob: SymmetricProblem) -> dict:
        """Certified ranks of ``H`` and of its requested block columns."""
        t0 = time.perf_counter()
        n = sum(prob.sizes)
        if prob.null_vectors is not None:
            rows, bounds = rows_without_null_pivots(prob.null_vectors[0], prob.sizes, prob.p)
        else:
            rows, bounds, met = choose_core(prob.spaces, prob.sizes, prob.p)
        if prob.zero_diagonal:
            bounds = [min(b, n - s) for b, s in zip(bounds, prob.sizes)]
        size_I = sum(len(r) for r in rows)
        core = prob.core_mod_p(rows)
        k = rank_mod_p(core, prob.p)
        full = k == size_I
        shape = (n, n)
        lower = Bound(k, LOWER, "mod p", f"rank of the core H[I, I] modulo a {prob.p.bit_length()}-bit prime")
        out = {}
        parts = []
        if prob.null_vectors is not None and n > size_I:
            parts.append(f"{n - size_I} exact null vectors ({prob.null_vectors[1]})")
        elif prob.null_vectors is None:
            parts.append("the block rows' spaces")
        if prob.zero_diagonal and not full:
            parts.append("zero diagonal blocks")
        why = " and ".join(parts) or "no structure (all coordinates)"
        if full:
            up = Bound(k, UPPER, "core", f"core of {size_I} coordinates has full rank mod p" +
                       (f" (rank H = rank H[I, I] by {why})" if size_I < n else ""))
            out[prob.key] = _result(lower, up, shape, (prob.p,), t0)
        else:
            up = Bound(min(size_I, sum(bounds)), UPPER, "structure",
                       f"rank H <= min(|I|, sum of block-column bounds) by {why}")
            if prob.upper_hint is not None and prob.upper_hint.value < up.value:
                up = prob.upper_hint
            out[prob.key] = self._fallback(prob, rows, None, lower, up, t0)
        start = 0
        for l, key in enumerate(prob.column_keys):
            n_rows = len(rows[l])
            # rows of a full-rank core are independent: no further modular rank needed
            lb = n_rows if full else rank_mod_p(core[start:start + n_rows], prob.p)
            start += n_rows
            space = prob.spaces[l]
            kind = space.kind if space is not None else "trivial"
            lo_l = Bound(lb, LOWER, "mod p", "rank of the block column's core rows modulo a prime")
            up_l = Bound(bounds[l], UPPER, "structure", f"block-row {kind} bound")
            if lb == bounds[l]:
                up_l = Bound(bounds[l], UPPER, "structure", f"block-row {kind} bound met mod p")
                out[key] = _result(lo_l, up_l, (n, prob.sizes[l]), (prob.p,), t0)
            else:
                out[key] = self._fallback(prob, rows, l, lo_l, up_l, t0)
        return out

    def _fallback(self, prob: SymmetricProblem, rows, column, lower: Bound, upper: Bound, t0) -> RankResult:
        """Stages 4-5 on the core (or on the core rows of one block column)."""
        key = prob.key if column is None else prob.column_keys[column]
        self._say(f"{key} (generic certificate)")
        size_I = sum(len(r) for r in rows)
        cols = None
        if column is not None:
            start = sum(len(r) for r in rows[:column])
            cols = slice(start, start + len(rows[column]))
        shape = (sum(prob.sizes),) * 2 if column is None else (sum(prob.sizes), prob.sizes[column])
        if size_I > self.core_limit:
            return self._large_core(prob, rows, cols, lower, upper, shape, t0)
        core = prob.core_exact(rows)
        if cols is not None:
            core = core[:, cols]
        res = self._generic(core, upper)
        return RankResult(res.value, res.lower, res.upper, res.certified, res.method, shape, res.primes,
                          res.failure_bound, res.seconds, res.bounds)

    def _large_core(self, prob, rows, cols, lower: Bound, upper: Bound, shape, t0) -> RankResult:
        """A second uniform prime and a failure bound from Hadamard's bound on the core.

        The magnitudes bound ``|entry|`` (every input replaced by its absolute value and every
        subtraction by an addition; float rounding is covered by a factor 2), and the common
        denominator of the entries is at most ``2**denominator_bits``, so every nonzero minor of
        the integer-scaled core has ``log2 |minor| <= log2H``."""
        q = random_small_prime(np.random.default_rng([self.seed, 13]))
        core, mag = prob.core_mod_q(rows, q), prob.core_magnitudes(rows)
        if cols is not None:
            core, mag = core[:, cols], mag[:, cols]
        k2 = rank_mod_p(core, q)
        lo = max(lower.value, k2)
        with np.errstate(divide="ignore"):
            norms = np.log2(np.sqrt((mag * mag).sum(axis=1)) * 2 + 1)
        size = min(mag.shape)
        log2H = float(np.sort(norms)[::-1][:size].sum()) + size * prob.denominator_bits
        low = Bound(lo, LOWER, "mod p", "rank of the core modulo two primes")
        if lo == upper.value:
            return _result(low, upper, shape, (prob.p, q), t0)
        return RankResult(lo, lo, upper.value, False, "probabilistic", shape, (prob.p, q),
                          failure_bound(log2H, 2, bits=SMALL_PRIME_BITS), time.perf_counter() - t0, (low, upper))


def _result(lower: Bound, upper: Bound, shape, primes, t0) -> RankResult:
    ok = lower.value == upper.value
    method = ("certificate: " + upper.how) if ok else "probabilistic"
    return RankResult(lower.value, lower.value, upper.value, ok, method, shape, tuple(primes),
                      0.0 if ok else 1.0, time.perf_counter() - t0, (lower, upper))


def _with_note(res: RankResult, why: str) -> RankResult:
    lo = res.bounds[0] if res.bounds else None
    if lo is None:
        return res
    note = Bound(lo.value, lo.side, lo.stage, f"{lo.how}; {why}")
    return RankResult(res.value, res.lower, res.upper, res.certified, res.method, res.shape, res.primes,
                      res.failure_bound, res.seconds, (note,) + tuple(res.bounds[1:]))
