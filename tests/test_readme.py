"""The README's commands and API names keep working (issue 9: "the README's commands and the
documented API keep working").

Every ``exacthess ...`` line of the README's shell blocks is parsed by the real parser, once with
the optional ``[...]`` groups left out and once with them in (placeholders filled); every
``eh.<name>`` the README uses exists. Nothing is run: the commands themselves are exercised by
the tests of each command.
"""

import re
import shlex
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
