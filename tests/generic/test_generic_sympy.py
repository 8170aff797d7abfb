"""Proven generic ranks against independent routes.

* sympy (tests/generic/sympy_generic.py): fully symbolic Hessians of tiny networks and their
  rank over the fraction field Q(theta, X, Y), from a nonzero minor at a point and the exact
  vanishing of every larger minor;
* exact ranks over Q at random rational points (the explicit-loop sympy Hessian of
  tests/symbolic_reference.py): never above a proven generic rank, and equal to it at some point.
"""

import random

import pytest
import sympy as sp
from sympy.polys.matrices import DomainMatrix

from exacthess import CNN, FCN
from exacthess.generic import generic_rank

from sympy_generic import fraction_field_rank, generic_hessians
from symbolic_reference import symbolic_hessians

TINY = [
    (FCN(2, (1,), 1), 3),                 # moments regime
    (FCN(2, (2,), 1), 2),
    (FCN(2, (1,), 2), 1),                 # fewer samples than inputs: data-space kernel
    (FCN(3, (1,), 1), 2),
    (FCN(1, (1,), 1, bias=True), 2),      # biases: affine symmetries
    (FCN(2, (1,), 1, bias=True), 1),      # biases, samples regime
    (CNN((3,), (1,), 2, 1), 4),           # a one-filter CNN
    (CNN((3,), (1,), 2, 1), 2),           # fewer samples: a compensation by the last layer
    (CNN((2,), (1,), 2, 1, paddings=1), 2),  # zero padding, compensation
]


@pytest.mark.parametrize("arch,n", TINY, ids=[f"{a!r}-n{n}" for a, n in TINY])
def test_generic_rank_equals_sympy_fraction_field_rank(arch, n):
    H_o, H_f, H_L, symbols = generic_hessians(arch, n)
    for name, M in (("H_o", H_o), ("H_f", H_f), ("H_L", H_L)):
        expected = fraction_field_rank(M, symbols)
        got = generic_rank(arch, name, n_samples=n)
        assert got.lower <= expected <= got.upper, (name, got, expected)
        assert got.proven and got.lower == expected, (name, got.how)


def _rank_at_random_point(arch, n, seed):
    rng = random.Random(seed)
    draw = lambda: sp.Rational(rng.randint(-50, 50), rng.randint(1, 9))  # noqa: E731
    params = [[[draw() for _ in range(s[1])] for _ in range(s[0])] if len(s) == 2 else [draw() for _ in range(s[0])]
              for s in arch.param_shapes()]
    X = [[draw() for _ in range(arch.input_dim)] for _ in range(n)]
    Y = [[draw() for _ in range(arch.output_dim)] for _ in range(n)]
    H_L, H_o, H_f = symbolic_hessians(arch, params, X, Y)
    return {k: DomainMatrix.from_Matrix(M).convert_to(sp.QQ).rank() for k, M in
            (("H_o", H_o), ("H_f", H_f), ("H_L", H_L))}


@pytest.mark.parametrize("arch,n", [(FCN(2, (2,), 2), 3), (FCN(2, (1, 1), 1, bias=True), 2), (FCN(3, (2,), 1), 1)])
def test_rank_at_rational_points_never_exceeds_and_reaches_the_generic_rank(arch, n):
    proven = {q: generic_rank(arch, q, n_samples=n) for q in ("H_o", "H_f", "H_L")}
    assert all(r.proven for r in proven.values())
    seen = {q: 0 for q in proven}
    for seed in range(3):
        for q, r in _rank_at_random_point(arch, n, seed).items():
            assert r <= proven[q].value
            seen[q] = max(seen[q], r)
    assert seen == {q: r.value for q, r in proven.items()}
