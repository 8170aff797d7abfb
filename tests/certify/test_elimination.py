"""The checker's own elimination against FLINT's determinant modulo p (an independent route)."""

import numpy as np
import pytest
from flint import nmod_mat
from hypothesis import given
from hypothesis import strategies as st

from exacthess.certify import elimination

PRIMES = (3, 5, 7, 65521, 1048573, 2097143)


def _flint_invertible(A: np.ndarray, p: int) -> bool:
    n = A.shape[0]
    return n == 0 or nmod_mat(n, n, [int(v) % p for v in A.flat], p).det() != 0


@st.composite
def matrices(draw):
    """Square matrices the elimination meets: uniform residues, low rank products, sparse and
    tiny entries, zero leading blocks (pivots far down), duplicated rows, negative entries."""
    p = draw(st.sampled_from(PRIMES))
    n = draw(st.integers(0, 3 * elimination.BASE + 5))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["uniform", "low rank", "sparse", "zero block", "repeated row", "negative"]))
    A = rng.integers(0, p, (n, n))
    if kind == "low rank" and n:
        r = int(rng.integers(0, n + 1))
        A = rng.integers(-2, 3, (n, r)) @ rng.integers(-2, 3, (r, n))
    elif kind == "sparse":
        A = rng.integers(-2, 3, (n, n)) * (rng.random((n, n)) < 0.15)
    elif kind == "zero block" and n:
        A[: (n + 1) // 2, : (n + 1) // 2] = 0
    elif kind == "repeated row" and n > 1:
        A[int(rng.integers(1, n))] = A[0] * int(rng.integers(-3, 4))
    elif kind == "negative":
        A = -A
    return A, p


@given(matrices())
def test_invertible_agrees_with_flint(case):
    A, p = case
    assert elimination.invertible(A, p) == _flint_invertible(A, p)


def test_permutation_and_singular_examples():
    n = 3 * elimination.BASE + 1
    P = np.eye(n, dtype=np.int64)[::-1]  # every pivot needs a swap
    assert elimination.invertible(P, 7)
    P[:, n // 2] = 0
    assert not elimination.invertible(P, 7)
    assert elimination.invertible(np.zeros((0, 0), dtype=np.int64), 7)
    assert not elimination.invertible(np.ones((2, 3), dtype=np.int64), 7)


def test_products_stay_exact_at_the_largest_prime():
    """At ``p`` just below ``2^21`` the chunks are as long as exactness allows, and a product of
    entries of magnitude ``p/2`` over a whole chunk is exact: the elimination of a matrix built
    to have one known dependency finds it."""
    p = 2097143
    k = elimination.chunk(p)
    h = p // 2 + 2
    assert h + k * h * h < 2**53 <= h + (k + 1) * h * h
    rng = np.random.default_rng(1)
    n = 2 * elimination.BASE + 3
    A = rng.integers(-(p // 2), p // 2 + 1, (n, n))
    A[-1] = (A[0] * 3 + A[1] * (p - 1)) % p
    assert not elimination.invertible(A, p)
    A[-1, -1] += 1
    assert elimination.invertible(A, p) == _flint_invertible(A, p)


def test_prime_out_of_range_is_refused():
    with pytest.raises(ValueError, match="2\\^21"):
        elimination.invertible(np.eye(2, dtype=np.int64), 2**31 - 1)


@given(matrices())
def test_in_place_float64_elimination_agrees(case):
    """A float64 matrix eliminated in place (how the checker reads a large minor) gives the same
    answer as an int64 one."""
    A, p = case
    if p >= 2**21:
        return
    assert elimination.invertible(np.ascontiguousarray(A, dtype=np.float64), p, overwrite=True) == \
        _flint_invertible(A, p)


def test_in_place_refuses_non_integers():
    with pytest.raises(ValueError, match="integers"):
        elimination.invertible(np.array([[0.5, 0.0], [0.0, 1.0]]), 7, overwrite=True)
