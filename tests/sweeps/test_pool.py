"""The local pool of a sweep (exacthess/sweeps/pool.py): a script that calls ``eh.sweep`` at
its top level, without ``if __name__ == "__main__":``, works as it stands (issue 17).

The script is run as a user runs it (``python script.py`` and ``python -m script`` in a fresh
process); it appends its process id to a file at its top level, so a worker that re-ran it would
leave a second line (and start a sweep of its own). The ranks recorded are compared with a direct,
in-process ``exacthess.verify`` call. A process pool of the user's own that starts its workers with
``spawn`` does run the script in every worker: there the sweep refuses to start in a worker, and
the error the user sees last shows the ``if __name__ == "__main__":`` guard.
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


OWN_POOL = '''\
import concurrent.futures as cf
import multiprocessing
import exacthess as eh

def main():
    pool = cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
    records = eh.sweep({"family": "fcn", "input_dim": [2, 3], "widths": [[2]], "output_dim": 1, "samples": 3},
                       executor=pool)
    print([r["status"] for r in records])

'''


@pytest.mark.parametrize("guarded", [False, True])
def test_an_own_spawn_pool_needs_the_guard_and_the_errors_show_it(guarded, tmp_path):
    """A spawn pool of the user's own runs the script in every worker: unguarded, the workers refuse
    to sweep and the parent's error (the last line) shows the guard; guarded, it works."""
    (tmp_path / "user_script.py").write_text(OWN_POOL + ('if __name__ == "__main__":\n    main()\n' if guarded
                                                        else "main()\n"))
    run = subprocess.run([sys.executable, "user_script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    if guarded:
        assert run.returncode == 0 and run.stdout.strip() == "['ok', 'ok']", run.stderr[-3000:]
        return
    guard = 'if __name__ == "__main__": eh.sweep(...)'
    last = run.stderr.strip().splitlines()[-1]
    assert run.returncode == 1 and last.startswith("exacthess.errors.SweepIncompleteError") and guard in last
    assert "InvalidValueError: sweep was called by a worker process importing your script" in run.stderr


def test_a_sweep_in_a_worker_importing_the_script_is_refused(monkeypatch):
    """The check itself: multiprocessing marks a worker importing the parent's script as inheriting."""
    import multiprocessing

    from exacthess.core.errors import InvalidValueError
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    with pytest.raises(InvalidValueError, match=r"worker process importing your script.*if __name__ == \"__main__\""):
        eh.sweep({"family": "fcn", "input_dim": 2, "output_dim": 1})
