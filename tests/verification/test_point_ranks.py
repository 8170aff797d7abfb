"""The data ranks of a report's context (``r = rank Sigma_xx``, ``rank Sigma~`` with biases).

``verify`` ranks the smaller of ``X~`` and its Gram matrix (equal ranks over Q); the reference
here is FLINT's exact rank of the Gram matrix itself, built from the data with Fractions.
"""

from fractions import Fraction

import numpy as np
import pytest
from flint import fmpq, fmpq_mat

import exacthess as eh


def _gram_rank(X, bias: bool) -> int:
    rows = [list(x) + ([Fraction(1)] if bias else []) for x in X]
    cols = len(rows[0])
    gram = [[sum(r[i] * r[j] for r in rows) for j in range(cols)] for i in range(cols)]
    return fmpq_mat(cols, cols, [fmpq(x.numerator, x.denominator) for row in gram for x in row]).rank()


@pytest.mark.parametrize("n, d, bias, dup", [(3, 8, False, 0), (3, 8, True, 0), (12, 5, True, 0),
                                             (4, 6, True, 2), (5, 3, False, 3)])
def test_data_ranks_equal_the_rank_of_the_gram_matrix(n, d, bias, dup):
    rng = np.random.default_rng(n * d)
    X = [[Fraction(int(v), 4) for v in rng.integers(-3, 4, d)] for _ in range(n - dup)]
    X += [list(X[0]) for _ in range(dup)]  # duplicate samples: rank below n
    Y = [[Fraction(int(v), 2) for v in rng.integers(-2, 3, 2)] for _ in range(n)]
    arch = eh.FCN(d, (3,), 2, bias=bias)
    report = eh.verify(arch, data=(X, Y), float_check=False)
    assert report.context["r"] == _gram_rank(X, False)
