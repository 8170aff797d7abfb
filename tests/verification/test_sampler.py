"""Generic statements judged as generic: random points modulo primes against the generic rank
computed symbolically (sympy differentiates the loss in symbols and ranks the matrix over the
field of rational functions Q(theta, y)): an independent route."""

import numpy as np
import sympy
from sympy.polys.matrices import DomainMatrix

from exacthess import FCN, Statement, verify
from exacthess.verification.sampler import GenericSampler, entry_degree
from exacthess.hessian.problem import make_problem
from exacthess.statements import REGISTRY, Kind, Relation


def _generic_ranks_fcn_1_1_1(x=3):
    """Generic ranks of H_L, H_o, H_f of F = c b a x (one sample, x fixed) over Q(a, b, c, y)."""
    a, b, c, y = sympy.symbols("a b c y")
    th = [a, b, c]
    F = c * b * a * x
    loss = (F - y) ** 2 / 2
    g = sympy.Matrix([F.diff(t) for t in th])
    H_L = sympy.hessian(loss, th)
    H_o = g * g.T
    H_f = H_L - H_o

    def rank(M):
        return DomainMatrix.from_Matrix(M).to_field().rank()
    return {"H_L": rank(H_L), "H_o": rank(H_o), "H_f": rank(H_f)}


DEGENERATE = dict(params=[np.array([[2]]), np.array([[0]]), np.array([[5]])], data=(np.array([[3]]), np.array([[7]])))


def test_degenerate_point_of_a_generic_theorem_is_not_a_violation():
    """A zero middle weight: rank H_f = 2 < 3 = the generic rank (sympy) = Singh et al.'s formula.
    The report says the point is degenerate and the statement holds (it used to say VIOLATED)."""
    generic = _generic_ranks_fcn_1_1_1()
    assert generic == {"H_L": 3, "H_o": 1, "H_f": 3}
    arch = FCN(1, (1, 1), 1)
    report = verify(arch, **DEGENERATE, float_check=False)
    assert report.ranks["H_f"] == 2 and report.ranks["H_L"] == 2
    for sid in ("singh2021.H_f", "singh2021.H_L"):
        row = next(r for r in report.rows if r.statement == sid)
        assert row.predicted == generic[row.quantity]
        assert row.verdict == "holds" and "below the generic value" in row.note and "degenerate" in row.note
    assert report.ok and report.decided and report.exit_code == 0


def test_random_points_reach_the_symbolic_generic_rank():
    arch = FCN(1, (1, 1), 1)
    sampler = GenericSampler(make_problem(arch, **DEGENERATE), seed=4)
    for q, rho in _generic_ranks_fcn_1_1_1().items():
        ev = sampler.evidence(q, rho)
        assert ev.lower == rho and ev.failure_bound == 0.0  # a proven lower bound that is attained
        ev = sampler.evidence(q, rho + 1)  # nothing reaches a value above the generic rank
        assert ev.lower == rho and ev.points == 3
        D = (rho + 1) * entry_degree(2)
        assert (D / 2**30) ** 3 <= ev.failure_bound < 1e-15


def test_wrong_generic_formula_is_undecided_unless_a_proven_bound_decides(monkeypatch):
    """A generic 'formula' one above the true generic rank of H_o (1, by sympy): every random
    point falls short, so the verdict carries the Schwartz-Zippel probability and stays undecided;
    a proven bound on the generic rank below the formula turns it into a proof."""
    wrong = Statement(id="test.wrong", quantity="H_o", kind=Kind.EXACT_GENERIC, relation=Relation.EQ,
                      formula="2", condition="", citation="", predict=lambda ctx: 2, generic=True)
    monkeypatch.setitem(REGISTRY, "test.wrong", wrong)
    arch = FCN(1, (1, 1), 1)
    row = next(r for r in verify(arch, **DEGENERATE, float_check=False).rows if r.statement == "test.wrong")
    # symmetry.H_o (p - sum m_l = 3 - 2 = 1) is a registered generic bound: it proves the formula wrong
    assert row.verdict == "VIOLATED" and "symmetry.H_o" in row.note
    monkeypatch.setitem(REGISTRY, "symmetry.H_o", Statement(
        id="symmetry.H_o", quantity="H_o", kind=Kind.DERIVED, relation=Relation.LE, formula="", condition="",
        citation="", predict=lambda ctx: ctx.p, family=("fcn", "cnn")))  # without a usable bound
    # exacthess.generic_rank proves the generic rank of this linear network is 1 (null vectors in a polynomial ring)
    row = next(r for r in verify(arch, **DEGENERATE, float_check=False).rows if r.statement == "test.wrong")
    assert row.verdict == "VIOLATED" and "polynomial ring" in row.note
    # with no proven generic bound at all: the Schwartz-Zippel probability, undecided
    from exacthess.verification.sampler import GenericSampler
    monkeypatch.setattr(GenericSampler, "proven_upper", lambda self, quantity: (None, ""))
    report = verify(arch, **DEGENERATE, float_check=False)
    row = next(r for r in report.rows if r.statement == "test.wrong")
    assert row.verdict == "undecided" and 0 < row.failure_bound < 1e-15 and "Schwartz-Zippel" in row.note
    assert report.exit_code == 3 and not report.decided
