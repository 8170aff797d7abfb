"""The proof machinery: determinants, cofactor kernels, the rank-one lemma, expanded vs factored.

Routes: sympy's determinant (independent) for Bareiss; the expanded identity H v = 0 checked in
the polynomial ring (differentiated Hessian times the explicit vector) against the factored
proof (lemma + Laplace); tampered inputs must fail.
"""

import numpy as np
import pytest
import sympy as sp
from flint import fmpz_mpoly_ctx

from exacthess import CNN, FCN
from exacthess.generic.lemma import Condition
from exacthess.generic.nullvectors import Candidate
from exacthess.generic.polymat import cofactor_vector, det, obj_array, poly_matmul
from exacthess.generic.prover import GenericProver
from exacthess.generic.rank import quantities
from exacthess.generic.spaces import AllSpace


def test_bareiss_determinant_matches_sympy():
    from sympy.polys.matrices import DomainMatrix
    ctx = fmpz_mpoly_ctx.get(("x", 9))
    g = ctx.gens()
    xs = sp.symbols("x0:9")
    rng = np.random.default_rng(3)
    terms = [[(int(rng.integers(-3, 4)), int(rng.integers(0, 9))) for _ in range(3)] + [(int(rng.integers(-2, 3)), None)]
             for _ in range(25)]
    ours = det(obj_array([sum(c * (g[i] if i is not None else 1) for c, i in t) for t in terms], (5, 5)))
    M = sp.Matrix(5, 5, [sum(c * (xs[i] if i is not None else 1) for c, i in t) for t in terms])
    theirs = DomainMatrix.from_Matrix(M).convert_to(sp.ZZ[xs]).det()  # sympy's own fraction-free det
    assert dict(theirs.terms()) == {tuple(int(e) for e in m): int(c) for m, c in zip(ours.monoms(), ours.coeffs())}


def test_cofactor_vector_is_in_the_kernel():
    ctx = fmpz_mpoly_ctx.get(("x", 12))
    M = obj_array(list(ctx.gens()), (3, 4))
    v = cofactor_vector(M, [0, 1, 2], [0, 1, 2], 3)
    assert all(e.is_zero() for e in poly_matmul(M, v.reshape(-1, 1), ctx.constant(0)).flat)
    assert not v[3].is_zero()


CASES = [(FCN(3, (2,), 2), 5), (FCN(2, (3, 1), 2, bias=True), 2), (FCN(3, (1, 2), 2, bias=True), 6), (FCN(2, (2,), 3), 1),
         (CNN((4,), (1,), 2, 1, paddings=1), 3), (CNN((3,), (2,), 2, 1, bias=True), 2)]


@pytest.mark.parametrize("arch,n", CASES)
def test_expanded_and_factored_proofs_agree(arch, n):
    """Factored proofs (lemma, Laplace, Cramer) against every vector expanded and checked."""
    fac = GenericProver(arch, n)
    exp = GenericProver(arch, n, expand=True)
    for q in quantities(arch):
        a, b = fac.bounds(q), exp.bounds(q)
        assert (a["lower"], a["upper"], a["failed"]) == (b["lower"], b["upper"], b["failed"]), q
        if isinstance(arch, FCN):
            assert a["lower"] == a["upper"] and a["failed"] == 0
    assert fac.catalogue.lemma.verified and all(fac.catalogue.lemma.verified.values())


def test_a_vector_that_is_not_null_fails_every_proof():
    g = GenericProver(FCN(3, (2,), 2), 5)
    net = g.net
    assert not net.check_o({0: net.theta[1]})
    assert not net.check_f({0: net.ring.one})
    U = AllSpace("all", 2, net.ring.one, g.points[0].p)
    A = AllSpace("all", 3, net.ring.one, g.points[0].p)
    cand = Candidate(("bogus",), "bogus", 1, np.zeros(net.P, dtype=np.int64), lambda: {0: net.ring.one}, (U, A))
    assert not g.prove(cand, ("o",)) and not g.prove(cand, ("f",))


def test_a_wrong_lemma_condition_does_not_verify():
    g = GenericProver(FCN(3, (2, 2), 2), 5)
    lemma = g.catalogue.lemma
    good = lemma.conditions(1, "f")[1]  # layer 1 against layer 3
    assert lemma.verify(good)
    wrong = Condition(good.layer, ("f", 3), good.u_lists, (good.a_lists[0][:-1],))  # drops one factor
    lemma.verified.pop((1, ("f", 3)))
    assert not lemma.verify(wrong)
