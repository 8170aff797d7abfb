"""The README's commands, API names and Python examples keep working (issue 9: "the README's
commands and the documented API keep working"; issue 17: "every Python snippet of the README,
pasted as it stands into a file and run with ``python file.py``, works").

Every ``exacthess ...`` line of the README's shell blocks is parsed by the real parser, once with
the optional ``[...]`` groups left out and once with them in (placeholders filled); every
``eh.<name>`` the README uses exists. Every ```` ```python ```` block is written to a file of its
own and run with ``python file.py`` in an empty directory (a block whose first line is
``# needs torch`` is skipped when torch is missing); each states its cost (``~2 s``) and they all
run in well under a minute. The shell commands are exercised by the tests of each command.
"""

import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import exacthess as eh
from exacthess.cli.main import build_parser

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _blocks(lang: str) -> list:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def _command_lines() -> list:
    lines = []
    for block in _blocks("bash"):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("exacthess "):
                lines.append(line)
    return lines


def _variants(line: str) -> list:
    """The line without its optional groups, and with them (alternatives ``a | b`` expanded)."""
    bare = re.sub(r"\s*\[[^\]]*\]", "", line)
    full = re.sub(r"\[([^\]|]*)\]", r"\1", line)
    full = re.sub(r"\s*\[[^\]]*\|[^\]]*\]", "", full)
    full = re.sub(r"(--\S+) (N|S|SECONDS)\b", r"\1 2", full)
    out = []
    for variant in {bare, full}:
        head, _, alts = variant.partition(" notebook | ")
        if alts:  # exacthess reproduce notebook | cnn-trends | ...
            out += [f"{head} {alt.strip()}" for alt in ["notebook", *alts.split("|")]]
        else:
            out.append(variant)
    return out


COMMANDS = sorted({v for line in _command_lines() for v in _variants(line)})


def test_the_readme_has_commands():
    assert len(COMMANDS) >= 15
    assert {c.split()[1] for c in COMMANDS} >= {"verify", "search", "statements", "prove", "sweep", "plot",
                                                 "reproduce"}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_readme_command_parses(command):
    """The parser accepts the command exactly as documented (argparse exits 2 on anything unknown)."""
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert args.command == command.split()[1]


def test_every_api_name_in_the_readme_exists():
    names = set()
    for block in _blocks("python"):
        names |= set(re.findall(r"\beh\.([A-Za-z_][A-Za-z0-9_.]*)", block))
    assert len(names) >= 20
    for name in sorted(names):
        obj = eh
        for part in name.split("."):
            assert hasattr(obj, part), f"README uses eh.{name}, but {part!r} is missing"
            obj = getattr(obj, part)


PYTHON_BLOCKS = _blocks("python")
NEEDS_TORCH = "# needs torch"


def _line_of(block: str) -> int:
    return README[:README.index(block)].count("\n")


def test_every_python_block_is_a_script_with_its_cost():
    """Each block imports what it uses (it runs alone) and says what it costs; torch is announced."""
    assert len(PYTHON_BLOCKS) >= 6
    for block in PYTHON_BLOCKS:
        where = f"README line {_line_of(block)}"
        assert "import exacthess as eh" in block, where
        assert re.search(r"#.*~\d+(\.\d+)? s\b", block), f"{where}: no '# ... ~N s' cost comment"
        assert ("import torch" in block) == block.startswith(NEEDS_TORCH), f"{where}: torch blocks start with {NEEDS_TORCH!r}"


@pytest.mark.slow
@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"line{_line_of(b)}" for b in PYTHON_BLOCKS])
def test_every_python_block_runs_pasted_into_a_file(block, tmp_path):
    """``python file.py`` on the block as it stands, in an empty directory: exit 0, no traceback."""
    if block.startswith(NEEDS_TORCH) and importlib.util.find_spec("torch") is None:
        pytest.skip("needs torch (pip install \"exacthess[torch]\")")
    script = tmp_path / "example.py"
    script.write_text(block)
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"README line {_line_of(block)} failed:\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr
