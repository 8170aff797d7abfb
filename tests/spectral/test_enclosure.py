"""Certified enclosures contain the dense float64 singular values."""

import numpy as np
from hypothesis import given

from exacthess.spectral import SingularValueEnclosure, conv_operator, conv_singular_values
from exacthess.spectral.enclosure import certified_block_singular_values
from exacthess.spectral.strategies import conv_cases


@given(conv_cases())
def test_enclosure_contains_dense(case):
    kernel, n, s = case
    enc = conv_singular_values(kernel, n, s, certified=True)
    assert isinstance(enc, SingularValueEnclosure)
    dense = np.sort(np.linalg.svd(conv_operator(kernel, n, s), compute_uv=False))[::-1]
    # the dense float SVD itself is only accurate to ~ 1e-13 * sigma_max
    slack = 1e-12 * (1 + dense[0])
    assert enc.contains(dense, slack=slack)
    assert np.all(enc.lower <= enc.upper)
    assert np.all(np.diff(enc.lower) <= 0) and np.all(np.diff(enc.upper) <= 0)
    lo, hi = enc.operator_norm
    assert lo <= dense[0] + slack and dense[0] - slack <= hi


@given(conv_cases(integer=True))
def test_enclosure_integer_kernels(case):
    kernel, n, s = case
    enc = conv_singular_values(kernel, n, s, certified=True)
    mid = conv_singular_values(kernel, n, s)
    assert enc.contains(mid, slack=1e-12 * (1 + mid[0]))


def test_enclosure_known_values():
    # 1-D circulant with wrapped kernel [4, 2]: singular values exactly 6 and 2
    enc = conv_singular_values(np.array([[[1.0, 2.0, 3.0]]]), (2,), certified=True)
    assert enc.lower[0] <= 6 <= enc.upper[0] and enc.lower[1] <= 2 <= enc.upper[1]
    assert enc.max_width < 1e-9


def test_block_enclosure_rectangular():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 3, 7)) + 1j * rng.standard_normal((5, 3, 7))
    lo, hi, _, _ = certified_block_singular_values(a)
    sv = np.linalg.svd(a, compute_uv=False)
    assert np.all(lo <= sv + 1e-13) and np.all(sv <= hi + 1e-13)
    lo2, hi2, _, _ = certified_block_singular_values(np.swapaxes(a, 1, 2))
    np.testing.assert_allclose(lo, lo2, atol=1e-9)


def test_larger_layer_fast():
    k = np.random.default_rng(1).standard_normal((16, 16, 3, 3))
    enc = conv_singular_values(k, (16, 16), certified=True)
    fast = conv_singular_values(k, (16, 16))
    assert enc.contains(fast)
    assert enc.operator_norm[1] - enc.operator_norm[0] < 1e-8
