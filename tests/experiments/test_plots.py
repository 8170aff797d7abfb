"""exacthess plot: trends drawn from a sweep's results file, and the square-root law fit.

Independent route: records built by hand with ranks that follow c * sqrt(p) exactly (the fit
must return c), and the closed form of the least-squares fit on the log scale.
"""

import json
import math

import pytest

from exacthess.cli.main import main
from exacthess.core.errors import InvalidValueError
from exacthess.experiments.plots import plot_records, sqrt_law, value


def record(p, rank, depth, status="ok"):
    """A hand-made record; the seed tells the jobs apart (a reader keeps the newest record of a job)."""
    return {"sweep": "x", "job": {"family": "fcn", "input_dim": 3, "widths": [4] * depth, "output_dim": 2, "seed": p},
            "status": status, "error": None if status == "ok" else "boom", "seconds": 0.5,
            "report": None if status != "ok" else {"n_params": p, "ranks": {"H_L": rank}, "context": {"n": 6}}}


def test_sqrt_law_recovers_c_from_exact_square_root_data():
    assert sqrt_law([1, 4, 9, 100], [3, 6, 9, 30]) == pytest.approx(3.0, rel=1e-12)
    # least squares on the log scale: c = geometric mean of y / sqrt(p)
    xs, ys = [10, 40, 90], [7, 11, 40]
    expected = math.prod(y / math.sqrt(x) for x, y in zip(xs, ys)) ** (1 / 3)
    assert sqrt_law(xs, ys) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(InvalidValueError):
        sqrt_law([0], [0])


def test_values_of_a_record():
    r = record(64, 24, 2)
    assert (value(r, "p"), value(r, "H_L"), value(r, "depth"), value(r, "width"), value(r, "samples"),
            value(r, "input_dim"), value(r, "seconds")) == (64, 24, 2, 4, 6, 3, 0.5)


def test_plot_command_fits_each_series(tmp_path, capsys):
    recs = [record(p, 2 * math.isqrt(p), 1) for p in (16, 64, 256)]
    recs += [record(p, 5 * math.isqrt(p), 2) for p in (25, 100)] + [record(9, 1, 2, status="error")]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs) + '{"partial')
    assert main(["plot", str(path), "--x", "p", "--y", "H_L", "--by", "depth"]) == 0
    out = capsys.readouterr().out
    assert "depth = 1: 3 points; fitted H_L ~ 2 sqrt(p)" in out and "depth = 2: 2 points; fitted H_L ~ 5 sqrt(p)" in out
    assert "1 records without status ok were left out" in out
    assert (tmp_path / "r_H_L_vs_p_by_depth.png").stat().st_size > 10_000
    fits = plot_records(recs, "depth", "H_L", path=tmp_path / "d.png")
    assert fits == {"all": {"points": 5, "c": None, "sqrt": None, "power": None}}


def test_plot_bad_keys_exit_2_in_one_line(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record(16, 8, 1)) + "\n")
    for args, words in ((["--y", "H_X"], "known keys: p"), (["--x", "widths"], "not a number")):
        assert main(["plot", str(path), *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.strip().count("\n") == 0 and words in err
    assert main(["plot", str(tmp_path / "none.jsonl")]) == 2


def test_plot_out_with_an_unsupported_extension_exits_2_in_one_line(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(record(16, 8, 1)) + "\n")
    for name, words in (("out.txt", "has extension '.txt'"), ("out", "has no extension")):
        assert main(["plot", str(path), "--out", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --out = ") and err.strip().count("\n") == 0 and words in err
        assert ".png" in err and ".svg" in err and not (tmp_path / name).exists()
    assert main(["plot", str(path), "--out", str(tmp_path / "out.svg")]) == 0
    assert (tmp_path / "out.svg").read_text().lstrip().startswith("<?xml")


def test_plot_fit_option_and_vector_output(tmp_path, capsys):
    recs = [record(p, round(3 * p ** 0.75), 1) for p in (16, 81, 256, 625)]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    assert main(["plot", str(path), "--out", str(tmp_path / "f.pdf")]) == 0
    out = capsys.readouterr().out
    assert "all: 4 points; fitted H_L ~ " in out and "rms relative error" in out
    assert "  free exponent: H_L ~ 3 p^0.750, rms relative error 0.0%" in out
    pdf = (tmp_path / "f.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    assert main(["plot", str(path), "--fit", "power", "--out", str(tmp_path / "g.png")]) == 0
    assert "sqrt(p)" not in capsys.readouterr().out
    assert main(["plot", str(path), "--fit", "cubic"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--fit" in err and err.strip().count("\n") == 0
