"""Ctrl-C anywhere ends a command with exit code 130 and one line saying what was saved.

Every long command runs as ``python -m exacthess ...`` in a process group of its own and receives
SIGINT as a terminal sends it, to the whole group (workers included), at several moments: while
exacthess is imported, while the command starts (a sweep's workers starting), and in the middle
of its work. A moment is a delay after the start or the first line of stderr matching a pattern.
Each run must end with code 130 (or 0 when it finished before the signal, its output complete),
its stderr ending in one ``interrupted: ...`` line and holding no traceback, no "Exception ignored",
no internal error and no warning; the result of the unfinished work (its "done" line, its table,
its files) must be absent, the process group must be empty afterwards and an interrupted sweep's
results file must be valid and resumable. The bound on the reaction is generous (the suite shares
the machine); the commands react within about a second.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")

#: seconds after the signal within which the process must have ended (it takes about one)
REACTION_BOUND = 15.0
#: the command did not finish: none of its final output appears
FORBIDDEN = ("Traceback", "Exception ignored", "internal error", "KeyboardInterrupt", "Warning")

SWEEP_SPEC = """[sweep]
family = "fcn"
input_dim = [4, 8, 12]
widths = [[4, 4], [6, 4, 6]]
output_dim = 3
samples = 16
"""
SWEEP_JOBS = 6

#: the moment at which exacthess is being imported (numpy is loaded; the interpreter's own start, in
#: which nothing of exacthess runs yet, is over)
IMPORTING = "importing"

# name: (arguments, regex of the output of a finished command, moments)
# a moment is IMPORTING, a delay in seconds or a regex of a stderr line
COMMANDS = {
    "verify": (["verify", "fcn", "--input-dim", "25", "--widths", "5,10", "--output-dim", "10", "--samples", "50"],
               r"statements|done in", [IMPORTING, r"^\[verify\] "]),
    "verify-conv-sv": (["verify", "conv-sv"], r"done in|holds|Theorem|theorem", [2.0]),
    "search": (["search", "singh2021.H_o", "--max-examples", "30"], r"done in|counterexample", [r"^\[search\] "]),
    "sweep": (["sweep", "SPEC", "--out", "OUT/r.jsonl", "--workers", "2"], r"jobs in [\s\S]*?: \d+ ok",  # a long path wraps
              [IMPORTING, r"^sweep: ", r"^\[ ?\d+/"]),
    "notebook": (["reproduce", "notebook"], r"done in|verified end to end", [2.5]),
    "cnn-trends": (["reproduce", "cnn-trends", "--quick", "--workers", "2", "--out", "OUT"], r"done in|wrote ",
                   [1.5, r"^\[cnn-trends\] "]),
    "conv-sv": (["reproduce", "conv-sv", "--max-n", "32", "--max-m", "1", "--out", "OUT"], r"wrote ",
                [r"dense SVD of the 1024"]),
    "float-atlas": (["reproduce", "float-atlas", "--quick", "--out", "OUT"], r"atlas: done in|wrote ",
                    [r"^\[float-atlas\] "]),
    "discussion": (["reproduce", "discussion"], r"claims: done in", [2.5]),
    "approx-chain-rule": (["reproduce", "approx-chain-rule", "--out", "OUT"], r"claims: done in|wrote ",
                          [r"scale sweep"]),
    "prove": (["prove", "all"], r"statements proven", [r"^proving "]),
    "prove-generic": (["prove", "generic", "fcn", "--input-dim", "3", "--widths", "2", "--output-dim", "2"],
                      r"^PROVEN: ", [1.0]),
    "plot": (["plot", "RESULTS", "--out", "OUT/p.png"], r"wrote ", [1.5]),
}
CASES = [pytest.param(name, moment, id=f"{name}-{moment if isinstance(moment, float) or moment == IMPORTING else 'at:' + moment}")
         for name, (_, _, moments) in COMMANDS.items() for moment in moments]


class Run:
    """A command in a process group of its own; stderr lines collected as they come."""

    def __init__(self, argv: list[str], cwd: Path, *, tty: bool = False):
        self.lines: list[str] = []
        self.sent: float | None = None
        self.ended: float | None = None
        env = {**os.environ, "COLUMNS": "100"}
        env.pop("EXACTHESS_TRACEBACK", None)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "exacthess", *argv], cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)
        self._out: list[bytes] = []
        self._readers = [threading.Thread(target=self._read_err, daemon=True),
                         threading.Thread(target=lambda: self._out.append(self.proc.stdout.read()), daemon=True)]
        for t in self._readers:
            t.start()

    def _read_err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def interrupt_at(self, moment, limit: float = 240.0) -> None:
        """Send SIGINT to the group at ``moment`` (unless the command has ended by then)."""
        deadline = self.t0 + limit
        while self.proc.poll() is None and time.monotonic() < deadline:
            if moment == IMPORTING:
                if _loaded(self.proc.pid, "numpy") or time.monotonic() - self.t0 > 5:
                    break
            elif isinstance(moment, float):
                if time.monotonic() - self.t0 >= moment:
                    break
            elif any(re.search(moment, line) for line in list(self.lines)):
                break
            time.sleep(0.01)
        if self.proc.poll() is None:
            self.sent = time.monotonic()
            os.killpg(self.proc.pid, signal.SIGINT)

    def wait(self, timeout: float) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.ended = time.monotonic()
        for t in self._readers:
            t.join(10)
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    @property
    def stdout(self) -> str:
        return b"".join(self._out).decode(errors="replace")


def _loaded(pid: int, library: str) -> bool:
    """Whether the process has mapped a file of ``library`` (False where /proc does not tell)."""
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _group_left(pgid: int) -> list[str]:
    """Processes of the group still running (not zombies), where /proc tells."""
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            left.append(f"{pid} {stat[:stat.rindex(')') + 1]}")
    return left


def _no_process_left(pgid: int) -> None:
    if not Path("/proc/self/stat").exists():
        return
    deadline = time.monotonic() + 10
    while (left := _group_left(pgid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes of the interrupted command still run: {left}"


@pytest.fixture(scope="module")
def sweep_results(tmp_path_factory) -> Path:
    """A small sweep's results file, for ``exacthess plot``."""
    import concurrent.futures as cf

    import exacthess
    out = tmp_path_factory.mktemp("results") / "fcn.jsonl"
    exacthess.sweep({"family": "fcn", "input_dim": [3, 4, 5], "widths": [[3], [3, 3]], "output_dim": 2, "samples": 6},
                    executor=cf.ThreadPoolExecutor(2), out=out)
    return out


