"""Importing exacthess stays light: no Hypothesis, rich or matplotlib until they are used."""

import subprocess
import sys


def test_import_does_not_load_hypothesis_rich_or_matplotlib():
    code = ("import sys, exacthess; "
            "print(','.join(m for m in ('hypothesis', 'rich', 'matplotlib', 'torch', 'dask') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""
