"""exacthess sweep: grid specs, local and Dask execution, resume after a kill, the results file.

Independent route for every rank checked here: a direct, in-process ``exacthess.verify`` call on
``from_spec`` of the job (the sweep must reproduce it exactly, whichever worker ran the job).
"""

import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import exacthess
from exacthess.cli.main import main
from exacthess.core.errors import InvalidOptionError, InvalidTypeError, InvalidValueError
from exacthess.sweeps.grid import expand, job_key
from exacthess.models.architectures import from_spec

FCN_SPEC = """
[sweep]
family = "fcn"
input_dim = [3, 5]
widths = [[2], [3, 2]]
output_dim = 2
samples = [4, 7]
"""


def direct(job):
    """Ranks of a job by a direct verify() call in this process."""
    arch = from_spec({k: v for k, v in job.items() if k not in ("samples", "seed", "certify", "float_check")})
    return exacthess.verify(arch, n_samples=job.get("samples"), seed=job["seed"],
                            float_check=job.get("float_check", True)).ranks


def lines(path):
    data = Path(path).read_bytes()
    assert data.endswith(b"\n"), "the results file must end with a complete line"
    return [json.loads(line) for line in data.splitlines()]


def write_spec(tmp_path, text, name="spec.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- the grid --------------------------------------------------------------------------------------

def test_grid_is_the_product_of_the_list_values(tmp_path):
    grid = expand(write_spec(tmp_path, FCN_SPEC))
    assert len(grid) == 2 * 2 * 2 and grid.axes == {"input_dim": 2, "widths": 2, "samples": 2}
    combos = {(j["input_dim"], tuple(j["widths"]), j["samples"]) for j in grid.jobs}
    assert combos == {(d, w, n) for d in (3, 5) for w in ((2,), (3, 2)) for n in (4, 7)}
    assert len({job_key(j) for j in grid.jobs}) == len(grid)
    # the same spec as a dict: same jobs, same hash; the key order of the table does not matter
    as_dict = {"output_dim": 2, "samples": [4, 7], "family": "fcn", "widths": [[2], [3, 2]], "input_dim": [3, 5]}
    other = expand(as_dict)
    assert {job_key(j) for j in other.jobs} == {job_key(j) for j in grid.jobs}


def test_derived_seeds_are_deterministic_and_per_job(tmp_path):
    grid = expand(write_spec(tmp_path, FCN_SPEC))
    seeds = [j["seed"] for j in grid.jobs]
    assert len(set(seeds)) == len(seeds) and all(0 <= s < 2**31 for s in seeds)
    # reordering the axes' values reorders the jobs but gives every job the same seed
    rev = expand({"family": "fcn", "input_dim": [5, 3], "widths": [[3, 2], [2]], "output_dim": 2, "samples": [7, 4]})
    assert {job_key(j) for j in rev.jobs} == {job_key(j) for j in grid.jobs}
    assert [j["seed"] for j in expand({"family": "fcn", "input_dim": 3, "output_dim": 1, "seed": 5}).jobs] == [5]


def test_union_of_grids_runs_a_shared_job_once(tmp_path):
    text = """
[[sweep]]
family = "cnn"
input_shape = 6
channels = [[1], [2]]
kernel_sizes = 3
output_dim = 2
[[sweep]]
family = "cnn"
input_shape = 6
channels = [[2]]
kernel_sizes = [3, 5]
output_dim = 2
"""
    grid = expand(write_spec(tmp_path, text))
    assert sorted((j["channels"][0], j["kernel_sizes"]) for j in grid.jobs) == [(1, 3), (2, 3), (2, 5)]


@pytest.mark.parametrize("table, error, words", [
    ({"family": "fcn", "input_dim": 3, "output_dim": 1, "widht": [2]}, InvalidOptionError,
     ["'widht'", "known keys:", "widths", "samples", "seed"]),
    ({"family": "fcn", "input_dim": [], "output_dim": 1}, InvalidValueError, ["input_dim = [] is an empty axis"]),
    ({"family": "fcn", "input_dim": "3", "output_dim": 1}, InvalidTypeError, ["input_dim = '3'", "type str"]),
    ({"family": "fcn", "input_dim": 3, "output_dim": 1, "widths": [5, 10]}, InvalidTypeError,
     ["widths[0] = 5", "[[5, 10]]"]),
    ({"family": "cnn", "input_shape": [6, 6], "channels": [[2]], "kernel_sizes": 3, "output_dim": 1},
     InvalidValueError, ["repeats the value 6"]),
    ({"family": "fcn", "input_dim": 3}, InvalidValueError, ["missing output_dim"]),
    ({"family": "rnn", "input_dim": 3}, InvalidOptionError, ["'rnn'", "'fcn', 'cnn'"]),
    ({"family": "fcn", "input_dim": 3, "output_dim": 1, "bias": 1}, InvalidTypeError, ["bias = 1"]),
    ({"family": "fcn", "input_dim": 3, "output_dim": 1, "certify": "maybe"}, InvalidOptionError, ["'maybe'"]),
])
def test_bad_specs_are_refused_with_a_precise_message(table, error, words):
    with pytest.raises(error) as info:
        expand({"sweep": table})
    for w in words:
        assert w in str(info.value)


def test_bad_input_on_the_command_line_exits_2_in_one_line(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    cases = [("[sweep]\nfamily = 'fcn'\ninput_dim = 3\noutput_dim = 1\nwidht = [[2]]\n", "known keys:"),
             ("[sweep]\nfamily = 'fcn'\ninput_dim = []\noutput_dim = 1\n", "empty axis"),
             ("[sweep]\nfamily = 'fcn'\ninput_dim = 3.5\noutput_dim = 1\n", "input_dim = 3.5"),
             ("[sweep\nfamily = 'fcn'\n", "not valid TOML"),
             # 501 jobs: refused without --yes, before anything runs
             ("[sweep]\nfamily = 'fcn'\ninput_dim = 3\noutput_dim = 1\nseed = [%s]\n" % ", ".join(map(str, range(501))),
              "pass --yes")]
    for text, words in cases:
        code = main(["sweep", str(write_spec(tmp_path, text)), "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and err.strip().count("\n") == 0 and words in err, err
    assert main(["sweep", str(tmp_path / "missing.toml"), "--out", str(out)]) == 2
    assert not out.exists()


# --- running -----------------------------------------------------------------------------------------

def test_local_pool_matches_direct_verify_and_records_errors(tmp_path):
    """A small FCN + CNN grid on a local process pool; one CNN is invalid and is recorded as an error."""
    spec = {"sweep": [
        {"family": "fcn", "input_dim": [3, 4], "widths": [[2, 2]], "output_dim": 2, "samples": 5},
        {"family": "cnn", "input_shape": 6, "channels": [[2]], "kernel_sizes": [3, 9], "output_dim": 2,
         "samples": 4, "seed": 3},
    ]}
    seen = []
    records = exacthess.sweep(spec, workers=2, out=tmp_path / "r.jsonl", progress=seen.append)
    assert [r["job"] for r in records] == expand(spec).jobs
    assert seen[-1].done == 4 and seen[-1].failed == 1 and seen[-1].total == 4
    for r in records:
        job = r["job"]
        if job.get("kernel_sizes") == 9:  # kernel 9 on an input of 6 without padding
            with pytest.raises(Exception) as info:
                direct(job)
            assert r["status"] == "error" and r["report"] is None
            assert r["error"] == f"{type(info.value).__name__}: {info.value}"
        else:
            assert r["status"] == "ok" and r["error"] is None
            assert r["report"]["ranks"] == direct(job)
    on_disk = {job_key(r["job"]): r for r in lines(tmp_path / "r.jsonl")}  # in the order the jobs finished
    assert on_disk == {job_key(r["job"]): r for r in records}


def test_activation_and_loss_are_passed_to_verify(tmp_path):
    """``activation`` goes to the architecture and ``loss`` to verify: ranks equal a direct call."""
    spec = {"family": "fcn", "input_dim": 3, "widths": [[4]], "output_dim": 2, "samples": 6, "seed": 1,
            "activation": ["relu", "linear"], "loss": "cross_entropy"}
    records = exacthess.sweep(spec, executor=cf.ThreadPoolExecutor(1))
    assert len(records) == 2
    for rec in records:
        job = rec["job"]
        arch = from_spec({"family": "fcn", "input_dim": 3, "widths": job["widths"], "output_dim": 2,
                          "activation": job["activation"]})
        expected = exacthess.verify(arch, n_samples=6, seed=1, loss="cross_entropy").ranks
        assert rec["status"] == "ok" and rec["report"]["ranks"] == expected
        assert rec["report"]["context"]["loss"] == "cross_entropy"


def test_budget_stops_a_long_job(tmp_path):
    """A ReLU FCN with 300 samples (tens of seconds) is stopped at the budget; a tiny one finishes;
    neither stops the other."""
    spec = {"sweep": [{"family": "fcn", "input_dim": 40, "widths": [[40, 40]], "output_dim": 10, "samples": 300,
                       "activation": "relu", "bias": True},
                      {"family": "fcn", "input_dim": 3, "widths": [[2]], "output_dim": 2, "samples": 4}]}
    big, small = exacthess.sweep(spec, executor=cf.ThreadPoolExecutor(2), budget_seconds=3.0)
    assert big["status"] == "timeout" and "budget of 3 s" in big["error"] and big["report"] is None
    assert small["status"] == "ok" and small["report"]["ranks"] == direct(small["job"])


# --- the results file --------------------------------------------------------------------------------

def test_partial_last_line_is_dropped_and_the_job_runs_again(tmp_path):
    spec = {"family": "fcn", "input_dim": [3, 4, 5], "widths": [[2]], "output_dim": 2, "samples": 4}
    out = tmp_path / "r.jsonl"
    first = exacthess.sweep(spec, executor=cf.ThreadPoolExecutor(1), out=out)
    data = out.read_bytes()
    cut = data.rstrip(b"\n").rfind(b"\n") + 1
    out.write_bytes(data[:cut + 40])  # the last record loses its end, as after a crash inside the write
    seen = []
    again = exacthess.sweep(spec, executor=cf.ThreadPoolExecutor(1), out=out, progress=seen.append)
    messages = [s.message for s in seen if s.message]
    assert any("dropped a partial last line (40 bytes)" in m for m in messages)
    assert any("2 of 3 jobs already done; 1 remain" in m for m in messages)
    recs = lines(out)
    assert sorted(map(job_key, (r["job"] for r in recs))) == sorted(job_key(j) for j in expand(spec).jobs)
    assert [r["job"] for r in first] == [r["job"] for r in again] == expand(spec).jobs  # returned in grid order
    assert [r["report"]["ranks"] for r in recs] == [direct(r["job"]) for r in recs]


def test_a_file_of_another_sweep_is_refused_untouched(tmp_path, capsys):
    out = tmp_path / "r.jsonl"
    exacthess.sweep({"family": "fcn", "input_dim": 3, "output_dim": 2, "samples": 4},
                    executor=cf.ThreadPoolExecutor(1), out=out)
    before = out.read_bytes()
    other = {"family": "fcn", "input_dim": [3, 4], "output_dim": 2, "samples": 4}
    with pytest.raises(InvalidValueError, match="holds results of a different sweep"):
        exacthess.sweep(other, executor=cf.ThreadPoolExecutor(1), out=out)
    spec = write_spec(tmp_path, "[sweep]\nfamily = 'fcn'\ninput_dim = [3, 4]\noutput_dim = 2\nsamples = 4\n")
    assert main(["sweep", str(spec), "--out", str(out)]) == 2
    assert "different sweep" in capsys.readouterr().err
    assert out.read_bytes() == before


@pytest.mark.parametrize("damage", [lambda r: r.pop("report"), lambda r: r.update(report={"ranks": {}}),
                                    lambda r: r.update(error=3)],
                         ids=["no report", "report without verdict", "error not text"])
def test_a_damaged_record_is_refused_untouched(tmp_path, capsys, damage):
    # pinned: a record that kept status "ok" but lost its report made the resumed sweep exit 70 (KeyError)
    out = tmp_path / "r.jsonl"
    spec = {"family": "fcn", "input_dim": 3, "output_dim": 2, "samples": 4}
    exacthess.sweep(spec, executor=cf.ThreadPoolExecutor(1), out=out)
    record = json.loads(out.read_text())
    damage(record)
    out.write_text(json.dumps(record) + "\n")
    before = out.read_bytes()
    with pytest.raises(InvalidValueError, match="line 1 is not a sweep record"):
        exacthess.sweep(spec, executor=cf.ThreadPoolExecutor(1), out=out)
    toml = write_spec(tmp_path, "[sweep]\nfamily = 'fcn'\ninput_dim = 3\noutput_dim = 2\nsamples = 4\n")
    assert main(["sweep", str(toml), "--out", str(out)]) == 2
    assert "not a sweep record" in capsys.readouterr().err
    assert out.read_bytes() == before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_sweep_resumes_with_every_job_once(tmp_path, sig):
    """The CLI in a subprocess is interrupted after its first records; the same command finishes the grid.

    After SIGKILL, ``communicate`` returns only once the orphaned worker has exited too (it holds
    the pipes), so the test also checks that workers do not outlive their sweep."""
    spec = write_spec(tmp_path, """
[sweep]
family = "fcn"
input_dim = [6, 8]
widths = [[5, 5], [6, 6]]
output_dim = 3
samples = [8, 16]
""")
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "exacthess", "sweep", str(spec), "--out", str(out), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not (out.exists() and out.stat().st_size > 0) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if sig == signal.SIGINT:  # Ctrl-C in a terminal reaches the whole process group, workers included
            os.killpg(proc.pid, sig)
        else:  # the main process alone is killed; its worker must not outlive it
            proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "run the same command again to resume" in err
    saved = Path(out).read_bytes()
    done_before = saved.count(b"\n")
    assert 1 <= done_before < 8
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done_before} of 8 jobs already done; {8 - done_before} remain" in resumed.stderr
    recs = lines(out)
    keys = [job_key(r["job"]) for r in recs]
    assert sorted(keys) == sorted(job_key(j) for j in expand(spec).jobs)  # every job exactly once
    for r in recs:
        assert r["status"] == "ok" and r["report"]["ranks"] == direct(r["job"])


# --- Dask --------------------------------------------------------------------------------------------

def test_dask_cluster_through_the_cli(tmp_path, capsys):
    """A two-process Dask LocalCluster on 127.0.0.1 runs the grid given to ``--scheduler``."""
    distributed = pytest.importorskip("distributed")
    spec = write_spec(tmp_path, FCN_SPEC)
    out = tmp_path / "r.jsonl"
    with distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        code = main(["sweep", str(spec), "--out", str(out), "--scheduler", cluster.scheduler_address])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Dask cluster" in err and "2 worker threads" in err
    recs = lines(out)
    assert sorted(job_key(r["job"]) for r in recs) == sorted(job_key(j) for j in expand(spec).jobs)
    for r in recs:
        assert r["report"]["ranks"] == direct(r["job"])


def test_unreachable_scheduler_is_a_one_line_error_and_writes_nothing(tmp_path, capsys):
    pytest.importorskip("distributed")
    import socket
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "r.jsonl"
    code = main(["sweep", str(write_spec(tmp_path, FCN_SPEC)), "--out", str(out),
                 "--scheduler", f"tcp://127.0.0.1:{port}"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().count("\n") == 0 and "cannot be reached as a Dask scheduler" in err
    assert not out.exists()


def test_cnn_trends_quick_runs_through_sweep(monkeypatch, tmp_path):
    """``reproduce cnn-trends`` hands its networks to exacthess.sweep (its table and plot are tested elsewhere)."""
    from exacthess.experiments import trends
    calls = []
    real = trends.sweep

    def spy(spec, **kw):
        calls.append(expand(spec))
        return real(spec, **{**kw, "executor": cf.ThreadPoolExecutor(1), "workers": None})
    monkeypatch.setattr(trends, "sweep", spy)
    rows = trends.cnn_trend_rows(quick=True)
    assert len(calls) == 1 and len(calls[0]) == 6  # 4 filter counts + 3 kernels, one network shared
    assert [(r["sweep"], r["value"]) for r in rows] == [("filters", m) for m in (1, 2, 3, 4)] + [
        ("kernel", k) for k in (1, 3, 5)]


def test_a_second_sweep_on_the_same_file_is_refused(tmp_path):
    from exacthess.sweeps.results import ResultFile
    first = ResultFile(tmp_path / "r.jsonl", "abc")
    first.open_for_append()
    try:
        with pytest.raises(InvalidValueError, match="being written by another running sweep"):
            ResultFile(tmp_path / "r.jsonl", "abc").open_for_append()
    finally:
        first.close()


def test_help_of_the_new_commands(capsys):
    for cmd in ("sweep", "plot"):
        assert main([cmd, "--help"]) == 0  # main returns argparse's exit code
        assert "usage" in capsys.readouterr().out


def test_execute_announces_then_opens_the_display_and_closes_the_results(tmp_path):
    """The loop shared by sweep() and `exacthess sweep`: on_start, then the display, then the jobs."""
    from exacthess.sweeps.driver import execute
    from exacthess.sweeps.results import ResultFile
    grid = expand({"family": "fcn", "input_dim": 3, "widths": [[], [2]], "output_dim": 2, "samples": 4})
    events = []

    class Display:
        def __enter__(self):
            events.append("enter")
            return self

        def __exit__(self, *exc):
            events.append("exit")

        def __call__(self, status):
            if status.record is not None:
                events.append("record")

    results = ResultFile(tmp_path / "r.jsonl", grid.spec_hash)
    results.open_for_append()
    with cf.ThreadPoolExecutor(1) as pool:
        records = execute(grid, executor=pool, results=results, progress=Display(),
                          on_start=lambda: events.append("start"))
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert events == ["start", "enter", "record", "record", "exit"]
    assert results._fd is None  # closed by the driver
    with pytest.raises(InvalidValueError, match="capacity = None"):
        execute(grid)
