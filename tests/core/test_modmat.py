"""exacthess.core.modmat against FLINT's nmod_mat (an independent implementation) and Python ints.

Every check compares with FLINT: rank, determinant, inverse, null-space dimension (and ``a N = 0``),
and the rank profiles read off FLINT's reduced row echelon forms (pivot columns of ``rref(a)`` and
of ``rref(a.T)``).
"""

import numpy as np
import pytest
from flint import fmpz_mat, nmod_mat
from hypothesis import given, strategies as st

from exacthess.core import modmat, modular
from exacthess.core.errors import InvalidTypeError, InvalidValueError

PRIMES = [3, 5, 7, 1048573, 2097143, 1073741789, 2147483629]  # 2^20, 2^21, 2^30 and 2^31 - 19


def flint(a, p):
    m, n = a.shape
    return nmod_mat(fmpz_mat((a % p).tolist()), p) if m and n else nmod_mat(m, n, p)


def flint_entries(M):
    return np.array([int(v) for v in M.entries()], dtype=np.int64).reshape(M.nrows(), M.ncols())


def flint_profile(a, p):
    """Pivot columns of FLINT's rref of ``a``: the column rank profile."""
    if not a.size:
        return []
    R, k = flint(a, p).rref()
    return [int(np.flatnonzero(row)[0]) for row in flint_entries(R)[:k]]


def check(a, p):
    """Every modmat answer about ``a`` modulo ``p`` against FLINT."""
    a = np.asarray(a, dtype=np.int64)
    m, n = a.shape
    r = flint(a, p).rank() if a.size else 0
    rows, cols = flint_profile(a.T, p), flint_profile(a, p)
    assert modmat.rank(a, p) == r
    assert modmat.pivot_rows(a, p) == rows
    assert modmat.pivot_cols(a, p) == cols
    assert modmat.rank_profiles(a, p) == (rows, cols)
    f = modmat.factor(a, p)
    assert (f.rank, f.rows, f.cols) == (r, rows, cols)
    N = f.nullspace()
    assert N.shape == (n, n - r) and N.dtype == np.int64 and ((N >= 0) & (N < p)).all()
    assert not modmat.matmul(a, N, p).any()
    assert modmat.rank(N, p) == n - r  # a basis
    if m == n:
        d = int(flint(a, p).det()) if m else 1
        assert modmat.det(a, p) == f.det() == d
        if d:
            inv = modmat.inverse(a, p)
            assert (inv == (flint_entries(flint(a, p).inv()) if m else inv)).all()
            b = np.arange(2 * n, dtype=np.int64).reshape(n, 2) % p
            x = f.solve(b)
            assert (modmat.matmul(a, x, p) == b).all()
            assert (f.solve(b[:, 0]) == x[:, 0]).all()


def random_matrix(rng, m, n, p, rank=None):
    """Uniform residues, or an exact product of thin factors of the given rank."""
    if rank is None:
        return rng.integers(0, p, (m, n))
    return modmat.matmul(rng.integers(0, p, (m, rank)), rng.integers(0, p, (rank, n)), p)


@pytest.mark.parametrize("p", PRIMES)
@pytest.mark.parametrize("m, n", [(40, 40), (70, 45), (45, 70), (130, 110), (1, 90), (90, 1)])
def test_random_full_rank(p, m, n):
    check(random_matrix(np.random.default_rng([m, n, p]), m, n, p), p)


@pytest.mark.parametrize("p", PRIMES)
@pytest.mark.parametrize("m, n, r", [(60, 60, 20), (100, 80, 33), (80, 100, 50), (140, 140, 70), (50, 50, 1)])
def test_low_rank_products(p, m, n, r):
    check(random_matrix(np.random.default_rng([m, n, r, p]), m, n, p, r), p)


@pytest.mark.parametrize("p", [3, 1048573, 2147483629])
@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0), (0, 70), (70, 0), (1, 1), (3, 3), (40, 90), (90, 40)])
def test_zero_and_empty_matrices(p, shape):
    check(np.zeros(shape, dtype=np.int64), p)


@pytest.mark.parametrize("p", [5, 2097143, 2147483629])
def test_duplicate_rows_zero_columns_and_unreduced_entries(p):
    rng = np.random.default_rng(p)
    a = random_matrix(rng, 90, 75, p, 40)
    a[10], a[50], a[89] = a[3], a[3], 0  # duplicates and a zero row
    a[:, [0, 7, 33, 74]] = 0  # zero columns, among them the first and the last
    check(a, p)
    check(a.T, p)
    check(a - 3 * p, p)  # negative and unreduced entries
    check(np.vstack([np.zeros((50, 75), dtype=np.int64), a]), p)  # the first rows all zero


def test_row_profile_is_greedy_in_order():
    """Row i is a pivot row iff it is not in the span of the rows before it."""
    p = 7
    rng = np.random.default_rng(1)
    a = random_matrix(rng, 60, 45, p, 12)
    a[rng.integers(0, 60, 20)] = 0
    rows, prev = [], 0
    for i in range(len(a)):
        r = flint(a[:i + 1], p).rank()
        if r > prev:
            rows.append(i)
        prev = r
    assert modmat.pivot_rows(a, p) == rows


