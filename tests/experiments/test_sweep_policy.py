"""exacthess sweep: worker threads, reruns of failed jobs, spec checks before the run, headers.

Ranks checked here are compared with a direct, in-process ``exacthess.verify`` call on the job's
architecture (independent of the pool, the results file and the rerun logic).
"""

import os

from exacthess.experiments.sweep import local_executor, shutdown_pool


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
