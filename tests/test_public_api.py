"""The public namespace: about 30 top-level names, errors in ``exacthess.errors``, moved names
still reachable for one release with a DeprecationWarning that names their home (issue 18)."""

import importlib
import warnings

import pytest

import exacthess as eh
from exacthess import errors


def test_the_top_level_holds_at_most_32_names_all_present():
    assert len(eh.__all__) <= 32 and len(set(eh.__all__)) == len(eh.__all__)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in eh.__all__:
            assert getattr(eh, name) is not None
    assert {"errors", "spectral", "claims"} <= set(eh.__all__)
    assert importlib.import_module("exacthess.claims").perfect_fit_mse is eh.claims.perfect_fit_mse


@pytest.mark.parametrize("name", sorted(eh._MOVED))
def test_moved_names_warn_naming_their_home_and_the_removal(name):
    home = eh._MOVED[name]
    with pytest.warns(DeprecationWarning, match=rf"exacthess\.{name} moved to {home}\.{name} .* removed in 0\.4\.0"):
        obj = getattr(eh, name)
    assert obj is getattr(importlib.import_module(home), name)
    assert name not in dir(eh)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        eh.nonsense


def test_every_error_is_in_one_hierarchy_under_exacthess_errors():
    classes = [getattr(errors, n) for n in errors.__all__]
    assert len(classes) >= 20
    for cls in classes:
        assert cls.__module__ == "exacthess.errors", cls
        if cls is errors.InternalError:  # a bug, not the user's to fix
            assert not issubclass(cls, errors.ExactHessError) and issubclass(cls, RuntimeError)
            continue
        assert issubclass(cls, errors.ExactHessError)
        if cls not in (errors.ExactHessError, errors.MissingDependencyError, errors.SweepIncompleteError):
            assert issubclass(cls, (TypeError, ValueError)), cls
    assert issubclass(errors.NonDifferentiableError, ValueError)


def test_old_error_modules_give_the_same_classes():
    from exacthess.core import errors as core_errors
    from exacthess.models import geometry
    from exacthess.spectral import errors as spectral_errors
    assert spectral_errors.KernelRangeError is errors.KernelRangeError is core_errors.KernelRangeError
    assert geometry.InvalidStrideError is errors.InvalidStrideError


@pytest.mark.parametrize("old", sorted(importlib.import_module("exacthess.experiments").MOVED))
def test_modules_moved_out_of_experiments_keep_their_old_path_with_a_warning(old):
    import sys
    new = importlib.import_module("exacthess.experiments").MOVED[old]
    sys.modules.pop(f"exacthess.experiments.{old}", None)
    with pytest.warns(DeprecationWarning, match=rf"exacthess\.experiments\.{old} moved to {new} .* 0\.4\.0"):
        module = importlib.import_module(f"exacthess.experiments.{old}")
    assert module is importlib.import_module(new)
