r"""The checker: verifies rank certificates against the matrix, sharing no code with their proposers.

This module imports nothing from the code that proposes certificates (the certification pipeline,
the structural hints of :mod:`exacthess.hessian`, the modular layer of :mod:`exacthess.core`): only
numpy, FLINT and the plain records of :mod:`exacthess.certify.certificate`. The matrices come
from a *matrix source* (duck-typed): ``shape(name)``, ``exact(name, rows, cols)`` (exact
rationals), ``mod(name, p, rows, cols)`` (int64 residues), ``symmetric(name)`` and
``premise(key)`` (facts the theorems need: the activation, the loss Hessians, ...).

What each record proves, and how it is checked:

* :class:`~exacthess.certify.certificate.Minor` -- the square submatrix is reduced modulo the
  prime and shown nonsingular: with the proposer's inverse ``X`` by one exact product
  ``M X = I (mod p)`` (float64 products in chunks that stay below :math:`2^{53}`), otherwise by
  FLINT's determinant modulo ``p``;
* ``Zero`` -- every exact entry is 0;
* ``Exact`` -- the checker's own exact elimination over :math:`\mathbb Q` (both bounds);
* ``NullVectors`` -- ``M[:, rows] V = 0`` exactly: over :math:`\mathbb Q` (FLINT) for small
  products, otherwise modulo the checker's own primes (the largest primes below :math:`2^{31}`)
  until their product exceeds twice a bound on the entries of ``(D M) V``, from the source's
  entrywise magnitudes of ``M`` and its bound on a common denominator ``D``; the vectors' pivot
  minor nonsingular modulo the prime; a core certificate must be about ``M[I, I]`` for exactly the
  coordinates outside the pivots, and ``M`` symmetric;
* ``Hadamard`` -- the ranks of the integer matrix modulo each prime (FLINT) and Hadamard's bound
  compared here in exact integer arithmetic (:math:`(\prod p)^2 > \prod s_i` over the largest
  squared row -- or column -- norms);
* ``Theorem`` -- :mod:`exacthess.certify.theorems` (premises checked, parts checked recursively);
* ``Assumed`` -- reported, never trusted.

Small matrices (at most :data:`EXACT_CHECK_ENTRIES` entries) whose upper bound comes from a
theorem or from null vectors are checked once more by exact elimination over :math:`\mathbb Q`.

>>> import numpy as np
>>> from exacthess.certify.certificate import RankCertificate, Minor, Trivial
>>> M = ExplicitSource(np.array([[1, 2], [3, 4]]))
>>> check(RankCertificate(matrix="M", value=2, lower=Minor(prime=7, rows=(0, 1), cols=(0, 1)), upper=Trivial()), M)
Checked(lower=2, upper=2, failures=[])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from flint import fmpq, fmpz_mat

from .certificate import Assumed, Exact, Hadamard, Minor, NullVectors, RankCertificate, Theorem, Trivial, Zero
from .kernel import (ExplicitSource, exact_rank, hadamard_exceeded, integer_rows, is_prime, mulmod, nonsingular_mod,
                     qmat, rank_mod, reduce)

__all__ = ["Checked", "check", "ExplicitSource", "EXACT_CHECK_ENTRIES", "EXACT_PRODUCT_ENTRIES"]

#: matrices with at most this many entries get an extra check by exact elimination over Q
EXACT_CHECK_ENTRIES = 160 * 160
#: products M[:, rows] V with at most this many entries of M are checked over Q, larger ones modulo primes
EXACT_PRODUCT_ENTRIES = 200_000


@dataclass
class Checked:
    """What the checker verified about one matrix.

    Attributes:
        lower: verified lower bound on the rank.
        upper: verified upper bound.
        failures: one line per part that did not verify (its bound was dropped).
        notes: how the bounds were verified (for ``how`` texts).
        upper_by: what proves the final upper bound, in a few words.
    """

    lower: int
    upper: int
    failures: list = field(default_factory=list)
    notes: list = field(default_factory=list, repr=False)
    upper_by: str = field(default="min(rows, cols)", repr=False)

    @property
    def certified(self) -> bool:
        return self.lower == self.upper


# ----- the checks -------------------------------------------------------------------------------
def _compose(outer, inner):
    """Indices ``inner`` of the submatrix selected by ``outer`` (None: all), as global indices."""
    if inner is None:
        return outer
    return tuple(inner) if outer is None else tuple(outer[i] for i in inner)


def _shape(cert: RankCertificate, source) -> tuple:
    m, n = source.shape(cert.matrix)
    return (m if cert.rows is None else len(cert.rows), n if cert.cols is None else len(cert.cols))


def _check_minor(cert: RankCertificate, node: Minor, source, out: Checked) -> int:
    m, n = _shape(cert, source)
    k = len(node.rows)
    if len(node.cols) != k or len(set(node.rows)) != k or len(set(node.cols)) != k or \
            not all(0 <= i < m for i in node.rows) or not all(0 <= j < n for j in node.cols):
        out.failures.append(f"{cert.matrix}: the lower-bound minor's indices are not a square submatrix")
        return 0
    if k == 0:
        return 0
    memo = getattr(source, "checked_memo", None)
    key = ("minor", id(node), cert.matrix, cert.rows, cert.cols)
    if memo is not None and key in memo and memo[key][0] is node:
        if not memo[key][1]:
            out.failures.append(f"{cert.matrix}: the {k} x {k} minor is singular modulo {node.prime}")
        return k if memo[key][1] else 0
    rows, cols = _compose(cert.rows, node.rows), _compose(cert.cols, node.cols)
    fresh = getattr(source, "residues", None)  # a fresh float64 copy, eliminated in place: one copy in memory
    if fresh is not None and node.inverse is None and node.prime < 1 << 21:
        ok = nonsingular_mod(fresh(cert.matrix, node.prime, rows, cols), node.prime, overwrite=True)
    else:
        ok = nonsingular_mod(np.asarray(source.mod(cert.matrix, node.prime, rows, cols)), node.prime, node.inverse)
    if memo is not None:
        memo[key] = (node, ok)
    if not ok:
        out.failures.append(f"{cert.matrix}: the {k} x {k} minor is singular modulo {node.prime}")
        return 0
    out.notes.append(f"rank >= {k}: a {k} x {k} minor nonsingular modulo a {node.prime.bit_length()}-bit prime")
    return k


def _check_zero(cert, source, out: Checked):
    A = source.exact(cert.matrix, cert.rows, cert.cols)
    if any(v != 0 for v in np.asarray(A, dtype=object).flat):
        out.failures.append(f"{cert.matrix}: claimed to be zero, but has a nonzero entry")
        return None
    out.notes.append("rank <= 0: every entry is exactly zero")
    return 0


def _pivot_minor(blocks, pivots) -> np.ndarray:
    """``N[P]``: the vectors of every block (columns, block after block) at the pivot coordinates."""
    cols = []
    where = {c: i for i, c in enumerate(pivots)}
    for b in blocks:
        V = np.asarray(b.vectors, dtype=object)
        part = np.empty((len(pivots), V.shape[1]), dtype=object)
        part.fill(fmpq(0))
        for j, r in enumerate(b.rows):
            if int(r) in where:
                part[where[int(r)]] = V[j]
        cols.append(part)
    return np.concatenate(cols, axis=1) if cols else np.zeros((len(pivots), 0), dtype=object)


def _vanishes(cert, cols: tuple, V: np.ndarray, source) -> bool:
    """``M[:, cols] V = 0`` exactly: over Q for small products, otherwise modulo primes whose product
    exceeds twice a proven bound on the entries of ``(D M) V`` (each ``M V`` modulo a prime from the
    source's own product when it has one -- forward-mode Jacobian-vector products --, else from
    ``M`` modulo the prime) (``D`` a common denominator of ``M``:
    the source's bound on it; the magnitudes of ``M``: the source's entrywise upper bounds)."""
    m = _shape(cert, source)[0]
    mag = getattr(source, "magnitudes", None)
    if m * len(cols) <= EXACT_PRODUCT_ENTRIES or mag is None:
        A = source.exact(cert.matrix, cert.rows, _compose(cert.cols, cols))
        return not np.size(A) or all(v == 0 for v in (qmat(A) * qmat(V)).entries())
    Vi = np.array(integer_rows(np.ascontiguousarray(V.T)), dtype=object).T  # columns scaled to integers
    vmax = max((abs(int(v)) for v in Vi.flat), default=0)
    if vmax == 0:
        return True
    Mabs = np.asarray(mag(cert.matrix, cert.rows, _compose(cert.cols, cols)), dtype=np.float64)
    rowsum = float(np.max(Mabs.sum(axis=1))) if Mabs.size else 0.0
    if not math.isfinite(rowsum):
        A = source.exact(cert.matrix, cert.rows, _compose(cert.cols, cols))
        return all(v == 0 for v in (qmat(A) * qmat(V)).entries())
    need = (math.ceil(math.log2(rowsum + 1)) + 2 + vmax.bit_length() + 1
            + math.ceil(source.denominator_log2(cert.matrix)))
    den, have, q = source.denominator(), 0, (1 << 31) - 1
    product = getattr(source, "product", None)  # M V without forming M (e.g. forward-mode J V), or None
    while have <= need:
        while not (is_prime(q) and den % q):
            q -= 2
        Vq = reduce(Vi, q)
        MV = None if product is None else product(cert.matrix, q, cert.rows, _compose(cert.cols, cols), Vq)
        if MV is None:
            Aq = np.asarray(source.mod(cert.matrix, q, cert.rows, _compose(cert.cols, cols)), dtype=np.int64)
            MV = mulmod(Aq, Vq, q)
        if np.asarray(MV).any():
            return False
        have += q.bit_length() - 1
        q -= 2
    return True



def _check_null_vectors(cert, node: NullVectors, source, out: Checked):
    m, n = _shape(cert, source)
    k = sum(np.shape(b.vectors)[1] for b in node.blocks)
    P = tuple(int(i) for i in node.pivots)
    if len(P) != k or len(set(P)) != k or not all(0 <= i < n for i in P) or any(
            np.shape(b.vectors) != (len(b.rows), np.shape(b.vectors)[1]) or not all(0 <= int(i) < n for i in b.rows)
            or len(set(b.rows)) != len(b.rows) for b in node.blocks):
        out.failures.append(f"{cert.matrix}: the null vectors or their pivots are malformed")
        return None
    if k and not nonsingular_mod(reduce(_pivot_minor(node.blocks, P), node.prime), node.prime):
        out.failures.append(f"{cert.matrix}: the null vectors are not independent (pivot minor singular mod p)")
        return None
    for b in node.blocks:
        if np.shape(b.vectors)[1] and not _vanishes(cert, tuple(int(i) for i in b.rows), np.asarray(b.vectors), source):
            out.failures.append(f"{cert.matrix}: a proposed null vector v has M v != 0 "
                                f"({node.how or 'no reason given'})")
            return None
    bound = n - k
    out.notes.append(f"rank <= {bound}: {k} exact null vectors, M v = 0 checked")
    if node.core is None:
        return bound
    keep = tuple(i for i in range(n) if i not in set(P))
    core = node.core
    if core.matrix != cert.matrix or core.equal is not None or m != n or \
            _compose(cert.rows, keep) != core.rows or _compose(cert.cols, keep) != core.cols or \
            cert.rows != cert.cols or not source.symmetric(cert.matrix):
        out.failures.append(f"{cert.matrix}: the core certificate is not about M[I, I] of a symmetric M")
        return bound
    sub = check(core, source, cross_check=False)
    out.failures += sub.failures
    out.notes.append(f"rank = rank M[I, I] (|I| = {len(keep)}); core: " + "; ".join(sub.notes[-1:]))
    return min(bound, sub.upper)


def _check_hadamard(cert, node: Hadamard, source, out: Checked):
    A = np.asarray(source.exact(cert.matrix, cert.rows, cert.cols), dtype=object)
    if not A.size:
        return 0
    rows = integer_rows(A)
    Z = fmpz_mat(rows)
    ranks = [rank_mod(Z, p) for p in node.primes]
    if not ranks:
        out.failures.append(f"{cert.matrix}: a Hadamard certificate without primes")
        return None
    k = max(ranks)
    if k >= min(A.shape):
        return k
    if not hadamard_exceeded(rows, k + 1, node.primes):
        out.failures.append(f"{cert.matrix}: the product of the {len(node.primes)} primes does not exceed "
                            f"Hadamard's bound on the {k + 1}-minors")
        return None
    out.notes.append(f"rank <= {k}: {len(node.primes)} primes > Hadamard bound on every ({k + 1})-minor")
    return k


def check(cert: RankCertificate, source, *, cross_check: bool = True) -> Checked:
    """Verify a certificate against the matrix the source gives for ``cert.matrix``.

    Returns the bounds that verified (a part that does not verify is dropped: the lower bound
    falls to 0, the upper to ``min(rows, cols)``) and a line per failure. The claimed value plays
    no role in the bounds; a certified rank is one where ``lower == upper == value``.
    """
    memo = getattr(source, "checked_memo", None)  # a source may remember what it has verified
    if memo is not None and id(cert) in memo and memo[id(cert)][0] is cert and memo[id(cert)][2] == cross_check:
        done = memo[id(cert)][1]
        return Checked(done.lower, done.upper, list(done.failures), list(done.notes), done.upper_by)
    out = _check(cert, source, cross_check)
    if memo is not None:
        memo[id(cert)] = (cert, out, cross_check)
    return out


def _theorem(cert: RankCertificate, node, source, out: Checked) -> tuple:
    """``(lower, upper)`` proven by a theorem record; a premise the source does not hold (a theorem about
    named factors, checked against a source of one explicit matrix) proves nothing: a failure, not a crash."""
    from .theorems import apply_theorem  # the theorems' table (a sibling of this kernel)
    try:
        return apply_theorem(cert, node, source, out, check)
    except KeyError as exc:
        out.failures.append(f"{cert.matrix}: the theorem needs the premise {exc.args[0]!r}, which this matrix source "
                            "does not hold")
        m, n = _shape(cert, source)
        return 0, min(m, n)


def _check(cert: RankCertificate, source, cross_check: bool) -> Checked:
    m, n = _shape(cert, source)
    out = Checked(0, min(m, n))
    if cert.equal is not None:
        n_fail = len(out.failures)
        lo, up = _theorem(cert, cert.equal, source, out)
        out.lower, out.upper = max(0, lo), min(out.upper, up)
        if len(out.failures) == n_fail and up < min(m, n):
            out.upper_by = _last_upper(out)
        return _cross_check(cert, source, out) if cross_check else out
    if isinstance(cert.lower, Minor):
        out.lower = _check_minor(cert, cert.lower, source, out)
    elif isinstance(cert.lower, Theorem):
        out.lower = _theorem(cert, cert.lower, source, out)[0]
    elif cert.lower is not None:
        out.failures.append(f"{cert.matrix}: unknown lower-bound record {type(cert.lower).__name__}")
    node, up = cert.upper, None
    theorem_like = isinstance(node, (Theorem, NullVectors))
    if node is None or isinstance(node, Trivial):
        up = min(m, n)
    elif isinstance(node, Zero):
        up = _check_zero(cert, source, out)
    elif isinstance(node, NullVectors):
        up = _check_null_vectors(cert, node, source, out)
    elif isinstance(node, Hadamard):
        up = _check_hadamard(cert, node, source, out)
    elif isinstance(node, Theorem):
        up = _theorem(cert, node, source, out)[1]
    elif isinstance(node, Exact):
        up = exact_rank(source.exact(cert.matrix, cert.rows, cert.cols))
        out.lower = max(out.lower, up)
        out.notes.append(f"rank <= {up}: exact elimination over Q")
    elif isinstance(node, Assumed):
        out.notes.append(f"rank <= {node.value} assumed by the caller ({node.reason}); not checked")
    else:
        out.failures.append(f"{cert.matrix}: unknown upper-bound record {type(node).__name__}")
    if up is not None and up < out.upper:
        out.upper = up
        out.upper_by = _last_upper(out)
    if out.lower > out.upper:
        out.failures.append(f"{cert.matrix}: verified bounds contradict each other ({out.lower} > {out.upper})")
        out.upper = min(m, n)
    return _cross_check(cert, source, out) if (cross_check and theorem_like) else out


def _cross_check(cert, source, out: Checked) -> Checked:
    """Exact elimination over Q for small matrices whose bounds rest on a theorem or null vectors."""
    m, n = _shape(cert, source)
    if m * n > EXACT_CHECK_ENTRIES or out.lower == min(m, n):
        return out
    r = exact_rank(source.exact(cert.matrix, cert.rows, cert.cols))
    if not out.lower <= r <= out.upper:
        out.failures.append(f"{cert.matrix}: the certificate's bounds [{out.lower}, {out.upper}] exclude the rank "
                            f"{r} found by exact elimination over Q")
    if out.upper == r and not out.failures:
        out.upper_by += "; exact elimination agrees"
    else:
        out.upper_by = "exact elimination over Q"
    out.lower, out.upper = r, r
    out.notes.append(f"rank = {r}: confirmed by exact elimination over Q")
    return out


def _last_upper(out: Checked) -> str:
    """The last note about an upper bound, without its leading ``rank <= k:``."""
    for note in reversed(out.notes):
        if note.startswith("rank <="):
            return note.split(":", 1)[-1].strip() if ":" in note else note
    return "min(rows, cols)"
