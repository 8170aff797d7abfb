"""The command line's error policy under random input: Hypothesis throws random bytes, random TOML,
JSON Lines and ``.npz`` files, mutated reports and sweep records, and random argument lists at every
command, and asserts the policy whatever comes in:

* the exit code is 0, 1, 2, 3 or 130 -- never 70 (an internal error, a bug) nor anything else;
* a bad input (2) prints exactly one line, ``error: ...``, on stderr;
* no traceback is ever printed.

Independent route: the inputs are drawn without looking at what the commands accept (junk values,
options of other commands, files of the wrong kind, valid files with random parts replaced); only
the *sizes* are drawn small or absurd (absurd sizes must be refused at once, small ones finish in
moments).

The commands run in this process (:func:`exacthess.cli.main.main`), in a scratch folder. A few
commands take tens of seconds whenever their input is valid (``reproduce notebook``, ``cnn-trends``,
``float-atlas``, ``discussion``, ``approx-chain-rule``, ``prove NAME`` and ``prove generic``): for
them the first step of the real computation (after every argument was parsed and checked) is
replaced by a marker, and reaching it means "valid input, accepted"; their runs are tested
elsewhere. Every other command runs for real. Example counts come from the loaded Hypothesis
profile (``tests/conftest.py``), scaled by :data:`ARGV_WEIGHT` for the argument lists.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import string
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import exacthess as eh
from exacthess.cli.main import main
from example_counts import scaled

#: the argument-list test runs this many times the profile's examples (each is quick)
ARGV_WEIGHT = 3
#: a single run longer than this is a hang (valid runs here take moments)
HANG_SECONDS = 300
ALLOWED = {0, 1, 2, 3, 130}


class Reached(BaseException):
    """A slow command's computation was reached: its arguments were all accepted."""


class Hang(BaseException):
    """A run took longer than :data:`HANG_SECONDS`."""


#: the first step of the computation of each slow command (module, attribute), replaced by a marker
SLOW_STEPS = {
    "reproduce": [("exacthess.verification.pipeline", "certified_ranks"), ("exacthess.experiments.trends", "sweep"),
                  ("exacthess.experiments.float_atlas", "run_atlas"), ("exacthess.experiments.claims", "discussion"),
                  ("exacthess.experiments.claims", "approx_chain_rule")],
    "prove": [("exacthess.experiments.proofs", "run_proofs"), ("exacthess.generic.prover", "GenericProver")],
}


def _marker(*args, **kwargs):
    raise Reached()


@contextlib.contextmanager
def _slow_steps_replaced(argv):
    import importlib
    steps = SLOW_STEPS.get(argv[0], []) if argv else []
    saved = []
    try:
        for module, name in steps:
            mod = importlib.import_module(module)
            saved.append((mod, name, getattr(mod, name)))
            setattr(mod, name, _marker)
        yield
    finally:
        for mod, name, old in saved:
            setattr(mod, name, old)


@contextlib.contextmanager
def _outside_this_test():
    """``exacthess search`` runs Hypothesis itself; run as a command it is not nested in this test's ``@given``
    (Hypothesis would refuse the nesting as a health check of *this* test, not of the command)."""
    from hypothesis.control import _current_build_context
    with _current_build_context.with_value(None):
        yield


@contextlib.contextmanager
def _hang_guard():
    def on_alarm(signum, frame):
        raise Hang()
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_and_check(argv) -> int | None:
    """Run ``exacthess ARGV`` in this process and assert the policy; returns the exit code (None when
    a slow command reached its computation)."""
    argv = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    try:
        with _hang_guard(), _slow_steps_replaced(argv), _outside_this_test(), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            code = main(argv)
    except Reached:
        return None
    except Hang:
        pytest.fail(f"exacthess {argv} ran longer than {HANG_SECONDS} s")
    text = err.getvalue()
    assert code in ALLOWED, f"exacthess {argv} exited {code}: {text}"
    assert "Traceback" not in text and "Traceback" not in out.getvalue(), f"exacthess {argv}: {text}"
    if code == 2:
        lines = [line for line in text.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), f"exacthess {argv}: {text!r}"
    return code


