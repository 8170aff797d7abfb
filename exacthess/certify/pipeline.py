r"""Certification as one pipeline: structure proposes, the checker decides.

Every rank goes through the same stages, each of which only *proposes* a
:class:`~exacthess.certify.certificate.RankCertificate`:

1. **Lower bound** -- a nonsingular minor modulo a prime (of the matrix, or of a core of it).
2. **Structural upper bound** -- from hints computed by the caller: a factorisation
   ``H = J^T G J`` (``rank H = rank J``, a theorem whose premises are checked), per block column a
   theorem on certified ranks of named factors, or exact null vectors.
3. **Core** -- :func:`~exacthess.certify.core.choose_core` restricts ``H`` to coordinates ``I``
   where a full-rank minor certifies ``rank H = |I|`` together with the upper bound.
4. **Hadamard** -- :func:`~exacthess.certify.rank.rank` on an exact matrix: ranks modulo primes
   whose product exceeds Hadamard's bound (deterministic).
5. **Probabilistic** -- when Hadamard would exceed the budget: a second prime, proven bounds, and
   a stated failure probability (:func:`~exacthess.core.modular.failure_bound`).

Each proposal is verified by :func:`~exacthess.certify.checker.check` against the matrix (a
*matrix source*, :mod:`exacthess.hessian.source`) before anything is reported as certified; a
proposal that fails is dropped, the failure is reported in ``how``, and the next stage runs.

The pipeline knows matrices (by name, through the source) and hints only, never what produced them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

from ..core.modular import SMALL_PRIME_BITS, failure_bound, random_small_prime, rank_mod_p
from ..core.progress import prefixed
from ..core.resources import format_bytes, memory_limit, require_memory
from .bounds import LOWER, UPPER, Bound
from .certificate import Minor, NullVectors, RankCertificate, Theorem, Trivial, describe_upper
from .checker import check
from .core import choose_core
from .rank import RankResult, rank
from .small import modular_minor

__all__ = ["Certifier", "SymmetricProblem", "FactoredProblem", "GENERIC_CORE_LIMIT"]

#: Above this size an exact (QQ) matrix is not formed for Hadamard's argument: ranks are proven
#: lower bounds from two primes, reported as probabilistic with a stated failure bound.
GENERIC_CORE_LIMIT = 1500


@dataclass
class FactoredProblem:
    """``rank H = rank F`` by a theorem (``"gram"``: ``H = J^T (G (x) I) J`` with ``G`` positive
    definite; ``"gauss_newton"``: ``H = sum_i J_i^T A_i J_i``, ``F = C J`` with ``ker C_i = ker A_i``).

    Attributes:
        key: the name of ``H`` (``"H_o"``).
        factor: the name of ``F`` for the matrix source (``"J"`` or ``"CJ"``).
        theorem: ``"gram"`` or ``"gauss_newton"``.
        p: the prime of the lower bound.
        upper: a proposed bound on ``rank F`` carrying its certificate, or None.
        why: one line saying why ``rank H = rank F``.
    """

    key: str
    factor: str
    theorem: str
    p: int
    upper: Bound | None = None
    why: str = "rank H = rank J"


@dataclass
class SymmetricProblem:
    """A symmetric matrix given block by block, with per-block-column hints.

    Attributes:
        key: the name of ``H`` for the matrix source (``"H_f"`` or ``"H_L"``).
        sizes: block sizes ``n_l``.
        p: the prime of the hints.
        spaces: one :class:`~exacthess.certify.core.BlockRowSpace` or None per block (its bound
            carries the theorem's certificate).
        column_keys: names of the block columns to certify as well (e.g. ``"H_f[:,1]"``), or ().
        null_vectors: exact null vectors of ``H`` (a :class:`~exacthess.certify.certificate.NullVectors`
            record over the prime ``p``), or None.
        upper_hint: a further proposed upper bound on ``rank H`` carrying its certificate.
    """

    key: str
    sizes: tuple
    p: int
    spaces: list
    column_keys: tuple = ()
    null_vectors: NullVectors | None = None
    upper_hint: Bound | None = None


@dataclass
class Certifier:
    """Runs the stages; options as in :func:`exacthess.verify`.

    Attributes:
        source: the matrix source (names -> exact matrices and their reductions).
        seed: seed of every prime drawn.
        certify: ``"auto"``, ``"always"`` or ``"never"`` (``"never"``: no upper-bound certificate
            at all; a rank is certified only when its lower bound is ``min(rows, cols)``).
        budget_seconds: cost limit of the Hadamard stage in ``"auto"`` mode.
        core_limit: largest matrix formed over Q for Hadamard's argument.
        progress: callable receiving short messages, or None.
    """

    source: object
    seed: int = 0
    certify: str = "auto"
    budget_seconds: float = 60.0
    core_limit: int = GENERIC_CORE_LIMIT
    progress: Callable | None = None
    _say: Callable = field(init=False, repr=False)

    def __post_init__(self):
        self._say = self.progress or (lambda msg: None)

    # ----- acceptance -------------------------------------------------------------------------
    def accept(self, key: str, cert: RankCertificate, t0: float, primes=(), failure: float = 1.0,
               dropped=()) -> RankResult:
        """Check ``cert`` and report what verified (``certified`` only when the bounds meet)."""
        self._say(f"{key}: checking {_kind(cert)}")
        res = check(cert, self.source, cross_check=self.certify != "never")
        shape = _shape(cert, self.source)
        failures = tuple(dropped) + tuple(res.failures)
        ok = res.certified
        lower = Bound(res.lower, LOWER, "mod p", "a nonsingular minor modulo a prime")
        upper = Bound(res.upper, UPPER, "checked", res.upper_by)
        method = ("certificate: " + res.upper_by) if ok else "probabilistic"
        note = ("; dropped: " + "; ".join(failures)) if failures else ""
        return RankResult(value=res.lower, lower=res.lower, upper=res.upper, certified=ok, method=method + note,
                          shape=shape, primes=tuple(primes), failure_bound=0.0 if ok else failure,
                          seconds=time.perf_counter() - t0, bounds=(lower, upper), certificate=cert,
                          failures=failures)

    def dense(self, key: str, name: str, rows=None, cols=None, upper: Bound | None = None,
              dropped=(), known: RankResult | None = None) -> RankResult:
        """Stages 1, 4, 5 on the exact matrix ``name[rows, cols]`` (no structure). When that matrix
        modulo two primes cannot fit the memory budget and ``known`` (what the checker already
        verified) is given, ``known`` is returned, uncertified, saying why."""
        shape = _shape(RankCertificate(matrix=name, value=0, rows=rows, cols=cols), self.source)
        need = 24.0 * shape[0] * shape[1]
        if known is not None and self.certify != "never" and need > memory_limit():
            why = (f"no structural certificate verified, and the {shape[0]} x {shape[1]} matrix modulo two primes "
                   f"would need about {format_bytes(need)} of memory (expected at most {format_bytes(memory_limit())}; "
                   "EXACTHESS_MEMORY_LIMIT_GB raises it)")
            self._say(f"{key}: {why}")
            return replace(known, certified=False, why=why, failure_bound=1.0 if known.lower < known.upper else 0.0)
        if self.certify != "never" and max(shape) > self.core_limit and min(shape) > 0:
            self._say(f"{key}: {shape[0]} x {shape[1]}, too large for Hadamard: two primes")
            return self._large(key, name, rows, cols, upper, dropped)
        self._say(f"{key}: no structural certificate; {shape[0]} x {shape[1]} over Q")
        t0 = time.perf_counter()
        exact = self.source.exact(name, rows, cols)
        if self.certify != "never" and rows is None and cols is None and shape[0] == shape[1] \
                and self.source.symmetric(name):
            res = self._kernel(key, name, exact, dropped)
            if res is not None:
                return res
        r = rank(exact, seed=self.seed, certify=self.certify, budget_seconds=self.budget_seconds,
                 upper_bound=upper if self.certify != "never" else None, progress=prefixed(self._say, key))
        cert = replace(r.certificate, matrix=name, rows=rows, cols=cols)
        res = self.accept(key, cert, t0, r.primes, r.failure_bound, dropped=tuple(dropped) + r.failures)
        return res if res.certified else replace(res, failure_bound=r.failure_bound)

    def _kernel(self, key: str, name: str, exact, dropped) -> RankResult | None:
        """A symmetric matrix's rank from a core modulo a prime and its kernel solved over Q
        (:func:`~exacthess.certify.explicit.kernel_certificate`), when the checker verifies it."""
        from .nullspace import KERNEL_BITS, KERNEL_LIMIT, kernel_certificate, word_prime
        exact = np.asarray(exact, dtype=object)
        if exact.shape[0] > KERNEL_LIMIT or max((max(int(v.p).bit_length(), int(v.q).bit_length()) if hasattr(v, "q")
                                                  else int(v).bit_length() for v in exact.flat), default=0) > KERNEL_BITS:
            return None  # a large solve over Q: Hadamard's argument (or its budget) decides instead
        t0 = time.perf_counter()
        self._say(f"{key}: a core modulo a prime and the kernel over Q")
        p, Mp = word_prime(exact, self.seed)
        try:
            cert = kernel_certificate(exact, name, p, Mp)
        except ZeroDivisionError:
            return None
        res = self.accept(key, cert, t0, (p,), dropped=dropped)
        return res if res.certified else None

    # ----- rank H = rank F --------------------------------------------------------------------
    def lower_only(self, key: str, name: str, p: int) -> RankResult:
        """``certify="never"``: a nonsingular minor modulo ``p`` of the matrix itself, and no upper bound."""
        t0 = time.perf_counter()
        minor = modular_minor(self.source.mod(name, p), p)
        return self.accept(key, RankCertificate(matrix=name, value=len(minor.rows), lower=minor, upper=Trivial()),
                           t0, (p,))

    def factored(self, prob: FactoredProblem) -> RankResult:
        """Stages 1-2 on the factor ``F``; Hadamard on the exact ``F`` when they do not meet."""
        if self.certify == "never":
            return self.lower_only(prob.key, prob.key, prob.p)
        t0 = time.perf_counter()
        Fp = self.source.mod(prob.factor, prob.p)
        minor = modular_minor(Fp, prob.p)
        node = Trivial() if prob.upper is None else prob.upper.certificate
        part = RankCertificate(matrix=prob.factor, value=len(minor.rows), lower=minor, upper=node)
        eq = Theorem(name=prob.theorem, parts=(part,), how=prob.why)
        res = self.accept(prob.key, RankCertificate(matrix=prob.key, value=part.value, equal=eq), t0, (prob.p,))
        if res.certified:
            return res
        sub = self.dense(prob.factor, prob.factor, upper=prob.upper)
        eq = Theorem(name=prob.theorem, parts=(sub.certificate,), how=prob.why)
        out = self.accept(prob.key, RankCertificate(matrix=prob.key, value=sub.value, equal=eq), t0, sub.primes,
                          sub.failure_bound, dropped=res.failures)
        if out.failures and any("does not apply" in f for f in out.failures):  # the theorem's premises fail
            return self.dense(prob.key, prob.key, dropped=out.failures)
        return out if out.certified else replace(out, failure_bound=sub.failure_bound)

    # ----- symmetric, block-structured ------------------------------------------------------
    def symmetric(self, prob: SymmetricProblem) -> dict:
        """Certified ranks of ``H`` and of its requested block columns."""
        t0 = time.perf_counter()
        starts = np.concatenate([[0], np.cumsum(prob.sizes)]).astype(int)
        nv = prob.null_vectors if self.certify != "never" else None
        if nv is not None:
            drop = {int(i) for i in nv.pivots}
            rows = [[i for i in range(s) if int(starts[l]) + i not in drop] for l, s in enumerate(prob.sizes)]
        else:
            rows = choose_core(prob.spaces, prob.sizes, prob.p)[0]
        I = tuple(int(starts[l]) + i for l, r in enumerate(rows) for i in r)
        hinted = nv is not None or any(s is not None for s in prob.spaces)
        lower = self._core_minor(prob.key, I, prob.p, hinted)
        k = len(lower.rows)
        blocks = [tuple(range(int(starts[l]), int(starts[l + 1]))) for l in range(len(prob.sizes))]
        out = {}
        upper = self._upper(prob, nv, blocks)
        res = self.accept(prob.key, RankCertificate(matrix=prob.key, value=k, lower=lower, upper=upper), t0, (prob.p,))
        n = sum(prob.sizes)
        if res.certified and len(I) < n:  # the route: only the core was formed
            res = replace(res, method=f"{res.method}; only the {len(I)} x {len(I)} core of the {n} x {n} matrix "
                                      "formed, modulo a prime")
        if not res.certified and self.certify != "never":
            res = self._fallback(prob, nv, I, k, res)
        out[prob.key] = res
        for l, key in enumerate(prob.column_keys):
            out[key] = self._column(prob, l, blocks[l], res, t0)
        return out

    def _core_minor(self, key: str, I: tuple, p: int, hinted: bool) -> Minor:
        """A nonsingular minor of ``key[I, I]`` modulo ``p``. The core was chosen so that, when the
        structural bounds are met, it has full rank: then the whole core is proposed and the
        checker's one elimination settles it (the proposal is remembered with its verdict, so it is
        not eliminated again when the certificate is accepted). Otherwise, or when the checker finds
        the core singular, one elimination of the core gives its rank profiles."""
        require_memory(8.0 * len(I) ** 2, f"the {len(I)} x {len(I)} core of {key} modulo a prime (float64, eliminated "
                       "in place)", "set EXACTHESS_MEMORY_LIMIT_GB to change the limit")
        if hinted and I:
            whole = Minor(prime=p, rows=I, cols=I)
            probe = RankCertificate(matrix=key, value=len(I), lower=whole, upper=Trivial())
            if check(probe, self.source, cross_check=False).lower == len(I):
                return whole
        require_memory(16.0 * len(I) ** 2, f"the rank profile of the {len(I)} x {len(I)} core of {key} modulo a prime "
                       "(it is not of full rank)", "set EXACTHESS_MEMORY_LIMIT_GB to change the limit")
        minor = modular_minor(self.source.mod(key, p, I, I), p)
        return Minor(prime=p, rows=tuple(I[i] for i in minor.rows), cols=tuple(I[j] for j in minor.cols),
                     inverse=minor.inverse)

    def _upper(self, prob, nv, blocks):
        """The proposed upper bound of the whole matrix."""
        if self.certify == "never":
            return Trivial()
        if nv is not None:
            return nv
        parts, kinds = [], []
        for l, cols in enumerate(blocks):
            space = prob.spaces[l]
            node = space.bound.certificate if space is not None and space.bound.certificate is not None else Trivial()
            kinds.append(space.kind if space is not None and space.bound.certificate is not None else "size")
            parts.append(RankCertificate(matrix=prob.key, value=0, upper=node, cols=cols))
        up = Theorem(name="block_columns", parts=tuple(parts), how=f"block columns' bounds ({', '.join(kinds)}), summed")
        hint = prob.upper_hint
        if hint is not None and hint.certificate is not None:
            spaces_sum = sum(min(s.bound.value, len(c)) if s is not None else len(c) for s, c in zip(prob.spaces, blocks))
            if hint.value < spaces_sum:
                return hint.certificate
        return up

    def _fallback(self, prob, nv, I, k, res) -> RankResult:
        """Hadamard (or two primes) on the core when exact null vectors reduce the rank to it, else on
        the whole matrix."""
        if nv is not None and len(I) < sum(prob.sizes):
            sub = self.dense(prob.key, prob.key, rows=I, cols=I)
            up = replace(nv, core=sub.certificate)
            t0 = time.perf_counter()
            lower = sub.certificate.lower
            lower = None if lower is None else Minor(prime=lower.prime, rows=tuple(I[i] for i in lower.rows),
                                                      cols=tuple(I[j] for j in lower.cols), inverse=lower.inverse)
            out = self.accept(prob.key, RankCertificate(matrix=prob.key, value=sub.value, lower=lower, upper=up),
                              t0, sub.primes, sub.failure_bound, dropped=res.failures)
            return out if out.certified else replace(out, failure_bound=sub.failure_bound,
                                                      lower=max(out.lower, res.lower), value=max(out.lower, res.lower))
        upper = Bound(res.upper, UPPER, "checked", "", certificate=res.certificate.upper) \
            if res.upper < sum(prob.sizes) else None
        return self.dense(prob.key, prob.key, upper=upper, dropped=res.failures, known=res)

    def _column(self, prob, l, cols, whole: RankResult, t0) -> RankResult:
        """Block column ``l``: columns of the whole matrix's verified minor that lie in the block are
        independent (the ``minor_columns`` theorem: no new elimination), and the block's proposed bound."""
        key = prob.column_keys[l]
        minor = whole.certificate.lower if whole.certificate is not None else None
        k = sum(cols[0] <= j <= cols[-1] for j in minor.cols) if isinstance(minor, Minor) else 0
        lower = Theorem(name="minor_columns", parts=(whole.certificate,), how="columns of the whole matrix's minor")
        space = prob.spaces[l]
        node = Trivial() if (space is None or space.bound.certificate is None or self.certify == "never") \
            else space.bound.certificate
        cert = RankCertificate(matrix=prob.key, value=k, lower=lower, upper=node, cols=cols)
        res = self.accept(key, cert, t0, (prob.p,))
        if res.certified or self.certify == "never":
            return res
        upper = Bound(res.upper, UPPER, "checked", "", certificate=node) if res.upper < len(cols) else None
        return self.dense(key, prob.key, cols=cols, upper=upper, dropped=res.failures, known=res)

    def _large(self, key, name, rows, cols, upper: Bound | None, dropped) -> RankResult:
        """Two primes and a failure bound from Hadamard's bound (magnitudes of the entries)."""
        t0 = time.perf_counter()
        src = self.source
        m, n = _shape(RankCertificate(matrix=name, value=0, rows=rows, cols=cols), src)
        require_memory(24.0 * m * n, f"the {m} x {n} matrix {name} modulo two primes and its magnitudes (no structural "
                       "certificate applies)", "set EXACTHESS_MEMORY_LIMIT_GB to change the limit")
        rng = np.random.default_rng([self.seed, 13])
        p, q = random_small_prime(rng), random_small_prime(rng)
        Mp, Mq = src.mod(name, p, rows, cols), src.mod(name, q, rows, cols)
        kp, kq = rank_mod_p(Mp, p), rank_mod_p(Mq, q)
        prime, M = (p, Mp) if kp >= kq else (q, Mq)
        mag = src.magnitudes(name, rows, cols)
        with np.errstate(divide="ignore"):
            norms = np.log2(np.sqrt((mag * mag).sum(axis=1)) * 2 + 1)
        size = min(mag.shape)
        log2H = float(np.sort(norms)[::-1][:size].sum()) + size * src.denominator_log2(name)
        node = upper.certificate if upper is not None and upper.certificate is not None else Trivial()
        cert = RankCertificate(matrix=name, value=max(kp, kq), lower=modular_minor(M, prime), upper=node,
                               rows=rows, cols=cols)
        return self.accept(key, cert, t0, (p, q), failure_bound(log2H, 2, bits=SMALL_PRIME_BITS), dropped=dropped)


def _kind(cert: RankCertificate) -> str:
    """The certificate's kind in a few words (what the checker is verifying)."""
    node = cert.equal if cert.equal is not None else cert.upper
    if isinstance(node, NullVectors):
        return f"{len(node.pivots)} null vectors"
    if isinstance(node, Theorem):
        return f"the {node.name} theorem"
    if node is None or isinstance(node, Trivial):
        return "a minor"
    return describe_upper(node)


def _shape(cert: RankCertificate, source) -> tuple:
    m, n = source.shape(cert.matrix)
    return (m if cert.rows is None else len(cert.rows), n if cert.cols is None else len(cert.cols))
