"""Certificates for nonlinear activations and other losses vs exact rational Gaussian elimination.

Every rank the pipeline certifies (Hadamard stage off, so only structure decides) must equal
``fmpq_mat(H).rank()`` on the full exact matrix (FLINT's elimination over Q, no primes); an
uncertified one must bracket it with its proven bounds. Independent route: the full matrices
and a generic elimination, not the certificates' null vectors, cores or block structure.
"""

from hypothesis import assume, given, strategies as st

import exacthess as eh
from exacthess.hessian.problem import make_problem
from exacthess.hessian.ranks import certified_ranks
from rank_reference import check_certified_ranks, qrank


@st.composite
def small_networks(draw):
    act = draw(st.sampled_from(["relu", "leaky_relu(1/4)", "poly(0, 1, 0, 1/3)", "linear"]))
    bias = draw(st.booleans())
    if draw(st.booleans()):
        d = draw(st.integers(1, 4))
        widths = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
        arch = eh.FCN(d, widths, draw(st.integers(1, 3)), bias=bias, activation=act)
    else:
        n_in = draw(st.integers(3, 6))
        depth = draw(st.integers(1, 2))
        try:
            arch = eh.CNN((n_in,), tuple(draw(st.integers(1, 2)) for _ in range(depth)), draw(st.integers(1, 3)),
                          draw(st.integers(1, 2)), paddings=draw(st.integers(0, 1)), bias=bias, activation=act)
        except eh.errors.InvalidArchitectureError:  # a kernel larger than a deep, shrinking map
            assume(False)
    loss = draw(st.sampled_from(["mse", "cross_entropy", "weighted_mse(1, 3)", "bce"]))
    if loss == "cross_entropy":
        assume(arch.output_dim >= 2)
    if loss.startswith("weighted"):
        assume(arch.output_dim == 2)
    return arch, loss, draw(st.integers(1, 6)), draw(st.integers(0, 10**6))


@given(case=small_networks())
def test_certified_ranks_equal_exact_ranks(case):
    arch, loss, n, seed = case
    assume(arch.n_params <= 60)
    try:
        check_certified_ranks(arch, n, seed, loss)
    except eh.errors.NonDifferentiableError:
        assume(False)


def test_the_later_layer_case_that_was_wrong():
    """A ReLU CNN where a later layer sees few samples: directions orthogonal to its (moving)
    patches are null vectors of J but not of H_L; rank H_L must match elimination."""
    arch = eh.CNN((5,), (2, 2), 2, 2, paddings=1, activation="relu")
    for seed in range(4):
        prob = make_problem(arch, n_samples=3, seed=seed)
        _, info, qq = certified_ranks(prob, seed=seed)
        for key in ("H_o", "H_f", "H_L"):
            r = info[key]
            exact = qrank(qq.full(key))
            assert r.lower <= exact <= r.upper and (not r.certified or r.value == exact), (seed, key, r, exact)
