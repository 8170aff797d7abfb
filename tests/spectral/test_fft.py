"""conv_singular_values (FFT) against the dense SVD of the explicit operator."""

import numpy as np
import pytest
from hypothesis import given

from exacthess.core.errors import NonFiniteError
from exacthess.spectral import InvalidKernelError, InvalidStrideError, conv_operator, conv_singular_values
from exacthess.spectral.strategies import conv_cases


@given(conv_cases())
def test_fft_matches_dense(case):
    kernel, n, s = case
    m = conv_operator(kernel, n, s)
    dense = np.sort(np.linalg.svd(m, compute_uv=False))[::-1]
    fast = conv_singular_values(kernel, n, s)
    assert fast.shape == (min(m.shape),)
    assert np.all(np.diff(fast) <= 0)
    np.testing.assert_allclose(fast, dense, atol=1e-9 * (1 + dense[0]))


@pytest.mark.parametrize(
    "kshape,n,s",
    [
        ((3, 2, 5), (4,), 1),  # 1-D, n < k, c_in != c_out
        ((2, 3, 5, 2), (4, 6), (2, 3)),  # 2-D, non-square, strides
        ((4, 1, 3, 3), (2, 2), 1),  # kernel larger than input
        ((1, 3, 2, 2), (4, 4), 2),  # c_out < c_in * s^2
        ((5, 1, 3), (6,), 3),  # c_out > c_in * s
    ],
)
def test_fft_cases(kshape, n, s):
    k = np.random.default_rng(0).standard_normal(kshape)
    dense = np.sort(np.linalg.svd(conv_operator(k, n, s), compute_uv=False))[::-1]
    np.testing.assert_allclose(conv_singular_values(k, n, s), dense, atol=1e-10)


def test_cropping_is_wrong_when_kernel_exceeds_input():
    k = np.random.default_rng(3).standard_normal((2, 2, 5, 5))
    dense = np.sort(np.linalg.svd(conv_operator(k, (3, 3)), compute_uv=False))[::-1]
    cropped = conv_singular_values(k[:, :, :3, :3], (3, 3))
    assert np.max(np.abs(cropped - dense)) > 1e-3
    np.testing.assert_allclose(conv_singular_values(k, (3, 3)), dense, atol=1e-10)


def test_fft_bad_input():
    with pytest.raises(InvalidStrideError, match="does not divide"):
        conv_singular_values(np.ones((1, 1, 3, 3)), (5, 5), stride=2)
    with pytest.raises(InvalidKernelError):
        conv_singular_values(np.ones((3, 3)), (5, 5))
    with pytest.raises(NonFiniteError):
        conv_singular_values(np.full((1, 1, 3), np.nan), (5,))
