"""exacthess sweep: worker threads, reruns of failed jobs, spec checks before the run, headers.

Ranks checked here are compared with a direct, in-process ``exacthess.verify`` call on the job's
architecture (independent of the pool, the results file and the rerun logic).
"""

import os

from exacthess.sweeps.driver import local_executor, shutdown_pool


def test_local_workers_use_one_blas_thread_and_keep_the_users_choice(monkeypatch):
    """N workers with N BLAS threads each oversubscribe N cores; the worker must see
    OPENBLAS_NUM_THREADS=1 from its start (before numpy loads), while a variable the user set is
    kept and this process's environment is left as it was."""
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    pool = local_executor(1)
    try:
        seen = pool.submit(os.getenv, "OPENBLAS_NUM_THREADS").result(), pool.submit(os.getenv, "OMP_NUM_THREADS").result()
    finally:
        shutdown_pool(pool)
    assert seen == ("1", "3")
    assert "OPENBLAS_NUM_THREADS" not in os.environ


def _direct(job):
    import exacthess
    from exacthess.models.architectures import from_spec
    arch = from_spec({k: v for k, v in job.items() if k not in ("samples", "seed")})
    return exacthess.verify(arch, n_samples=job["samples"], seed=job["seed"]).ranks


def test_timed_out_jobs_run_again_with_a_larger_budget_and_the_newest_record_wins(tmp_path):
    """A file holding a timeout (budget 2 s), an ordinary error and a died job process: a rerun
    with the same budget runs nothing; without a budget it reruns the timeout and the died job,
    not the deterministic error; every reader then sees one record per job, the newest, whose
    ranks equal a direct verify call."""
    import concurrent.futures as cf

    import exacthess
    from exacthess.sweeps.grid import expand, job_key
    from exacthess.sweeps.results import ResultFile, read_records
    spec = {"family": "fcn", "input_dim": [3, 4, 5], "widths": [[2]], "output_dim": 2, "samples": 6}
    grid = expand(spec)
    out = tmp_path / "r.jsonl"
    t, e, d = grid.jobs
    with ResultFile(out, grid.spec_hash) as f:
        f.append({"job": t, "status": "timeout", "report": None, "error": "stopped after the budget of 2 s",
                  "seconds": 2.01, "budget": 2.0})
        f.append({"job": e, "status": "error", "report": None, "error": "InvalidValueError: something", "seconds": 0.1})
        f.append({"job": d, "status": "error", "report": None, "error": "the job process died (exit code -9)",
                  "seconds": 0.5})
    seen = []
    same = exacthess.sweep(spec, executor=cf.ThreadPoolExecutor(1), out=out, budget_seconds=2.0, progress=seen.append)
    messages = " ".join(s.message for s in seen if s.message)
    assert "2 of 3 jobs already done; 1 remain (run again: 1 whose job process died)" in messages
    assert "1 timed out under this budget" in messages
    assert [r["status"] for r in same] == ["timeout", "error", "ok"]
    seen.clear()
    again = exacthess.sweep(spec, executor=cf.ThreadPoolExecutor(1), out=out, progress=seen.append)
    assert "2 of 3 jobs already done; 1 remain (run again: 1 timed out under a smaller budget)" in \
        " ".join(s.message for s in seen if s.message)
    assert [r["status"] for r in again] == ["ok", "error", "ok"]
    assert len(out.read_text().splitlines()) == 5  # appended, never rewritten
    for records in (again, read_records(out), ResultFile(out, grid.spec_hash).records):
        assert [job_key(r["job"]) for r in records] == [job_key(j) for j in grid.jobs]
        for r in records:
            if r["status"] == "ok":
                assert r["report"]["ranks"] == _direct(r["job"])


def test_spec_values_are_checked_before_anything_runs(tmp_path, capsys):
    """Activation and loss names are parsed by the library's own parsers when the grid is expanded;
    a file without [sweep] or a table without family says so. Exit 2, one line, nothing written."""
    from exacthess.cli.main import main
    base = "[sweep]\nfamily = 'fcn'\ninput_dim = 3\noutput_dim = 2\n"
    cases = [(base + "activation = ['relu', 'tanh']\n", "sweep.activation[1] = 'tanh' is not known; expected one of"),
             (base + "loss = 'hinge'\n", "sweep.loss = 'hinge' is not known"),
             (base + "loss = ['mse', 'weighted_mse(1, -1)']\n", "sweep.loss[1]: "),
             ("[other]\nfamily = 'fcn'\n", "has no [sweep] table (it has [other])"),
             ("[sweep]\ninput_dim = 3\noutput_dim = 2\n", "sweep is missing key 'family'"),
             ("[[sweep]]\nfamily = 'fcn'\ninput_dim = 3\noutput_dim = 2\n[[sweep]]\ninput_dim = 4\n",
              "sweep[1] is missing key 'family'")]
    out = tmp_path / "r.jsonl"
    for i, (text, words) in enumerate(cases):
        spec = tmp_path / f"s{i}.toml"
        spec.write_text(text)
        code = main(["sweep", str(spec), "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and err.strip().count("\n") == 0 and words in err, err
    assert not out.exists()
