"""Structural certificates vs exact rational Gaussian elimination on the full Hessians.

A certified rank must equal ``fmpq_mat(H).rank()`` (FLINT's exact elimination over Q, no
primes, no certificates); an uncertified one must bracket it with its proven bounds.
"""

import pytest
from hypothesis import given, strategies as st

import exacthess as eh
from exacthess.strategies import cnn_architectures, fcn_architectures
from rank_reference import check_certified_ranks


def check(arch, n, seed=0):
    return check_certified_ranks(arch, n, seed)


@given(cnn_architectures(dims=1, max_depth=3, max_input=7, max_kernel=3, max_channels=2, bias=None),
       st.integers(1, 10))
def test_cnn_certificates_are_exact(arch, n):
    check(arch, n)


@given(cnn_architectures(dims=2, max_depth=2, max_input=5, max_kernel=2, max_channels=2), st.integers(1, 6))
def test_cnn2d_certificates_are_exact(arch, n):
    check(arch, n)


@given(fcn_architectures(max_size=5, bias=None), st.integers(1, 10))
def test_fcn_certificates_are_exact(arch, n):
    check(arch, n)


@pytest.mark.parametrize("arch", [
    eh.CNN((12,), (3, 3, 3), 3, 4, paddings=1),
    eh.CNN((10,), (2, 3), (3, 3), 3),
    eh.CNN((4, 4), (2, 2), 2, 2, paddings=1),
    eh.CNN((16,), (3, 3, 3), 2, 3, strides=2),  # the parts share more than the gradient
])
def test_padded_cnns_are_certified_by_composites(arch):
    """Deep padded or strided CNNs were only probabilistic under the chain certificate alone."""
    info = check(arch, 2 * arch.input_dim)
    # the composites certify H_f, H_L and every block column (H_o of the strided net needs the Hadamard stage)
    assert all(r.certified for k, r in info.items() if k != "H_o")
    # by the structure, not by Hadamard's bound or exact elimination
    assert all(not r.failures and not r.bounds[1].how.startswith("exact elimination") and "Hadamard" not in r.bounds[1].how
               for k, r in info.items() if k != "H_o"), {k: r.bounds[1].how for k, r in info.items()}
