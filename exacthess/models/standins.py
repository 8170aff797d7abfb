r"""Rational stand-ins for sigmoid and softmax values, within a relative error of the true values.

Sigmoid and softmax values are transcendental at rational logits, so the losses on them
(:mod:`exacthess.models.losses`) use exact rationals instead. With :math:`b` = :data:`STANDIN_BITS`
``= 64`` and :math:`\varepsilon = 2^{-b}`, every stand-in :math:`v` of a true value :math:`v^* > 0`
satisfies

.. math:: |v - v^*| \le \delta\, v^*, \qquad \delta = 2^{-b-1}(1 + 2^{-11}) < \varepsilon,

and so do the complements the loss Hessians need:

* **sigmoid**, :math:`s^* = \sigma(f)`: both :math:`s` and :math:`1 - s` (as stand-ins of
  :math:`s^*` and :math:`1 - s^* = \sigma(-f)`). The smaller of the two, :math:`\sigma(-|f|)`, is
  rounded relatively and the larger is 1 minus it; its error is then at most
  :math:`\delta\,\sigma(-|f|) \le \delta\,\sigma(|f|)`. No clipping: :math:`0 < s < 1` always.
* **softmax**, :math:`p^* = \mathrm{softmax}(f)` over :math:`K` logits: every :math:`p_i`, and
  :math:`1 - p_k` for the entry :math:`k` of the (first) largest logit. The entries :math:`i \ne k`
  are rounded to within :math:`\delta / \max(1, K - 1)` relatively; :math:`p_k` absorbs the
  rounding, :math:`p_k = 1 - \sum_{i \ne k} p_i`, so the stand-ins are positive and sum to
  *exactly* 1, :math:`1 - p_k` is a sum of positive relatively precise terms, and the error of
  :math:`p_k` is at most :math:`\delta (1 - p_k^*) / \max(1, K-1) \le \delta p_k^*` as
  :math:`p_k^* \ge 1/K`. For :math:`i \ne k`, :math:`p_i^* \le 1/2`, so :math:`1 - p_i` is within
  :math:`\delta` relatively too.

What the losses get: every entry of the BCE Hessian :math:`s(1-s)` and of the cross-entropy
Hessian :math:`p_i(\delta_{ij} - p_j)` is a product of two such factors, hence within
:math:`2\delta + \delta^2 < 2\varepsilon = 2^{-63}` of its true value relatively; every gradient
entry :math:`s - y`, :math:`p - y` for targets :math:`y \in \{0, 1\}` (one-hot for softmax) is
within :math:`\delta < \varepsilon` relatively. Nothing relative is claimed for sums with
cancellation (other targets, or :math:`H_L` summed over samples): they keep the absolute bound
their terms give.

How. Stand-ins are dyadic: a mantissa of :math:`b + 1 + \lceil \log_2 \max(1, K-1) \rceil` bits
(at most) times a power of two, the midpoint of a ``flint.arb`` ball rounded to that many bits,
at a working precision of the mantissa bits plus :math:`44 + \log_2 \max|f|` (a logit of size :math:`2^m` rounded
to precision :math:`P` moves :math:`e^f` by about :math:`2^{m - P}` relatively), doubled until the
ball's radius is below :math:`2^{-12}` of the rounding step, which proves :math:`\delta`.

Size. At saturated logits the power of two is enormous: :math:`\sigma(-2^{27}) \approx
2^{-1.9 \cdot 10^8}` has a denominator of :math:`1.9 \cdot 10^8` bits (24 MB), and the Hessian
entries made from it twice that. Logits whose stand-ins would have a denominator above
:data:`MAX_STANDIN_BITS` ``= 2^31`` bits (:func:`standin_bits`: :math:`|f|` above about
:math:`1.49 \cdot 10^9`, so every :math:`|f| \le 2^{30}` is accepted; for softmax the gap between the largest and the smallest logit) are refused
up front with :class:`~exacthess.core.errors.ProblemTooLargeError`; the exact Hessians built on
them are checked against the memory and time budgets before any stand-in is computed
(:mod:`exacthess.hessian.forward`). Measured (``benchmarks/bench_standins.py``, 2-core machine)
at a logit of :math:`2^{27}`: a one-parameter BCE network's ``hessian`` 2 s and 0.7 GB, ``verify``
1.3 s and 0.5 GB (2.8 s and 0.9 GB with the float columns); the two-parameter cross-entropy
analogue with logits :math:`\pm 2^{26}` 8 s and 1.4 GB; at :math:`2^{30}` the BCE ``hessian`` takes
about a minute on an idle machine (130 s under load) and 4.7 GB, ``verify`` 3 minutes under load and 5.1 GB. Converting such a rational to a float takes
about a second per :math:`4 \cdot 10^8` bits (and underflows to 0.0, as float64 does).

>>> s = sigmoid(fmpq(40))
>>> 0 < 1 - s < fmpq(1, 2**57) and (1 - s).q.bit_length() > 100   # sigma(-40) ~ 2^-57.7, kept relatively
True
>>> p = softmax([fmpq(0), fmpq(-50), fmpq(1, 8)])
>>> sum(p) == 1 and min(p) > 0
True
"""

