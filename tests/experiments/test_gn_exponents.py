"""The squared norms of the Gauss--Newton split as exact polynomials in the scale ``s``, against sympy.

Independent route (``tests/general_reference.py``): the network and the loss written out with
explicit loops and differentiated symbolically by sympy at the rational points ``s * theta_0``,
``s = 1 .. 13``. On one-hidden-layer networks with a cubic activation every squared norm has
degree <= 12 in ``s`` (pre-activations of degree 1, outputs of degree 4 in the parameters, Hessian
entries of degree <= 6), so agreement at 13 points proves the polynomials equal. ``C_act`` is
sympy's within-layer block ``H_f[1, 1]`` there (``C_cross`` vanishes within a layer) and
``C_cross`` the rest of ``H_f``.
"""

import numpy as np
import pytest
from flint import fmpq

import exacthess as eh
import general_reference as ref
from exacthess.core.errors import InvalidValueError
from exacthess.experiments.gn_exponents import norm_polynomials
from exacthess.experiments.gn_scaling import curvature_scaling
from exacthess.verification.points import scaled_params, standard_data, standard_params

CUBIC = ("poly", (0, 1, 0, "-1/3"))
CASES = [eh.FCN(2, (2,), 1, activation="poly(0, 1, 0, -1/3)"),
         eh.FCN(2, (2,), 2, bias=True, activation="poly(0, 1, 0, -1/3)"),
         eh.CNN((3,), (2,), 2, 1, activation="poly(0, 1, 0, -1/3)")]


def _fro2(M):
    return sum(v * v for v in M)


@pytest.mark.parametrize("arch", CASES, ids=repr)
def test_polynomials_equal_sympy_at_13_scales(arch):
    """gn, curvature, activation and cross_layer polynomials equal sympy's squared norms at s = 1..13
    (degree <= 12 on both sides: equal as polynomials); the exponents follow."""
    n = 3
    polys = norm_polynomials(arch, n_samples=n)
    base, (X, Y) = standard_params(arch), standard_data(arch, n)
    p1 = arch.layer_param_counts[0]
    for k in ("gn", "curvature", "activation", "cross_layer"):
        assert getattr(polys, k).degree() <= 12
    for s in range(1, 14):
        _, H_o, H_f, _ = ref.hessians(arch, CUBIC, "mse", scaled_params(arch, base, s), X, Y)
        act = _fro2(H_f[:p1, :p1])
        for k, want in (("gn", _fro2(H_o)), ("curvature", _fro2(H_f)), ("activation", act),
                        ("cross_layer", _fro2(H_f) - act)):
            got = getattr(polys, k)(fmpq(s))
            assert got == fmpq(int(want.p), int(want.q)), (k, s)


def test_exponents_and_limits():
    """Exponent = difference of lowest degrees; ratio / s^e tends to the quotient of the lowest
    coefficients (checked at s = 2^-40 against the exact ratio to within 2^-30 relative)."""
    arch = CASES[0]
    polys = norm_polynomials(arch, n_samples=3)
    assert (polys.valuation("gn"), polys.valuation("cross_layer"), polys.valuation("activation")) == (4, 0, 4)
    assert polys.exponent("curvature_ratio") == -4 and polys.exponent("activation_share") == 4
    assert polys.exponent("activation_ratio") == 0
    s = fmpq(1, 2 ** 40)
    for name in ("curvature_ratio", "activation_share"):
        r = polys.ratio_at(name, s) / s ** polys.exponent(name)
        assert abs(r / polys.leading(name) - 1) < fmpq(1, 2 ** 30)


def test_biases_change_the_exponent():
    """With biases the last layer's bias column of J is constant: |G|^2 has lowest degree 0, so
    |C|^2/|G|^2 tends to a nonzero constant (exponent 0), and the near-linear whole-Hessian
    claim fails by a proven exponent 0, not by a fit."""
    arch = eh.FCN(3, (3, 2), 2, bias=True, activation="poly(0, 1, 0, -1/3)")
    polys = norm_polynomials(arch, n_samples=6)
    assert polys.valuation("gn") == 0 and polys.exponent("curvature_ratio") == 0
    r = eh.claims.near_linear_whole_hessian([arch])
    assert (r.verdict, r.certified, r.cases[0].numbers["proven exponent"]) == ("VIOLATED", True, 0)


def test_sweep_s1_is_the_seeded_standard_point():
    """s = 1 of the sweep is gauss_newton_gap's own default point (seeded at standard-initialisation
    scale): the ratios agree exactly, and the polynomials evaluate to the sweep's exact ratios."""
    arch = eh.FCN(3, (3,), 2, activation="poly(0, 1, 0, -1/3)")
    res = curvature_scaling(arch, scales=[1, fmpq(1, 2)], n_samples=6)
    direct = eh.gauss_newton_gap(arch, n_samples=6, ranks=False)
    assert res.ratios["curvature_ratio"][0] == direct.curvature_ratio
    assert res.ratios["activation_share"][0] == direct.activation_share
    assert 0.1 < float(direct.curvature_ratio) < 10  # not 1e12: the point is not shrunk a second time
    assert all(abs(float(v)) < 4 for p in standard_params(arch) for v in np.asarray(p).flat)
    assert res.proven == {"curvature_ratio": -4, "activation_ratio": 0, "activation_share": 4}


def test_bad_input():
    with pytest.raises(InvalidValueError, match="piecewise linear"):
        norm_polynomials(eh.FCN(2, (2,), 1, activation="relu"))
    with pytest.raises(InvalidValueError, match="x \\+ O\\(x\\^3\\)"):
        eh.claims.near_linear_activation_part([eh.FCN(3, (3,), 2, activation="poly(0, 1, 1)")])
    with pytest.raises(InvalidValueError, match="x \\+ O\\(x\\^3\\)"):
        eh.claims.near_linear_whole_hessian([eh.FCN(3, (3,), 2, bias=True, activation="relu")])
