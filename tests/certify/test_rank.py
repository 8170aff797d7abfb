"""Certified ranks against independent routes (sympy's exact rank, constructions of known rank)."""

from fractions import Fraction

import numpy as np
import pytest

from exacthess.core.errors import InvalidOptionError
import sympy
from flint import fmpz_mat
from hypothesis import given, strategies as st

from exacthess import rank
from exacthess.errors import InvalidMatrixError, NonFiniteError


@st.composite
def low_rank_integer_matrices(draw):
    m = draw(st.integers(1, 9))
    n = draw(st.integers(1, 9))
    k = draw(st.integers(0, min(m, n)))
    ints = st.integers(-50, 50)
    A = np.array(draw(st.lists(ints, min_size=m * k, max_size=m * k)), dtype=object).reshape(m, k)
    B = np.array(draw(st.lists(ints, min_size=k * n, max_size=k * n)), dtype=object).reshape(k, n)
    return A.dot(B) if k else np.zeros((m, n), dtype=object)


@given(low_rank_integer_matrices())
def test_rank_equals_sympy(M):
    r = rank(M)
    assert r.certified and r.lower == r.value == r.upper
    assert r.value == sympy.Matrix(M.tolist()).rank()


def test_float_input_is_exact_where_float64_rank_fails():
    eps = 2.0 ** -52
    M = np.array([[1.0, 1.0], [1.0, 1.0 + eps]])
    assert np.linalg.matrix_rank(M) == 1  # the float64 answer
    assert rank(M).value == 2  # exact: det = eps != 0
    H = np.array([[Fraction(1, i + j + 1) for j in range(12)] for i in range(12)], dtype=object)
    assert rank(H).value == 12  # Hilbert matrix: float64 says less
    assert np.linalg.matrix_rank(np.array(H, dtype=float)) < 12


def test_accepts_many_types():
    M = [[1, 2], [2, 4]]
    assert rank(M).value == 1
    assert rank(sympy.Matrix(M)).value == 1
    assert rank(fmpz_mat(M)).value == 1
    assert rank(np.array(M, dtype=np.int64)).value == 1
    assert rank(np.zeros((3, 4))).method == "zero"
    assert rank(np.zeros((0, 4))).value == 0


def test_uncertified_results_state_a_failure_bound():
    rng = np.random.default_rng(0)
    M = (rng.integers(-9, 9, (30, 5)) @ rng.integers(-9, 9, (5, 30))).astype(object)
    r = rank(M, certify="never", n_primes=2)
    assert not r.certified and r.method == "probabilistic"
    assert r.lower == 5 and r.upper == 30 and 0 < r.failure_bound < 1e-30
    assert "P(rank != 5)" in r.how


def test_a_caller_bound_is_not_a_certificate():
    """A (bound, reason) pair is shown, never trusted: the rank is certified only by what exacthess
    proves itself (here Hadamard's bound), and without an upper-bound certificate it stays uncertified."""
    M = np.array([[1, 2, 3], [2, 4, 6], [1, 1, 1]], dtype=object)
    r = rank(M, upper_bound=(2, "two rows are proportional"))
    assert r.certified and r.value == 2 and r.method == "hadamard"
    r = rank(M, upper_bound=(2, "two rows are proportional"), certify="never")
    assert not r.certified and r.lower == 2 and r.upper == 3
    assert "two rows are proportional" in r.bounds[1].how and "not a certificate" in r.bounds[1].how


@pytest.mark.parametrize("bad, err, match", [
    (np.array([[1.0, np.inf]]), NonFiniteError, r"matrix\[0, 1\] = inf"),
    (np.ones(3), InvalidMatrixError, "expected a 2-D array"),
    (sympy.Matrix([[sympy.Symbol("x")]]), InvalidMatrixError, "not a rational number"),
])
def test_bad_matrices(bad, err, match):
    with pytest.raises(err, match=match):
        rank(bad)
    with pytest.raises(InvalidOptionError, match="certify = 'sometimes'.*'auto', 'always', 'never'"):
        rank([[1]], certify="sometimes")


def test_a_caller_bound_below_the_proven_rank_is_refused():
    """[[1,2,3],[2,4,6],[1,0,1],[0,0,0]] has rank 2 (rows 1 and 3 independent, row 2 = 2 row 1): a claimed
    upper bound 1 contradicts the proven lower bound and is an error, not a 'proven 2 <= rank <= 1'."""
    import exacthess as eh
    with pytest.raises(eh.errors.InvalidValueError, match=r"upper_bound = \(1, 'x'\) is below the proven lower bound 2"):
        eh.rank([[1, 2, 3], [2, 4, 6], [1, 0, 1], [0, 0, 0]], upper_bound=(1, "x"), certify="never")


def test_huge_dyadic_denominators_are_read_and_ranked_fast():
    """Rows with denominators of millions of bits (gradients at stand-ins of saturated logits): the
    lcm is taken in FLINT (Python's gcd is quadratic), and SmallRanks ranks thin matrices exactly
    instead of collecting a prime per 61 bits for Hadamard's bound."""
    import time
    from flint import fmpq, fmpz
    from exacthess.certify.rank import integer_matrix
    from exacthess.certify.small import SmallRanks
    tiny = fmpq(12345, fmpz(1) << 3_000_000)
    M = np.array([[tiny, 1 - tiny], [1 - tiny, fmpq(-1, 3)], [2 * tiny, 2 - 2 * tiny]], dtype=object)
    t = time.perf_counter()
    Z = integer_matrix(M)
    assert Z.rank() == 2 and Z[0, 0] == 12345  # row 0 times 2^3000000
    from exacthess.certify.certificate import Exact, Trivial
    from exacthess.certify.checker import ExplicitSource
    small = SmallRanks(ExplicitSource(M), p=2147483629)
    cert = small.get("M")
    assert cert.value == 2 and isinstance(cert.upper, (Exact, Trivial))
    assert time.perf_counter() - t < 20