from __future__ import annotations

from math import isqrt

from flint import arb, ctx, fmpq, fmpz

from ..core.errors import InvalidValueError, ProblemTooLargeError
from ..core.exact import to_rational

__all__ = ["STANDIN_BITS", "MAX_STANDIN_BITS", "sigmoid", "softmax", "standin_bits", "sigmoid_bits", "softmax_bits",
           "dyadic_mul", "inv_sqrt"]

#: stand-ins are within ``2**-STANDIN_BITS`` of the true value, relatively
STANDIN_BITS = 64
#: largest denominator (in bits) of a stand-in; beyond it the stand-ins are refused
MAX_STANDIN_BITS = 1 << 31

_ONE = fmpq(1)
_GUARD = 12  # the ball's radius must be below 2**-(mantissa bits + _GUARD) of its midpoint
_MAX_TRIES = 8


def _dyadic(x: arb, bits: int) -> fmpq | None:
    r"""The midpoint of a positive ball rounded to ``bits`` significant bits: ``v`` with
    :math:`|v - x| \le 2^{-bits}(1 + 2^{-11})\,x` for every ``x`` in the ball, or None when the ball is
    too wide to prove it.

    With ``mid = M 2^E`` and :math:`2^t \le \mathrm{mid}` (``t = E + bitlength(M) - 1``), rounding to
    ``bits`` bits moves the midpoint by at most :math:`2^{t - bits} \le 2^{-bits}\,\mathrm{mid}`; the
    radius is required to be at most :math:`2^{t - bits - G}` (``G = 12``), so
    :math:`|v - x| \le 2^{-bits}(1 + 2^{-G})\,\mathrm{mid}` and :math:`\mathrm{mid} \le x / (1 - 2^{-bits-G})`.
    """
    man, exp = x.mid().man_exp()
    if man <= 0:
        return None
    man, exp = int(man), int(exp)
    top = exp + man.bit_length() - 1  # 2**top <= mid
    rman, rexp = x.rad().man_exp()
    if rman != 0 and int(rexp) + int(rman).bit_length() > top - bits - _GUARD:
        return None
    shift = man.bit_length() - bits
    if shift > 0:
        man, exp = (man + (1 << (shift - 1))) >> shift, exp + shift
    return fmpq(fmpz(man) << exp) if exp >= 0 else fmpq(man, fmpz(1) << -exp)


