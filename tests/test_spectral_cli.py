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
        ["--out", str(tmp_path / "o"), "--max-n", "4", "--max-m", "2"]
    )
    assert run_reproduce(args) == 0
    rows = json.loads((tmp_path / "o" / "conv_sv_complexity.json").read_text())
    assert {(r["n"], r["m"]) for r in rows} == {(2, 1), (4, 1), (2, 2), (4, 2)}
    assert all(r["max_abs_difference"] < 1e-9 for r in rows if r["dense_seconds"] is not None)
    assert (tmp_path / "o" / "conv_sv_complexity.png").stat().st_size > 1000
    assert "dense" in capsys.readouterr().out


def test_reproduce_bad_input(tmp_path, capsys):
    args = configure_reproduce(argparse.ArgumentParser()).parse_args(["--out", str(tmp_path), "--max-n", "1"])
    assert run_reproduce(args) == 2
    assert capsys.readouterr().err.startswith("error: max-n")
