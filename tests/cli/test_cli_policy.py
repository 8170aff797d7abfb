"""The command line's policy: every bad input exits 2 with ONE line ``error: ...`` on stderr and no
traceback; every option of every command has help and every command's help ends with its exit
codes; ``--version``; progress on stderr also when piped; the verify report fits 80 columns.

Independent route: the bad inputs are written from the documented options (``--help``), as a user
would mistype them; the output is measured with rich's cell widths (``rich.cells.cell_len``).
"""

import argparse
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from rich.cells import cell_len

import exacthess
from exacthess.cli import progress as progress_module
from exacthess.cli.main import build_parser, main
from exacthess.cli.parser import walk

FCN = ["verify", "fcn", "--input-dim", "3", "--widths", "2", "--output-dim", "2"]
CNN = ["verify", "cnn", "--input-shape", "6", "--channels", "1", "--kernel-sizes", "3", "--output-dim", "2"]
SV = ["verify", "conv-sv"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "ok.toml").write_text('[sweep]\nfamily = "fcn"\ninput_dim = 2\noutput_dim = 1\n')
    (d / "bad.toml").write_text("not toml [[")
    (d / "axis.toml").write_text('[sweep]\nfamily = "fcn"\ninput_dim = [2, "a"]\noutput_dim = 1\n')
    (d / "bad.jsonl").write_text('{"x": 1}\n')
    (d / "junk.jsonl").write_text("not json\n")
    np.save(d / "k2.npy", np.ones((2, 2)))
    np.save(d / "nan.npy", np.full((1, 1, 3), np.nan))
    np.savez(d / "data.npz", X=np.ones((3, 4)))
    return d