def _rounded(values: list, bits: int, compute) -> list:
    """``compute()`` (a list of positive balls) at growing precision, rounded by :func:`_dyadic`.

    The start precision covers the relative error that rounding a logit of size ``2^m`` to the
    working precision causes in ``exp`` (about ``2^{m - prec}``)."""
    magnitude = max((int(abs(v).p).bit_length() - int(abs(v).q).bit_length() + 1 for v in values if v != 0),
                    default=0)
    old = ctx.prec
    prec = bits + _GUARD + 32 + max(magnitude, 0)
    try:
        for _ in range(_MAX_TRIES):
            ctx.prec = prec
            out = [_dyadic(x, bits) for x in compute()]
            if None not in out:
                return out
            prec *= 2
    finally:
        ctx.prec = old
    raise ProblemTooLargeError(f"stand-ins at logits {[str(v) for v in values]} were not proven within "
                               f"2^-{bits - 1} at {prec // 2} bits of precision; expected smaller logits")


def standin_bits(gap, K: int = 2) -> int:
    r"""An upper bound on the bits of the denominator of the smallest stand-in when a logit trails
    the largest by ``gap`` among ``K`` logits (sigmoid: ``K = 2``, ``gap = |f|``): the smallest true
    value is at least :math:`e^{-\mathrm{gap}} / K`, so its exponent is at most
    :math:`\mathrm{gap} \log_2 e + \log_2 K`, plus the mantissa bits.

    >>> standin_bits(0), standin_bits(2**27)
    (70, 193635320)
    """
    old = ctx.prec
    ctx.prec = 64
    try:
        need = arb(abs(fmpq(gap))) / arb(2).log() + 2 * K.bit_length() + STANDIN_BITS + 1
        return int(need.upper().floor().unique_fmpz()) + 1
    finally:
        ctx.prec = old


def _checked(gap: fmpq, K: int, what: str) -> int:
    need = standin_bits(gap, K)
    if need > MAX_STANDIN_BITS:
        raise ProblemTooLargeError(
            f"{what} needs a stand-in within 2^-{STANDIN_BITS} relatively whose denominator has about {need} bits; "
            f"expected at most MAX_STANDIN_BITS = {MAX_STANDIN_BITS} bits, i.e. |logit| (softmax: the gap to the "
            f"largest logit) below about {MAX_STANDIN_BITS * 0.6931:.4g}; scale the logits down or use an exact loss")
    return need


def sigmoid_bits(f: list) -> int:
    """Bits of the largest denominator among the sigmoid stand-ins of the logits ``f`` (an upper bound).

    Raises:
        ProblemTooLargeError: one exceeds :data:`MAX_STANDIN_BITS` (the message names the logit).
    """
    return max((_checked(v, 2, f"logit f[{k}] = {v} (sigmoid)") for k, v in enumerate(_logits(f))), default=0)


def softmax_bits(f: list) -> int:
    """Bits of the largest denominator among the softmax stand-ins of the logits ``f`` (an upper bound).

    Raises:
        ProblemTooLargeError: it exceeds :data:`MAX_STANDIN_BITS` (the message names the logits).
    """
    f = _logits(f)
    if len(f) < 2:
        return 0
    k, low = max(range(len(f)), key=lambda j: f[j]), min(range(len(f)), key=lambda j: f[j])
    return _checked(f[k] - f[low], len(f), f"logit f[{low}] = {f[low]}, {f[k] - f[low]} below f[{k}] = {f[k]} "
                    "(softmax),")


def _logits(f) -> list:
    return [v if isinstance(v, fmpq) else to_rational(v, f"f[{k}]") for k, v in enumerate(f)]


def sigmoid(f: fmpq) -> fmpq:
    r"""Stand-in :math:`s` for :math:`\sigma(f) = 1/(1 + e^{-f})`: :math:`s` and :math:`1 - s` within
    :math:`2^{-b}` of :math:`\sigma(f)` and :math:`\sigma(-f)` relatively (:math:`b` = :data:`STANDIN_BITS`).

    Raises:
        ProblemTooLargeError: the stand-in's denominator would exceed :data:`MAX_STANDIN_BITS` bits.
    """
    [f] = _logits([f])
    sigmoid_bits([f])
    if f == 0:
        return fmpq(1, 2)
    a = -abs(f)
    [t] = _rounded([a], STANDIN_BITS + 1, lambda: [1 / (1 + arb(-a).exp())])  # sigma(-|f|) <= 1/2
    return _ONE - t if f > 0 else t


