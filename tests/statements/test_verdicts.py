"""Verdict rules (exacthess.statements.verdicts) and the undecided verdict of a real report.

The rules are checked on hand-made bounds; the undecided report is checked against an
independent route: the same matrices certified with ``certify="always"`` (Hadamard's bound),
whose exact ranks must lie in the reported intervals.
"""

from types import SimpleNamespace as NS

import numpy as np
import pytest
from hypothesis import given, strategies as st

from exacthess import CNN, FCN, Statement, verify
from exacthess.statements import Kind, Relation
from exacthess.statements.verdicts import GenericBound, GenericEvidence, Verdict, exit_code, judge


def _st(kind, relation, generic=False):
    return Statement(id="t", quantity="H_f", kind=kind, relation=relation, formula="", condition="", citation="",
                     predict=lambda ctx: 0, generic=generic)


def _r(lo, hi):
    return NS(lower=lo, upper=hi)


BOUND = _st(Kind.PROVEN_BOUND, Relation.LE)
CLAIM = _st(Kind.CLAIMED_EQUALITY, Relation.EQ)
DERIVED_EQ = _st(Kind.DERIVED, Relation.EQ)
GENERIC = _st(Kind.EXACT_GENERIC, Relation.EQ, generic=True)
GENERIC_CONJ = _st(Kind.CONJECTURE, Relation.EQ, generic=True)


@pytest.mark.parametrize("stmt, rank, pred, verdict, note", [
    (BOUND, _r(40, 40), 40, "holds", ""),
    (BOUND, _r(40, 42), 42, "holds", ""),
    (BOUND, _r(40, 42), 40, "undecided", "needs an upper bound: rank H_f known in [40, 42], predicted <= 40"),
    (BOUND, _r(43, 45), 42, "VIOLATED", "rank H_f >= 43 > 42"),
    (BOUND, _r(40, 40), (40, 42), "holds", ""),
    (BOUND, _r(40, 42), (40, 42), "undecided", "needs upper bounds: rank H_f known in [40, 42], predicted <= 40..42"),
    (CLAIM, _r(40, 40), 40, "holds", ""),
    (CLAIM, _r(40, 42), 40, "undecided", "needs an upper bound: rank H_f known in [40, 42], predicted 40"),
    (CLAIM, _r(40, 42), 42, "undecided", "needs a better lower bound"),
    (CLAIM, _r(40, 42), 41, "undecided", "needs the exact rank"),
    (CLAIM, _r(3, 3), 4, "VIOLATED", "rank H_f <= 3 < predicted 4"),
    (DERIVED_EQ, _r(3, 3), 4, "refuted", ""),
    (DERIVED_EQ, _r(5, 6), 4, "refuted", "rank H_f >= 5 > predicted 4"),
])
def test_pointwise_rules(stmt, rank, pred, verdict, note):
    j = judge(stmt, "H_f", rank, pred)
    assert j.verdict == verdict and note in j.note


def test_not_applicable_and_uncertain_inputs():
    assert judge(BOUND, "H_f", _r(1, 1), None, why_not="biases").verdict == Verdict.NA
    j = judge(BOUND, "H_f", _r(1, 1), 5, uncertain_inputs="r = rank(Sigma_xx)")
    assert j.verdict == "undecided" and "r = rank(Sigma_xx)" in j.note


def test_generic_rules():
    calls = []

    def ev(lower, fb=1e-18, upper=None):
        def run(target):
            calls.append(target)
            return GenericEvidence(lower, 3, target, fb if lower < target else 0.0, "3 points", upper,
                                   "" if upper is None else "a proof")
        return run
    # above the generic value at any point: proven false, no random points needed
    assert judge(GENERIC, "H_f", _r(5, 5), 4, evidence=ev(4)).verdict == "VIOLATED" and not calls
    assert judge(GENERIC_CONJ, "H_f", _r(5, 9), 4, evidence=ev(4)).verdict == "refuted"
    # equal: holds; undecided above without an upper bound
    assert judge(GENERIC, "H_f", _r(4, 4), 4, evidence=ev(4)).verdict == "holds" and not calls
    assert judge(GENERIC, "H_f", _r(3, 5), 4, evidence=ev(4)).verdict == "undecided" and not calls
    # below: a degenerate point when a random point reaches the prediction and a proven generic upper
    # bound (from the evidence, or a registered bound) closes it; without one, the generic rank is only >=
    j = judge(GENERIC, "H_f", _r(2, 2), 3, evidence=ev(3, upper=3))
    assert j.verdict == "holds" and "below the generic value" in j.note and "degenerate" in j.note and calls == [3]
    assert "a proof" in j.note
    j = judge(GENERIC, "H_f", _r(2, 2), 3, evidence=ev(3), generic_upper=GenericBound(3, "some.bound"))
    assert j.verdict == "holds" and "some.bound" in j.note
    j = judge(GENERIC, "H_f", _r(2, 2), 3, evidence=ev(3))
    assert j.verdict == "undecided" and "generic rank is >= 3" in j.note and "upper bound" in j.note
    j = judge(GENERIC, "H_f", _r(2, 2), 3, evidence=ev(2, upper=2))
    assert j.verdict == "VIOLATED" and "a proof" in j.note
    # below everywhere tried: undecided with the Schwartz-Zippel probability ...
    j = judge(GENERIC, "H_f", _r(2, 2), 3, evidence=ev(2))
    assert j.verdict == "undecided" and j.failure_bound == 1e-18 and "Schwartz-Zippel" in j.note
    assert "this point is degenerate, or the formula is wrong" in j.note
    # ... unless a proven bound on the generic rank decides it; a random point above proves it false
    j = judge(GENERIC, "H_f", _r(2, 2), 3, evidence=ev(2), generic_upper=GenericBound(2, "some.bound"))
    assert j.verdict == "VIOLATED" and "some.bound" in j.note and j.failure_bound == 0.0
    assert judge(GENERIC, "H_f", _r(2, 2), 3, evidence=ev(4)).verdict == "VIOLATED"


