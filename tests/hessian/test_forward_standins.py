"""The exact forward pass refuses stand-ins of saturated logits whose Hessians would not fit, before
computing any of them (memory budget, time estimate), naming the sizes."""

import importlib
from fractions import Fraction

import numpy as np
import pytest

import exacthess as eh
from exacthess.core.errors import ProblemTooLargeError
from exacthess.hessian.problem import make_problem

forward = importlib.import_module("exacthess.hessian.forward")


def one_parameter(x: int, loss: str = "bce"):
    return make_problem(eh.FCN(1, (), 1), params=[np.array([[Fraction(1, 8)]], dtype=object)],
                        data=([[1], [x]], [[1], [1]]), loss=loss)


def test_exact_losses_have_no_stand_ins():
    assert one_parameter(2**30, "mse").forward.standin_bits == 0


def test_small_logits_are_not_checked(monkeypatch):
    monkeypatch.setattr(forward, "STANDIN_SECONDS_LIMIT", 0.0)
    fw = one_parameter(320).forward  # logit 40
    assert fw.standin_bits <= forward.STANDIN_CHECK_BITS and fw.gradients.shape == (1, 2)


def test_memory_budget(monkeypatch):
    monkeypatch.setenv("EXACTHESS_MEMORY_LIMIT_GB", "0.001")
    with pytest.raises(ProblemTooLargeError, match="denominators of up to 1512845 bits; 1 parameters, n = 2") as err:
        one_parameter(2**23).forward.gradients  # logit 2^20
    assert "of memory" in str(err.value) and "EXACTHESS_MEMORY_LIMIT_GB" in str(err.value)


def test_time_estimate(monkeypatch):
    monkeypatch.setattr(forward, "STANDIN_SECONDS_LIMIT", 1e-3)
    with pytest.raises(ProblemTooLargeError, match="needs about .*; expected at most"):
        one_parameter(2**23).forward.hessians


def test_a_wider_network_is_refused_where_one_parameter_works():
    """One saturated sample (logit about 2^19.3) in a 200-parameter network: p^2 Hessian entries of
    about 2 x 945,000 bits each would need tens of GiB."""
    arch = eh.FCN(4, (40,), 1)
    params = [np.full(s, Fraction(1, 8), dtype=object) for s in arch.param_shapes()]
    X = [[1, 0, 0, 0], [2**20, 0, 0, 0]]
    with pytest.raises(ProblemTooLargeError, match="stand-ins of saturated logits .*200 parameters.*GiB of memory"):
        eh.hessian(arch, params=params, data=(X, [[1], [0]]), loss="bce").H_L
