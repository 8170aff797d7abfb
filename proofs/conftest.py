"""pytest: collect the ``test_*`` functions of every proof file in this folder.

Proof files are named by their statement (not ``test_*.py``), so this hook collects them;
helpers without ``test_*`` functions contribute nothing. Not a proof (no ``STATEMENT``).
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent


def pytest_collect_file(file_path, parent):
    import pytest
    path = Path(file_path).resolve()
    if path.suffix != ".py" or path.parent != HERE or path.name in ("conftest.py", "__init__.py"):
        return None
    if path.name.startswith("test_") or parent.session.isinitpath(file_path):
        return None  # pytest's own collection already takes these (named files are collected as given)
    return pytest.Module.from_parent(parent, path=file_path)
