"""Sweep grids are counted before they are expanded (issue 17, point 3).

Independent route: the count of a single grid is the product of its axis lengths, computed here by
hand; memory is measured with ``tracemalloc`` around the refusal (a 9e8-job grid expanded would
take hundreds of GB, so a small peak proves nothing was expanded).
"""

import tracemalloc

import pytest

import exacthess as eh
from exacthess.core.errors import ProblemTooLargeError
from exacthess.sweeps.grid import CONFIRM_LIMIT, count_jobs, expand

HUGE = {"sweep": {"family": "fcn", "input_dim": list(range(1, 1001)), "output_dim": list(range(1, 1001)),
                  "samples": list(range(1, 901))}}


def test_a_grid_is_counted_as_the_product_of_its_axes():
    spec = {"sweep": {"family": "fcn", "input_dim": [2, 3, 4], "output_dim": [1, 2], "seed": [0, 1, 2, 3, 4]}}
    assert count_jobs(spec) == (3 * 2 * 5, True)
    assert len(expand(spec)) == 30


def test_a_union_of_grids_counts_a_shared_job_once():
    spec = {"sweep": [{"family": "fcn", "input_dim": [2, 3], "output_dim": 1},
                      {"family": "fcn", "input_dim": [3, 4], "output_dim": 1}]}
    assert count_jobs(spec) == (3, True) and len(expand(spec)) == 3


def test_nine_hundred_million_jobs_are_refused_before_expansion_without_memory():
    tracemalloc.start()
    try:
        with pytest.raises(ProblemTooLargeError) as info:
            expand(HUGE, limit=CONFIRM_LIMIT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    text = str(info.value)
    assert "900,000,000 jobs" in text and f"{CONFIRM_LIMIT:,}" in text and "confirm=True" in text
    assert "input_dim (1000)" in text and "samples (900)" in text
    assert peak < 20 * 2**20, peak


def test_a_confirmed_huge_grid_is_refused_for_its_memory_before_expansion(monkeypatch):
    monkeypatch.setenv("EXACTHESS_MEMORY_LIMIT_GB", "8")
    tracemalloc.start()
    try:
        with pytest.raises(ProblemTooLargeError, match="900,000,000 jobs"):
            expand(HUGE, limit=CONFIRM_LIMIT, confirm=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, peak


def test_eh_sweep_refuses_more_than_the_limit_before_anything_runs(tmp_path):
    out = tmp_path / "r.jsonl"
    spec = {"sweep": {"family": "fcn", "input_dim": 2, "output_dim": 1, "seed": list(range(CONFIRM_LIMIT + 1))}}
    with pytest.raises(ProblemTooLargeError, match=f"{CONFIRM_LIMIT + 1:,} jobs.*confirm=True"):
        eh.sweep(spec, out=out)
    assert not out.exists()
    with pytest.raises(ProblemTooLargeError, match="confirm=True"):
        eh.sweep(HUGE, out=out)
    assert not out.exists()