def test_exit_codes():
    assert exit_code(["holds", "n/a"]) == 0
    assert exit_code(["holds", "undecided"]) == 3
    assert exit_code(["undecided", "refuted"]) == 1
    assert exit_code([Verdict.VIOLATED]) == 1


def _uncertified_report():
    """The issue's architecture at explicit small-integer points (independent of seeding rules),
    with certification switched off: some rank is known only in an interval."""
    arch = CNN((6,), (2, 2), 3, 3, paddings=1, bias=True)
    for s in range(10):
        rng = np.random.default_rng(s)
        params = [rng.integers(-9, 10, size=shape) for shape in arch.param_shapes()]
        data = (rng.integers(-9, 10, size=(4, 6)), rng.integers(-9, 10, size=(4, 3)))
        report = verify(arch, params=params, data=data, certify="never", float_check=False)
        if report.undecided:
            return arch, params, data, report
    raise AssertionError("no uncertified case among 10 points")


def test_undecided_verdict_when_bounds_do_not_decide():
    arch, params, data, report = _uncertified_report()
    assert not report.decided and report.exit_code == 3 and report.ok
    exact = verify(arch, params=params, data=data, certify="always", float_check=False)
    assert exact.certified
    for row in report.undecided:
        assert row.note.startswith("needs "), row.note
        info = report.rank_info[row.quantity]
        assert not info.certified
        assert info.lower <= exact.ranks[row.quantity] <= info.upper  # the interval holds the truth
        assert f"known in [{info.lower}, {info.upper}]" in row.note
    d = report.to_dict()
    assert d["decided"] is False and d["exit_code"] == 3
    assert {r["verdict"] for r in d["rows"]} <= {"holds", "undecided", "n/a"}
    assert "undecided: " in str(report)


def test_report_flags():
    r = verify(FCN(4, (3,), 2), n_samples=5, seed=3)
    assert r.ok and r.decided and r.exit_code == 0
    assert all(isinstance(row.to_dict()["verdict"], str) for row in r.rows)


def test_degenerate_point_of_a_linear_network_is_decided_by_a_proof():
    """The issue's case: FCN(1, (1, 1), 1) at seed 83947 (integers) has a zero middle weight, so rank H_f and H_L
    fall below singh2021's generic values; random points reach them (>=) and exacthess.generic_rank proves
    the generic rank is no larger (<=): holds, with both sides in the note; the report exits 0.
    Independent check of the degeneracy: the middle weight is 0 in the seeded parameters."""
    import exacthess as eh
    from exacthess.hessian.problem import seeded_params
    arch = eh.FCN(1, (1, 1), 1)
    assert any(np.all(np.asarray(p, dtype=object) == 0) for p in seeded_params(arch, 83947, "integers"))
    r = eh.verify(arch, n_samples=1, seed=83947, point="integers", float_check=False)
    rows = {row.statement: row for row in r.rows}
    for sid in ("singh2021.H_f", "singh2021.H_L"):
        assert rows[sid].verdict == "holds", rows[sid].note
        assert "degenerate" in rows[sid].note and "polynomial ring" in rows[sid].note
    assert r.exit_code == 0


def _interval_rule(relation, lo, hi, a, b):
    """The interval rule written out independently: True (holds), False, or None (undecided)."""
    if relation == "<=":
        return True if hi <= a else False if lo > b else None
    return True if lo == hi == a == b else False if lo > b or hi < a else None


@given(bounds=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 6)), min_size=5, max_size=5))
def test_prove_generic_judges_with_judge_and_the_interval_rule(bounds):
    """generic/compare has no rule of its own: on arbitrary proven bounds of the generic ranks, each
    statement's verdict is judge(..., generic_rank=True)'s, which is the interval rule written out
    here (the words: holds / VIOLATED for binding statements / refuted / undecided)."""
    from exacthess.generic.compare import compare
    from exacthess.statements import get_statement
    arch = FCN(3, (2,), 2)
    qty = ["H_o", "H_f", "H_L", "H_f[:,1]", "H_f[:,2]"]
    ranks = {q: _r(lo, lo + w) for q, (lo, w) in zip(qty, bounds)}
    checks = compare(arch, 6, ranks)
    assert checks
    for c in checks:
        if c.verdict == "n/a":
            continue
        stmt = get_statement(c.statement.split("[")[0])
        expected = _interval_rule(str(c.relation), c.lower, c.upper, *c.predicted)
        word = "undecided" if expected is None else "holds" if expected else Verdict.false_for(stmt).value
        assert c.verdict == word == judge(stmt, c.quantity, ranks[c.quantity], c.predicted, generic_rank=True).verdict


def test_one_vocabulary():
    """The rule and the words live in statements/verdicts.py only."""
    import exacthess.generic.compare as compare
    import exacthess.experiments.claims.result as result
    assert not hasattr(compare, "_status") and not hasattr(result, "VERDICTS")
    assert Verdict.false_for(BOUND) == "VIOLATED" and Verdict.false_for(DERIVED_EQ) == "refuted"
    from exacthess.statements.verdicts import RankBounds, decided
    assert judge(BOUND, "H_f", RankBounds.of_norm(0, 5), 0).verdict == "holds"
    assert judge(BOUND, "H_f", RankBounds.of_norm(3, 5), 0).verdict == "VIOLATED"
    assert [decided(t).verdict for t in (True, False, None)] == ["holds", "VIOLATED", "undecided"]
    assert decided(False, binding=False).verdict == "refuted"
