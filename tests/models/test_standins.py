"""Softmax and sigmoid stand-ins against mpmath at 50 digits, at saturated logits too.

The bound of :mod:`exacthess.models.standins`: every stand-in, ``1 - s`` and ``1 - p_max`` within
``2**-64`` of the true value *relatively*, the loss Hessian entries within ``2**-63``, the
gradients for 0/1 targets within ``2**-64``. True values are computed without cancellation
(``1 - sigma(f)`` as ``sigma(-f)``, ``1 - p_i`` as the sum of the other entries), stand-ins are
subtracted exactly before they are converted.
"""

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from flint import fmpq, fmpz
from hypothesis import given, strategies as st

import exacthess as eh
from exacthess.core.errors import ProblemTooLargeError
from exacthess.models.losses import loss as parse_loss
from exacthess.models.standins import (MAX_STANDIN_BITS, STANDIN_BITS, dyadic_mul, sigmoid, sigmoid_bits, softmax,
                                       softmax_bits, standin_bits)

EPS = mpmath.mpf(2) ** -STANDIN_BITS
BCE, CE = parse_loss("bce"), parse_loss("cross_entropy")
LOGITS = [0, fmpq(1, 8), 40, 2**10, 2**20, 2**27]
SIGNED = sorted({fmpq(s * v) for v in LOGITS for s in (1, -1)})


def mp(q) -> mpmath.mpf:
    """A rational as an mpmath number: its numerator cut to 256 bits (a relative change below
    2**-255, far below the 2**-166 of 50 digits), a power-of-two denominator as an exponent."""
    q = fmpq(q)
    num, den, shift = q.p, q.q, 0
    if num.bit_length() > 256:
        shift = num.bit_length() - 256
        num >>= shift
    e = den.bit_length() - 1
    if den == fmpz(1) << e:
        return mpmath.ldexp(mpmath.mpf(int(num)), shift - e)
    return mpmath.ldexp(mpmath.mpf(int(num)), shift) / int(den)


def true_sigmoid(f) -> mpmath.mpf:
    return 1 / (1 + mpmath.exp(-mp(f)))


def true_softmax(f) -> list:
    """Every entry as 1 / sum_j exp(f_j - f_i): positive terms only."""
    x = [mp(v) for v in f]
    return [1 / mpmath.fsum(mpmath.exp(xj - xi) for xj in x) for xi in x]


def rel(got, true) -> mpmath.mpf:
    return abs(mp(got) - true) / abs(true)


def check_sigmoid(f):
    """s, 1 - s, the BCE gradient for y = 0 and 1 and the BCE Hessian s(1 - s) against mpmath."""
    f = fmpq(f)
    s = sigmoid(f)
    assert 0 < s < 1
    with mpmath.workdps(50):
        t_pos, t_neg = true_sigmoid(f), true_sigmoid(-f)
        assert rel(s, t_pos) <= EPS, f"s at f = {f}"
        assert rel(1 - s, t_neg) <= EPS, f"1 - s at f = {f}"
        assert rel(BCE.gradient([f], [fmpq(0)])[0], t_pos) <= EPS
        assert rel(BCE.gradient([f], [fmpq(1)])[0], -t_neg) <= EPS
        assert rel(BCE.hessian([f], [fmpq(1)])[0][0], t_pos * t_neg) <= 2 * EPS


def check_softmax(f):
    """p, 1 - p_i, the cross-entropy gradients for every one-hot target and the Hessian against mpmath."""
    f = [fmpq(v) for v in f]
    K = len(f)
    p = softmax(f)
    assert sum(p, fmpq(0)) == 1 and all(v > 0 for v in p)
    with mpmath.workdps(50):
        t = true_softmax(f)
        rest = [mpmath.fsum(t[j] for j in range(K) if j != i) for i in range(K)]  # 1 - p_i without cancellation
        k = max(range(K), key=lambda j: f[j])
        for i in range(K):
            assert rel(p[i], t[i]) <= EPS, f"p[{i}] at f = {f}"
            assert rel(1 - p[i], rest[i]) <= EPS, f"1 - p[{i}] at f = {f}"
        assert rel(1 - p[k], rest[k]) <= EPS
        H = CE.hessian(f, [fmpq(0)] * K)
        for i in range(K):
            for j in range(K):
                true = t[i] * rest[i] if i == j else -t[i] * t[j]
                assert rel(H[i][j], true) <= 2 * EPS, f"Hessian[{i}][{j}] at f = {f}"
        for c in range(K):
            y = [fmpq(int(i == c)) for i in range(K)]
            g = CE.gradient(f, y)
            for i in range(K):
                assert rel(g[i], -rest[c] if i == c else t[i]) <= EPS, f"gradient[{i}] for class {c} at f = {f}"


