import json

from exacthess.cli.main import main


def test_cnn_trends_quick(tmp_path, capsys):
    assert main(["reproduce", "cnn-trends", "--quick", "--out", str(tmp_path), "--format", "pdf,png"]) == 0
    rows = json.loads((tmp_path / "cnn_trends.json").read_text())
    assert (tmp_path / "cnn_trends.png").stat().st_size > 10_000
    assert (tmp_path / "cnn_trends.pdf").read_bytes()[:4] == b"%PDF"
    filt = [r for r in rows if r["sweep"] == "filters"]
    assert [r["value"] for r in filt] == [1, 2, 3, 4]
    for r in rows:
        assert r["H_L"] <= r["H_o"] + r["H_f"] <= r["p"] + r["p"]
        assert r["H_o"] <= r["bound_H_o"] and r["H_L"] <= r["bound_H_L"]
    # growing the filters grows p faster than the rank (square-root trend)
    assert filt[-1]["p"] / filt[0]["p"] > filt[-1]["H_L"] / filt[0]["H_L"]
