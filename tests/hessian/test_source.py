"""The matrix source: the residues the checker eliminates in place are the residues of the matrix."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import exacthess as eh
from exacthess.core.modular import reduce_mod
from exacthess.hessian.problem import make_problem
from exacthess.hessian.source import ProblemSource

P = 1048573


@given(st.sampled_from(["linear", "relu", "leaky_relu(1/4)", "poly(1, 1, 1/2)"]), st.booleans(), st.integers(1, 4), st.integers(0, 50),
       st.sampled_from(["H_o", "H_f", "H_L"]))
def test_float64_residues_equal_the_exact_matrix_reduced(act, bias, n, seed, name):
    arch = eh.FCN(2, (3,), 2, bias=bias, activation=act)
    try:
        problem = make_problem(arch, n_samples=n, seed=seed)
        source = ProblemSource(problem)
        exact = reduce_mod(source.exact(name), P)
    except eh.errors.NonDifferentiableError:
        return
    rng = np.random.default_rng(seed)
    rows = tuple(sorted(rng.choice(arch.n_params, size=int(rng.integers(0, arch.n_params + 1)), replace=False)))
    got = source.residues(name, P, rows, rows)
    assert got.dtype == np.float64
    assert (got == exact[np.ix_(rows, rows)]).all()
    assert (source.residues(name, P) == exact).all()


@given(st.sampled_from(["linear", "relu"]), st.booleans(), st.integers(1, 7), st.integers(0, 50),
       st.sampled_from(["mse", "cross_entropy"]))
def test_jacobian_shapes_from_sizes_equal_the_formed_matrices(act, bias, n, seed, loss):
    arch = eh.FCN(3, (2,), 2, bias=bias, activation=act)
    try:
        problem = make_problem(arch, n_samples=n, seed=seed, loss=loss)
        shapes = {name: ProblemSource(problem).shape(name) for name in ("J", "J_f", "CJ")}
        formed = ProblemSource(problem)
        for name, shape in shapes.items():
            if name == "CJ" and problem.sample_free:
                continue
            if name == "CJ" and problem.forward.kernel_factors is None:
                continue
            assert formed.mod(name, P).shape == shape, name
    except (eh.errors.NonDifferentiableError, eh.errors.ProblemTooLargeError):
        return


def test_released_jacobians_are_formed_again_alike():
    problem = make_problem(eh.FCN(3, (2,), 2, bias=True), n_samples=4, seed=3)
    source = ProblemSource(problem)
    J = source.mod("J", P).copy()
    source.release_jacobians()
    assert not any(k[0] == "J" for k in source._cache)
    assert (source.mod("J", P) == J).all()
