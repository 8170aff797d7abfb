"""The proof runner (exacthess/experiments/proofs.py): discovery, running, outcomes.

These test the infrastructure only; the mathematics is in the proof files themselves
(``proofs/*.py``, collected by pytest), each against its own independent symbolic route.
"""

import os
import sys
import types
from pathlib import Path

import pytest

from exacthess.core.errors import ExactHessError, InvalidOptionError
from exacthess.experiments import proofs as runner
from exacthess.proofs.support import THOROUGH_ENV, covered, set_thorough, thorough

EXPECTED = {"dft_block_diagonal", "hessian_split", "linear_functional_hessian", "outer_product_kronecker",
            "symmetry_null_vectors", "toeplitz_convolution"}


def test_discovery_lists_every_proof_with_statement_and_sizes():
    names = runner.proof_names()
    assert EXPECTED <= set(names)
    assert not set(names) & set(runner.RESERVED_NAMES)
    assert not {"support", "linear_networks", "conftest"} & set(names)  # helpers, not proofs
    for info in runner.list_proofs():
        assert info.statement and info.sizes and info.thorough_sizes and info.tests
        assert all(t.startswith("test_") for t in info.tests)
        assert set(info.to_dict()) == {"name", "statement", "sizes", "thorough_sizes", "tests"}


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(InvalidOptionError) as exc:
        runner.get_proof("nosuch")
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, ExactHessError)
    assert "'nosuch'" in str(exc.value) and "hessian_split" in str(exc.value)
    assert runner.resolve_targets("all") == runner.proof_names()
    assert runner.resolve_targets("dft_block_diagonal") == ["dft_block_diagonal"]


def _fake_module():
    mod = types.ModuleType("fake_proof")
    mod.STATEMENT = "a fake statement"

    def test_passes():
        """first statement"""
        covered("size A")
        covered("thorough" if thorough() else "quick")

    def test_fails():
        """second statement"""
        covered("size B")
        assert 1 == 2, "the identity does not hold"

    def test_raises():
        raise RuntimeError("boom")

    def test_takes_an_argument(x):  # not collected: not zero-argument
        raise AssertionError

    for f in (test_passes, test_fails, test_raises, test_takes_an_argument):
        f.__module__ = mod.__name__
        setattr(mod, f.__name__, f)
    return mod


def test_run_module_records_outcomes_and_does_not_hide_failures():
    mod = _fake_module()
    seen = []
    run = runner.run_module(mod, name="fake", on_start=lambda n, t: seen.append((n, t)))
    assert [o.test for o in run.outcomes] == ["test_passes", "test_fails", "test_raises"]
    assert seen == [("fake", "test_passes"), ("fake", "test_fails"), ("fake", "test_raises")]
    ok, fails, raises = run.outcomes
    assert ok.ok and ok.covered == ["size A", "quick"] and ok.statement == "first statement"
    assert not fails.ok and fails.covered == ["size B"] and "does not hold" in fails.error
    assert not raises.ok and "RuntimeError: boom" in raises.error and "Traceback" in raises.error
    assert not run.ok
    assert run.to_dict()["outcomes"][1]["error"].startswith("AssertionError")


def test_thorough_mode_is_scoped(monkeypatch):
    monkeypatch.delenv(THOROUGH_ENV, raising=False)
    before = thorough()
    run = runner.run_module(_fake_module(), thorough=True)
    assert run.outcomes[0].covered == ["size A", "thorough"]
    assert thorough() is before and THOROUGH_ENV not in os.environ  # told by a call, not the environment


def test_thorough_is_a_setting_not_the_environment(monkeypatch):
    """The runner tells the proofs by a call; the environment variable is for pytest runs only."""
    monkeypatch.setenv(THOROUGH_ENV, "1")
    run = runner.run_module(_fake_module(), thorough=False)
    assert run.outcomes[0].covered == ["size A", "quick"]
    previous = set_thorough(True)
    try:
        assert thorough() is True
    finally:
        set_thorough(previous)


def test_every_subpackage_is_installed():
    """pyproject lists packages explicitly (the proofs folder is mapped to exacthess.proofs)."""
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "exacthess").rglob("__init__.py")}
    assert found | {"exacthess.proofs"} == listed
    assert config["package-dir"] == {"exacthess.proofs": "proofs"}
    assert sys.modules["exacthess.proofs.support"].__file__.endswith(os.path.join("proofs", "support.py"))


def _fake_package(tmp_path, monkeypatch, files: dict):
    package = "fakeproofs_" + "".join(ch if ch.isalnum() else "_" for ch in tmp_path.name)  # fresh per test
    pkg = tmp_path / package
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, text in files.items():
        (pkg / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(runner, "PROOF_PACKAGE", package)


GOOD = '''
from exacthess.proofs.support import covered
STATEMENT = "one plus one is two"
SIZES = "1"
THOROUGH_SIZES = "1"

def test_add():
    """1 + 1 = 2"""
    assert 1 + 1 == 2
    covered("n=1")
'''


def test_a_module_that_cannot_be_imported_is_a_failed_proof(tmp_path, monkeypatch):
    _fake_package(tmp_path, monkeypatch, {"good": GOOD, "helper": "X = 1\n",
                                          "broken": "raise ImportError('missing dependency')\n"})
    assert runner.proof_names() == ["broken", "good"]  # helper (no STATEMENT) is not a proof
    infos = {i.name: i for i in runner.list_proofs()}
    assert "cannot be imported" in infos["broken"].statement and infos["good"].tests == ("test_add",)
    runs = runner.run_proofs(runner.resolve_targets("all"))
    assert [r.ok for r in runs] == [False, True]
    assert "missing dependency" in runs[0].outcomes[0].error
    assert runs[1].outcomes[0].covered == ["n=1"]


def test_a_proof_may_not_take_a_reserved_name(tmp_path, monkeypatch):
    _fake_package(tmp_path, monkeypatch, {"generic": GOOD})
    with pytest.raises(RuntimeError, match="reserved name"):
        runner.proof_names()
