"""Exact per-instance proof of the singular-value theorem."""

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from flint import fmpz_poly
from hypothesis import given, settings

from exacthess.core.errors import NonFiniteError
from exacthess.spectral import (
    InvalidClaimError,
    InvalidKernelError,
    InvalidStrideError,
    check_conv_sv_theorem,
    conv_operator,
)
from exacthess.spectral import fft
from exacthess.spectral.strategies import conv_cases


@pytest.mark.parametrize("method", ["charpoly", "similarity"])
@settings(max_examples=10)
@given(conv_cases(integer=True, max_channels=2, max_n=5, max_k=4))
def test_theorem_holds(method, case):
    kernel, n, s = case
    r = check_conv_sv_theorem(kernel, n, s, method=method)
    assert r.holds and r.certified and r.method == method
    if method == "charpoly":
        assert "charpoly" in r.statement


def test_float_and_rational_kernels_exact():
    k = np.random.default_rng(0).standard_normal((2, 3, 3, 2))
    r = check_conv_sv_theorem(k, (4, 2), stride=(2, 1))
    assert r.holds and r.details["denominator"] > 1
    kf = np.array([[[Fraction(1, 3), Fraction(-2, 7), 5]]], dtype=object)
    assert check_conv_sv_theorem(kf, (2,)).holds


def test_cropped_answer_is_rejected_exactly():
    # n = 2 < k = 3: wrapped kernel [4, 2] gives sigma^2 = {36, 4}; cropping to [1, 2] gives {9, 1}
    k = [[[1, 2, 3]]]
    assert check_conv_sv_theorem(k, (2,), claimed=[36, 4]).holds
    r = check_conv_sv_theorem(k, (2,), claimed=[9, 1])
    assert not r.holds and r.certified and r.method == "claimed"


def test_cropped_polynomial_rejected_2d():
    k = np.random.default_rng(5).integers(-3, 4, (2, 2, 4, 3))
    n = (3, 2)
    cropped = check_conv_sv_theorem(k[:, :, :3, :2], n, method="charpoly")
    assert cropped.holds
    wrong = cropped.details["rhs"]  # exact product of the cropped kernel's block charpolys
    r = check_conv_sv_theorem(k, n, claimed=wrong)
    assert not r.holds and r.details["differing_roots"] > 0
    right = check_conv_sv_theorem(k, n, method="charpoly").details["rhs"]
    assert check_conv_sv_theorem(k, n, claimed=right).holds
    # a sympy Poly is accepted too
    x = sp.Symbol("x")
    assert check_conv_sv_theorem(k, n, claimed=sp.Poly(list(reversed([int(c) for c in right.coeffs()])), x)).holds


def test_claimed_rationals_scaled():
    k = np.array([[[Fraction(1, 2), 1]]], dtype=object)  # wrapped on n = 2: eigen 3/2, -1/2
    assert check_conv_sv_theorem(k, 2, claimed=[Fraction(9, 4), Fraction(1, 4)]).holds
    assert not check_conv_sv_theorem(k, 2, claimed=[Fraction(9, 4), Fraction(1, 5)]).holds


def test_zero_padding_reports_difference():
    k = np.random.default_rng(1).integers(-3, 4, (2, 2, 3, 3))
    r = check_conv_sv_theorem(k, (4, 4), padding=1)
    assert not r.holds and r.certified and r.method == "zero-padding"
    lo, hi = r.details["operator_norm_zero_padding"]
    m = conv_operator(k, (4, 4), padding=1)
    s = np.linalg.svd(m, compute_uv=False)[0]
    assert lo - 1e-9 <= s <= hi + 1e-9
    assert r.details["differing_eigenvalues"] > 0
    assert "does not apply" in r.statement


