"""The exact Hessian against an independent route: sympy differentiating an explicit loop."""

import numpy as np
import pytest
import sympy
from hypothesis import given, settings, strategies as st

from exacthess import CNN, FCN, GF, hessian
from exacthess.hessian.problem import seeded_data, seeded_params
from exacthess.strategies import fcn_architectures

from symbolic_reference import symbolic_hessians  # noqa: E402  (tests/ is on sys.path via conftest)


def _check(arch, n, seed):
    P = seeded_params(arch, seed)
    X, Y = seeded_data(arch, n, seed)
    H = hessian(arch, params=P, data=(X, Y))
    ref = symbolic_hessians(arch, P, X, Y)
    for name, R in zip(("H_L", "H_o", "H_f"), ref):
        assert H.to_sympy(name) == R, name


@settings(max_examples=6)
@given(fcn_architectures(max_size=3, max_depth=2, bias=None), st.integers(1, 5), st.integers(0, 100))
def test_fcn_hessian_equals_sympy(arch, n, seed):
    if arch.n_params > 24:
        arch = FCN(2, (2,), 2, bias=arch.bias)
    _check(arch, n, seed)


@pytest.mark.parametrize("arch, n", [
    (CNN((5,), (2,), 2, 2, paddings=1, strides=2), 3),
    (CNN((6,), (1, 2), [2, 3], 2, strides=[2, 1], paddings=[1, 0]), 2),
    (CNN((3, 3), (1,), (2, 2), 1, in_channels=2, bias=True), 2),
])
def test_cnn_hessian_equals_sympy(arch, n):
    _check(arch, n, 5)


def test_gf_p_is_the_reduction_of_qq():
    arch = FCN(4, (3, 2), 3, bias=True)
    p = 2147483629
    Hq = hessian(arch, n_samples=7, seed=3)
    Hp = hessian(arch, n_samples=7, seed=3, domain=GF(p))
    red = GF(p).convert(Hq.H_L)
    assert (red == Hp.H_L).all()


def test_symbolic_parameters():
    a, b = sympy.symbols("a b")
    arch = FCN(1, (1,), 1)
    H = hessian(arch, params=[[[a]], [[b]]], data=([[2]], [[3]]), domain="SR")
    loss = (2 * b * a - 3) ** 2 / 2
    assert sympy.simplify(H.to_sympy("H_L") - sympy.hessian(loss, (a, b))) == sympy.zeros(2, 2)


def test_symbolic_parameters_need_the_symbolic_domain():
    """Symbols are refused outside domain="SR" (never kept in a "QQ" matrix, never sympy's TypeError),
    with the advice to use it; sympy *rationals* are numbers and are converted exactly everywhere."""
    from flint import fmpq

    from exacthess import gauss_newton_gap, verify
    from exacthess.core.errors import InvalidTypeError
    a = sympy.Symbol("a")
    arch = FCN(2, (2,), 2)
    params = [sympy.Matrix([[a, 1], [2, 3]]), [[1, 0], [0, 1]]]
    calls = [lambda: hessian(arch, params=params, n_samples=3), lambda: hessian(arch, params=params, domain="QQ"),
             lambda: hessian(arch, params=params, domain="GF(7)"), lambda: hessian(arch, params=params, domain="float64"),
             lambda: hessian(arch, params=np.array([a, 1, 2, 3, 4, 5, 6, 7], dtype=object)),
             lambda: hessian(arch, params=[[[sympy.sqrt(2), 1], [2, 3]], [[1, 0], [0, 1]]]),
             lambda: verify(arch, params=params, float_check=False), lambda: gauss_newton_gap(arch, params=params)]
    for call in calls:
        with pytest.raises(InvalidTypeError, match=r"params\[0\].* = \S+ is symbolic .*domain='SR'") as info:
            call()
        assert not isinstance(info.value, ValueError) and "\n" not in str(info.value)
    H = hessian(arch, params=params, n_samples=3, domain="SR")
    assert H.H_L.shape == (8, 8)
    half = [sympy.Matrix([[sympy.Rational(1, 2), 1], [2, 3]]), [[1, 0], [0, 1]]]
    Hq = hessian(arch, params=half, n_samples=3)
    assert all(isinstance(v, fmpq) for v in Hq.H_L.flat)
    assert (Hq.H_L == hessian(arch, params=[[[fmpq(1, 2), 1], [2, 3]], [[1, 0], [0, 1]]], n_samples=3).H_L).all()


def test_float_data_are_exact():
    arch = FCN(2, (), 1)
    H = hessian(arch, params=[[[0.5, 0.25]]], data=([[0.1, 3.0]], [[1.0]]))
    x = sympy.Rational(3602879701896397, 2**55)
    assert H.to_sympy("H_L") == sympy.Matrix([[x * x, 3 * x], [3 * x, 9]])


def test_cost_independent_of_samples_beyond_moments():
    arch = FCN(3, (2,), 2)
    h1 = hessian(arch, n_samples=50, seed=0)
    assert h1.engine.R.shape == (3, 3)  # R = I when n > d: no per-sample work


def test_field_is_a_deprecated_name_of_domain():
    """``field=`` (0.1) still works, with a DeprecationWarning; the matrices equal ``domain=``'s."""
    import pytest
    arch = FCN(2, (2,), 1)
    with pytest.warns(DeprecationWarning, match="domain"):
        old = hessian(arch, n_samples=3, field="QQ")
    assert (old.H_L == hessian(arch, n_samples=3, domain="QQ").H_L).all()
