import json

import pytest

from exacthess import UnknownStatementError
from exacthess.cli.main import main
from exacthess.experiments.search import search


def test_search_shrinks_a_counterexample_and_replays_it(tmp_path):
    db = str(tmp_path / "db")
    res = search("singh2023.thm1.equality", max_examples=60, seed=0, database=db)
    ce = res.counterexample
    assert ce is not None and ce.rows[0].verdict == "VIOLATED"
    assert ce.arch.n_params <= 12  # shrunk to a tiny network
    assert ce.certified
    # the proven bound is checked separately at the counterexample, and holds
    assert any(r.statement == "singh2023.thm1" and r.verdict == "holds" for r in ce.related)
    # the command reproduces it (exit 1: a statement is violated)
    args = ce.command.split()[1:]
    assert main(args) == 1
    # a rerun replays the stored counterexample first
    again = search("singh2023.thm1.equality", max_examples=1, seed=123, database=db)
    assert again.counterexample is not None


def test_search_without_counterexample(tmp_path, capsys):
    res = search("singh2023.thm1", max_examples=8, seed=1, database=str(tmp_path))
    assert res.counterexample is None and res.examples >= 8
    code = main(["search", "subadditivity", "--max-examples", "5", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["counterexample"] is None


def test_unknown_statement_lists_known_ids(capsys):
    with pytest.raises(UnknownStatementError, match="singh2023.thm1"):
        search("singh2023.nope")
    assert main(["search", "nope"]) == 2
    assert "expected one of" in capsys.readouterr().err
