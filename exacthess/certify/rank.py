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
  - ``certificate``: a structural upper bound from exacthess (a :class:`Bound` carrying a
    certificate: null vectors, a theorem on certified factor ranks).

  Every bound is written down as a :class:`~exacthess.certify.certificate.RankCertificate`
  (the lower bound as a nonsingular minor modulo a prime) and verified by
  :func:`~exacthess.certify.checker.check`, which shares no code with this module, before the
  rank is reported as certified; a ``(bound, reason)`` pair from a caller is shown, never
  trusted.

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

from dataclasses import replace
from fractions import Fraction

import numpy as np
from flint import fmpq, fmpq_mat, fmpz, fmpz_mat, nmod_mat

from ..core.errors import InvalidMatrixError, InvalidTypeError, InvalidValueError, NonFiniteError, describe
from ..core.resources import format_seconds, require_memory
from ..core.exact import to_rational
from ..core.modular import PRIME_BITS, failure_bound, random_prime
from ..core.progress import Update, check_progress
from ..core.validate import check_int, check_option, check_real
from .bounds import LOWER, UPPER, Bound
from .certificate import Assumed, Hadamard, Minor, RankCertificate, Trivial, Zero, describe_upper
from .checker import ExplicitSource, check
from .kernel import rank_mod
from .result import RankResult, named

__all__ = ["RankResult", "rank", "named", "integer_matrix", "rank_minor", "CERTIFY_OPTIONS"]

#: values of the ``certify`` option everywhere in exacthess
CERTIFY_OPTIONS = ("auto", "always", "never")


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


def _pivots(A: nmod_mat) -> list:
    """Pivot columns of the reduced row echelon form of ``A`` (its column rank profile)."""
    R, r = A.rref()
    out, j = [], 0
    for i in range(r):
        while R[i, j] == 0:
            j += 1
        out.append(j)
        j += 1
    return out


def rank_minor(Z: fmpz_mat, p: int) -> Minor:
    """A nonsingular ``k x k`` minor of ``Z`` modulo ``p``, ``k = rank_p Z``: the row rank profile
    and the column rank profile (a row basis and a column basis always meet in a nonsingular minor:
    ``Z = Z[:, C] X`` gives ``Z[R, :] = Z[R, C] X``, of rank ``k``)."""
    if not (Z.nrows() and Z.ncols()):
        return Minor(prime=p, rows=(), cols=())
    A = nmod_mat(Z, p)
    return Minor(prime=p, rows=tuple(_pivots(A.transpose())), cols=tuple(_pivots(A)))


def rank(M, *, certify: str = "auto", seed: int = 0, budget_seconds: float = 30.0,
         upper_bound: "tuple[int, str] | Bound | None" = None, n_primes: int = 1, progress=None) -> RankResult:
    """Rank of a rational matrix over Q, certified when affordable.

    Every certified result carries a :class:`~exacthess.certify.certificate.RankCertificate` (a
    nonsingular minor modulo a prime, and the proof of the upper bound) that
    :func:`~exacthess.certify.checker.check` has verified against the matrix.

    Args:
        M: the matrix (see :func:`integer_matrix` for accepted types).
        certify: ``"auto"`` (certify if the estimated cost is within ``budget_seconds``),
            ``"always"`` or ``"never"`` (no upper-bound certificate: the rank is certified only
            when its lower bound is ``min(rows, cols)``).
        seed: seed of the random primes (results are reproducible).
        budget_seconds: the cost limit of ``"auto"``.
        upper_bound: a bound you know. A ``(bound, reason)`` pair is *not* a certificate: it is
            shown (``how``), never used to certify. A :class:`~exacthess.certify.bounds.Bound`
            carrying a certificate (as exacthess's own structural bounds do) is checked, and used
            when it verifies.
        n_primes: number of random primes for the lower bound, 1 to :data:`MAX_PRIMES` (more
            primes shrink ``failure_bound`` of uncertified results).
        progress: optional callable receiving the stages (the rank modulo a prime, then Hadamard's
            bound: primes done of needed, as :class:`~exacthess.core.progress.Update` messages).

    Returns:
        :class:`RankResult`.
    """
    check_option(certify, "certify", CERTIFY_OPTIONS)
    check_int(seed, "seed", 0)
    check_real(budget_seconds, "budget_seconds", 0, allow_inf=True)
    check_int(n_primes, "n_primes", 1, MAX_PRIMES)
    say = check_progress(progress) or (lambda msg: None)
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
    if shape is not None:
        say(Update(f"{shape[0]} x {shape[1]} as integers, rank mod a prime"))
    Z = integer_matrix(M)
    m, n = Z.nrows(), Z.ncols()
    shape = (m, n)
    full = min(m, n)
    if full == 0:
        cert = RankCertificate(matrix="M", value=0, lower=None, upper=Trivial())
        return RankResult(value=0, lower=0, upper=0, certified=True, method="full", shape=shape,
                          seconds=time.perf_counter() - t0, certificate=cert)
    rng = np.random.default_rng([seed, 7])
    primes: list[int] = []
    k, best = -1, None
    t_rank = 0.0
    for _ in range(max(1, n_primes)):
        p = random_prime(rng)
        t1 = time.perf_counter()
        kp = rank_mod(Z, p)  # the checker's own rank function (it remembers, so checking costs nothing more)
        t_rank = time.perf_counter() - t1
        primes.append(p)
        if kp > k:
            k, best = kp, p
    if isinstance(upper_bound, Bound):
        caller = (upper_bound.value, upper_bound.how, upper_bound.certificate)
    else:
        caller = None if upper_bound is None else (int(upper_bound[0]), str(upper_bound[1]), None)
    if caller is not None and caller[0] < k:
        raise InvalidValueError(f"upper_bound = {describe(upper_bound)} is below the proven lower bound {k} (the rank "
                                "modulo a prime); expected a proven upper bound >= the rank: the certificate is wrong")
    rows, cols = _log2_norms(Z) if k < full else (None, None)

    missing = {"why": "certify='never' asks for no upper bound; certify='auto' or 'always' proves one"}

    def propose():
        """``(upper-bound record, method)``: the cheapest proof exacthess can offer."""
        proven = caller is not None and caller[2] is not None and certify != "never"
        if k == full:
            return Trivial(), "full"
        if proven and caller[0] == k:
            return caller[2], "certificate: " + caller[1]
        if k == 0 and Z.is_zero() and certify != "never":
            return Zero(), "zero"
        if certify != "never":
            need_bits = _hadamard_log2(rows, cols, k + 1)
            have_bits = sum(math.log2(q) for q in primes)
            est = max(0, math.ceil((need_bits - have_bits) / (PRIME_BITS - 1))) * max(t_rank, 1e-4)
            if certify == "always" or est <= budget_seconds:
                return "hadamard", "hadamard"
            extra = max(0, math.ceil((need_bits - have_bits) / (PRIME_BITS - 1)))
            missing["why"] = (f"Hadamard's bound needs {extra} more primes ({format_seconds(est)}), over budget_seconds="
                              f"{budget_seconds:g}; certify='always' or budget_seconds={math.ceil(est * 1.5)} proves it")
        if proven:  # a proven bound above the lower bound: still the best upper bound there is
            return caller[2], "certificate: " + caller[1]
        if caller is not None:
            return Assumed(value=caller[0], reason=caller[1]), "assumed"
        return None, "probabilistic"

    node, method = propose()
    if node == "hadamard":
        node, k, best = _hadamard_primes(Z, rng, primes, k, best, rows, cols, full, say)
        method = "full" if isinstance(node, Trivial) else "hadamard"
    cert = RankCertificate(matrix="M", value=k, lower=rank_minor(Z, best), upper=node)
    all_bits = _hadamard_log2(rows, cols, full) if rows is not None else 0.0
    res = _accepted(cert, ExplicitSource(_entries(Z)), method, shape, primes, t0, full, all_bits)
    return res if res.certified else replace(res, why=res.why or missing["why"])


