"""Progress in Python (issue 17, point 4): the ``progress`` argument, its channel and the estimate
revised as work proceeds.

Independent route: the tracker's estimate is checked against arithmetic done here by hand on a
fake clock (parts planned at 1 s and 2 s; the first takes 2 s, so the second is expected to take
4 s), and the stages of a real ``verify`` are read from the messages it sends to a plain list.
"""

import io

import pytest

import exacthess as eh
from exacthess.cli.progress import ProgressReporter
from exacthess.core import progress as prog
from exacthess.core.errors import InvalidTypeError, InvalidValueError


@pytest.mark.parametrize("value", ["auto", True, False, None, print])
def test_progress_accepts_auto_booleans_none_and_callables(value):
    assert prog.check_progress(value) is value


@pytest.mark.parametrize("value, error", [("yes", InvalidValueError), (3, InvalidTypeError), ([], InvalidTypeError)])
def test_progress_refuses_anything_else_naming_it(value, error):
    with pytest.raises(error, match="progress = .*expected 'auto'"):
        prog.check_progress(value)
    with pytest.raises(error, match="progress"):
        eh.verify(eh.FCN(2, (2,), 1), n_samples=2, progress=value)


def test_auto_is_silent_when_nobody_watches(capsys):
    assert not prog.interactive()  # pytest captures stderr: not a terminal
    with prog.open_progress("auto", "demo") as channel:
        assert not channel
        channel("a message nobody sees")
    eh.verify(eh.FCN(2, (2,), 1), n_samples=2, float_check=False)  # progress="auto" by default
    assert capsys.readouterr().err == ""


def test_a_callable_receives_the_stages_of_verify_naming_each_matrix():
    seen = []
    eh.verify(eh.FCN(4, (3, 3), 2, activation="relu", bias=True), n_samples=8, float_check=False,
              progress=seen.append)
    stages = [getattr(m, "stage", str(m)) for m in seen]
    assert len(stages) >= 4 and len(set(stages)) == len(stages), stages  # one message per stage here
    for matrix in ("H_o", "H_f", "H_L"):
        assert any(s.startswith(matrix + ":") for s in stages), (matrix, stages)
    assert any("verdict" in s for s in stages)
    assert all(isinstance(m, prog.Update) and m.left is not None and m.left >= 0 for m in seen)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_estimate_is_revised_by_the_time_finished_parts_took(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(prog.time, "perf_counter", clock)
    seen = []
    tracker = prog.Tracker(seen.append, plan=[("a", 1.0), ("b", 2.0)])
    tracker(prog.Update("a: start", part="a"))
    assert seen[-1].left == pytest.approx(3.0)  # nothing measured yet: the plan
    clock.now += 2.0  # part a took twice its estimate
    tracker(prog.Update("b: start", part="b"))
    assert tracker.scale() == pytest.approx(2.0)
    assert seen[-1].left == pytest.approx(4.0)  # part b, scaled
    clock.now += 1.0
    tracker(prog.Update("b: more", part="b"))
    assert seen[-1].left == pytest.approx(3.0)


def test_units_done_time_the_current_stage(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(prog.time, "perf_counter", clock)
    seen = []
    tracker = prog.Tracker(seen.append)
    tracker(prog.Update("primes 0 of 10", stage="primes", done=0, total=10))
    clock.now += 5.0
    tracker(prog.Update("primes 5 of 10", stage="primes", done=5, total=10))
    assert seen[-1].left == pytest.approx(5.0)


def test_plain_display_prints_one_line_per_stage_and_done_only_when_finished():
    out = io.StringIO()
    reporter = ProgressReporter(out, rich=False, quiet_seconds=0, prefix="[t]")
    with reporter:
        with reporter.step("job"):
            for _ in range(3):
                reporter(prog.Update("H_f: prime 1", stage="H_f: primes", done=1, total=3))
            reporter(prog.Update("H_L: core", stage="H_L: core"))
        with pytest.raises(KeyboardInterrupt):
            with reporter.step("interrupted job"):
                reporter(prog.Update("H_o: rank", stage="H_o: rank"))
                raise KeyboardInterrupt
    lines = out.getvalue().splitlines()
    assert sum("H_f: prime 1" in line for line in lines) == 1, lines
    assert any("H_L: core" in line for line in lines)
    assert any(line.startswith("[t] job: done in") for line in lines)
    assert not any("interrupted job: done" in line for line in lines), lines
    assert all(len(line) <= 80 for line in lines)


def test_progress_true_shows_plain_lines_on_a_non_terminal(capsys):
    with prog.open_progress(True, "demo") as channel:
        assert channel and channel.display is not None and not channel.display.rich
