import json

import numpy as np
import pytest

from exacthess import FCN, Statement, verify
from exacthess.errors import InvalidDataError, NonFiniteError, ParamsMismatchError
from exacthess.experiments.reproduce import reproduce_notebook
from exacthess.statements import REGISTRY


def test_notebook_ranks():
    report, rows, secs = reproduce_notebook()
    assert report.ranks["H_f"] == 175 and report.ranks["H_o"] == 150 and report.ranks["H_L"] == 250
    assert report.ok and report.certified
    assert all(match for *_, match in rows)


def test_report_shape_and_json():
    r = verify(FCN(4, (3,), 2), n_samples=5, seed=3)
    for key in ("H_L", "H_o", "H_f", "H_f[:,1]", "H_f[:,2]"):
        assert isinstance(r.ranks[key], int)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["ok"] is True and d["ranks"]["H_o"] == r.ranks["H_o"]
    assert "exacthess verify fcn --input-dim 4 --widths 3 --output-dim 2" in r.command
    text = str(r)
    assert "singh2021.H_o" in text and "certified" in text
    row = next(x for x in r.rows if x.statement == "singh2021.H_o")
    assert row.float_rank == r.ranks["H_o"] and not row.float_disagrees


def test_violation_is_a_verdict(monkeypatch):
    bogus = Statement(id="test.bogus", quantity="H_o", kind="exact (generic)", relation="==",
                      formula="p", condition="never", citation="test", predict=lambda ctx: ctx.p + 1)
    monkeypatch.setitem(REGISTRY, "test.bogus", bogus)
    r = verify(FCN(2, (2,), 2), n_samples=3)
    assert not r.ok and [v.statement for v in r.violations] == ["test.bogus"]


def test_user_data_and_params():
    X = np.array([[0.5, 1.0], [0.25, -2.0], [1.0, 1.0]])
    Y = np.array([[1.0], [0.0], [2.0]])
    params = [np.array([[0.5, -1.5], [2.0, 0.75]]), np.array([[1.0, -1.0]])]
    r = verify(FCN(2, (2,), 1), data=(X, Y), params=params)
    assert r.ranks["H_o"] >= 1 and r.command == ""


@pytest.mark.parametrize("kwargs, err, match", [
    (dict(data=(np.ones((3, 3)), np.ones((3, 1)))), InvalidDataError, r"data X has shape \(3, 3\); expected \(n, 2\)"),
    (dict(data=(np.ones((3, 2)), np.ones((2, 1)))), InvalidDataError, r"data Y has shape"),
    (dict(data=(np.array([[np.nan, 1.0]]), np.ones((1, 1)))), NonFiniteError, r"data X\[0, 0\] = nan"),
    (dict(params=[np.ones((2, 2))]), ParamsMismatchError, r"params has 1 arrays; expected 2"),
    (dict(params=[np.ones((2, 3)), np.ones((1, 2))]), ParamsMismatchError, r"params\[0\] has shape \(2, 3\); expected \(2, 2\)"),
    (dict(params=np.ones(5)), ParamsMismatchError, r"params has 5 entries; expected 6"),
    (dict(n_samples=0), InvalidDataError, r"n_samples = 0 is not valid"),
    (dict(seed=-1), InvalidDataError, r"seed = -1"),
])
def test_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        verify(FCN(2, (2,), 1), **kwargs)
    assert issubclass(err, ValueError)


def test_no_statement_checked_is_not_ok_text():
    """statements=[]: ranks only; the summary says nothing was checked instead of 'OK: every statement decided'."""
    from exacthess.cli.render import summary_line
    r = verify(FCN(2, (2,), 2), n_samples=3, statements=[], float_check=False)
    assert not r.rows and summary_line(r).startswith("ranks only: no statement was checked")
