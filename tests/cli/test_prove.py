"""``exacthess prove``: listing, running one proof, bad input, failures (the CLI layer only;
the proofs' mathematics is checked by the proof files themselves)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import exacthess.proofs.dft_block_diagonal as dft
from exacthess.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_list(capsys):
    assert main(["prove"]) == 0
    out = capsys.readouterr().out
    for name in ("hessian_split", "linear_functional_hessian", "toeplitz_convolution", "dft_block_diagonal",
                 "outer_product_kronecker", "symmetry_null_vectors"):
        assert name in out


def test_list_json(capsys):
    assert main(["prove", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in rows} >= {"hessian_split", "dft_block_diagonal"}
    assert all(r["statement"] and r["sizes"] for r in rows)


def test_run_one_plain(capsys):
    assert main(["prove", "dft_block_diagonal"]) == 0
    cap = capsys.readouterr()
    # one outcome per paragraph, folded to 80 columns when piped
    blocks = [" ".join(b.split()) for b in ("\n" + cap.out).split("\nproven")[1:]]
    assert len(blocks) == 2 and all("sizes:" in b and "n=2" in b for b in blocks)
    assert max(len(line) for line in cap.out.splitlines()) <= 80
    assert "2 of 2 statements proven" in cap.out
    assert "proving dft_block_diagonal.test_block_diagonalisation" in cap.err  # progress when piped


def test_run_one_json_with_trailing_option(capsys):
    assert main(["prove", "dft_block_diagonal", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] and out["proofs"][0]["name"] == "dft_block_diagonal"
    assert all(o["ok"] and o["covered"] for o in out["proofs"][0]["outcomes"])


@pytest.mark.parametrize("argv, needle", [
    (["prove", "nosuch"], "proof = 'nosuch' is not a known proof"),
    (["prove", "generic", "fcn", "--input-dim", "4"], "exacthess prove generic"),
    (["prove", "dft_block_diagonal", "extra"], "arguments 'extra'"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    assert main(argv) == 2
    cap = capsys.readouterr()
    assert cap.err.strip().count("\n") == 0 and cap.err.startswith("error: ") and needle in cap.err
    if "nosuch" in argv:
        assert "hessian_split" in cap.err and "'all'" in cap.err


def test_a_failing_proof_exits_1(capsys, monkeypatch):
    def test_zz_broken():
        """a statement that does not hold"""
        assert False, "lhs - rhs is x, not 0"
    test_zz_broken.__module__ = dft.__name__
    monkeypatch.setattr(dft, "test_zz_broken", test_zz_broken, raising=False)
    assert main(["prove", "dft_block_diagonal"]) == 1
    out = capsys.readouterr().out
    assert "FAILED  dft_block_diagonal.test_zz_broken" in out and "lhs - rhs is x" in out
    assert "2 of 3 statements proven" in out


def test_script_runs_from_any_directory(tmp_path):
    """`python proofs/NAME.py` uses absolute imports only: it runs from an unrelated directory."""
    proc = subprocess.run([sys.executable, str(ROOT / "proofs" / "dft_block_diagonal.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("proven  dft_block_diagonal.") == 2
    help_ = subprocess.run([sys.executable, "-m", "exacthess", "prove", "--help"], capture_output=True, text=True)
    assert help_.returncode == 0 and "usage" in help_.stdout
