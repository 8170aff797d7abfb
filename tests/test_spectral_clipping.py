"""Operator-norm projection: one clip-and-crop misses the bound, the iteration reaches it."""

import numpy as np
import pytest

from exacthess.core.errors import InvalidOptionError, InvalidTypeError, NonFiniteError
from exacthess.spectral import InvalidBoundError, clip_operator_norm, conv_operator, conv_singular_values


def test_single_step_misses_iteration_reaches():
    k = np.random.default_rng(0).standard_normal((4, 4, 3, 3))
    res = clip_operator_norm(k, (8, 8), bound=1.0, iterations=60)
    assert res.kernel.shape == k.shape
    assert res.norms[0] > 1.05  # the paper's single clip-and-crop step
    assert res.norms[-1] <= 1.0 * (1 + 1e-3) and res.converged
    sv = np.linalg.svd(conv_operator(res.kernel, (8, 8)), compute_uv=False)
    assert sv[0] <= res.norms[-1] + 1e-9


def test_dykstra_improves_and_stays_close():
    k = np.random.default_rng(1).standard_normal((2, 3, 3))
    alt = clip_operator_norm(k, (8,), 1.0, iterations=200)
    dyk = clip_operator_norm(k, (8,), 1.0, iterations=200, method="dykstra")
    assert dyk.method == "dykstra"
    assert dyk.norms[-1] < dyk.norms[0]
    assert alt.norms[-1] <= 1.001
    # Dykstra targets the nearest point of the intersection
    assert dyk.details["distance"] <= alt.details["distance"] + 1e-6


def test_kernel_larger_than_input_single_clip_is_exact():
    k = np.random.default_rng(2).standard_normal((2, 2, 5))
    res = clip_operator_norm(k, (3,), 0.5, iterations=2)
    assert res.norms[0] <= 0.5 * (1 + 1e-9)
    assert np.all(res.kernel[..., 3:] == 0)
    assert conv_singular_values(res.kernel, (3,))[0] <= 0.5 + 1e-9


@pytest.mark.parametrize("bound,exc", [(0.0, InvalidBoundError), (-1, InvalidBoundError),
                                       (float("nan"), NonFiniteError), ("a", InvalidTypeError)])
def test_bad_bound(bound, exc):
    with pytest.raises(exc, match="bound"):
        clip_operator_norm(np.ones((1, 1, 3)), (4,), bound)


def test_bad_iterations_and_method():
    with pytest.raises(InvalidBoundError, match="iterations = 0"):
        clip_operator_norm(np.ones((1, 1, 3)), (4,), 1.0, iterations=0)
    with pytest.raises(InvalidOptionError, match="method = 'x'"):
        clip_operator_norm(np.ones((1, 1, 3)), (4,), 1.0, method="x")
