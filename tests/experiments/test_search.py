import json
import shlex

import pytest

from exacthess.errors import UnknownStatementError
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
    args = shlex.split(ce.command)[1:]
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


def test_search_does_not_swallow_errors_raised_inside_verify(tmp_path, monkeypatch):
    """Only the statement's own verdict is a counterexample: an AssertionError (or any other
    exception) raised while verifying propagates out of search."""
    import exacthess.verification.pipeline as verify_module

    def broken(*args, **kwargs):
        raise AssertionError("internal check failed inside verify")
    monkeypatch.setattr(verify_module, "verify", broken)
    with pytest.raises(AssertionError, match="internal check failed"):
        search("singh2023.thm1", max_examples=3, seed=0, database=str(tmp_path))

    def crash(*args, **kwargs):
        raise ZeroDivisionError("boom")
    monkeypatch.setattr(verify_module, "verify", crash)
    with pytest.raises(ZeroDivisionError, match="boom"):
        search("subadditivity", max_examples=3, seed=0, database=str(tmp_path / "b"))


def test_load_all_does_not_hide_import_errors(monkeypatch):
    import builtins

    import exacthess.statements as statements
    real_import = builtins.__import__

    def failing(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 1 and fromlist and "singh2023" in fromlist:
            raise ImportError("broken statement module")
        return real_import(name, globals, locals, fromlist, level)
    monkeypatch.setattr(builtins, "__import__", failing)
    with pytest.raises(ImportError, match="broken statement module"):
        statements.load_all()
