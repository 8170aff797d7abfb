"""Each registered FCN statement holds on random architectures (property tests)."""

import pytest
from hypothesis import given, strategies as st

from exacthess import FCN, get_statement, verify, UnknownStatementError
from exacthess.strategies import fcn_architectures

SINGH2021 = ["singh2021.H_o", "singh2021.H_f", "singh2021.H_f.bound", "singh2021.H_L", "subadditivity"]


@pytest.mark.parametrize("sid", SINGH2021)
@given(arch=fcn_architectures(max_size=6, max_depth=3), n_frac=st.floats(0.1, 2.5), seed=st.integers(0, 10**6))
def test_singh2021_statement_holds(sid, arch, n_frac, seed):
    n = max(1, round(n_frac * arch.input_dim))  # fewer and more samples than input dims
    report = verify(arch, n_samples=n, seed=seed, statements=[sid], float_check=False)
    rows = [r for r in report.rows if r.statement == sid]
    assert rows and all(r.verdict in ("holds", "n/a") for r in rows), report


def test_bottleneck_and_wide_output_cases():
    # bottleneck width 1, output larger than widths, fewer samples than input dims
    for arch, n in [(FCN(6, (1, 4), 5), 3), (FCN(3, (2, 2), 6), 10), (FCN(5, (3,), 2), 2)]:
        report = verify(arch, n_samples=n, seed=1, float_check=False)
        assert report.ok, report
        assert all(r.verdict == "holds" for r in report.rows if r.statement.startswith("singh2021"))


def test_registry_metadata_and_unknown_ids():
    st_ = get_statement("singh2021.H_o")
    assert st_.kind == "exact (generic)" and "NeurIPS 2021" in st_.citation
    with pytest.raises(UnknownStatementError, match="singh2021.H_o"):
        get_statement("singh2099.nope")


def test_known_bias_values():
    # FORMULAS.md: d = 25, widths (5, 10), K = 10, n = 50 with biases: 160 / 190 / 280
    report = verify(FCN(25, (5, 10), 10, bias=True), n_samples=50, seed=2, float_check=False)
    assert (report.ranks["H_o"], report.ranks["H_f"], report.ranks["H_L"]) == (160, 190, 280)
    assert any("no published" in n for n in report.notes)
