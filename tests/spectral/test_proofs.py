"""The sympy proof script for the DFT block diagonalisation."""

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "proofs" / "dft_block_diagonal.py"


def test_dft_block_diagonal_script():
    spec = importlib.util.spec_from_file_location("dft_block_diagonal", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.check(2) and mod.check(3)
    assert mod.main() == 0
