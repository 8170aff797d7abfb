"""KFAC's exactness statements [eschenhagen2023] as claims (exacthess.claims), judged exactly."""

import pytest
from flint import fmpq

import exacthess as eh
from exacthess import claims
from exacthess.errors import InvalidTypeError
from exacthess.experiments.claims.kfac import CE_COUNTEREXAMPLE, RELU_COUNTEREXAMPLE
from exacthess.oracle.kfac import kfac_error


@pytest.mark.parametrize("fn, cid", [(claims.kfac_expand_exact, "kfac.expand.deep_linear"),
                                     (claims.kfac_reduce_exact, "kfac.reduce.deep_linear")])
def test_the_papers_statements_hold_in_their_settings(fn, cid):
    r = fn(progress=False)
    assert r.id == cid and str(r.verdict) == "holds" and r.agrees and r.certified
    assert len(r.cases) >= 3 and all(str(c.verdict) == "holds" for c in r.cases)
    assert any("Graph" in c.architecture for c in r.cases)  # weight sharing, not only FCNs
    assert "[eschenhagen2023]" in r.statement and claims.claim(cid, progress=False).verdict == r.verdict


def test_relu_reading_is_refuted_by_the_pinned_counterexample():
    r = claims.kfac_relu(progress=False)
    assert r.id == "kfac.relu" and str(r.verdict) == "refuted" and r.agrees and r.certified
    for c in r.cases:
        assert c.numbers["layer1: kron(B, A) == GGN block"] is False
        assert c.numbers["layer1: |kron(B, A) - G|_F^2"] == fmpq(9, 4)  # block 1, KFAC 5/2
        assert c.numbers["layer2: kron(B, A) == GGN block"] is True


def test_cross_entropy_reading_is_refuted_by_the_pinned_counterexample():
    r = claims.claim("kfac.cross_entropy", progress=False)
    assert str(r.verdict) == "refuted" and r.agrees
    assert all(c.numbers["layer1: |kron(B, A) - G|_F^2"] > 0 for c in r.cases)
    ex = CE_COUNTEREXAMPLE
    C = eh.curvature(ex["arch"], params=ex["params"], data=ex["data"], loss=ex["loss"])
    L = C.problem.forward.hessians
    assert L[1].tolist() == [[fmpq(1, 4), fmpq(-1, 4)], [fmpq(-1, 4), fmpq(1, 4)]] and L[0][0, 0] != fmpq(1, 4)


def _exact(example, **change):
    ex = dict(example, **change)
    C = eh.curvature(ex["arch"], params=ex["params"], data=ex["data"], loss=ex["loss"])
    return all(e.exact for e in kfac_error(C))


def test_the_counterexamples_are_smallest_in_their_samples_and_data():
    """One sample: exact (the sums have one term); ReLU with |x_1| = |x_2|: exact."""
    for ex in (RELU_COUNTEREXAMPLE, CE_COUNTEREXAMPLE):
        X, Y = ex["data"]
        assert not _exact(ex) and _exact(ex, data=(X[:1], Y[:1]))
    assert _exact(RELU_COUNTEREXAMPLE, data=([[1], [-1]], [[0], [0]]))


def test_claim_options_are_checked():
    with pytest.raises(InvalidTypeError, match="takes no option 'archs'"):
        claims.claim("kfac.relu", archs=[eh.FCN(2, (), 1)])
