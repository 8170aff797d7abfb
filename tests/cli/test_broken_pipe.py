"""Output cut short by its reader (``exacthess ... | head``): exit 141 quietly, never 1 ("violated")."""

import subprocess
import sys

import pytest


@pytest.mark.parametrize("argv", [["verify", "fcn", "--input-dim", "6", "--widths", "4", "--output-dim", "3"],
                                  ["statements"]])
def test_a_closed_pipe_exits_141_without_a_message(argv):
    proc = subprocess.Popen([sys.executable, "-m", "exacthess", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line (like `| head -0`): deterministic
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "error" not in err
