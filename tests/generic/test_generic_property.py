"""Property: a proven generic upper bound is never below the exact rank at a random rational point.

Independent route: the sympy Hessian of the explicit convolution loop (tests/symbolic_reference.py)
at a random rational point, ranked exactly over Q with sympy's DomainMatrix. Architectures come
from the public Hypothesis strategies (small, so that sympy stays fast); FCNs must be proven.
"""

import random

import sympy as sp
from hypothesis import assume, given, strategies as st
from sympy.polys.matrices import DomainMatrix

from exacthess.generic import prove_generic
from exacthess.strategies import cnn_architectures, fcn_architectures

from symbolic_reference import symbolic_hessians


def _point_ranks(arch, n, seed):
    rng = random.Random(seed)

    def draw(shape):
        if not shape:
            return sp.Rational(rng.randint(-40, 40), rng.randint(1, 7))
        return [draw(shape[1:]) for _ in range(shape[0])]
    params = [draw(tuple(s)) for s in arch.param_shapes()]
    X, Y = draw((n, arch.input_dim)), draw((n, arch.output_dim))
    H_L, H_o, H_f = symbolic_hessians(arch, params, X, Y)
    return {k: DomainMatrix.from_Matrix(M).convert_to(sp.QQ).rank() for k, M in (("H_o", H_o), ("H_f", H_f), ("H_L", H_L))}


@given(st.one_of(fcn_architectures(max_size=3, max_depth=2, bias=None),
                 cnn_architectures(max_input=4, max_channels=2, max_depth=1, max_kernel=3, max_output=2, bias=None)),
       st.integers(1, 4), st.integers(0, 10**6))
def test_point_rank_never_exceeds_the_proven_upper_bound(arch, n, seed):
    assume(arch.n_params <= 12)
    proof = prove_generic(arch, n, seed=seed % 97)
    point = _point_ranks(arch, n, seed)
    for q, r in point.items():
        g = proof.ranks[q]
        assert g.lower <= g.upper and r <= g.upper, (q, r, g.lower, g.upper)
    if arch.to_spec()["family"] == "fcn":
        assert proof.proven, {q: (g.lower, g.upper) for q, g in proof.ranks.items()}
