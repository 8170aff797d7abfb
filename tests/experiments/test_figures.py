"""Every figure exacthess draws, rendered from small hand-made inputs (no computation) in PNG, PDF
and SVG, and checked not to be empty: the PNG has many colours, the PDF one page, the SVG drawn
paths, every axes artists. Then the paper conventions: fits that are fitted (parameters and
residuals shown), markers that stay visible where series coincide, full family names.

Independent route: the fits are checked against data built to follow ``c x^a`` exactly, and the
files are read back with PIL and the standard library, not with matplotlib.
"""

import math
import re
import xml.etree.ElementTree as ET

import pytest
from flint import fmpq

import exacthess as eh
from exacthess.cli.float_atlas import FAMILY_TITLES, atlas_figure, plot_atlas
from exacthess.cli.main import main
from exacthess.cli.spectral import complexity_figure, plot_complexity
from exacthess.core.errors import InvalidOptionError, InvalidValueError
from exacthess.experiments.figures import check_formats, power_fit, save_figure, series_style
from exacthess.experiments.float_atlas import FAMILIES
from exacthess.experiments.gn_scaling import curvature_scaling
from exacthess.experiments.plots import plot_records, records_figure
from exacthess.experiments.trends import plot_trends, trends_figure


def record(p, rank, depth, seed=None):
    return {"sweep": "x", "job": {"family": "fcn", "input_dim": 3, "widths": [4] * depth, "output_dim": 2,
                                  "seed": p if seed is None else seed},
            "status": "ok", "error": None, "seconds": 0.5,
            "report": {"n_params": p, "ranks": {"H_L": rank}, "context": {"n": 6}}}


def trend_rows():
    rows = []
    for name, values in (("filters", (1, 2, 3, 4)), ("kernel", (1, 3, 5))):
        for v in values:
            p = 40 * v * v if name == "filters" else 60 + 20 * v
            rows.append({"sweep": name, "value": v, "p": p, "H_L": int(7 * math.sqrt(p)), "H_o": 36,
                         "H_f": int(4 * math.sqrt(p)), "bound_H_o": 36, "bound_H_f": p, "bound_H_L": p + 36})
    return rows


def atlas_summary():
    cell = lambda rate, err: {"rate": rate, "mean_abs_error": err}  # noqa: E731
    rows = [{"family": f, "depth": d, "float32": cell(0.0, 0.0), "float64": cell(0.0, 0.0)}
            for f in FAMILIES for d in (1, 2, 3)]
    rows[2]["float32"] = cell(1.0, 12.5)
    return {"by_family_depth": rows}


def conv_rows():
    rows = []
    for m in (1, 2):
        for n in (2, 4, 8):
            dense = None if (m, n) == (2, 8) else 1e-4 * (n * m) ** 3
            rows.append({"n": n, "m": m, "fft_seconds": 1e-4 * n * n * m, "dense_seconds": dense,
                         "dense_predicted_seconds": 1e-4 * (n * m) ** 3})
    return rows


@pytest.fixture(scope="module")
def scaling():
    return curvature_scaling(eh.FCN(2, (2,), 1, activation="poly(0, 1, 0, -1/3)"),
                             scales=[fmpq(1, 4), fmpq(1, 8), fmpq(1, 16)], n_samples=2)