# ----- the scratch folder and its files -------------------------------------------------------------
@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A scratch folder (also the working directory, for default outputs) with valid and invalid files."""
    torch = pytest.importorskip("torch")
    d = tmp_path_factory.mktemp("fuzz")
    old = os.getcwd()
    os.chdir(d)
    spec = {"family": "fcn", "input_dim": 2, "widths": [[], [2]], "output_dim": 1, "samples": 3}
    (d / "ok.toml").write_text('[sweep]\nfamily = "fcn"\ninput_dim = 2\nwidths = [[], [2]]\noutput_dim = 1\n'
                               'samples = 3\n')
    (d / "bad.toml").write_text("not toml [[")
    (d / "binary").write_bytes(bytes(range(256)) * 4)
    eh.sweep(spec, executor=ThreadPoolExecutor(1), out=d / "results.jsonl")
    report = eh.verify(eh.FCN(2, (2,), 2, activation="relu", bias=True), n_samples=3, float_check=False)
    (d / "report.json").write_text(report.to_json())
    torch.save(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2)), d / "model.pt")
    np.savez(d / "data.npz", X=np.arange(12.0).reshape(3, 4) / 7, Y=np.array([0, 1, 1]))
    np.save(d / "kernel.npy", np.ones((1, 1, 3, 3)))
    (d / "folder").mkdir()
    yield d
    os.chdir(old)


FILES = ["ok.toml", "bad.toml", "binary", "results.jsonl", "report.json", "model.pt", "data.npz", "kernel.npy",
         "folder", "missing.txt", "/proc/none/x", ""]
OUTS = ["out", "out/p.png", "p.pdf", "x.unknown", "binary", "folder", "/proc/none/x", "", "-"]


def _file(d, name: str) -> str:
    """A name of :data:`FILES` or :data:`OUTS` as a path in the scratch folder (other tokens as they are)."""
    return str(d / name) if name in FILES + OUTS and name and not name.startswith(("/", "-")) else name


# ----- random argument lists ------------------------------------------------------------------------
SMALL = st.sampled_from(["-3", "-1", "0", "1", "2", "3", "4"])
HUGE = st.sampled_from(["1000000000", "1000000000000000"])
JUNK = st.sampled_from(["", " ", "x", "-", "--", "1/0", "-1/1000", "1/1000", "nan", "inf", "-inf", "1e400", "0x10",
                        "é", "1,2", "2x", "[1]", "None", "--bogus"]) | st.text(string.printable, max_size=6)
SIZES = SMALL | HUGE | JUNK
LISTS = st.lists(st.sampled_from(["-1", "0", "1", "2", "3", "2x2", "3x1", "", "a"]), max_size=3).map(",".join)
FLOATS = st.sampled_from(["-1", "0", "1e-9", "0.5", "60", "nan", "inf", "-inf", "1e400", "x"])

OPTION_VALUES = {
    **{o: SIZES for o in ("--input-dim", "--output-dim", "--samples", "--in-channels", "--max-n", "--max-m")},
    **{o: LISTS | JUNK for o in ("--widths", "--channels", "--kernel-sizes", "--strides", "--paddings", "--input-shape",
                                 "--kernel-shape", "--input", "--stride", "--seeds")},
    "--padding": st.sampled_from(["circular", "0", "1", "-1", "same"]) | JUNK,
    "--seed": st.sampled_from(["0", "1", "-1", str(2**64), str(10**30), "1.5"]) | JUNK,
    "--budget": FLOATS | JUNK, "--dense-limit": FLOATS | JUNK,
    "--activation": st.sampled_from(["linear", "relu", "leaky_relu(1/4)", "leaky_relu(-1)", "poly(0,1,0,1/3)",
                                     "poly()", "poly(1e308)", "tanh", "relu(2)", "leaky_relu(nan)"]) | JUNK,
    "--loss": st.sampled_from(["mse", "cross_entropy", "bce", "weighted_mse(1,2)", "weighted_mse(1)",
                               "weighted_mse(0,1)", "weighted_mse(1,nan)", "hinge"]) | JUNK,
    "--certify": st.sampled_from(["auto", "always", "never", "maybe"]),
    "--point": st.sampled_from(["gaussian", "integers", "zeros"]),
    "--round-to": st.sampled_from(["1/1000", "-1/1000", "0", "1e-300", "1e300", "2**-20", "0.001"]) | JUNK,
    "--max-examples": st.sampled_from(["-1", "0", "1", "2", "x"]),
    "--workers": st.sampled_from(["-1", "0", "1", "x"]),
    "--claim": st.sampled_from(["perfect_fit.mse", "approx_chain_rule.relu.within_layer", "nope"]) | JUNK,
    "--x": st.sampled_from(["p", "H_L", "H_o", "depth", "r", "seed", "widths", "nope", ""]),
    "--y": st.sampled_from(["p", "H_L", "H_f", "seconds", "q", "nope", ""]),
    "--by": st.sampled_from(["depth", "input_dim", "status", "nope", ""]),
}
FLAGS = ["--json", "--bias", "--no-float", "--perfect-fit", "--quick", "--thorough", "--yes", "--help", "--version"]

#: command -> (its start with fast defaults, put before the random tokens; positional candidates)
COMMANDS = {
    "verify fcn": (["verify", "fcn", "--input-dim", "2", "--widths", "2", "--output-dim", "2", "--samples", "3"], []),
    "verify cnn": (["verify", "cnn", "--input-shape", "4", "--channels", "1", "--kernel-sizes", "2", "--output-dim",
                    "2", "--samples", "3"], []),
    "verify torch": (["verify", "torch", "--input-shape", "4"], FILES),
    "verify conv-sv": (["verify", "conv-sv", "--kernel-shape", "1,1,3,3", "--input", "4,4"], []),
    "search": (["search", "--max-examples", "1"], ["singh2021.H_o", "singh2023.thm1", "nope", ""]),
    "reproduce notebook": (["reproduce", "notebook"], []),
    "reproduce cnn-trends": (["reproduce", "cnn-trends", "--quick"], []),
    "reproduce float-atlas": (["reproduce", "float-atlas", "--quick"], []),
    "reproduce discussion": (["reproduce", "discussion"], []),
    "reproduce approx-chain-rule": (["reproduce", "approx-chain-rule"], []),
    "reproduce conv-sv": (["reproduce", "conv-sv", "--max-n", "4", "--max-m", "1"], []),
    "statements": (["statements"], ["x"]),
    "check": (["check"], FILES),
    "prove": (["prove"], ["all", "generic", "fcn", "cnn", "hessian_split", "nope"]),
    "prove generic": (["prove", "generic", "fcn", "--input-dim", "2", "--widths", "2", "--output-dim", "2"], ["cnn"]),
    "sweep": (["sweep", "--workers", "1", "--out", "r.jsonl"], FILES),
    "plot": (["plot"], FILES),
    "top": ([], ["verify", "nope", "--version", "--help"]),
}
OPTIONS = sorted(set(OPTION_VALUES) | set(FLAGS))


def _own_options() -> dict:
    """The options of each command, read from the parser (``prove generic``: those of ``verify fcn``)."""
    import argparse

    from exacthess.cli.main import build_parser
    from exacthess.cli.parser import walk
    found = {" ".join(path): sorted(o for a in p._actions if not isinstance(a, argparse._SubParsersAction)
                                    for o in a.option_strings if o.startswith("--"))
             for path, p in walk(build_parser())}
    found["prove generic"] = found["verify fcn"]
    found["top"] = found[""]
    return found


OWN = _own_options()


@st.composite
def argument_lists(draw, d):
    """A command, its fast defaults, then 0-4 random tokens: options (mostly its own, some of other
    commands) with values (mostly plausible, some junk), files, bare values and positionals."""
    command = draw(st.sampled_from(sorted(COMMANDS)))
    start, positionals = COMMANDS[command]
    argv = list(start)
    if positionals and draw(st.integers(0, 3)):
        argv.append(_file(d, draw(st.sampled_from(positionals))))
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.integers(0, 9))
        if kind <= 6:
            own = OWN.get(command, [])
            option = draw(st.sampled_from(own if own and kind <= 4 else OPTIONS))
            argv.append(option)
            if option in OPTION_VALUES and draw(st.integers(0, 9)):
                argv.append(draw(OPTION_VALUES[option]))
            elif option in ("--out", "--data", "--kernel"):
                argv.append(_file(d, draw(st.sampled_from(FILES + OUTS))))
        elif kind <= 7 and positionals:
            argv.append(_file(d, draw(st.sampled_from(positionals))))
        else:
            argv.append(draw(JUNK))
    return argv


@scaled(ARGV_WEIGHT)
@given(data=st.data())
def test_random_argument_lists_follow_the_policy(scratch, data):
    run_and_check(data.draw(argument_lists(scratch)))


# ----- random files ----------------------------------------------------------------------------------
def _commands_reading(d, path):
    """Every command that reads a file, with ``path`` as that file."""
    return {
        "sweep spec": ["sweep", path, "--out", d / "r.jsonl", "--workers", "1"],
        "sweep results": ["sweep", d / "ok.toml", "--out", path, "--workers", "1"],
        "plot": ["plot", path, "--out", d / "p.png"],
        "check": ["check", path],
        "verify torch model": ["verify", "torch", path, "--input-shape", "4"],
        "verify torch data": ["verify", "torch", d / "model.pt", "--input-shape", "4", "--data", path],
        "verify conv-sv kernel": ["verify", "conv-sv", "--kernel", path],
    }


def _write_and_run(d, name: str, content: bytes, command: str):
    path = d / name
    path.write_bytes(content)
    return run_and_check(_commands_reading(d, path)[command])


READERS = st.sampled_from(["sweep spec", "sweep results", "plot", "check", "verify torch model", "verify torch data",
                           "verify conv-sv kernel"])


@given(content=st.binary(max_size=600), command=READERS)
def test_random_bytes_to_every_command_that_reads_a_file(scratch, content, command):
    _write_and_run(scratch, "random.bin", content, command)


KEYS = st.sampled_from(["family", "input_dim", "widths", "output_dim", "samples", "seed", "activation", "loss",
                        "certify", "float_check", "input_shape", "channels", "kernel_sizes", "strides", "paddings",
                        "in_channels", "bias", "depth", "sweep"]) | st.text(string.ascii_letters + "_ .-", max_size=6)
SCALARS = (st.integers(-3, 5) | st.sampled_from([10**9, 2**63, -2**63]) | st.booleans() | st.floats()
           | st.sampled_from(["fcn", "cnn", "rnn", "relu", "mse", "bce", "linear", "auto"]) | st.text(max_size=5))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                      max_leaves=8)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v == float("inf") else "-inf" if v == float("-inf") else repr(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return str(v)


@st.composite
def toml_documents(draw):
    """``[sweep]`` / ``[[sweep]]`` tables (or others) of known and unknown keys with values of any type."""
    lines = []
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(["[sweep]", "[[sweep]]", "[grid]", "[sweep.x]"]))
        lines.append(name)
        table = draw(st.dictionaries(KEYS, VALUES, max_size=6))
        if draw(st.booleans()):  # mostly valid: a small network with random parts
            table = {"family": "fcn", "input_dim": 2, "output_dim": 1, **table}
        lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


@given(text=toml_documents(), command=st.sampled_from(["sweep spec"] * 4 + ["plot", "check", "verify torch data"]))
def test_random_toml_files(scratch, text, command):
    _write_and_run(scratch, "random.toml", text.encode(), command)


@given(lines=st.lists(VALUES, max_size=4),
       command=st.sampled_from(["plot", "check", "sweep results", "sweep spec"]))
def test_random_json_lines(scratch, lines, command):
    _write_and_run(scratch, "random.jsonl", "".join(json.dumps(v) + "\n" for v in lines).encode(), command)


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


@st.composite
def mutated(draw, doc):
    """``doc`` with 1-3 random parts replaced by values of any type, or deleted."""
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        if draw(st.integers(0, 4)) == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(VALUES)
    return doc


@given(data=st.data())
def test_mutated_reports_to_check(scratch, data):
    report = json.loads((scratch / "report.json").read_text())
    doc = data.draw(mutated(report))
    _write_and_run(scratch, "mutated.json", json.dumps(doc).encode(), data.draw(st.sampled_from(["check", "plot"])))


@given(data=st.data())
def test_mutated_sweep_records(scratch, data):
    records = [json.loads(line) for line in (scratch / "results.jsonl").read_text().splitlines()]
    docs = [data.draw(mutated(r)) if data.draw(st.booleans()) else r for r in records]
    text = "".join(json.dumps(r) + "\n" for r in docs)
    _write_and_run(scratch, "mutated.jsonl", text.encode(), data.draw(st.sampled_from(["plot", "sweep results"])))


DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_, np.complex128,
                          "U3", "S2", "datetime64[s]"])


@st.composite
def npz_files(draw, folder):
    """An ``.npz`` of 0-3 arrays of any dtype and shape, named X, Y or otherwise (or one ``.npy``)."""
    arrays = {}
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(["X", "Y", "kernel", "arr_0"]) | st.text(string.ascii_letters, min_size=1,
                                                                              max_size=4))
        dtype = np.dtype(draw(DTYPES))
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4))
        elements = {"allow_nan": True} if dtype.kind == "f" else {}
        arrays[name] = draw(hnp.arrays(dtype, shape, elements=elements or None))
    path = folder / ("random.npz" if arrays or draw(st.booleans()) else "random.npy")
    if path.suffix == ".npy":
        np.save(path, next(iter(arrays.values()), np.zeros(0)))
    else:
        np.savez(path, **arrays)
    return path.read_bytes()


@given(data=st.data(), command=st.sampled_from(["verify torch data"] * 3 + ["verify conv-sv kernel"] * 2
                                               + ["verify torch model", "check", "plot"]))
def test_random_npz_files(scratch, data, command):
    content = data.draw(npz_files(scratch / "folder"))
    _write_and_run(scratch, "random_arrays.npz", content, command)


# ----- counterexamples found by the tests above, pinned -------------------------------------------------
def test_report_whose_rank_info_is_not_a_mapping_is_bad_input(scratch):
    doc = json.loads((scratch / "report.json").read_text())
    doc["rank_info"] = 0
    (scratch / "pinned.json").write_text(json.dumps(doc))
    assert run_and_check(["check", scratch / "pinned.json"]) == 2


def test_a_control_character_in_an_argument_keeps_the_error_on_one_line(scratch, capsys):
    assert run_and_check(["verify", "fcn", "--input-dim", "2", "--output-dim", "2", "x\ny"]) == 2
    assert run_and_check(["verify", "fcn", "--input-dim", "2\n3"]) == 2
    assert run_and_check(["nope\nnope"]) == 2


def _error(argv) -> str:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        assert main([str(a) for a in argv]) == 2
    return err.getvalue()


def test_pickled_or_archived_arrays_are_bad_input(scratch):
    """An object array is refused as such (not with numpy's allow_pickle advice), an .npz kernel as an archive."""
    np.save(scratch / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(scratch / "archive.npz", kernel=np.ones((1, 1, 3, 3)))
    text = _error(["verify", "conv-sv", "--kernel", scratch / "objects.npy"])
    assert "--kernel" in text and "allow_pickle" not in text and "numbers" in text
    assert ".npz archive" in _error(["verify", "conv-sv", "--kernel", scratch / "archive.npz"])
    np.savez(scratch / "objects.npz", X=np.array([{"a": 1}], dtype=object), Y=np.zeros(1))
    assert run_and_check(["verify", "torch", scratch / "model.pt", "--input-shape", "4", "--data",
                          scratch / "objects.npz"]) == 2


@pytest.mark.parametrize("change", [{"status": None}, {"status": "maybe"}, {"job": 1}, {"seconds": "x"},
                                    {"status": "timeout", "budget": [1]}])
def test_a_sweep_record_without_its_status_or_times_is_bad_input(scratch, change):
    records = [json.loads(line) for line in (scratch / "results.jsonl").read_text().splitlines()]
    records[0] = {k: v for k, v in {**records[0], **change}.items() if v is not None}
    (scratch / "edited.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert run_and_check(["sweep", scratch / "ok.toml", "--out", scratch / "edited.jsonl", "--workers", "1"]) == 2

