"""pytest: collect the ``test_*`` functions of every proof file in this folder.

Proof files are named by their statement (not ``test_*.py``), so this hook collects them;
helpers without ``test_*`` functions contribute nothing. Not a proof (no ``STATEMENT``).
Under pytest the larger sizes are selected with ``EXACTHESS_PROOFS_THOROUGH=1``: a fixture reads
the variable and tells the proofs through ``set_thorough`` for each test (the runner and
``exacthess prove --thorough`` do not use the variable).
"""

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _proof_sizes():
    """The thorough sizes when ``EXACTHESS_PROOFS_THOROUGH`` is 1/true/yes/on, the default ones otherwise."""
    from exacthess.proofs.support import THOROUGH_ENV, thorough_mode
    with thorough_mode(os.environ.get(THOROUGH_ENV, "").strip().lower() in ("1", "true", "yes", "on")):
        yield


def pytest_collect_file(file_path, parent):
    path = Path(file_path).resolve()
    if path.suffix != ".py" or path.parent != HERE or path.name in ("conftest.py", "__init__.py"):
        return None
    if path.name.startswith("test_") or parent.session.isinitpath(file_path):
        return None  # pytest's own collection already takes these (named files are collected as given)
    return pytest.Module.from_parent(parent, path=file_path)
