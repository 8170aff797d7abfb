r"""Certified ranks over :math:`\mathbb Q`, with no floating-point tolerance anywhere.

How a rank is known (the ``method`` of a :class:`RankResult`):

* **Lower bound** -- the rank of ``A mod p`` for a prime ``p`` not dividing any denominator.
  Every minor of ``A mod p`` is the image of a minor of ``A``, so
  :math:`\mathrm{rank}_p(A) \le \mathrm{rank}_{\mathbb Q}(A)`: a *proof*, whatever ``p``.
* **Upper bound** -- one of

  - ``full``: the lower bound already equals ``min(rows, cols)``;
  - ``zero``: the matrix is exactly zero;
  - ``hadamard``: the integer matrix ``A`` (rows scaled by their denominators) has
    :math:`\mathrm{rank}_{p_i}(A) \le k` for primes with
    :math:`\prod_i p_i > H_{k+1}`, where :math:`H_{k+1}` is the product of the ``k + 1``
    largest row (or column) norms. If :math:`\mathrm{rank}_{\mathbb Q}(A) > k`, some
    ``(k+1)``-minor ``D \ne 0`` exists; every :math:`p_i` divides it (all ``(k+1)``-minors
    vanish mod :math:`p_i`), so :math:`\prod p_i \le |D| \le H_{k+1}` by Hadamard's
    inequality -- a contradiction. Deterministic: no probability involved.
  - ``certificate``: an upper bound supplied by the caller with its own proof (used by the
    Hessian code for structure: e.g. ``rank H_o = rank J`` with ``J`` having few rows).

* When the Hadamard argument would cost more than the budget, the result is
  **probabilistic**: ``certified`` is False, ``upper`` is the best proven bound, and
  ``failure_bound`` bounds the probability that ``value`` (the largest modular rank seen)
  is below the true rank. Primes are drawn uniformly from the primes in
  :math:`[2^{61}, 2^{62})` (rejection sampling), and a nonzero minor of absolute value at most
  :math:`H` has at most :math:`\log_2 H / 61` such prime factors, so one prime fails with
  probability at most :math:`(\log_2 H / 61) / \pi` where
  :math:`\pi \ge 2^{61}/(62 \ln 2 \cdot 1.1)` counts the primes in the range; ``t``
  independent primes fail together with at most its ``t``-th power.

>>> import numpy as np
>>> r = rank(np.array([[1.5, 3.0], [0.5, 1.0]]))
>>> r.value, r.certified, r.method
(1, True, 'hadamard')
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from flint import fmpq, fmpq_mat, fmpz, fmpz_mat

from ..core.errors import InvalidMatrixError, InvalidTypeError, InvalidValueError, NonFiniteError, describe
from ..core.resources import require_memory
from ..core.exact import to_rational
from ..core.modular import PRIME_BITS, failure_bound, random_prime, rank_mod_p
from ..core.validate import check_int, check_option, check_real
from .bounds import LOWER, UPPER, Bound

__all__ = ["RankResult", "rank", "integer_matrix", "CERTIFY_OPTIONS"]

#: values of the ``certify`` option everywhere in exacthess
CERTIFY_OPTIONS = ("auto", "always", "never")


@dataclass(frozen=True)
class RankResult:
    """The rank of a rational matrix and how it is known.

    Attributes:
        value: the rank (exact when ``certified``; otherwise the best lower bound, which is
            the true rank except with probability at most ``failure_bound``).
        lower: proven lower bound.
        upper: proven upper bound.
        certified: ``lower == upper``.
        method: how the upper bound was proven (``full``, ``zero``, ``hadamard``,
            ``certificate: ...``) or ``probabilistic``.
        shape: matrix shape.
        primes: the primes whose modular ranks were computed.
        failure_bound: for uncertified results, an upper bound on the probability that
            ``value`` is wrong; ``0.0`` when certified.
        seconds: wall time spent.
        bounds: the :class:`~exacthess.certify.bounds.Bound` objects behind ``lower`` and
            ``upper`` (which stage proved each, and how).
    """

    value: int
    lower: int
    upper: int
    certified: bool
    method: str
    shape: tuple
    primes: tuple = field(default=(), repr=False)
    failure_bound: float = 0.0
    seconds: float = 0.0
    bounds: tuple = field(default=(), repr=False)

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    @property
    def how(self) -> str:
        """One-line description of how the rank is known."""
        if self.certified:
            if self.method == "full":
                return "certified: full rank mod p"
            if self.method == "zero":
                return "certified: zero matrix"
            if self.method == "hadamard":
                return f"certified: {len(self.primes)} primes > Hadamard bound"
            return "certified: " + self.method.removeprefix("certificate: ")
        return (f"probabilistic: proven {self.lower} <= rank <= {self.upper}; "
                f"P(rank != {self.value}) <= {self.failure_bound:.1e}")

    def to_dict(self) -> dict:
        return {"value": self.value, "lower": self.lower, "upper": self.upper,
                "certified": self.certified, "method": self.method,
                "how": self.how, "n_primes": len(self.primes),
                "failure_bound": self.failure_bound, "shape": list(self.shape),
                "bounds": [b.to_dict() for b in self.bounds]}


#: at most this many primes for the lower bound (each multiplies the failure bound by about 2**-55)
MAX_PRIMES = 100
#: bytes per entry while a matrix is converted to integers and reduced modulo primes
CONVERSION_BYTES = 96


def _shape(M) -> tuple[int, int] | None:
    """The shape of a 2-D matrix of any accepted type, read without converting it (None if unknown)."""
    if isinstance(M, (fmpz_mat, fmpq_mat)):
        return M.nrows(), M.ncols()
    shape = getattr(M, "shape", None)
    if isinstance(shape, tuple) and len(shape) == 2 and all(isinstance(v, int) for v in shape):
        return shape
    if isinstance(M, (list, tuple)) and M and isinstance(M[0], (list, tuple, np.ndarray)):
        return len(M), len(M[0])
    return None


def _row_integers(row) -> list:
    """The row times the lcm of its denominators (in FLINT: Python's gcd is quadratic in the size of
    its arguments, and stand-ins at saturated logits have denominators of millions of bits)."""
    vals = [to_rational(v, name="matrix entry") if not isinstance(v, fmpq) else v for v in row]
    den = fmpz(1)
    for v in vals:
        if v.q != 1:
            den = den.lcm(v.q)
    return [v.p * (den // v.q) for v in vals]


def integer_matrix(M) -> fmpz_mat:
    """An integer matrix with the same rank as *M*: each row times its denominators' lcm.

    Accepts numpy arrays (ints, finite floats -- converted exactly --, objects of ints,
    ``Fraction``, ``fmpq`` or rational sympy numbers), nested lists, ``sympy.Matrix``,
    ``fmpz_mat`` and ``fmpq_mat``.
    """
    if isinstance(M, fmpz_mat):
        return M
    if isinstance(M, fmpq_mat):
        M = np.array(M.entries(), dtype=object).reshape(M.nrows(), M.ncols())
    try:
        import sympy
        if isinstance(M, sympy.MatrixBase):
            vals = []
            for v in M:
                if not (v.is_Rational):
                    raise InvalidMatrixError(
                        f"matrix entry {describe(v)} is not a rational number; expected an exact "
                        "rational matrix (substitute values for symbols first)")
                vals.append(fmpq(int(v.p), int(v.q)))
            M = np.array(vals, dtype=object).reshape(M.shape)
    except ImportError:  # pragma: no cover
        pass
    if isinstance(M, np.ndarray) and M.dtype.kind in "iub":
        if M.ndim != 2:
            raise InvalidMatrixError(f"matrix has shape {M.shape}; expected a 2-D array")
        return fmpz_mat(M.astype(object).tolist()) if M.size else fmpz_mat(*M.shape)
    if isinstance(M, np.ndarray) and M.dtype.kind == "f":
        if not np.isfinite(M).all():
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(M))[0])
            raise NonFiniteError(f"matrix[{idx[0]}, {idx[1]}] = {float(M[idx])!r} is not finite; "
                                 "expected finite numbers (they are converted exactly)")
    try:
        arr = np.asarray(M, dtype=object)
    except Exception as exc:
        raise InvalidMatrixError(f"matrix = {describe(M)} could not be read: {exc}") from None
    if arr.ndim == 0:
        raise InvalidTypeError(f"matrix = {describe(M)} has type {type(M).__name__}; expected a 2-D matrix (numpy "
                               "array, nested lists, sympy.Matrix, fmpz_mat or fmpq_mat)")
    if any(isinstance(v, (list, tuple, np.ndarray)) for v in arr.flat):
        raise InvalidMatrixError("matrix is ragged (its rows have different lengths); expected a 2-D matrix")
    if arr.ndim != 2:
        raise InvalidMatrixError(f"matrix has shape {arr.shape}; expected a 2-D array")
    if arr.size == 0:
        return fmpz_mat(*arr.shape)
    import sympy
    rows = []
    for row in arr:
        conv = []
        for v in row:
            if isinstance(v, sympy.Basic):
                if not v.is_Rational:
                    raise InvalidMatrixError(
                        f"matrix entry {describe(v)} is not a rational number; expected exact rationals")
                v = Fraction(int(v.p), int(v.q))
            conv.append(v)
        rows.append(_row_integers(conv))
    return fmpz_mat(rows)


def _log2_norms(Z: fmpz_mat) -> tuple[np.ndarray, np.ndarray]:
    """Upper bounds on log2 of the Euclidean norms of the rows and columns of Z."""
    m, n = Z.nrows(), Z.ncols()
    bits = np.array([int(v).bit_length() for v in Z.entries()], dtype=np.float64).reshape(m, n)
    # |a| < 2**bits, so a**2 < 4**bits; sum in float with a generous upward margin.
    def norms(b, axis):
        top = b.max(axis=axis)
        s = np.exp2(2 * (b - np.expand_dims(top, axis))).sum(axis=axis)
        out = top + 0.5 * np.log2(s * (1 + 1e-6))
        return np.where(top > 0, out, -np.inf)
    return norms(bits, 1), norms(bits, 0)


def _hadamard_log2(row_norms: np.ndarray, col_norms: np.ndarray, size: int) -> float:
    """log2 of a bound on every nonzero minor of order ``size``."""
    def bound(v):
        v = np.sort(v)[::-1][:size]
        v = v[np.isfinite(v)]
        return float(np.maximum(v, 0).sum())  # a nonzero integer row has norm >= 1
    return min(bound(row_norms), bound(col_norms))


def rank(M, *, certify: str = "auto", seed: int = 0, budget_seconds: float = 30.0,
         upper_bound: "tuple[int, str] | Bound | None" = None, n_primes: int = 1) -> RankResult:
    """Rank of a rational matrix over Q, certified when affordable.

    Args:
        M: the matrix (see :func:`integer_matrix` for accepted types).
        certify: ``"auto"`` (certify if the estimated cost is within ``budget_seconds``),
            ``"always"`` or ``"never"``.
        seed: seed of the random primes (results are reproducible).
        budget_seconds: the cost limit of ``"auto"``.
        upper_bound: ``(bound, reason)`` proven by the caller; used as a certificate.
        n_primes: number of random primes for the lower bound, 1 to :data:`MAX_PRIMES` (more
            primes shrink ``failure_bound`` of uncertified results).

    Returns:
        :class:`RankResult`.
    """
    check_option(certify, "certify", CERTIFY_OPTIONS)
    check_int(seed, "seed", 0)
    check_real(budget_seconds, "budget_seconds", 0, allow_inf=True)
    check_int(n_primes, "n_primes", 1, MAX_PRIMES)
    if upper_bound is not None and not isinstance(upper_bound, Bound):
        if not (isinstance(upper_bound, tuple) and len(upper_bound) == 2):
            raise InvalidTypeError(f"upper_bound = {describe(upper_bound)} has type {type(upper_bound).__name__}; "
                                   "expected (bound, reason), a Bound, or None")
        check_int(upper_bound[0], "upper_bound[0]", 0)
    shape = _shape(M)
    if shape is not None:
        require_memory(CONVERSION_BYTES * shape[0] * shape[1],
                       f"the exact rank of a {shape[0]} x {shape[1]} matrix",
                       "set EXACTHESS_MEMORY_LIMIT_GB to change the limit")
    t0 = time.perf_counter()
    Z = integer_matrix(M)
    m, n = Z.nrows(), Z.ncols()
    shape = (m, n)
    full = min(m, n)
    if full == 0:
        return RankResult(0, 0, 0, True, "full", shape, seconds=time.perf_counter() - t0)
    rng = np.random.default_rng([seed, 7])
    primes: list[int] = []
    k = -1
    t_rank = 0.0
    for _ in range(max(1, n_primes)):
        p = random_prime(rng)
        t1 = time.perf_counter()
        k = max(k, rank_mod_p(Z, p))
        t_rank = time.perf_counter() - t1
        primes.append(p)
    upper, method = full, "trivial"
    if isinstance(upper_bound, Bound):
        upper_bound = (upper_bound.value, upper_bound.how)
    if upper_bound is not None and upper_bound[0] < k:
        raise InvalidValueError(f"upper_bound = {describe(upper_bound)} is below the proven lower bound {k} (the rank "
                                "modulo a prime); expected a proven upper bound >= the rank: the certificate is wrong")
    if upper_bound is not None and upper_bound[0] < upper:
        upper, method = int(upper_bound[0]), f"certificate: {upper_bound[1]}"

    def done(lower, upper, method, failure=0.0):
        cert = lower == upper
        stage = {"full": "trivial", "zero": "zero", "hadamard": "hadamard", "trivial": "trivial"}.get(method, "caller")
        why = {"full": "min(rows, cols)", "zero": "the matrix is exactly zero", "trivial": "min(rows, cols)",
               "hadamard": f"{len(primes)} primes whose product exceeds Hadamard's bound on every "
                           f"({upper + 1})-minor"}.get(method, method.removeprefix("certificate: "))
        bounds = (Bound(lower, LOWER, "mod p", f"rank modulo {len(primes)} prime(s) of {PRIME_BITS} bits"),
                  Bound(upper, UPPER, stage, why))
        return RankResult(lower, lower, upper, cert, method if cert else "probabilistic", shape,
                          tuple(primes), 0.0 if cert else failure, time.perf_counter() - t0, bounds)

    if k == full:
        return done(k, k, "full")
    if k == upper:
        return done(k, k, method)
    if k == 0 and Z.is_zero():
        return done(0, 0, "zero")
    rows, cols = _log2_norms(Z)
    if certify != "never":
        need_bits = _hadamard_log2(rows, cols, k + 1)
        have_bits = sum(math.log2(p) for p in primes)
        est = max(0, math.ceil((need_bits - have_bits) / (PRIME_BITS - 1))) * max(t_rank, 1e-4)
        if certify == "always" or est <= budget_seconds:
            while have_bits <= need_bits:
                p = random_prime(rng)
                primes.append(p)
                kp = rank_mod_p(Z, p)
                have_bits += math.log2(p)
                if kp > k:  # a better lower bound: the target moves up
                    k = kp
                    if k == full:
                        return done(k, k, "full")
                    need_bits = _hadamard_log2(rows, cols, k + 1)
            return done(k, k, "hadamard")
    all_bits = _hadamard_log2(rows, cols, full)
    return done(k, upper, method, failure_bound(all_bits, len(primes)))
