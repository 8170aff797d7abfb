"""Certified enclosures are finite and contain the truth for kernels of any magnitude, or the call
fails with a clear error. Independent routes: closed-form singular values evaluated in 100-digit
mpmath, and the dense SVD of the unscaled kernel's operator (scaled by an exact power of two)."""

from fractions import Fraction

import mpmath
import numpy as np
import pytest

from exacthess.core.errors import ExactHessError
from exacthess.spectral import KernelRangeError, conv_operator, conv_singular_values
from exacthess.spectral.enclosure import certified_block_singular_values

mpmath.mp.dps = 100


def constant_kernel_values(scale, c=2, k=3, n=8):
    """Singular values of the c x c channel, k x k constant kernel (all entries = scale) on n x n:
    P(u, v) = scale S(u) S(v) 1 1^T with S(u) = sum_{j<k} exp(2 pi i u j / n), so each frequency
    gives c |S(u) S(v)| scale and c - 1 zeros."""
    out = []
    for u in range(n):
        for v in range(n):
            su = sum(mpmath.expjpi(mpmath.mpf(2 * u * j) / n) for j in range(k))
            sv = sum(mpmath.expjpi(mpmath.mpf(2 * v * j) / n) for j in range(k))
            out.append(c * abs(su) * abs(sv) * mpmath.mpf(scale))
            out.extend([mpmath.mpf(0)] * (c - 1))
    return sorted(out, reverse=True)


def assert_encloses(enc, truth):
    assert np.all(np.isfinite(enc.lower)) and np.all(np.isfinite(enc.upper))
    for lo, hi, t in zip(enc.lower, enc.upper, truth):
        assert mpmath.mpf(float(lo)) <= t <= mpmath.mpf(float(hi))


@pytest.mark.parametrize("scale", [1e200, 1e-300, 2.0**1000, 1e-310])
def test_huge_and_tiny_float_kernels(scale):
    enc = conv_singular_values(np.full((2, 2, 3, 3), scale), (8, 8), certified=True)
    truth = constant_kernel_values(mpmath.mpf(scale))
    assert_encloses(enc, truth)
    if scale > 1e-300:  # normal range: the enclosure is as tight as for unit kernels
        assert enc.operator_norm[1] - enc.operator_norm[0] <= 1e-9 * enc.operator_norm[1]
    fast = conv_singular_values(np.full((2, 2, 3, 3), scale), (8, 8))
    assert np.all(np.isfinite(fast)) and abs(fast[0] / float(truth[0]) - 1) < 1e-12


def test_exact_integers_beyond_float64_and_tiny_fractions():
    big = np.full((2, 2, 3, 3), 10**300, dtype=object)
    assert_encloses(conv_singular_values(big, (8, 8), certified=True), constant_kernel_values(mpmath.mpf(10) ** 300))
    tiny = np.full((2, 2, 3, 3), Fraction(1, 10**400), dtype=object)  # singular values below float64's range
    enc = conv_singular_values(tiny, (8, 8), certified=True)
    assert_encloses(enc, constant_kernel_values(mpmath.mpf(10) ** -400))
    assert enc.lower[0] == 0.0 and 0 < enc.upper[0] <= 1e-300


def test_random_kernel_scaled_by_powers_of_two():
    """sigma(2^e K) = 2^e sigma(K): compare with the dense SVD of K's operator, scaled exactly."""
    k = np.random.default_rng(0).standard_normal((3, 2, 3, 3))
    for e in (-1060, -900, 900, 1010):
        given = np.ldexp(k, e)  # subnormal for e = -1060: the given kernel is k rounded
        exact = np.ldexp(given, -e)  # exactly given * 2^-e
        dense = np.sort(np.linalg.svd(conv_operator(exact, (6, 6)), compute_uv=False))[::-1]
        enc = conv_singular_values(given, (6, 6), certified=True)
        slack = 1e-12 * dense[0]
        assert np.all(np.ldexp(enc.lower, -e) <= dense + slack) and np.all(dense - slack <= np.ldexp(enc.upper, -e))
        assert np.all(np.isfinite(enc.upper))


def test_beyond_float64_is_a_clear_error():
    with pytest.raises(KernelRangeError, match="beyond float64") as info:
        conv_singular_values(np.full((2, 2, 3, 3), 1e308), (8, 8), certified=True)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ExactHessError)
    with pytest.raises(KernelRangeError):
        conv_singular_values(np.full((2, 2, 3, 3), 1e308), (8, 8))


def test_failed_eigenvectors_fall_back_to_a_valid_enclosure(monkeypatch):
    """If eigh returned a basis far from unitary (eta >= 1/2), the block is still enclosed
    (by [0, ||P||_F]) instead of raising ArithmeticError or returning NaN."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 3, 3))
    sv = np.linalg.svd(a, compute_uv=False)
    real = np.linalg.eigh

    def broken(g):
        lam, x = real(g)
        return lam, x * 3.0  # columns of norm 3: X^H X - I is far from 0

    monkeypatch.setattr(np.linalg, "eigh", broken)
    lo, hi, _, info = certified_block_singular_values(a)
    assert info["loose_blocks"] == 4
    assert np.all(lo <= sv) and np.all(sv <= hi) and np.all(np.isfinite(hi))
