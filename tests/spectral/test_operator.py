"""conv_operator against explicit loops (and torch if available); layouts and bad input."""

import importlib.util
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exacthess.core.errors import NonFiniteError
from exacthess.spectral import (
    InvalidInputShapeError,
    InvalidKernelError,
    InvalidPaddingError,
    InvalidStrideError,
    conv_operator,
    kernel_from_tensorflow,
)
from exacthess.spectral.strategies import conv_cases


def loop_conv(kernel, x, stride, padding):
    """Y[o, r] = sum_i sum_t X[i, s r + t (mod n or zero-padded)] K[o, i, t] by plain loops."""
    kernel = np.asarray(kernel, dtype=float)
    dim = kernel.ndim - 2
    c_out, c_in = kernel.shape[:2]
    ks, n = kernel.shape[2:], x.shape[1:]
    if padding == "circular":
        out = [ni // si for ni, si in zip(n, stride)]
    else:
        out = [(ni + 2 * padding - ki) // si + 1 for ni, ki, si in zip(n, ks, stride)]
    y = np.zeros([c_out] + out)
    for o in range(c_out):
        for r in np.ndindex(*out):
            acc = 0.0
            for i in range(c_in):
                for t in np.ndindex(*ks):
                    pos = []
                    ok = True
                    for d in range(dim):
                        q = stride[d] * r[d] + t[d]
                        if padding == "circular":
                            q %= n[d]
                        else:
                            q -= padding
                            ok &= 0 <= q < n[d]
                        pos.append(q)
                    if ok:
                        acc += x[(i, *pos)] * kernel[(o, i, *t)]
            y[(o, *r)] = acc
    return y


@given(conv_cases(), st.integers(0, 2**31))
def test_operator_matches_loop_circular(case, seed):
    kernel, n, s = case
    x = np.random.default_rng(seed).standard_normal((kernel.shape[1],) + n)
    m = conv_operator(kernel, n, s)
    y = loop_conv(kernel, x, s, "circular")
    assert m.shape == (y.size, x.size)
    np.testing.assert_allclose(m @ x.ravel(), y.ravel(), atol=1e-9)


@given(conv_cases(max_k=3), st.integers(0, 2), st.integers(0, 2**31))
def test_operator_matches_loop_zero_padding(case, pad, seed):
    kernel, n, s = case
    if any(ni + 2 * pad < ki for ni, ki in zip(n, kernel.shape[2:])):
        with pytest.raises(InvalidPaddingError):
            conv_operator(kernel, n, s, pad)
        return
    x = np.random.default_rng(seed).standard_normal((kernel.shape[1],) + n)
    m = conv_operator(kernel, n, s, pad)
    y = loop_conv(kernel, x, s, pad)
    np.testing.assert_allclose(m @ x.ravel(), y.ravel(), atol=1e-9)


def test_exact_operator_is_fmpq_and_exact():
    k = np.array([[[0.1, Fraction(1, 3)]]], dtype=object)
    with pytest.warns(DeprecationWarning, match="domain='QQ'"):
        m = conv_operator(k, 3, exact=True)
    assert m.dtype == object
    from flint import fmpq

    assert m[0, 0] == fmpq(*(0.1).as_integer_ratio()) and m[0, 1] == fmpq(1, 3)
    assert conv_operator(np.ones((1, 1, 2)), 3).dtype == np.float64


def test_wraparound_kernel_larger_than_input():
    m = conv_operator(np.arange(1.0, 6.0).reshape(1, 1, 5), (2,))
    # taps 0, 2, 4 -> position 0 (1+3+5 = 9); taps 1, 3 -> position 1 (2+4 = 6)
    np.testing.assert_array_equal(m, [[9, 6], [6, 9]])


def test_tensorflow_layout():
    rng = np.random.default_rng(0)
    tf = rng.standard_normal((3, 2, 4, 5))  # kh, kw, c_in, c_out
    pt = kernel_from_tensorflow(tf)
    assert pt.shape == (5, 4, 3, 2)
    assert pt[1, 2, 0, 1] == tf[0, 1, 2, 1]
    assert kernel_from_tensorflow(np.zeros((3, 4, 5))).shape == (5, 4, 3)
    with pytest.raises(InvalidKernelError, match="kernel has 2 dimension"):
        kernel_from_tensorflow(np.zeros((3, 3)))


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_against_torch_circular():  # pragma: no cover - optional
    import torch

    rng = np.random.default_rng(1)
    k = rng.standard_normal((3, 2, 3, 2))
    x = rng.standard_normal((2, 6, 4))
    xp = torch.nn.functional.pad(torch.tensor(x)[None], (0, 1, 0, 2), mode="circular")
    y = torch.nn.functional.conv2d(xp, torch.tensor(k), stride=2)[0].numpy()
    np.testing.assert_allclose(conv_operator(k, (6, 4), 2) @ x.ravel(), y.ravel(), atol=1e-9)


def test_bad_inputs():
    with pytest.raises(InvalidKernelError, match=r"kernel has 2 dimension\(s\).*expected 3"):
        conv_operator(np.ones((2, 2)), (4,))
    with pytest.raises(InvalidKernelError, match="kernel has 5 dimension"):
        conv_operator(np.ones((1, 1, 1, 1, 1)), (4, 4, 4))
    with pytest.raises(InvalidStrideError, match=r"stride\[0\] = 3 does not divide input_shape\[0\] = 8"):
        conv_operator(np.ones((1, 1, 3)), (8,), stride=3)
    with pytest.raises(InvalidStrideError, match=r"stride\[1\] = 0"):
        conv_operator(np.ones((1, 1, 3, 3)), (8, 8), stride=(1, 0))
    with pytest.raises(NonFiniteError, match=r"kernel\[0, 0, 1\] = nan"):
        conv_operator(np.array([[[1.0, np.nan]]]), (4,))
    with pytest.raises(NonFiniteError), pytest.warns(DeprecationWarning):
        conv_operator(np.array([[[1.0, np.inf]]]), (4,), exact=True)
    with pytest.raises(InvalidInputShapeError, match="input_shape"):
        conv_operator(np.ones((1, 1, 3, 3)), (4,))
    with pytest.raises(InvalidInputShapeError, match=r"input_shape\[0\] = 0"):
        conv_operator(np.ones((1, 1, 3)), (0,))
    with pytest.raises(InvalidPaddingError, match="padding = 'same'"):
        conv_operator(np.ones((1, 1, 3)), (4,), padding="same")
    with pytest.raises(InvalidPaddingError, match="padding = -1"):
        conv_operator(np.ones((1, 1, 3)), (4,), padding=-1)
    with pytest.raises(InvalidKernelError, match="complex"):
        conv_operator(np.ones((1, 1, 3), dtype=complex), (4,))
    with pytest.raises(ValueError):  # all are ValueErrors
        conv_operator(np.ones((1, 1, 0)), (4,))
