"""``exacthess reproduce float-atlas --quick``: the grid, the summary and the files.

Routes: the grid is checked against the documented families (parameter counts recomputed by
hand); the summary is recounted from the per-network records; the exact ranks of the
equal-width FCN with one hidden layer are Singh et al. 2021's formulas evaluated by hand, and
the Hessian of the deep equal-width FCN is full rank (certified).
"""

import json

import pytest

from exacthess.cli.main import main
from exacthess.experiments.float_atlas import FAMILIES, MATRICES, atlas_grid, compare, summarise


def test_full_grid_is_the_documented_one():
    grid = atlas_grid()
    assert len(grid) == 62 and {c["family"] for c in grid} == set(FAMILIES)
    fcn = [c for c in grid if c["family"].startswith("fcn")]
    assert sorted({c["depth"] for c in fcn}) == list(range(1, 11))
    assert {c["bias"] for c in grid} == {False, True}
    by = {(c["family"], c["depth"], c["bias"]): c["arch"] for c in grid}
    assert by[("fcn-equal", 10, False)].n_params == 8 * 8 * 11
    assert by[("fcn-bottleneck", 3, False)].n_params == 6 * 6 + 6 * 2 + 2 * 6 + 6 * 6  # widths (6, 2, 6)
    assert by[("cnn1d", 2, False)].n_params == 4 * 3 + 4 * 4 * 3 + 4 * 4 * 20  # 24 -> 22 -> 20
    assert by[("cnn2d", 1, True)].n_params == 2 * 9 + 2 + 3 * 2 * 81 + 3  # 11x11 -> 9x9


def test_compare_uses_proven_bounds():
    assert compare(5, 5, 5, True, 5) == ("agrees", 0)
    assert compare(5, 5, 5, True, None) == ("wrong", None)
    assert compare(5, 5, 8, False, 6) == ("undecided", None)
    assert compare(5, 5, 8, False, 9) == ("wrong", 1)


def test_quick_atlas_cli(tmp_path, capsys):
    assert main(["reproduce", "float-atlas", "--quick", "--out", str(tmp_path), "--format", "png,pdf"]) == 0
    out = capsys.readouterr().out
    assert "float32" in out and "float64" in out and "fcn-equal" in out
    assert "float_atlas.png, " in out and "float_atlas.pdf" in out
    data = json.loads((tmp_path / "float_atlas.json").read_text())
    assert (tmp_path / "float_atlas.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "float_atlas.pdf").read_bytes()[:4] == b"%PDF"
    recs = data["records"]
    assert len(recs) == len(atlas_grid(quick=True)) == 7
    assert all(all(r["certified"].values()) for r in recs)
    # FCN(8, (8,), 8), n = 16: r = K = q = s = 8, L = 1. Singh et al. 2021: rank H_o = q (r + K - q) = 64,
    # rank H_f = 2 q m_1 + 2 q s - 2 q^2 = 128, rank H_L = 2 q m_1 - 2 q^2 + q (r + K) = 128.
    one = next(r for r in recs if r["family"] == "fcn-equal" and r["depth"] == 1)
    assert one["exact"] == {"H_L": 128, "H_o": 64, "H_f": 128}
    deep = next(r for r in recs if r["family"] == "fcn-equal" and r["depth"] == 5)
    assert deep["exact"]["H_L"] == deep["n_params"] == 384
    # the measured finding: float64 right everywhere on this grid, float32 wrong on the deep FCN
    assert all(r["float64"] == r["exact"] for r in recs)
    assert deep["float32"]["H_L"] < 384
    # the summary is a recount of the records
    again = summarise(recs)
    assert again == data["summary"]
    for dt in ("float32", "float64"):
        wrong = sum(1 for r in recs for m in MATRICES if r[dt][m] != r["exact"][m])
        assert data["summary"]["overall"][dt]["disagreements"] == wrong


@pytest.mark.parametrize("args, match", [(["--seeds", "a"], "--seeds = 'a'"), (["--seeds", "-1"], "seeds")])
def test_bad_seeds_exit_2(args, match, capsys, tmp_path):
    assert main(["reproduce", "float-atlas", "--quick", "--out", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert match in err and err.strip().count("\n") == 0