@pytest.mark.parametrize("f", SIGNED, ids=str)
def test_sigmoid_relative_bound(f):
    check_sigmoid(f)


SOFTMAX_CASES = [
    [0, 0], [fmpq(1, 8), fmpq(-1, 8)], [40, 0], [2**10, -2**10], [0, 2**20], [-2**27, 0],   # K = 2
    [0, -40, fmpq(1, 8)], [40, 40, -40], [2**20, 0, -2**20], [0, -2**24, fmpq(-1, 8)],       # K = 3
    [2**10, -2**10, 0, fmpq(1, 8)], [-40, -40, -40, 40], [0, -40, -2**20, 1],               # K = 4
    [fmpq(1, 8), fmpq(-1, 8), 40, -40, 0], [0, -2**20, -2**10, -40, fmpq(-1, 8)],           # K = 5
    [2**20, 2**20, 2**20 - 1, -2**20, 0],
]


@pytest.mark.parametrize("f", SOFTMAX_CASES, ids=lambda f: ",".join(map(str, f)))
def test_softmax_relative_bound(f):
    check_softmax(f)


def test_softmax_of_one_logit_and_ties():
    assert softmax([fmpq(7)]) == [1]
    assert softmax([fmpq(3)] * 4) == [fmpq(1, 4)] * 4


@pytest.mark.parametrize("f", [2**31, -2**31, fmpq(2**33, 3), 10**40])
def test_too_saturated_logits_are_refused_up_front(f):
    """Beyond MAX_STANDIN_BITS the message names the logit, the bits needed and the limit."""
    with pytest.raises(ProblemTooLargeError) as err:
        sigmoid(fmpq(f))
    text = str(err.value)
    assert f"f[0] = {fmpq(f)}" in text and f"{standin_bits(f)} bits" in text and str(MAX_STANDIN_BITS) in text
    with pytest.raises(ProblemTooLargeError, match="below f\\[1\\]"):
        softmax([fmpq(0), fmpq(abs(f))])
    assert standin_bits(f) > MAX_STANDIN_BITS


def test_size_bounds_cover_the_stand_ins():
    """standin_bits bounds the denominators actually produced."""
    for f in ([fmpq(40)], [fmpq(-2**20)], [fmpq(1, 3)]):
        assert sigmoid(f[0]).q.bit_length() <= sigmoid_bits(f)
    for f in ([fmpq(0), fmpq(-2**20), fmpq(3)], [fmpq(40), fmpq(40), fmpq(-40)]):
        assert max(v.q.bit_length() for v in softmax(f)) <= softmax_bits(f)


def test_dyadic_mul_is_the_product():
    big = fmpq(12345, 2**(10**6))
    for a, b in ((big, 1 - big), (fmpq(3, 8), fmpq(5, 12)), (fmpq(7), big), (big, big)):
        assert dyadic_mul(a, b) == a * b


# ----- whole Hessians: the issue's one-parameter examples ----------------------------------------
def test_issue_bce_example_at_logit_2_27():
    """Inputs 1 and 2^30, weight 1/8 (logits 1/8 and 2^27): H = sigma'(1/8) + sigma'(2^27) 2^60 = 0.24903,
    not 0.31153 (clipping s(1-s) at 2^-64 added 2^-64 * 2^60 = 1/16)."""
    H = eh.hessian(eh.FCN(1, (), 1), params=[np.array([[Fraction(1, 8)]], dtype=object)],
                   data=([[1], [2**30]], [[1], [1]]), loss="bce")
    with mpmath.workdps(50):
        def dsig(f):
            return true_sigmoid(f) * true_sigmoid(-f)
        true = dsig(fmpq(1, 8)) + dsig(fmpq(2**27)) * mpmath.mpf(2) ** 60
        assert abs(mp(H.H_L[0, 0]) - true) <= 1e-12 * true
    assert abs(float(H.H_L[0, 0]) - 0.249025975) < 1e-9