def test_detects_a_broken_block_formula(monkeypatch):
    """If the per-frequency side used the cropped kernel, both methods must say 'no'."""
    k = np.random.default_rng(2).integers(-3, 4, (2, 2, 5))
    real = fft.polyphase_kernel

    def cropped(values, layer, dtype=np.float64):
        w = real(values, layer, dtype)
        w[..., 0] = w[..., 0] - values[..., -1] if layer.kernel[-1] > layer.in_shape[-1] else w[..., 0]
        return w

    monkeypatch.setattr(fft, "polyphase_kernel", cropped)
    assert not check_conv_sv_theorem(k, (3,), method="charpoly").holds
    assert not check_conv_sv_theorem(k, (3,), method="similarity").holds


def test_large_instance_similarity():
    k = np.random.default_rng(3).integers(-3, 4, (4, 4, 3, 3))
    r = check_conv_sv_theorem(k, (10, 10))  # 400 x 400 operator: above the charpoly cut-off
    assert r.holds and r.method == "similarity"


def test_theorem_bad_input():
    with pytest.raises(InvalidKernelError):
        check_conv_sv_theorem(np.ones((2, 2)), (4,))
    with pytest.raises(InvalidStrideError, match="does not divide"):
        check_conv_sv_theorem(np.ones((1, 1, 3)), (5,), stride=2)
    with pytest.raises(NonFiniteError):
        check_conv_sv_theorem(np.array([[[np.inf, 1.0]]]), (4,))
    with pytest.raises(InvalidClaimError, match="claimed has 3 values"):
        check_conv_sv_theorem([[[1, 2]]], (2,), claimed=[1, 2, 3])
    with pytest.raises(InvalidClaimError, match="degree"):
        check_conv_sv_theorem([[[1, 2]]], (2,), claimed=fmpz_poly([1, 2, 3, 4]))
    with pytest.raises(NonFiniteError):
        check_conv_sv_theorem([[[1, 2]]], (2,), claimed=[float("nan"), 1])


def test_progress_messages_and_bad_options():
    """The progress callback hears one message per prime; bad options are refused by type/value."""
    from exacthess.core.errors import InvalidOptionError, InvalidTypeError

    k = np.random.default_rng(6).integers(-3, 4, (2, 2, 3, 3))
    heard = []
    assert check_conv_sv_theorem(k, (4, 4), method="similarity", progress=heard.append).holds
    assert heard and all("prime" in m for m in heard)
    heard.clear()
    assert check_conv_sv_theorem(k, (4, 4), method="charpoly", progress=heard.append).holds
    assert any("charpoly" in m for m in heard)
    with pytest.raises(InvalidOptionError, match="method = 'fast'"):
        check_conv_sv_theorem(k, (4, 4), method="fast")
    with pytest.raises(InvalidTypeError, match="progress = 'yes'"):
        check_conv_sv_theorem(k, (4, 4), progress="yes")


def test_large_exact_check_refused_with_estimate():
    from exacthess.core.errors import ProblemTooLargeError

    with pytest.raises(ProblemTooLargeError, match=r"exact check \(similarity\).*needs about .* of memory"):
        check_conv_sv_theorem(np.ones((16, 16, 3, 3), dtype=int), (128, 128))


def test_frequency_charpoly_crt_against_sympy():
    """The CRT-rebuilt product of block charpolys equals sympy's exact charpoly of M M^T (2 x 2
    channels on a 3-grid: zeta_3 blocks), computed from the operator by a separate route."""
    from exacthess.models.geometry import conv_layer
    from exacthess.spectral.charpoly import frequency_charpoly

    k = np.array([[[5, -3, 2]], [[1, 4, -2]]], dtype=object)  # c_out = 2, c_in = 1, k = 3
    layer = conv_layer(k.shape, (3,))
    q, primes = frequency_charpoly(fft.polyphase_kernel(k.reshape(layer.weight_shape), layer, object), layer, "in")
    M = sp.Matrix(conv_operator(k.astype(np.int64), (3,)).astype(int).tolist())
    x = sp.Symbol("x")
    ref = (M.T * M).charpoly(x).all_coeffs()
    assert [int(c) for c in reversed(q.coeffs())] == [int(c) for c in ref]