@st.composite
def matrices(draw):
    p = draw(st.sampled_from(PRIMES))
    m, n = draw(st.integers(0, 80)), draw(st.integers(0, 80))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    r = draw(st.integers(0, min(m, n)))
    a = random_matrix(rng, m, n, p, r) if draw(st.booleans()) else random_matrix(rng, m, n, p)
    if m and n and draw(st.booleans()):  # structure: zero or repeated rows and columns
        a[rng.integers(0, m, m // 4)] = 0
        a[:, rng.integers(0, n, n // 4)] = 0
        a[rng.integers(0, m, m // 4)] = a[rng.integers(0, m)]
    return a, p


@given(matrices())
def test_against_flint(case):
    check(*case)


@given(st.sampled_from(PRIMES), st.integers(1, 60), st.integers(0, 2**32 - 1))
def test_square_det_inverse_solve(p, n, seed):
    check(random_matrix(np.random.default_rng(seed), n, n, p), p)


@pytest.mark.parametrize("p, k", [(2147483629, 600), (1073741789, 3000), (2097143, 9000), (1048573, 40000)])
def test_exactness_bound_is_enforced(p, k):
    """Inner dimensions beyond one exact chunk, with the largest balanced residues, stay exact."""
    rng = np.random.default_rng(k)
    h = (p - 1) // 2  # h and h + 1 are the balanced residues of largest magnitude (+-h)
    a = np.where(rng.random((3, k)) < 0.5, h, h + 1).astype(np.int64)
    b = np.where(rng.random((k, 4)) < 0.5, h, h + 1).astype(np.int64)
    b[:, 0] = h  # column 0 makes every term of row 0 of a times it equal: the sum is maximal
    a[0] = h
    exact = np.array([[sum(int(x) * int(y) for x, y in zip(row, col)) % p for col in b.T] for row in a])
    assert (modmat.matmul(a, b, p) == exact).all()
    if p > 1 << 21:  # a single float64 product would round
        naive = (a.astype(np.float64) @ b.astype(np.float64)) % p
        assert not (naive == exact).all()


def test_products_and_shapes():
    p = 2147483629
    a = np.random.default_rng(0).integers(-2**62, 2**62, (5, 7))
    b = np.random.default_rng(1).integers(0, 2**63 - 1, (7, 3), dtype=np.uint64)
    exact = [[sum(int(x) * int(y) for x, y in zip(row, col)) % p for col in b.T] for row in a]
    assert modmat.matmul(a, b, p).tolist() == exact
    assert modmat.matmul(a.astype(object), b.astype(object), p).tolist() == exact  # Python ints
    assert modmat.matmul(np.zeros((2, 0), dtype=int), np.zeros((0, 3), dtype=int), p).shape == (2, 3)


def test_bad_input_names_argument_value_and_expectation():
    a = np.eye(3, dtype=np.int64)
    for p in (4, 2, 2**31 + 11):
        with pytest.raises(InvalidValueError, match=f"p = {p} is not valid; expected a prime 2 < p < 2"):
            modmat.rank(a, p)
    with pytest.raises(InvalidTypeError, match="p = 7.0 has type float"):
        modmat.rank(a, 7.0)
    with pytest.raises(InvalidTypeError, match="a = .* has dtype float64; expected an integer array"):
        modmat.rank(a.astype(float), 7)
    with pytest.raises(InvalidValueError, match=r"a = .* has shape \(3,\); expected a 2-D integer array"):
        modmat.rank(np.arange(3), 7)
    with pytest.raises(InvalidValueError, match=r"a has shape \(3, 2\); expected a square matrix"):
        modmat.det(np.ones((3, 2), dtype=int), 7)
    with pytest.raises(InvalidValueError, match="has rank 1 modulo 7; expected a square invertible matrix"):
        modmat.inverse(np.ones((3, 3), dtype=int), 7)
    with pytest.raises(InvalidValueError, match=r"b has shape \(2,\); expected 3 rows"):
        modmat.factor(a, 7).solve(np.ones(2, dtype=int))
    with pytest.raises(InvalidValueError, match="expected 3 rows to match a of shape"):
        modmat.matmul(a, np.ones((2, 2), dtype=int), 7)


@pytest.mark.parametrize("n", [10, 30, 130])  # both sides of the crossovers to FLINT
@pytest.mark.parametrize("p", [1048573, 2147483629])
def test_modular_layer_agrees_on_both_sides_of_the_crossovers(n, p):
    rng = np.random.default_rng(n)
    a = random_matrix(rng, n + 3, n, p, n // 2)
    s = random_matrix(rng, n, n, p)
    assert modular.rank_mod_p(a, p) == n // 2
    assert modular.pivot_rows(a, p) == flint_profile(a.T, p)
    assert modular.pivot_cols(a, p) == flint_profile(a, p)
    N = modular.nullspace_mod_p(a, p)
    assert N.shape == (n, n - n // 2) and not modmat.matmul(a, N, p).any()
    assert (N == flint_entries(flint(a, p).nullspace()[0])[:, :N.shape[1]]).all()  # FLINT's very basis
    assert modular.det_mod_p(s, p) == int(flint(s, p).det())
    assert (modular.inverse_mod_p(s, p) == flint_entries(flint(s, p).inv())).all()
    d = int(flint(s, p).det())
    assert (modular.adjugate_mod_p(s, p) == flint_entries(flint(s, p).inv()) * d % p).all()


def test_modular_layer_keeps_flint_for_fmpz_and_62_bit_primes():
    q = 2305843009213693951  # 2^61 - 1
    a = np.outer(np.arange(200), np.arange(150)) + 1  # rank 2
    assert modular.rank_mod_p(a, q) == modular.rank_mod_p(fmpz_mat(a.tolist()), q) == 2
    assert modular.pivot_rows(a, q) == [0, 1]
    s = np.array([[2, 1], [1, 1]]) * 12345678901 % q  # adjugate entries near q: Python-int products
    M = flint(s, q)
    expected = [[int(M.inv()[i, j]) * int(M.det()) % q for j in range(2)] for i in range(2)]
    assert modular.adjugate_mod_p(s, q).tolist() == expected