def softmax(f: list) -> list:
    r"""Stand-ins :math:`p` for :math:`\mathrm{softmax}(f)`: positive, summing to exactly 1, each
    :math:`p_i` and :math:`1 - p_k` (:math:`k`: the first largest logit) within :math:`2^{-b}` of the true
    values relatively (:math:`b` = :data:`STANDIN_BITS`; see the module docstring).

    Raises:
        ProblemTooLargeError: a stand-in's denominator would exceed :data:`MAX_STANDIN_BITS` bits.
    """
    f = _logits(f)
    K = len(f)
    if K == 0:
        raise InvalidValueError("softmax of f = [] is undefined; expected at least one logit")
    k = max(range(K), key=lambda j: f[j])
    d = [v - f[k] for v in f]  # <= 0; d[k] = 0
    others = [i for i in range(K) if i != k]
    if not others:
        return [_ONE]
    softmax_bits(f)
    bits = STANDIN_BITS + 1 + (K - 2).bit_length()  # 2**that >= 2**(b+1) * max(1, K - 1)

    def compute():
        e = [arb(v).exp() for v in d]
        total = sum(e[1:], e[0])
        return [e[i] / total for i in others]
    rest = _rounded([d[i] for i in others], bits, compute)
    p = [None] * K
    for i, v in zip(others, rest):
        p[i] = v
    p[k] = _ONE - sum(rest, fmpq(0))
    return p


def inv_sqrt(v) -> fmpq:
    r"""Stand-in :math:`r` for :math:`1 / \sqrt{v}`, :math:`v > 0` rational (eval-mode batch
    normalisation's :math:`1 / \sqrt{\mathrm{var} + \varepsilon}`): exact when :math:`v` is the square of
    a rational, otherwise dyadic with :math:`|r - r^*| \le \delta\, r^*`, :math:`\delta < 2^{-b}`
    (:math:`b` = :data:`STANDIN_BITS`; the ``flint.arb`` ball of :func:`sigmoid`, rounded alike).

    Raises:
        InvalidValueError: ``v <= 0``.

    >>> inv_sqrt(fmpq(9, 4)), abs(inv_sqrt(3) ** 2 * 3 - 1) < fmpq(1, 2**63)
    (2/3, True)
    """
    v = to_rational(v, "v")
    if v <= 0:
        raise InvalidValueError(f"v = {v} is not positive; expected v > 0 for 1/sqrt(v)")
    p, q = int(v.p), int(v.q)
    rp, rq = isqrt(p), isqrt(q)
    if rp * rp == p and rq * rq == q:
        return fmpq(rq, rp)
    [r] = _rounded([v], STANDIN_BITS + 1, lambda: [arb(v).rsqrt()])
    return r


def dyadic_mul(a: fmpq, b: fmpq) -> fmpq:
    """``a * b``, faster for dyadic rationals with huge denominators such as stand-ins.

    In lowest terms a dyadic ``A / 2^x`` (``x > 0``) has an odd numerator, so ``A B / 2^{x+y}`` is
    already in lowest terms: FLINT's general product spends most of its time on gcds and on
    multiplying the denominators (3 s instead of 1 s for :math:`s(1-s)` at ``f = 2^{27}``).

    >>> dyadic_mul(fmpq(3, 8), fmpq(5, 2**70)) == fmpq(15, 2**73), dyadic_mul(fmpq(1, 3), fmpq(3, 4))
    (True, 1/4)
    """
    qa, qb = a.q, b.q
    x, y = qa.bit_length() - 1, qb.bit_length() - 1
    if x > 0 and y > 0 and qa == fmpz(1) << x and qb == fmpz(1) << y:
        return fmpq(a.p * b.p, fmpz(1) << (x + y))
    return a * b
