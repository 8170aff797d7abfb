"""The verify / reproduce command-line pieces, driven through argparse."""

import argparse
import json

import numpy as np

from exacthess.cli.spectral import configure_reproduce, configure_verify, run_reproduce, run_verify


def _verify(argv):
    return run_verify(configure_verify(argparse.ArgumentParser()).parse_args(argv))


def test_verify_holds_json(capsys):
    assert _verify(["--kernel-shape", "2,3,3,3", "--input", "4,4", "--seed", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["holds"] and out["certified"]
    lo, hi = out["sigma_max_enclosure"]
    assert lo <= out["sigma_max"] <= hi
    assert out["dense_seconds"] is not None


def test_verify_rich_and_stride(capsys):
    assert _verify(["--kernel-shape", "2,2,3,3", "--input", "4,6", "--stride", "2"]) == 0
    assert "HOLDS" in capsys.readouterr().out


def test_verify_zero_padding_exit_1(capsys):
    assert _verify(["--kernel-shape", "1,2,3", "--input", "5", "--padding", "1", "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert not out["holds"] and out["differing_eigenvalues"] > 0


def test_verify_npy_kernel(tmp_path, capsys):
    f = tmp_path / "k.npy"
    np.save(f, np.arange(12, dtype=float).reshape(2, 2, 3))
    assert _verify(["--kernel", str(f), "--input", "2"]) == 0


def test_verify_bad_input(capsys, tmp_path):
    assert _verify(["--kernel-shape", "2,2,3,3", "--input", "5,5", "--stride", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stride[0] = 2 does not divide") and err.count("\n") == 1
    assert _verify(["--kernel-shape", "2,x", "--input", "5"]) == 2
    assert "kernel-shape" in capsys.readouterr().err
    assert _verify(["--kernel-shape", "2,2", "--input", "5"]) == 2
    assert _verify(["--kernel", str(tmp_path / "missing.npy")]) == 2
    assert _verify(["--padding", "same"]) == 2
    assert "padding" in capsys.readouterr().err


def test_reproduce_writes_outputs(tmp_path, capsys):
    args = configure_reproduce(argparse.ArgumentParser()).parse_args(
        ["--out", str(tmp_path / "o"), "--max-n", "4", "--max-m", "2", "--format", "png,svg"]
    )
    assert run_reproduce(args) == 0
    assert (tmp_path / "o" / "conv_sv_complexity.svg").read_text().lstrip().startswith("<?xml")
    rows = json.loads((tmp_path / "o" / "conv_sv_complexity.json").read_text())
    assert {(r["n"], r["m"]) for r in rows} == {(2, 1), (4, 1), (2, 2), (4, 2)}
    assert all(r["max_abs_difference"] < 1e-9 for r in rows if r["dense_seconds"] is not None)
    assert (tmp_path / "o" / "conv_sv_complexity.png").stat().st_size > 1000
    assert "dense" in capsys.readouterr().out


def test_reproduce_bad_input(tmp_path, capsys):
    args = configure_reproduce(argparse.ArgumentParser()).parse_args(["--out", str(tmp_path), "--max-n", "1"])
    assert run_reproduce(args) == 2
    assert capsys.readouterr().err.startswith("error: max-n")


def test_verify_refuses_bad_numbers(capsys):
    for argv, word in ((["--seed", "-1"], "seed = -1"), (["--kernel-shape", "2,,2,3,3"], "empty entry"),
                       (["--kernel-shape", "2,0,3,3"], "kernel-shape"), (["--input", "4,-4"], "input"),
                       (["--kernel-shape", "100000,100000,3,3"], "GiB")):
        assert _verify(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and word in err


def test_reproduce_refuses_bad_numbers(tmp_path, capsys):
    for argv, word in ((["--dense-limit", "-1"], "dense-limit = -1"), (["--dense-limit", "nan"], "dense-limit"),
                       (["--max-m", "0"], "max-m"), (["--max-n", "100000", "--max-m", "512"], "memory")):
        args = configure_reproduce(argparse.ArgumentParser()).parse_args(["--out", str(tmp_path)] + argv)
        assert run_reproduce(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and word in err


def test_progress_lines_when_piped():
    """Plain lines on a non-terminal stream for steps longer than the quiet period."""
    import io
    import time

    from exacthess.cli.spectral import ProgressReporter

    out = io.StringIO()
    with ProgressReporter(out, rich=False, quiet_seconds=0.0, every=0.05) as prog:
        with prog.step("dense SVD"):
            prog("dense SVD: half way")
            time.sleep(0.3)
        with ProgressReporter(io.StringIO(), rich=False) as quiet, quiet.step("fast"):
            pass
    lines = out.getvalue().splitlines()
    assert lines and all(line.startswith("[conv-sv] ") for line in lines)
    assert any("half way" in line for line in lines) and lines[-1].startswith("[conv-sv] dense SVD: done in")


def test_verify_shows_progress_when_piped(capsys, monkeypatch):
    from exacthess.cli import spectral as cli

    real = cli.ProgressReporter.__init__

    def eager(self, stream=None, **kw):
        real(self, stream, rich=False, quiet_seconds=0.0, every=0.01)

    monkeypatch.setattr(cli.ProgressReporter, "__init__", eager)
    assert _verify(["--kernel-shape", "2,2,3,3", "--input", "4,4", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["holds"]
    assert "[conv-sv] exact check" in captured.err and "dense SVD" in captured.err
