"""Docstrings keep their mathematics: a backslash in a non-raw string is an escape (``\\tilde``
becomes a tab and ``ilde``, ``\\ne`` a newline), which compiles without a warning. Every
triple-quoted string with a backslash must be raw; and every module compiles with warnings as
errors (an invalid escape is a ``SyntaxWarning``)."""

import compileall
import re
import tokenize
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_triple_quoted_strings_with_backslashes_are_raw():
    bad = []
    for path in sorted((ROOT / "exacthess").rglob("*.py")):
        with open(path, "rb") as f:
            for tok in tokenize.tokenize(f.readline):
                if tok.type != tokenize.STRING:
                    continue
                m = re.match(r"([a-zA-Z]*)('''|\"\"\")", tok.string)
                if m and "r" not in m.group(1).lower() and "\\" in tok.string:
                    bad.append(f"{path.relative_to(ROOT)}:{tok.start[0]}")
    assert not bad, "make these docstrings raw (r\"\"\"): " + ", ".join(bad)


def test_every_module_compiles_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compileall.compile_dir(str(ROOT / "exacthess"), quiet=1, force=True)