def _argv(name: str, tmp_path: Path, results: Path | None) -> list[str]:
    spec = tmp_path / "spec.toml"
    spec.write_text(SWEEP_SPEC)
    subs = {"SPEC": str(spec), "OUT": str(tmp_path / "out"), "RESULTS": str(results)}
    (tmp_path / "out").mkdir(exist_ok=True)
    return [re.sub(r"^(SPEC|OUT|RESULTS)", lambda m: subs[m.group(1)], a) for a in COMMANDS[name][0]]


def check_interrupted(run: Run, finished: str) -> str:
    """The checks every interrupted run passes; returns its last stderr line."""
    code = run.proc.returncode
    assert code in (0, 130), f"exit code {code}:\n{run.stderr[-3000:]}"
    for word in FORBIDDEN:
        assert word not in run.stderr, run.stderr[-3000:]
    if run.sent is not None:
        assert run.ended - run.sent < REACTION_BOUND
    if code == 0:  # it finished before the signal: its output is complete
        assert re.search(finished, run.stdout + run.stderr, re.M), (run.stdout[-2000:], run.stderr[-2000:])
        return ""
    assert run.lines and run.lines[-1].startswith("interrupted: "), run.stderr[-3000:]
    assert sum(line.startswith("interrupted") for line in run.lines) == 1, run.stderr[-3000:]
    assert not re.search(finished, run.stdout + "\n".join(run.lines[:-1]), re.M), (run.stdout[-2000:], run.stderr[-2000:])
    return run.lines[-1]


@pytest.mark.parametrize("name, moment", CASES)
def test_ctrl_c_ends_a_command_with_one_line(name, moment, tmp_path, request):
    results = request.getfixturevalue("sweep_results") if name == "plot" else None
    argv = _argv(name, tmp_path, results)
    run = Run(argv, tmp_path)
    run.interrupt_at(moment)
    run.wait(REACTION_BOUND + (0 if run.sent is not None else 240))
    line = check_interrupted(run, COMMANDS[name][1])
    _no_process_left(run.proc.pid)
    if name == "sweep" and line:
        _check_saved_sweep(line, argv, tmp_path)
    elif line:
        assert line == "interrupted: nothing was saved"


def _check_saved_sweep(line: str, argv: list[str], tmp_path: Path) -> None:
    """The line counts the records in the results file; every record is whole; the same command resumes."""
    out = tmp_path / "out" / "r.jsonl"
    if line == "interrupted: nothing was saved":  # before the sweep opened its file
        done = 0
    else:
        m = re.fullmatch(r"interrupted: (\d+) of (\d+) jobs are saved in (.+); run the same command again to resume",
                         line)
        assert m and int(m.group(2)) == SWEEP_JOBS and Path(m.group(3)) == out, line
        done = int(m.group(1))
    records = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    assert len(records) == done and all(r["status"] == "ok" for r in records)
    if not done:  # resuming an empty file is running the sweep (tests/sweeps/test_driver.py)
        return
    again = subprocess.run([sys.executable, "-m", "exacthess", *argv], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{done} of {SWEEP_JOBS} jobs already done" in again.stderr
    jobs = [json.dumps(json.loads(x)["job"], sort_keys=True) for x in out.read_text().splitlines()]
    assert len(jobs) == len(set(jobs)) == SWEEP_JOBS


def test_ctrl_c_after_the_output_is_ignored():
    """A signal once the command has written its output (the interpreter may be exiting) never
    ends the process killed by SIGINT without a line: the code is the command's (0), or 130 with
    the line when the signal came before the command returned."""
    argv = ["verify", "fcn", "--input-dim", "3", "--widths", "2", "--output-dim", "2", "--json", "--no-float"]
    proc = subprocess.Popen([sys.executable, "-m", "exacthess", *argv], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        for line in proc.stdout:
            if line == b"}\n":  # the end of the report
                break
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=REACTION_BOUND)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 130), (proc.returncode, err)
    assert err.decode().strip() in ("", "interrupted: nothing was saved")