BAD = [
    # the top level and verify
    [], ["nope"], ["--bogus"], ["verify"], ["verify", "rnn"], ["--versions"],
    FCN[:4], FCN + ["--input-dim", "0"], FCN + ["--input-dim", "x"], FCN + ["--input-dim", "-3"],
    FCN + ["--widths", "a"], FCN + ["--widths", "2,,3"], FCN + ["--widths", "0"], FCN + ["--widths", "-1"],
    FCN + ["--widths", "2.5"], FCN + ["--output-dim", "0"], FCN + ["--output-dim", "1e3"], FCN + ["--samples", "0"],
    FCN + ["--samples", "-3"], FCN + ["--samples", "x"], FCN + ["--seed", "-1"], FCN + ["--seed", "1.5"],
    FCN + ["--activation", "tanh"], FCN + ["--activation", "leaky_relu(x)"], FCN + ["--activation", "poly()"],
    FCN + ["--loss", "hinge"], FCN + ["--loss", "weighted_mse(1,-1)"], FCN + ["--loss", "weighted_mse(1)"],
    FCN + ["--loss", "weighted_mse(1,nan)"], FCN + ["--certify", "maybe"], FCN + ["--budget", "-1"],
    FCN + ["--budget", "nan"], FCN + ["--budget", "x"], FCN + ["--point", "zeros"], FCN + ["--json", "extra"],
    FCN + ["--loss", "cross_entropy", "--output-dim", "1"], FCN + ["--no-float=yes"],
    ["verify", "fcn", "--input-dim", "3000", "--widths", "3000", "--output-dim", "3000"],
    ["verify", "fcn", "--input-dim", "100000", "--widths", "100000", "--output-dim", "10"],
    FCN + ["--samples", "1000000000"],
    CNN[:4], CNN + ["--input-shape", "0"], CNN + ["--input-shape", "6x"], CNN + ["--input-shape", "2,3,4"],
    CNN + ["--input-shape", "a"], CNN + ["--channels", ""], CNN + ["--channels", "0"], CNN + ["--channels", "a"],
    CNN + ["--kernel-sizes", "9"], CNN + ["--kernel-sizes", "0"], CNN + ["--kernel-sizes", "3,3"],
    CNN + ["--kernel-sizes", "3x3"], CNN + ["--strides", "0"], CNN + ["--strides", "x"], CNN + ["--paddings", "-1"],
    CNN + ["--paddings", "1,1"], CNN + ["--in-channels", "0"], CNN + ["--in-channels", "x"],
    CNN + ["--output-dim", "-2"], CNN + ["--activation", "relu(2)"],
    ["verify", "cnn", "--input-shape", "512x512", "--channels", "64,64", "--kernel-sizes", "3", "--output-dim", "10",
     "--in-channels", "3"],
    ["verify", "torch", "{d}/none.pt", "--input-shape", "4"], ["verify", "torch", "{d}", "--input-shape", "4"],
    ["verify", "torch", "{d}/ok.toml", "--input-shape", "4"], ["verify", "torch", "{d}/ok.toml", "--input-shape", "4,a"],
    ["verify", "torch", "{d}/ok.toml"], ["verify", "torch", "{d}/ok.toml", "--input-shape", "0"],
    SV + ["--kernel-shape", "2,,2,3,3"], SV + ["--kernel-shape", "2,2"], SV + ["--kernel-shape", "0,1,3,3"],
    SV + ["--kernel-shape", "a"], SV + ["--input", "0,0"], SV + ["--input", "x"], SV + ["--stride", "0"],
    SV + ["--stride", "3"], SV + ["--padding", "same"], SV + ["--padding", "-1"], SV + ["--seed", "-1"],
    SV + ["--seed", "x"], SV + ["--kernel", "{d}/none.npy"], SV + ["--kernel", "{d}/ok.toml"],
    SV + ["--kernel", "{d}/k2.npy"], SV + ["--kernel", "{d}/nan.npy"],
    SV + ["--kernel-shape", "64,64,3,3", "--input", "4096,4096"],
    # compare
    ["compare"], ["compare", "{d}/none.pt", "--input-shape", "4"], ["compare", "{d}/ok.toml", "--input-shape", "4,a"],
    ["compare", "{d}/ok.toml", "--input-shape", "4", "--of", "fisher"],
    # search
    ["search"], ["search", "nope"], ["search", "singh2021.H_o", "--max-examples", "0"],
    ["search", "singh2021.H_o", "--max-examples", "x"], ["search", "singh2021.H_o", "--seed", "-1"],
    # reproduce
    ["reproduce"], ["reproduce", "nope"], ["reproduce", "notebook", "--seed", "-1"],
    ["reproduce", "notebook", "--point", "zeros"], ["reproduce", "notebook", "--seed", "x"],
    ["reproduce", "cnn-trends", "--seed", "-1"], ["reproduce", "cnn-trends", "--workers", "0"],
    ["reproduce", "cnn-trends", "--out", "/proc/none/x"], ["reproduce", "float-atlas", "--seeds", "a"],
    ["reproduce", "float-atlas", "--seeds", "-1"], ["reproduce", "float-atlas", "--budget", "-1"],
    ["reproduce", "float-atlas", "--out", "/proc/none"], ["reproduce", "discussion", "--claim", "nope"],
    ["reproduce", "approx-chain-rule", "--claim", "perfect_fit.mse"],
    ["reproduce", "approx-chain-rule", "--out", "/proc/none"], ["reproduce", "conv-sv", "--max-n", "1"],
    ["reproduce", "conv-sv", "--max-m", "0"], ["reproduce", "conv-sv", "--dense-limit", "-1"],
    ["reproduce", "conv-sv", "--dense-limit", "nan"], ["reproduce", "conv-sv", "--out", "/proc/none"],
    ["reproduce", "conv-sv", "--max-n", "1000000"],
    # statements, prove
    ["statements", "--bogus"], ["statements", "x"], ["prove", "nope"], ["prove", "all", "--bogus"],
    ["prove", "--thorough", "nope"],
    # sweep, plot
    ["sweep"], ["sweep", "{d}/none.toml", "--out", "{d}/r.jsonl"], ["sweep", "{d}/bad.toml", "--out", "{d}/r.jsonl"],
    ["sweep", "{d}/axis.toml", "--out", "{d}/r.jsonl"], ["sweep", "{d}/ok.toml"],
    ["sweep", "{d}/ok.toml", "--out", "{d}/r.jsonl", "--workers", "0"],
    ["sweep", "{d}/ok.toml", "--out", "{d}/r.jsonl", "--budget", "-1"],
    ["sweep", "{d}/ok.toml", "--out", "{d}/bad.jsonl"], ["sweep", "{d}/ok.toml", "--out", "{d}/junk.jsonl"],
    ["sweep", "{d}/ok.toml", "--out", "/proc/none/r.jsonl"], ["sweep", "{d}", "--out", "{d}/r.jsonl"],
    ["sweep", "{d}/ok.toml", "--out", "{d}/r.jsonl", "--workers", "2", "--scheduler", "tcp://x:1"],
    ["plot"], ["plot", "{d}/none.jsonl"], ["plot", "{d}/bad.jsonl"], ["plot", "{d}"], ["plot", "{d}/junk.jsonl"],
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a)[:70] for a in BAD])
def test_bad_input_exits_2_with_one_error_line(argv, files, capsys):
    code = main([a.format(d=files) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err


def test_enough_commands_are_covered():
    assert len(BAD) >= 92
    commands = {tuple(a[:2]) if a and a[0] in ("verify", "reproduce") else tuple(a[:1]) for a in BAD if a}
    for cmd in (("verify", "fcn"), ("verify", "cnn"), ("verify", "torch"), ("verify", "conv-sv"), ("search",),
                ("reproduce", "notebook"), ("reproduce", "cnn-trends"), ("reproduce", "float-atlas"),
                ("reproduce", "discussion"), ("reproduce", "approx-chain-rule"), ("reproduce", "conv-sv"),
                ("statements",), ("prove",), ("sweep",), ("plot",), ("compare",)):
        assert cmd in commands, cmd


#: Python spellings a command-line error must not use (the options are --samples, --round-to, ...)
PYTHON_SPELLING = re.compile(r"(?<![\w.'\"=-])(n_samples|budget_seconds|round_to|max_examples)\b|Fraction|fmpq|"
                             r"\b(round_to|loss|domain)='")


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a)[:70] for a in BAD])
def test_bad_input_speaks_the_command_line(argv, files, capsys):
    """The error names the options the user typed and gives command-line advice, never Python's
    (``--samples``, not ``n_samples``; ``--round-to 1/1000``, not ``round_to=`` or Fractions)."""
    main([a.format(d=files) for a in argv])
    err = capsys.readouterr().err
    assert not PYTHON_SPELLING.search(err), err


