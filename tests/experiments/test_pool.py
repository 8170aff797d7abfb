"""The local pool of a sweep (exacthess/experiments/pool.py): a script that calls ``eh.sweep`` at
its top level, without ``if __name__ == "__main__":``, works as it stands (issue 17).

The script is run as a user runs it (``python script.py`` and ``python -m script`` in a fresh
process); it appends its process id to a file at its top level, so a worker that re-ran it would
leave a second line (and start a sweep of its own). The ranks recorded are compared with a direct,
in-process ``exacthess.verify`` call.
"""

import json
import subprocess
import sys

import pytest

import exacthess as eh

SCRIPT = '''\
import os
import exacthess as eh

with open("top_level_runs.txt", "a") as f:
    f.write(f"{os.getpid()}\\n")
records = eh.sweep({"family": "fcn", "input_dim": [2, 3], "widths": [[2]], "output_dim": 1, "samples": 3, "seed": 0},
                   out="grid.jsonl", workers=2)
print([r["status"] for r in records], [r["report"]["ranks"]["H_L"] for r in records])
'''


@pytest.mark.parametrize("how", ["file", "module"])
def test_a_sweep_at_the_top_level_of_a_script_runs_the_script_once(how, tmp_path):
    (tmp_path / "user_script.py").write_text(SCRIPT)
    command = [sys.executable, "user_script.py"] if how == "file" else [sys.executable, "-m", "user_script"]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len((tmp_path / "top_level_runs.txt").read_text().splitlines()) == 1
    direct = [eh.verify(eh.FCN(d, (2,), 1), n_samples=3, seed=0, float_check=False).ranks["H_L"] for d in (2, 3)]
    assert run.stdout.strip() == f"['ok', 'ok'] {direct}"
    records = [json.loads(line) for line in (tmp_path / "grid.jsonl").read_text().splitlines()]
    assert sorted(r["job"]["input_dim"] for r in records) == [2, 3] and {r["status"] for r in records} == {"ok"}
