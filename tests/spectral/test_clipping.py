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


def _dense_norm(kernel, n):
    """Independent route: largest singular value of the explicit operator by dense SVD."""
    return np.linalg.svd(conv_operator(kernel, n), compute_uv=False)[0]


@pytest.mark.parametrize("fraction,method,iterations", [
    (0.25, "alternating", 50), (0.25, "dykstra", 3), (0.5, "alternating", 2), (0.9, "dykstra", 5),
    (1.5, "alternating", 3)])
def test_clipping_always_meets_the_bound(fraction, method, iterations):
    """The reported case (4-in 3-out 3x3 kernel on 8x8, bound = norm/4 ended at 2.6262 > 2.6261)
    and others: the certified norm (last entry of .norms) is <= bound, the dense SVD of the
    result agrees (up to the float SVD's own rounding), and the kernel keeps its shape."""
    k = np.random.default_rng(3).standard_normal((3, 4, 3, 3))
    norm = _dense_norm(k, (8, 8))
    bound = fraction * norm
    res = clip_operator_norm(k, (8, 8), bound, iterations=iterations, method=method)
    assert res.kernel.shape == k.shape
    assert res.norms[-1] <= bound
    assert _dense_norm(res.kernel, (8, 8)) <= bound * (1 + 1e-13)
    if fraction >= 1:  # nothing to clip: the kernel comes back unchanged
        np.testing.assert_allclose(res.kernel, k, atol=1e-12)
    if res.details["rescale_shrinks"]:
        assert len(res.norms) == iterations + 1 and 0 < res.details["rescale_factor"] < 1
    # no kernel meeting the bound is closer than the unconstrained projection (k <= n here)
    assert res.details["distance_unconstrained"] <= res.details["distance"] + 1e-9


def test_clipping_keeps_support_when_kernel_wraps():
    k = np.random.default_rng(4).standard_normal((2, 2, 6))
    res = clip_operator_norm(k, (4,), 0.3, iterations=3)
    assert np.all(res.kernel[..., 4:] == 0)
    assert res.norms[-1] <= 0.3 and _dense_norm(res.kernel, (4,)) <= 0.3 * (1 + 1e-13)


@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_clipping_huge_and_tiny_kernels(scale):
    k = np.random.default_rng(5).standard_normal((2, 2, 3, 3)) * scale
    bound = 0.5 * _dense_norm(k / scale, (6, 6)) * scale
    res = clip_operator_norm(k, (6, 6), bound, iterations=5)
    assert np.all(np.isfinite(res.kernel)) and 0 < res.norms[-1] <= bound
    assert _dense_norm(res.kernel / scale, (6, 6)) * scale <= bound * (1 + 1e-12)


def test_bad_tol_and_types():
    with pytest.raises(InvalidBoundError, match="tol = -1"):
        clip_operator_norm(np.ones((1, 1, 3)), (4,), 1.0, tol=-1)
    with pytest.raises(InvalidTypeError, match="iterations = 2.5"):
        clip_operator_norm(np.ones((1, 1, 3)), (4,), 1.0, iterations=2.5)


def test_iterations_are_capped():
    import exacthess as eh
    from exacthess.spectral.clipping import MAX_ITERATIONS
    with pytest.raises(eh.errors.InvalidValueError, match=f"iterations = {10**9} is too large; expected an int between 1 and "
                                                     f"{MAX_ITERATIONS}"):
        eh.spectral.clip_operator_norm(np.ones((2, 2, 3, 3)), (8, 8), 1.0, iterations=10**9)
