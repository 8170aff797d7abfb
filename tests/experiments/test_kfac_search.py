"""The KFAC claims are searchable: Hypothesis finds the ReLU and cross-entropy counterexamples (shrunk to
one hidden unit, or two logits, as the pinned ones) and none for deep linear networks in their settings."""

from __future__ import annotations

import pytest

import exacthess as eh
from exacthess.cli.main import main
from exacthess.core.errors import InvalidOptionError
from exacthess.experiments.claims.kfac_search import search_kfac


@pytest.mark.parametrize("claim, parts", [("kfac.relu", ("widths=(1,)", "output_dim=1", "activation='relu'")),
                                          ("kfac.cross_entropy", ("widths=()", "output_dim=2"))])
def test_the_readings_are_refuted_by_search(claim, parts):
    res = eh.search(claim, max_examples=20)
    assert res.counterexample is not None and all(p in res.counterexample.architecture for p in parts)
    assert str(res.counterexample.verdict) != "holds"


@pytest.mark.parametrize("claim", ["kfac.expand.deep_linear", "kfac.reduce.deep_linear"])
def test_the_paper_s_statements_hold_on_what_search_draws(claim, capsys):
    assert search_kfac(claim, max_examples=15).counterexample is None
    assert main(["search", claim, "--max-examples", "5"]) == 0
    assert "no counterexample" in capsys.readouterr().out


def test_unknown_claims_are_refused():
    with pytest.raises(InvalidOptionError, match="not a searchable KFAC claim"):
        search_kfac("kfac.diag")