@pytest.mark.parametrize("argv, words", [
    (FCN + ["--samples", "0"], "error: --samples = 0 is not valid"),
    (FCN + ["--budget", "-1"], "error: --budget = -1.0 is too small"),
    (FCN + ["--seed", "-1"], "error: --seed = -1 is not valid"),
    (FCN + ["--widths", "2,0"], "error: --widths[1] = 0 is too small"),
    (FCN + ["--loss", "cross_entropy", "--output-dim", "1"], "(use --loss bce for one output)"),
    (FCN + ["--loss", "weighted_mse(1)"], "has 1 weight; expected 2, one per output of FCN(input_dim=3, widths=(2,), "
                                          "output_dim=2, bias=False) (e.g. --loss 'weighted_mse(1,1)')"),
    (CNN[:4] + ["--channels", "", "--kernel-sizes", "3", "--output-dim", "2"], "exacthess verify fcn --input-dim"),
    (["verify", "torch", "{d}/m.pt", "--input-shape", "4", "--round-to", "-1/1000"],
     "error: --round-to -1/1000 is not positive; expected a grid step > 0, e.g. --round-to 1/1000"),
    (["verify", "torch", "{d}/m.pt", "--input-shape", "4", "--round-to=-1/1000"], "--round-to -1/1000 is not positive"),
    (["verify", "torch", "{d}/m.pt", "--input-shape", "4", "--round-to", "-.5"], "--round-to -.5 is not positive"),
    (["verify", "torch", "{d}/m.pt", "--input-shape", "4", "--round-to", "x"], "--round-to x is not a number"),
    (["verify", "torch", "{d}/m.pt", "--input-shape", "4", "--data", "{d}/probs.npz", "--loss", "cross_entropy"],
     "give the grid of the intended values with --round-to (e.g. --round-to 1/1000)"),
    (["verify", "torch", "{d}/softmax.pt", "--input-shape", "4"], "drop it and use --loss 'cross_entropy(T)' (per "
     "token; T the number of tokens) or --loss cross_entropy"),
])
def test_errors_name_options_and_give_command_line_advice(argv, words, files, capsys):
    """Library errors seen on the command line: the options as typed, the advice for the command line
    (the error's own command-line message where the advice differs); a value that starts like a
    negative number (``--round-to -1/1000``) is the option's value, judged by the command."""
    torch = pytest.importorskip("torch") if "torch" in argv else None
    if torch is not None:
        torch.save(torch.nn.Sequential(torch.nn.Linear(4, 2)), files / "m.pt")
        torch.save(torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Softmax(dim=1)), files / "softmax.pt")
        np.savez(files / "probs.npz", X=np.ones((2, 4)), Y=np.array([[0.1, 0.9], [0.3, 0.7]]))
    assert main([a.format(d=files) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and words in err, err
    assert not PYTHON_SPELLING.search(err), err


def test_python_keeps_python_spelling():
    """The same errors raised in Python name the arguments and give Python advice."""
    import exacthess as eh
    from exacthess.core.errors import InvalidValueError
    with pytest.raises(InvalidValueError, match=r"round_to = '-1/1000' is not positive; .* e\.g\. '1/1000'"):
        eh.hessian(eh.FCN(2, (), 1), data=([[0.5, 1.0]], [[1.0]]), round_to="-1/1000")
    with pytest.raises(InvalidValueError, match=r"loss='bce'"):
        eh.hessian(eh.FCN(2, (), 1), loss="cross_entropy")


@pytest.mark.parametrize("argv, words", [
    (["verify", "fcn", "--input-dim", "100000", "--widths", "100000", "--output-dim", "10"], "needs about"),
    (["verify", "conv-sv", "--kernel-shape", "2,,2,3,3"], "kernel-shape = '2,,2,3,3'"),
    (["reproduce", "conv-sv", "--dense-limit", "-1"], "dense-limit = -1.0"),
])
def test_bad_input_through_a_process(argv, words):
    """The installed entry point behaves the same: exit 2, one line on stderr, no traceback."""
    proc = subprocess.run([sys.executable, "-m", "exacthess", *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error:") and words in proc.stderr
    assert "Traceback" not in proc.stderr


def test_internal_errors_exit_70_with_one_line(monkeypatch, capsys):
    """A bug is not reported as bad input: one line, exit 70; EXACTHESS_TRACEBACK=1 adds the traceback."""
    import exacthess.verification.pipeline as verify_module

    def broken(*args, **kwargs):
        raise IndexError("tuple index out of range")
    monkeypatch.setattr(verify_module, "verify", broken)
    assert main(FCN) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: internal error (IndexError") and "Traceback" not in err
    monkeypatch.setenv("EXACTHESS_TRACEBACK", "1")
    assert main(FCN) == 70
    assert "Traceback" in capsys.readouterr().err


def test_every_option_has_help_and_every_command_its_exit_codes():
    """Walk the parser: each argument of each command has a non-empty help text, and each command's
    help ends with an ``exit codes:`` block."""
    parser = build_parser()
    for path, p in walk(parser):
        assert p.epilog and "exit codes:" in p.epilog, path
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    assert choice.help, (path, choice.dest)
                continue
            assert action.help and action.help != argparse.SUPPRESS and action.help.strip(), (path, action.dest)
        assert "0" in p.epilog and "2  bad input" in p.epilog, path


def test_help_of_every_command_prints_its_exit_codes(capsys, monkeypatch):
    """... and fits 80 columns (the width argparse uses when the output is piped)."""
    monkeypatch.setenv("COLUMNS", "80")
    for path, _ in walk(build_parser()):
        assert main([*path, "--help"]) == 0
        out = capsys.readouterr().out
        assert "exit codes:" in out and "70" in out, path
        assert max(len(line) for line in out.splitlines()) <= 80, (path, [ln for ln in out.splitlines() if len(ln) > 80])


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"exacthess {exacthess.__version__}"


def test_one_version_number():
    """``pip install .`` and ``exacthess --version`` give the same number: pyproject.toml declares the
    version dynamic, read from ``exacthess.__version__``; an installed (not editable) copy says the same."""
    import json as json_module
    import re
    from importlib import metadata
    from pathlib import Path
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "exacthess.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", exacthess.__version__) and exacthess.__version__ != "0.1.0"
    try:
        dist = metadata.distribution("exacthess")
    except metadata.PackageNotFoundError:
        return
    direct = json_module.loads(dist.read_text("direct_url.json") or "{}")
    if not direct.get("dir_info", {}).get("editable"):  # an editable install keeps the metadata of its install
        assert dist.version == exacthess.__version__


def _eager(monkeypatch):
    """Progress lines at once (no quiet period), as a long computation would print them."""
    real = progress_module.ProgressReporter.__init__

    def eager(self, stream=None, **kw):
        kw.update(rich=False, quiet_seconds=0.0, every=0.01)
        real(self, stream, **kw)
    monkeypatch.setattr(progress_module.ProgressReporter, "__init__", eager)


def test_verify_progress_goes_to_stderr_when_piped(monkeypatch, capsys):
    """Piped (pytest's capture is not a terminal): plain progress lines on stderr, JSON alone on stdout."""
    _eager(monkeypatch)
    assert main(FCN + ["--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"]
    lines = captured.err.splitlines()
    assert lines and all(line.startswith("[verify] ") for line in lines)
    assert "verify FCN(input_dim=3" in lines[0] and "done in" in lines[-1]


def test_search_and_reproduce_progress_when_piped(monkeypatch, capsys, tmp_path):
    _eager(monkeypatch)
    assert main(["search", "singh2021.H_o", "--max-examples", "2", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["examples"] >= 1
    assert "[search] searching singh2021.H_o" in captured.err and "/2]" in captured.err
    assert main(["reproduce", "notebook", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rows"] and "[reproduce]" in captured.err


def test_quick_runs_print_no_progress(capsys):
    """Without the eager set-up, steps shorter than the quiet period print nothing on stderr."""
    assert main(FCN + ["--json"]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv", [
    ["verify", "fcn", "--input-dim", "25", "--widths", "5,10", "--output-dim", "10", "--samples", "50", "--seed", "1"],
    ["verify", "fcn", "--input-dim", "3", "--widths", "2", "--output-dim", "2", "--bias"],
    ["verify", "cnn", "--input-shape", "1", "--channels", "1", "--kernel-sizes", "1", "--output-dim", "2",
     "--in-channels", "2", "--paddings", "1", "--samples", "2", "--seed", "0"],
    ["verify", "cnn", "--input-shape", "6", "--channels", "2,2", "--kernel-sizes", "3", "--output-dim", "3",
     "--paddings", "1", "--bias", "--samples", "4", "--certify", "never", "--no-float"],
    ["verify", "fcn", "--input-dim", "3", "--widths", "3,2", "--output-dim", "2", "--activation", "poly(0,1,0,1/3)",
     "--loss", "weighted_mse(1,1/2)", "--perfect-fit"],
    ["verify", "cnn", "--input-shape", "6x6", "--channels", "2", "--kernel-sizes", "3x2", "--output-dim", "3",
     "--in-channels", "2", "--strides", "2", "--paddings", "1"],
    ["verify", "conv-sv", "--kernel-shape", "2,2,3,3", "--input", "4,4"],
    ["statements"], ["prove"], ["prove", "dft_block_diagonal"], ["reproduce", "discussion", "--claim", "perfect_fit.mse"],
    ["prove", "generic", "fcn", "--input-dim", "4", "--widths", "3", "--output-dim", "2"],
    ["prove", "generic", "cnn", "--input-shape", "8", "--channels", "2", "--kernel-sizes", "3", "--output-dim", "2",
     "--strides", "2"],
])
def test_piped_output_fits_80_columns(argv, capsys):
    """``exacthess verify ... | cat``: every line at most 80 display columns, no word broken by a fold."""
    main(argv)
    out = capsys.readouterr().out
    widths = [cell_len(line) for line in out.splitlines()]
    assert widths and max(widths) <= 80, [line for line in out.splitlines() if cell_len(line) > 80]


def test_reproduce_command_is_wrapped_for_the_shell(capsys):
    """A long reproduce command is split with shell continuations; joined, it is the report's command."""
    argv = ["verify", "cnn", "--input-shape", "6x6", "--channels", "2", "--kernel-sizes", "3x2", "--output-dim", "3",
            "--in-channels", "2", "--strides", "2", "--paddings", "1", "--json"]
    main(argv)
    command = json.loads(capsys.readouterr().out)["command"]
    main(argv[:-1])
    out = capsys.readouterr().out
    tail = out[out.index("reproduce: "):].strip().splitlines()
    assert len(tail) > 1 and all(line.endswith(" \\") for line in tail[:-1])
    joined = " ".join(line.rstrip("\\").strip() for line in tail).removeprefix("reproduce: ")
    assert joined.split() == command.split()


def test_reproduce_command_carries_the_options_that_change_the_result(capsys):
    """The issue's --certify never run is undecided (exit 3); its reproduce command says --certify never,
    so running it gives the same exit code (not a certified exit 0)."""
    import shlex
    argv = ["verify", "cnn", "--input-shape", "6", "--channels", "2,2", "--kernel-sizes", "3", "--output-dim", "3",
            "--paddings", "1", "--bias", "--samples", "4", "--seed", "0", "--certify", "never", "--no-float"]
    assert main(argv + ["--json"]) == 3
    command = json.loads(capsys.readouterr().out)["command"]
    assert "--certify never" in command and "--no-float" in command
    assert main(shlex.split(command)[1:] + ["--json"]) == 3


@pytest.mark.parametrize("argv", [["prove", "generic", "--help"], ["prove", "generic", "fcn", "--help"],
                                  ["prove", "generic", "cnn", "--help"], ["prove", "--help"]])
def test_prove_generic_help_lists_the_codes_it_returns(argv, capsys):
    """``prove generic`` has its own parsers (not reached by :func:`walk`): each help lists its exit
    codes, 0 / 1 / 2 / 3 as :attr:`GenericProof.exit_code` and the command return them (3:
    undecided, 1: refuted), and every option has a help text."""
    import re
    assert main(argv) == 0
    out = capsys.readouterr().out
    block = out[out.index("exit codes:"):]
    if argv[-2] == "prove":  # the prove command lists its own codes and those of prove generic
        block = block[block.index("prove generic"):]
    codes = set(re.findall(r"^\s+(\d+)\s", block, flags=re.M))
    assert {"0", "1", "2", "3", "70"} <= codes, block
    assert "undecided" in block and "refuted" in block
    assert "help" not in [ln.split()[-1] for ln in out.splitlines() if ln.strip().startswith("--")]


def test_an_argument_two_commands_spell_differently_is_named_as_typed(capsys):
    """``input_shape`` is ``--input`` for conv-sv and ``--input-shape`` for cnn."""
    from exacthess.cli.main import main
    assert main(["verify", "conv-sv", "--kernel-shape", "2,2,3", "--input", "16,16"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --input = ") and "input_shape" not in err, err
