"""generic_rank: API, bad input and the size refusal.

The values asserted here are the published generic formulas (Singh et al. 2021, FORMULAS.md
s.1) for cases where they are known to hold, and 0 for the functional Hessian of a network with
no hidden layer (F is linear in the parameters for each sample, so H_f = 0 identically).
"""

import json

import pytest

from exacthess import CNN, FCN
from exacthess.core.errors import (InvalidDataError, InvalidOptionError, InvalidTypeError,
                                   ProblemTooLargeError)
from exacthess.generic import GenericRank, generic_rank
from exacthess.generic.rank import quantities, symbolic_size


def test_notebook_setting_small():
    """FCN(4, (3,), 2), n = 8: q = 2, H_o = q (r + K - q) = 8, H_f = 2 q m + 2 q s - 2 q^2 = 12,
    H_L = 2 q m - 2 q^2 + q (r + K) = 16."""
    arch = FCN(4, (3,), 2)
    got = {q: generic_rank(arch, q, n_samples=8) for q in ("H_o", "H_f", "H_L", "H_f[:,1]", "H_f[:,2]")}
    assert {q: r.value for q, r in got.items()} == {"H_o": 8, "H_f": 12, "H_L": 16, "H_f[:,1]": 6, "H_f[:,2]": 6}
    r = got["H_o"]
    assert isinstance(r, GenericRank) and r.proven and r.shape == (18, 18) and r.null_vectors == 10
    assert "lower" in r.how and "upper" in r.how and r.seconds >= 0
    assert any("symmetry" in f for f in r.families)
    json.dumps(r.to_dict())
    assert "generic rank H_o" in str(r)


def test_no_hidden_layer_functional_hessian_is_zero():
    r = generic_rank(FCN(3, (), 2), "H_f", n_samples=5)
    assert (r.lower, r.upper) == (0, 0)


def test_default_samples_is_two_d():
    assert generic_rank(FCN(2, (1,), 1), "H_o").n_samples == 4


def test_cnn_interval_is_reported_honestly():
    """A padded two-layer CNN: H_L is not closed by the known families; the interval says so."""
    r = generic_rank(CNN((6,), (2, 2), 2, 2, paddings=1), "H_L", n_samples=12)
    assert r.lower <= r.upper
    if not r.proven:
        assert "OPEN" in r.how and r.value is None


@pytest.mark.parametrize("bad,exc", [
    (dict(arch="FCN"), InvalidTypeError),
    (dict(quantity="H_x"), InvalidOptionError),
    (dict(quantity="H_f[:,3]"), InvalidOptionError),
    (dict(n_samples=0), InvalidDataError),
    (dict(n_samples=2.5), InvalidTypeError),
])
def test_bad_input(bad, exc):
    kw = dict(arch=FCN(3, (2,), 2), quantity="H_o", n_samples=4)
    kw.update(bad)
    with pytest.raises(exc) as info:
        generic_rank(kw.pop("arch"), kw.pop("quantity"), **kw)
    assert "expected" in str(info.value)


def test_too_large_is_refused_up_front_with_sizes_and_a_pointer_to_verify():
    arch = FCN(60, (30, 30), 40)
    size = symbolic_size(arch, 120)
    assert size["variables"] > 3000
    with pytest.raises(ProblemTooLargeError) as info:
        generic_rank(arch, "H_o")
    msg = str(info.value)
    assert "variables" in msg and "terms" in msg and "exacthess.verify" in msg and "GB" in msg


def test_quantities_lists_block_columns():
    assert quantities(FCN(3, (2, 2), 1)) == ["H_o", "H_f", "H_L", "H_f[:,1]", "H_f[:,2]", "H_f[:,3]"]


def test_strided_layer_with_one_output_position_is_not_dense():
    """A stride-2, 1x1 convolution on 2 inputs has a single output position but reads only input
    0: it is not a full matrix, so the rank-one families must not treat it as one."""
    proof_ranks = {q: generic_rank(CNN((2,), (1,), 1, 1, strides=2), q, n_samples=1) for q in ("H_o", "H_f", "H_L")}
    assert {q: (r.lower, r.upper) for q, r in proof_ranks.items()} == {"H_o": (1, 1), "H_f": (2, 2), "H_L": (2, 2)}


@pytest.mark.parametrize("act", ["relu", "leaky_relu(1/4)", "poly(0, 1, 0, 1/3)"])
def test_non_linear_activation_is_refused_because_the_linear_bound_is_false(act):
    """The null vectors behind the upper bound are those of the *linear* network. Independent
    route: :func:`exacthess.verify` computes H_o exactly (modular rank, a proven lower bound) at
    one point of the non-linear network, and it exceeds the linear network's generic rank
    q (r + K - q) = 2 (4 + 2 - 2) = 8, which the linear machinery would report as proven."""
    import exacthess as eh
    from exacthess.core.errors import InvalidArchitectureError
    arch = FCN(4, (3,), 2, activation=act)
    assert eh.verify(arch, n_samples=8, seed=3).ranks["H_o"] > 8
    for call in (lambda: generic_rank(arch, "H_o", n_samples=8), lambda: eh.prove_generic(arch, 8),
                 lambda: generic_rank(CNN(6, (2,), 3, 2, activation=act), "H_L")):
        with pytest.raises(InvalidArchitectureError) as info:
            call()
        assert repr(act) in str(info.value) and "'linear'" in str(info.value) and "verify" in str(info.value)


def test_huge_cnn_is_refused_at_once_from_sizes_alone():
    """A 400x400 input with 64, 64 channels: the estimate must come from the sizes (the old
    estimate built dense operators of ~10^7 x 10^5 entries and ran out of memory)."""
    arch = CNN((400, 400), (64, 64), 3, 10)
    with pytest.raises(ProblemTooLargeError) as info:
        generic_rank(arch, "H_o")
    assert "exacthess.verify" in str(info.value) and "variables" in str(info.value)


@pytest.mark.parametrize("arch", [FCN(4, (3,), 2, bias=True), FCN(5, (3, 4), 2),
                                  CNN(8, (2,), 3, 2, bias=True),
                                  CNN((5, 5), (2, 3), (3, 2), 2, strides=[1, 2], bias=True),
                                  CNN(8, (2,), 3, 2, paddings=1)])
def test_path_count_from_sizes_against_the_operators(arch):
    """Independent route: count the paths through the explicit 0/1 pattern of the Toeplitz
    operators (dense matrices, fine at these sizes). Equal for dense layers and unpadded
    convolutions, an upper bound with zero padding."""
    import numpy as np

    from exacthess.generic.rank import paths
    from exacthess.models.toeplitz import parameter_map
    aug = int(arch.bias)
    vec = np.ones(arch.input_dim + aug, dtype=np.int64)
    for layer in arch.layers:
        rows, cols, _ = parameter_map(layer)
        A = np.zeros((layer.n_out + aug, layer.n_in + aug), dtype=np.int64)
        np.add.at(A, (rows, cols), 1)
        if aug:
            A[-1, -1] = 1
        vec = A @ vec
    explicit = int(vec[: arch.output_dim].sum())
    padded = any(max(layer.padding) > 0 for layer in arch.layers)
    assert (paths(arch) >= explicit) if padded else (paths(arch) == explicit)