@pytest.mark.parametrize("K", [2, 3])
def test_cross_entropy_analogue(K):
    """FCN(1, (), K) with weights w: H = sum_i x_i^2 (diag p_i - p_i p_i^T) at logits w x_i, one of them
    saturated (x = 2^23, logit gaps up to 2^20: the old absolute rounding was off by about 2^46 2^-64)."""
    w = [fmpq(1, 8), fmpq(-1, 8), fmpq(0)][:K]
    xs = [fmpq(1), fmpq(2**23)]
    H = eh.hessian(eh.FCN(1, (), K), params=[np.array([[Fraction(int(v.p), int(v.q))] for v in w], dtype=object)],
                   data=([[1], [2**23]], [0, K - 1]), loss="cross_entropy")
    with mpmath.workdps(50):
        t = [true_softmax([v * x for v in w]) for x in xs]
        for a in range(K):
            for b in range(K):
                true = mpmath.fsum(mp(x) ** 2 * (ti[a] * mpmath.fsum(ti[j] for j in range(K) if j != a) if a == b
                                                  else -ti[a] * ti[b]) for x, ti in zip(xs, t))
                assert abs(mp(H.H_L[a, b]) - true) <= 1e-12 * abs(true), (a, b)


def test_hessian_refuses_logit_2_31_naming_the_sample():
    """Logits up to 2^30 are accepted; 2^31 (a denominator of 3.1e9 bits) is refused up front."""
    with pytest.raises(ProblemTooLargeError, match="sample 1: logit f\\[0\\] = 2147483648"):
        eh.hessian(eh.FCN(1, (), 1), params=[np.array([[Fraction(1, 8)]], dtype=object)],
                   data=([[1], [2**34]], [[1], [1]]), loss="bce").H_L
    with pytest.raises(ProblemTooLargeError, match="sample 1: logit f\\[0\\] = 2147483648"):
        eh.verify(eh.FCN(1, (), 1), params=[np.array([[Fraction(1)]], dtype=object)],
                  data=([[1], [2**31]], [[1], [1]]), loss="bce", float_check=False)


# ----- properties -------------------------------------------------------------------------------
#: property tests stay below 2^22 (denominators of a few million bits: milliseconds); the
#: parametrised cases above go to 2^27
BOUND = 2**22
floats = st.floats(min_value=-BOUND, max_value=BOUND, allow_nan=False, allow_infinity=False)
rationals = st.integers(1, 2**20).flatmap(lambda b: st.integers(-BOUND * b, BOUND * b).map(lambda a: fmpq(a, b)))
huge = st.sampled_from([0, 1]).flatmap(lambda s: st.integers(2**10, BOUND).map(lambda v: fmpq(-v if s else v)))
logits = st.one_of(floats.map(lambda x: fmpq(*Fraction(x).as_integer_ratio())), rationals, huge)


@given(logits)
def test_sigmoid_bound_property(f):
    check_sigmoid(f)


@given(st.lists(logits, min_size=2, max_size=5))
def test_softmax_bound_property(f):
    check_softmax(f)


@given(st.one_of(st.integers(int(MAX_STANDIN_BITS * 0.6932), 10**30),
                 st.fractions(min_value=MAX_STANDIN_BITS * 0.6932, max_value=10**30)))
def test_refusal_property(f):
    """Every logit beyond the limit is refused before anything is computed."""
    f = fmpq(*Fraction(f).as_integer_ratio())
    for v in (f, -f):
        with pytest.raises(ProblemTooLargeError):
            sigmoid(v)
        with pytest.raises(ProblemTooLargeError):
            softmax([fmpq(0), v])
