"""FCN statements on random architectures, registry metadata and the sources of every citation."""

import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from exacthess import FCN, verify
from exacthess.errors import UnknownStatementError
from exacthess.statements import get_statement
from exacthess.core.errors import InvalidOptionError, InvalidTypeError
from exacthess.statements import REGISTRY, Kind, Relation, load_all, statements_for
from exacthess.strategies import fcn_architectures

ROOT = Path(__file__).resolve().parents[2]
FCN_STATEMENTS = sorted(s.id for s in statements_for("fcn"))


@pytest.mark.parametrize("sid", FCN_STATEMENTS)
@given(arch=fcn_architectures(max_size=6, max_depth=3, bias=None), n_frac=st.floats(0.1, 2.5),
       seed=st.integers(0, 10**6))
def test_fcn_statement_is_false_only_where_a_counterexample_is_pinned(sid, arch, n_frac, seed):
    """Published statements (singh2021.*) and exacthess's proven bounds are never found false, at
    any point (a rank below a generic formula at a degenerate point is judged at random points);
    the conjectures found false carry their pinned counterexample."""
    n = max(1, round(n_frac * arch.input_dim))  # fewer and more samples than input dims
    report = verify(arch, n_samples=n, seed=seed, statements=[sid], float_check=False)
    stmt = REGISTRY[sid]
    assert report.rows
    for row in report.rows:
        if row.verdict in ("VIOLATED", "refuted"):
            assert stmt.counterexamples, f"{sid}: {row}\nreproduce: {report.command}"
        if sid.startswith("singh2021") or stmt.kind in (Kind.PROVEN_BOUND,):
            assert row.verdict in ("holds", "n/a"), (row, report.command)


def test_bottleneck_and_wide_output_cases():
    # bottleneck width 1, output larger than widths, fewer samples than input dims
    for arch, n in [(FCN(6, (1, 4), 5), 3), (FCN(3, (2, 2), 6), 10), (FCN(5, (3,), 2), 2)]:
        report = verify(arch, n_samples=n, seed=1, float_check=False)
        assert report.ok and report.decided, report
        assert all(r.verdict == "holds" for r in report.rows
                   if r.statement.startswith("singh2021") and not r.statement.startswith("singh2021.ce"))


def test_registry_metadata_and_unknown_ids():
    st_ = get_statement("singh2021.H_o")
    assert st_.kind == Kind.EXACT_GENERIC and st_.kind == "exact (generic)" and st_.generic
    assert st_.relation is Relation.EQ and str(st_.relation) == "=="
    assert "NeurIPS 2021" in st_.citation
    with pytest.raises(UnknownStatementError, match="singh2021.H_o"):
        get_statement("singh2099.nope")
    with pytest.raises(InvalidTypeError, match="statement id"):
        get_statement(3)
    assert {str(k) for k in Kind} == {"exact (generic)", "proven upper bound", "claimed equality", "derived",
                                      "conjecture"}


def test_verify_rejects_unknown_and_foreign_statement_ids():
    """An unknown id is an error listing the known ones (it used to check nothing and report ok)."""
    with pytest.raises(UnknownStatementError, match=r"'nope' is not known; expected one of: .*singh2021\.H_o"):
        verify(FCN(2, (2,), 1), statements=["nope"])
    with pytest.raises(InvalidOptionError, match="is about cnn networks, not fcn"):
        verify(FCN(2, (2,), 1), statements=["singh2023.thm1"])
    with pytest.raises(InvalidTypeError, match="not a list of statement ids"):
        verify(FCN(2, (2,), 1), statements="singh2021.H_o")


def test_known_bias_values():
    # Known exact values with biases: d = 25, widths (5, 10), K = 10, n = 50: 160 / 190 / 280
    report = verify(FCN(25, (5, 10), 10, bias=True), n_samples=50, seed=2, float_check=False)
    assert (report.ranks["H_o"], report.ranks["H_f"], report.ranks["H_L"]) == (160, 190, 280)
    assert any("no published" in n for n in report.notes)


def test_every_citation_points_to_the_references_in_the_repository():
    """Printed sources name an entry of docs/references.md; no statement or module cites files
    that are not in the repository."""
    load_all()
    refs = (ROOT / "docs" / "references.md").read_text()
    anchors = set(re.findall(r"^### \[([a-z0-9-]+)\]", refs, flags=re.M))
    assert {"singh2021", "singh2023", "sedghi2019", "skorski2021", "notebook", "thread", "exacthess-obs",
            "exacthess-derived"} <= anchors
    statements_doc = (ROOT / "docs" / "statements.md").read_text()
    for s in REGISTRY.values():
        keys = re.findall(r"\[([a-z0-9-]+)\]", s.citation)
        assert keys and set(keys) <= anchors, (s.id, s.citation)
        assert "docs/references.md" in s.citation, s.id
        assert f"`{s.id}`" in statements_doc, f"{s.id} missing from docs/statements.md"
    for path in (ROOT / "exacthess").rglob("*.py"):
        text = path.read_text()
        assert "FORMULAS.md" not in text and not re.search(r"\b00\d_[0-9a-f]{16}\.txt", text), path


def test_a_statement_added_in_one_module_is_judged_at_points_generically_and_in_search(tmp_path):
    """docs/architecture.md's recipe, followed once: ``singh2023.related_work.H_o`` (the ICML 2023
    slides quoting rank H_o = q (d + K - q)) is registered in statements/singh2023.py and listed in
    docs/statements.md, nothing else; verify, prove_generic and search judge it through judge()."""
    from exacthess import search
    from exacthess.generic import prove_generic
    sid = "singh2023.related_work.H_o"
    assert get_statement(sid).family == ("fcn",)
    arch = FCN(4, (3,), 2)  # q = 2: q (d + K - q) = 8
    [row] = verify(arch, n_samples=8, statements=[sid], float_check=False).rows
    assert (row.exact, row.predicted, row.verdict) == (8, 8, "holds")
    [row] = verify(arch, n_samples=2, statements=[sid], float_check=False).rows  # r = 2 < d: the slides' d is r
    assert row.verdict == "n/a" and "r = rank(Sigma_xx) = 2 < d = 4" in row.note
    checks = {c.statement: c for c in prove_generic(arch, 8).checks}
    assert (checks[sid].verdict, checks[sid].predicted) == ("holds", (8, 8))
    below = {c.statement: c for c in prove_generic(arch, 3).checks}[sid]  # fewer samples than d
    assert (below.verdict, below.outside) == ("n/a", "refuted")  # the formula with d is false when r < d
    res = search(sid, max_examples=5, database=str(tmp_path))
    assert res.counterexample is None and res.examples == 5
