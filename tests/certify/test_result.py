"""RankResult: built by keyword, derived by dataclasses.replace."""

from dataclasses import replace

import pytest

from exacthess.certify.result import RankResult


def test_rank_results_are_built_by_keyword_only():
    with pytest.raises(TypeError):
        RankResult(2, 2, 2, True, "full", (2, 3))
    r = RankResult(value=2, lower=1, upper=3, certified=False, method="probabilistic", shape=(3, 3),
                   failure_bound=1e-9, why="needs more primes")
    assert r.how == "probabilistic: proven 1 <= rank <= 3; P(rank != 2) <= 1.0e-09; needs more primes"
    done = replace(r, lower=2, upper=2, certified=True, method="full", failure_bound=0.0, why="")
    assert (done.value, done.how, int(done)) == (2, "certified: full rank mod p", 2)