def check_files(paths):
    """Not empty: a PNG of many colours, a one-page PDF, an SVG with drawn paths."""
    from PIL import Image
    by = {p.suffix: p for p in paths}
    assert set(by) == {".png", ".pdf", ".svg"}
    with Image.open(by[".png"]) as im:
        assert im.size[0] > 800 and im.size[1] > 500
        assert len(im.convert("RGB").getcolors(1 << 24)) > 50
    pdf = by[".pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    assert b"CreationDate" not in pdf  # the same figure gives the same bytes
    root = ET.parse(by[".svg"]).getroot()
    assert len([e for e in root.iter() if e.tag.endswith("path") or e.tag.endswith("use")]) > 50


def check_axes(fig):
    for ax in fig.axes:
        assert len(ax.lines) + len(ax.collections) + len(ax.patches) > 0


FORMATS = ("png", "pdf", "svg")


def test_every_figure_renders_in_every_format(tmp_path, scaling):
    recs = [record(p, int(3 * p ** 0.6), d) for d, ps in ((1, (16, 64, 256)), (2, (25, 100, 400))) for p in ps]
    for fmt in FORMATS:
        plot_records(recs, "p", "H_L", by="depth", path=tmp_path / f"records.{fmt}")
    check_files([tmp_path / f"records.{fmt}" for fmt in FORMATS])
    check_files(plot_trends(trend_rows(), tmp_path / "trends", FORMATS))
    check_files(plot_atlas(atlas_summary(), tmp_path / "atlas", FORMATS))
    check_files(plot_complexity(conv_rows(), tmp_path / "conv", FORMATS))
    check_files(save_figure(scaling.figure(), tmp_path / "scaling", FORMATS))
    assert scaling.plot(tmp_path / "s.svg").endswith("s.svg")
    for fig in (trends_figure(trend_rows()), atlas_figure(atlas_summary()), complexity_figure(conv_rows()),
                scaling.figure()):
        check_axes(fig)


def test_power_fit_recovers_exact_laws():
    f = power_fit([2, 8, 32, 128], [3 * x ** 0.75 for x in (2, 8, 32, 128)])
    assert (f.c, f.a, f.free, f.points) == (pytest.approx(3), pytest.approx(0.75), True, 4) and f.rms < 1e-12
    g = power_fit([4, 16, 64], [6, 12, 24], exponent=0.5)
    assert (g.c, g.a, g.free) == (pytest.approx(3), 0.5, False) and g.label("p") == r"$3\,\sqrt{p}$"
    h = power_fit([1, 4], [1, 4], exponent=0.5)  # log c = mean(0, log 2): c = sqrt 2, off by 1/sqrt 2 and sqrt 2
    r = math.sqrt(2)
    assert h.c == pytest.approx(r) and h.worst == pytest.approx(r - 1)
    assert h.rms == pytest.approx(math.sqrt(((1 / r - 1) ** 2 + (r - 1) ** 2) / 2))
    assert power_fit([5, 5], [1, 2]) is None and power_fit([0, -1], [1, 1], exponent=0.5) is None
    assert power_fit([1, 10], [1e-6, 1e-5]).label("p") == r"$1\times10^{-6}\,p^{1}$"


def test_plot_records_fits_shows_parameters_and_residuals(tmp_path):
    recs = [record(p, int(round(2 * p ** 0.7)), 1) for p in (10, 40, 160, 640)]
    fits = plot_records(recs, "p", "H_L", path=tmp_path / "f.png")
    fit = fits["all"]
    assert fit["power"]["a"] == pytest.approx(0.7, abs=0.01) and fit["sqrt"]["rms"] > 0.1 > fit["power"]["rms"]
    assert fit["c"] == fit["sqrt"]["c"]
    fig, _ = records_figure(recs, "p", "H_L")
    main_ax, res_sqrt, res_power = fig.axes
    text = " ".join(t.get_text() for t in fig.legends[0].get_texts())
    assert f"{fit['power']['a']:.3g}" in text and "rms error" in text and f"{fit['sqrt']['c']:.3g}" in text
    assert "residual" in res_sqrt.get_ylabel() and len(res_power.lines) == 2  # the residuals and the zero line
    assert main_ax.get_xscale() == "log" and main_ax.get_yscale() == "log"
    only = plot_records(recs, "p", "H_L", path=tmp_path / "g.png", fit="sqrt")["all"]
    assert only["power"] is None and only["sqrt"] is not None
    with pytest.raises(InvalidOptionError, match="fit = 'cubic'"):
        plot_records(recs, "p", "H_L", fit="cubic")


def test_coinciding_series_stay_visible():
    # two series with the same points: different shapes, hollow, the later one smaller (nested)
    a, b = series_style(0, 2), series_style(1, 2)
    assert a["marker"] != b["marker"] and a["markersize"] > b["markersize"] and a["markerfacecolor"] == "none"
    assert min(a["zorder"], b["zorder"]) > 2  # above fit and reference lines
    recs = [record(p, 10, d, seed=k) for d in (1, 2) for p in (16, 64) for k in (0, 1)]
    fig, _ = records_figure(recs, "p", "H_L", "depth", fit="none")
    ax = fig.axes[0]
    marks = [ln for ln in ax.lines if ln.get_marker() not in ("None", None, "")]
    assert len({ln.get_marker() for ln in marks}) == 2
    assert sorted(t.get_text() for t in ax.texts) == ["×2"] * 4  # each point twice per series


def test_cnn_trends_bounds_under_exact_ranks():
    fig = trends_figure(trend_rows())
    ax = fig.axes[0]
    bands = [ln for ln in ax.lines if "bound" in (ln.get_label() or "")]
    exact = [ln for ln in ax.lines if "(exact)" in (ln.get_label() or "")]
    assert len(bands) == 3 and len(exact) == 3
    assert max(b.get_zorder() for b in bands) < min(e.get_zorder() for e in exact)
    assert min(b.get_linewidth() for b in bands) > 3 * max(e.get_linewidth() for e in exact)
    legend = " ".join(t.get_text() for t in fig.axes[2].get_legend().get_texts())  # residuals of the filters
    assert "rms error" in legend and r"\sqrt{p}" in legend


def test_atlas_titles_name_each_family_in_full():
    fig = atlas_figure(atlas_summary())
    titles = [ax.get_title() for ax in fig.axes[:len(FAMILIES)]]
    for fam, title in zip(FAMILIES, titles):
        assert " ".join(title.split()) == f"{FAMILY_TITLES[fam]} ({fam})"
        assert max(len(line) for line in title.splitlines()) <= 24
    f32, f64 = fig.axes[0].lines[:2]
    assert f32.get_markersize() > f64.get_markersize() and f32.get_markerfacecolor() == "none"


def test_formats_are_checked():
    assert check_formats("png, PDF,svg,png") == ("png", "pdf", "svg")
    assert check_formats(["svg"]) == ("svg",)
    for bad in ("bmp", "", "png,,pdf", 3, ()):
        with pytest.raises(InvalidOptionError, match="expected a comma-separated list of png, pdf, svg"):
            check_formats(bad, "--format")
    with pytest.raises(InvalidValueError):
        complexity_figure([])


@pytest.mark.parametrize("target", [["cnn-trends", "--quick"], ["float-atlas", "--quick"], ["conv-sv"],
                                    ["approx-chain-rule"]])
def test_reproduce_refuses_a_bad_format_before_any_work(target, tmp_path, capsys):
    assert main(["reproduce", *target, "--out", str(tmp_path / "o"), "--format", "png,jpeg"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --format = 'png,jpeg' ") and err.strip().count("\n") == 0
    assert not (tmp_path / "o").exists()
