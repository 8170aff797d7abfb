"""Seeded points: the distribution documented in exacthess.hessian.problem, checked directly.

Independent routes: float32 representability is checked by numpy's own rounding
(``np.float32``) compared as exact rationals; scales by the empirical standard deviation of
many draws against the documented ``1/sqrt(fan_in)``; grids by integer arithmetic on the
exact numerators and denominators.
"""

import math

import numpy as np
import pytest
from flint import fmpq

from exacthess import CNN, FCN, hessian, verify
from exacthess.core.errors import InvalidOptionError
from exacthess.cli.main import main
from exacthess.hessian.problem import POINTS, make_problem, seeded_data, seeded_params

ARCHS = [FCN(25, (5, 10), 10, bias=True), CNN((6, 6), (3, 2), 3, 4, in_channels=2, paddings=1, bias=True),
         CNN((16,), (4, 4), 5, 3, strides=[2, 1], paddings=2)]


def _exact(x: float) -> fmpq:
    num, den = float(x).as_integer_ratio()
    return fmpq(num, den)


@pytest.mark.parametrize("arch", ARCHS, ids=repr)
def test_seeded_point_is_exact_in_float32(arch):
    """Every parameter, data and target entry equals its float32 rounding exactly."""
    P = seeded_params(arch, 3)
    X, Y = seeded_data(arch, 7, 3)
    for arr in P + [X, Y]:
        for v in arr.flat:
            assert _exact(np.float32(float(v))) == v
            assert v != 0


def test_problem_carries_the_same_point():
    arch = ARCHS[0]
    prob = make_problem(arch, n_samples=7, seed=3)
    X, Y = seeded_data(arch, 7, 3)
    assert (prob.X == X).all() and (prob.Y == Y).all()
    W1 = seeded_params(arch, 3)[0]
    assert (prob.weights[0][:, :25] == W1).all()


def test_gaussian_scales_and_grid():
    """Weights ~ N(0, 1/fan_in), biases ~ N(0, 0.01/fan_in), data ~ N(0, 1), on odd multiples
    of 2**-(8 + ceil(log2(1/sigma)))."""
    arch = CNN((40,), (64,), 5, 3, in_channels=8, bias=True)  # fan_in 40, then 64 * 36
    W1, b1, W2, b2 = seeded_params(arch, 0)
    X, Y = seeded_data(arch, 500, 0)
    for arr, fan_in, scale in ((W1, 40, 1.0), (W2, 64 * 36, 1.0), (X, 1, 1.0), (Y, 1, 1.0),
                               (b1, 40, 0.1), (b2, 64 * 36, 0.1)):
        sigma = scale / math.sqrt(fan_in)
        vals = np.array([float(v) for v in arr.flat])
        if vals.size >= 60:  # the sample standard deviation is within 6 standard errors
            assert abs(vals.std() / sigma - 1) < 6 / math.sqrt(2 * vals.size), (arr.shape, vals.std(), sigma)
            assert abs(vals.mean()) < 6 * sigma / math.sqrt(vals.size)
        k = 8 + math.ceil(math.log2(1 / sigma))
        for v in arr.flat:
            m = v * 2**k
            assert m.q == 1 and int(m.p) % 2 == 1  # an odd multiple of 2**-k: never zero


def test_integer_point_is_kept():
    arch = FCN(3, (2,), 2)
    P = seeded_params(arch, 5, point="integers")
    X, Y = seeded_data(arch, 4, 5, point="integers")
    for arr in P + [X, Y]:
        assert all(v.q == 1 and -999 <= v.p <= 999 for v in arr.flat)
    H = hessian(arch, n_samples=4, seed=5, point="integers")
    assert H.H_L.shape == (arch.n_params, arch.n_params)
    assert "--point integers" in verify(arch, n_samples=4, seed=5, point="integers").command
    assert "--point" not in verify(arch, n_samples=4, seed=5).command


@pytest.mark.parametrize("call", [
    lambda: make_problem(FCN(2, (2,), 1), point="uniform"),
    lambda: hessian(FCN(2, (2,), 1), point="uniform"),
    lambda: verify(FCN(2, (2,), 1), point="uniform"),
    lambda: seeded_params(FCN(2, (2,), 1), 0, point="uniform"),
])
def test_unknown_point_lists_the_known_ones(call):
    with pytest.raises(InvalidOptionError, match=r"point = 'uniform' is not a known option; expected one of "
                                                   r"'gaussian', 'integers'"):
        call()
    assert POINTS == ("gaussian", "integers")


def test_cli_unknown_point_exits_2(capsys):
    code = main(["verify", "cnn", "--input-shape", "6", "--channels", "2", "--kernel-sizes", "3",
                 "--output-dim", "2", "--point", "uniform"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().count("\n") == 0 and "point = 'uniform'" in err


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("bias, expected", [(False, (150, 175, 250)), (True, (160, 190, 280))])
def test_notebook_ranks_at_both_points(point, bias, expected):
    """The notebook's setting (d = 25, widths (5, 10), K = 10, n = 50): generic ranks, so the
    same at a Gaussian and at an integer point; without biases they are the notebook's printed
    float64 ranks (H_o 150, H_f 175, H_L 250: Singh et al. 2021's formulas)."""
    r = verify(FCN(25, (5, 10), 10, bias=bias), n_samples=50, seed=1, point=point, float_check=False)
    assert (r.ranks["H_o"], r.ranks["H_f"], r.ranks["H_L"]) == expected
    assert r.certified
