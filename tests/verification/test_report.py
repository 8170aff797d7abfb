"""A report explains itself: its context line is followed by a legend of its symbols, its ``repr`` is a
few lines (the full text is ``str(report)`` / ``report.text``).

Independent route: the symbols are read off the printed context line itself (every ``name = value``
whose name is a single letter), not from the legend's table.
"""

import re

import pytest

import exacthess as eh
from exacthess.cli.main import main


def _report():
    return eh.verify(eh.FCN(3, (2,), 2), n_samples=4, float_check=False)


def test_repr_is_a_few_lines_and_points_to_the_full_text():
    report = _report()
    text = repr(report)
    assert len(text.splitlines()) <= 5 and len(text) < 600
    assert "H_L=10" in text and "print(report)" in text
    assert report.text == str(report) and "context:" in report.text and len(report.text) > len(text)


def _context_and_legend(text: str) -> tuple[str, str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("context:"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("where "))
    stop = next(i for i in range(end, len(lines)) if lines[i].startswith("ranks") or lines[i].startswith("┏"))
    return " ".join(" ".join(lines[start:end]).split()), " ".join(" ".join(lines[end:stop]).split())


def test_every_symbol_of_the_context_line_is_defined_under_it():
    context, legend = _context_and_legend(_report().text)
    symbols = re.findall(r"(?:^context:|,) ([A-Za-z]) = ", context)
    assert {"r", "s", "q", "K", "n", "p"} <= set(symbols)
    for sym in symbols:
        assert re.search(rf"(where |, ){sym} = [a-z]", legend), (sym, legend)


def test_the_command_line_report_carries_the_legend(capsys):
    main(["verify", "fcn", "--input-dim", "2", "--widths", "2", "--output-dim", "2", "--samples", "3", "--no-float"])
    out = " ".join(capsys.readouterr().out.split())
    assert "r = rank of the data" in out and "q = min(r, K, m_1..m_L)" in out


def test_rows_are_built_by_keyword_only():
    """A row names its fields: a positional one would silently shift them when a field is added."""
    from exacthess.verification.report import Row
    with pytest.raises(TypeError):
        Row("s", "H_o", "published", 1, 1, "=", "holds", "")
    row = Row(statement="s", quantity="H_o", kind="published", exact=1, predicted=1, relation="=", verdict="holds",
              how="", float_ranks={"float32": 1, "float64": 2}, float_rank=2, float_disagrees=True)
    assert row.to_dict()["float_ranks"] == {"float32": 1, "float64": 2}
    assert list(row.to_dict())[:3] == ["statement", "quantity", "kind"]
