"""The exact inertia (exacthess.oracle.inertia): known degenerate matrices, numpy's eigvalsh on
well-conditioned integer matrices, and an independent route on degenerate ones: a symmetric
LDL^T elimination over Q written here (a nonzero diagonal pivot, or a 2x2 pivot [[0, a], [a, 0]]
when the whole diagonal is 0), whose pivots' signs count the eigenvalues by Sylvester's law."""

from fractions import Fraction

import numpy as np
import pytest

from exacthess.core.errors import InvalidMatrixError
from exacthess.oracle.inertia import Inertia, descartes, inertia


def ldl_inertia(M) -> tuple:
    """Symmetric elimination over Q with Fractions (the independent route)."""
    A = [[Fraction(v) for v in row] for row in np.asarray(M, dtype=object).tolist()]
    pos = neg = 0
    size = len(A)
    while A:
        k = next((i for i in range(len(A)) if A[i][i] != 0), None)
        if k is not None:
            piv = A[k][k]
            pos, neg = (pos + 1, neg) if piv > 0 else (pos, neg + 1)
            rest = [i for i in range(len(A)) if i != k]
            A = [[A[i][j] - A[i][k] * A[k][j] / piv for j in rest] for i in rest]
            continue
        ij = next(((i, j) for i in range(len(A)) for j in range(len(A)) if A[i][j] != 0), None)
        if ij is None:
            break
        i, j = ij
        a = A[i][j]
        rest = [r for r in range(len(A)) if r not in (i, j)]
        A = [[A[r][c] - (A[r][i] * A[j][c] + A[r][j] * A[i][c]) / a for c in rest] for r in rest]
        pos, neg = pos + 1, neg + 1
    return (pos, neg, size - pos - neg)


@pytest.mark.parametrize("M, expected", [
    (np.zeros((3, 3), dtype=int), (0, 0, 3)),
    ([[1, 2], [2, 4]], (1, 0, 1)),
    ([[-1, -2], [-2, -4]], (0, 1, 1)),
    ([[0, 1], [1, 0]], (1, 1, 0)),
    ([[0, 0, 1], [0, 0, 0], [1, 0, 0]], (1, 1, 1)),
    (np.eye(4, dtype=int), (4, 0, 0)),
    ([[Fraction(1, 3)]], (1, 0, 0)),
    (np.zeros((0, 0), dtype=int), (0, 0, 0)),
])
def test_known_matrices(M, expected):
    assert inertia(M) == expected
    if np.size(M):
        assert ldl_inertia(M) == expected
    r = expected[0] + expected[1]
    assert inertia(M, rank=r) == expected and inertia(M, rank=r).rank == r


@pytest.mark.parametrize("seed", range(8))
def test_well_conditioned_integer_matrices_agree_with_eigvalsh(seed):
    rng = np.random.default_rng(seed)
    p = int(rng.integers(1, 30))
    B = rng.integers(-6, 7, (p, p))
    A = B + B.T + np.diag(rng.choice([-1, 1], p) * rng.integers(0, 3 * p, p))
    w = np.linalg.eigvalsh(A.astype(float))
    if np.abs(w).min() < 1e-6 * np.abs(w).max():  # not well conditioned: floats do not decide it
        pytest.skip("ill-conditioned draw")
    assert inertia(A) == Inertia(int((w > 0).sum()), int((w < 0).sum()), 0)


@pytest.mark.parametrize("seed", range(6))
def test_degenerate_matrices_agree_with_the_elimination_over_q(seed):
    """Low rank, indefinite, some with a zero diagonal block (2x2 pivots); with and without the rank."""
    rng = np.random.default_rng([seed, 1])
    p, r = int(rng.integers(2, 12)), int(rng.integers(1, 6))
    C = rng.integers(-3, 4, (p, r))
    A = C @ np.diag(rng.choice([-1, 1], r)) @ C.T
    if seed % 2:  # [[0, B], [B^T, 0]]: every diagonal entry 0
        B = rng.integers(-2, 3, (p, p // 2 + 1))
        A = np.block([[np.zeros((p, p), dtype=int), B], [B.T, np.zeros((B.shape[1],) * 2, dtype=int)]])
    expected = ldl_inertia(A)
    assert inertia(A) == expected
    assert inertia(A, rank=expected[0] + expected[1]) == expected
    assert inertia(A.astype(object) * Fraction(1, 7)) == expected  # rationals: denominators cleared


def test_a_wrong_rank_is_refused_not_believed():
    with pytest.raises(InvalidMatrixError, match="rank = 2 is not the rank of M"):
        inertia([[1, 2], [2, 4]], rank=2)


@pytest.mark.parametrize("M, words", [
    ([[1, 2], [3, 4]], r"M is not symmetric \(M\[0, 1\] = 2 but M\[1, 0\] = 3\)"),
    ([[1, 2, 3], [2, 4, 6]], r"M has shape \(2, 3\); expected a square matrix"),
])
def test_bad_matrices_are_refused(M, words):
    with pytest.raises(InvalidMatrixError, match=words):
        inertia(M)


def test_descartes_counts_real_roots():
    # (x - 2)(x + 1)^2 x^3 = x^6 - 3x^4 - 2x^3
    assert descartes([0, 0, 0, -2, -3, 0, 1]) == (1, 2, 3)