def _entries(Z: fmpz_mat) -> np.ndarray:
    return np.array([int(v) for v in Z.entries()], dtype=object).reshape(Z.nrows(), Z.ncols())


def _hadamard_primes(Z, rng, primes, k, best, rows, cols, full, say=lambda msg: None):
    """More primes until their product exceeds Hadamard's bound on the ``(k + 1)``-minors (the
    target moves up when a prime shows a larger rank)."""
    need_bits = _hadamard_log2(rows, cols, k + 1)
    have_bits = sum(math.log2(q) for q in primes)
    first = len(primes)
    while have_bits <= need_bits:
        needed = len(primes) - first + math.ceil((need_bits - have_bits) / (PRIME_BITS - 1))
        say(Update("primes for Hadamard's bound", stage="primes for Hadamard's bound",
                   done=len(primes) - first, total=needed))
        p = random_prime(rng)
        primes.append(p)
        kp = rank_mod(Z, p)
        have_bits += math.log2(p)
        if kp > k:
            k, best = kp, p
            if k == full:
                return Trivial(), k, best
            need_bits = _hadamard_log2(rows, cols, k + 1)
    return Hadamard(primes=tuple(primes)), k, best


def _accepted(cert, source, method, shape, primes, t0, full, all_bits: float) -> RankResult:
    """Check the proposal and build the result from what verified."""
    res = check(cert, source)
    lower = Bound(res.lower, LOWER, "mod p", f"a nonsingular {res.lower}-minor modulo a {PRIME_BITS}-bit prime")
    stage = {Trivial: "trivial", Zero: "zero", Hadamard: "hadamard", Assumed: "trivial"}.get(type(cert.upper), "caller")
    why = ("min(rows, cols)" if res.upper == full and not isinstance(cert.upper, (Zero, Hadamard)) else
           describe_upper(cert.upper))
    if res.failures:
        method = "probabilistic"
        why = "min(rows, cols) (the proposed certificate did not verify: " + "; ".join(res.failures) + ")"
        stage = "trivial"
    upper = Bound(res.upper, UPPER, stage, why)
    ok = res.certified and res.lower == cert.value
    failure = 0.0 if ok else failure_bound(all_bits, len(primes))
    if isinstance(cert.upper, Assumed) and not ok:
        upper = Bound(res.upper, UPPER, "trivial", f"min(rows, cols); the caller's bound {cert.upper.value} "
                      f"({cert.upper.reason}) is not a certificate")
    value = res.lower if (ok or res.lower < cert.value) else cert.value
    return RankResult(value=value, lower=res.lower, upper=res.upper, certified=ok,
                      method=method if ok else "probabilistic", shape=shape, primes=tuple(primes),
                      failure_bound=failure, seconds=time.perf_counter() - t0, bounds=(lower, upper),
                      certificate=cert, failures=tuple(res.failures))
