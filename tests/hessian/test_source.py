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
