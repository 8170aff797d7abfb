"""The certification pipeline's stages, on explicit matrices."""

import numpy as np

from exacthess.certify import pipeline
from exacthess.certify.kernel import ExplicitSource
from exacthess.certify.result import RankResult


def test_a_dense_stage_that_cannot_fit_returns_what_was_verified(monkeypatch):
    """When no structural certificate verified and the matrix modulo two primes would exceed the
    memory budget, the stage returns the verified bounds, uncertified, saying why (no refusal after
    the work already done)."""
    src = ExplicitSource(np.array([[1, 2], [2, 4]]))
    known = RankResult(value=1, lower=1, upper=2, certified=False, method="probabilistic", shape=(2, 2))
    monkeypatch.setattr(pipeline, "memory_limit", lambda: 10)
    res = pipeline.Certifier(source=src).dense("M", "M", known=known)
    assert not res.certified and (res.lower, res.upper, res.value) == (1, 2, 1)
    assert "would need about" in res.why and "EXACTHESS_MEMORY_LIMIT_GB" in res.why
    assert "would need about" in res.how


def test_a_dense_stage_within_the_budget_certifies():
    src = ExplicitSource(np.array([[1, 2], [2, 4]]))
    known = RankResult(value=1, lower=1, upper=2, certified=False, method="probabilistic", shape=(2, 2))
    res = pipeline.Certifier(source=src).dense("M", "M", known=known)
    assert res.certified and res.value == 1


def test_a_core_of_full_rank_is_proposed_whole_and_one_that_is_not_by_its_profile():
    """The optimistic proposal of a whole core is only kept when the checker verifies it."""
    src = ExplicitSource(np.array([[2, 1, 0], [1, 2, 0], [0, 0, 0]]))
    c = pipeline.Certifier(source=src)
    whole = c._core_minor("M", (0, 1), 1048573, hinted=True)
    assert (whole.rows, whole.cols) == ((0, 1), (0, 1))
    part = c._core_minor("M", (0, 1, 2), 1048573, hinted=True)
    assert len(part.rows) == 2 and set(part.rows) <= {0, 1}


def test_a_sum_theorem_passed_to_an_explicit_rank_does_not_crash():
    """Pinned: ``exacthess reproduce float-atlas`` stopped with ``KeyError: ('sum', 'M')`` on this network: the
    bound rank H_L <= rank H_o + rank H_f (a theorem on named matrices) was handed to the rank of the
    explicit matrix, whose source has no such premise. Now it is a failed proof there, and H_L is certified
    by its kernel over Q."""
    import exacthess as eh
    arch = eh.FCN(6, (6, 6, 6, 6, 6, 2, 6, 6, 6, 6), 6, bias=True)
    report = eh.verify(arch, n_samples=12, seed=0, float_check=False, progress=False)
    assert report.rank_info["H_L"].certified and report.ranks["H_L"] == 262
