"""The channel x spatial composite certificate, against independent routes.

* The spatial composites are compared with products of explicitly built shift matrices
  (from the convolution formula ``u = s x + a - pad``, not from the layer's gather table).
* The spanning matrix ``E`` of a block row (over Q) must contain the exact block row's
  column space and its dimension bound must be at least the exact rank: both checked with
  FLINT's exact rational Gaussian elimination (``fmpq_mat.rank``), which shares no code with
  the certificates.
"""

import itertools

import numpy as np
import pytest
from flint import fmpq_mat
from hypothesis import given, strategies as st

import exacthess as eh
from exacthess.hessian.composite import assemble, data_gradient, gradient, lower_composites, pieces, reachable
from exacthess.hessian.problem import make_problem
from exacthess.hessian.engine import Engine
from exacthess.core.domains import QQ
from exacthess.strategies import cnn_architectures


def qrank(a: np.ndarray) -> int:
    if not a.size:
        return 0
    return fmpq_mat(a.shape[0], a.shape[1], [v for v in a.flat]).rank()


def shift_matrix(n_in, n_out, stride, pad, a):
    S = np.zeros((n_out, n_in), dtype=np.int64)
    for x in range(n_out):
        u = stride * x + a - pad
        if 0 <= u < n_in:
            S[x, u] = 1
    return S


def explicit_composites(arch, l):
    """Distinct nonzero products S^(l-1)_{a_{l-1}} ... S^(1)_{a_1} of 1-D shift matrices."""
    mats = []
    per_layer = []
    for layer in arch.layers[: l - 1]:
        n_in, n_out = layer.in_shape[1], layer.out_shape[1]
        per_layer.append([shift_matrix(n_in, n_out, layer.stride[1], layer.padding[1], a)
                          for a in range(layer.kernel[1])])
    for combo in itertools.product(*per_layer):
        P = combo[0]
        for S in combo[1:]:
            P = S @ P
        if P.any():
            mats.append(P.tobytes())
    return set(mats)


@given(cnn_architectures(dims=1, max_depth=3, max_input=8, max_kernel=3))
def test_lower_composites_are_the_shift_products(arch):
    for l in range(2, len(arch.layers) + 1):
        maps = lower_composites(arch.layers, l)
        d = arch.layers[0].in_shape[1]
        got = set()
        for f in maps:
            P = np.zeros((len(f), d), dtype=np.int64)
            for x, u in enumerate(f):
                if u >= 0:
                    P[x, u] = 1
            got.add(P.tobytes())
        assert got == explicit_composites(arch, l)


def test_reachable_skips_positions_a_stride_never_reads():
    arch = eh.CNN((8,), (1, 1), (1, 1), 1, strides=(1, 2))
    assert reachable(arch.layers, 1).tolist() == [0, 2, 4, 6]
    assert reachable(arch.layers, 2).tolist() == list(range(4))


def _check_block_rows(arch, n):
    prob = make_problem(arch, n_samples=n, seed=1)
    e = Engine(prob, QQ)
    L1 = len(arch.layers)
    for name, with_o in (("H_f", False), ("H_L", True)):
        for l in range(1, L1 + 1):
            row = np.concatenate([e.block(name, l, m) for m in range(1, L1 + 1)], axis=1)
            eps, phi = pieces(e, l, with_o)
            layer = arch.layers[l - 1]
            E = assemble(QQ, layer, eps, phi)
            rE = qrank(E)
            # the spanning matrix contains the block row's column space (exactly, over Q)
            assert qrank(np.concatenate([E, row], axis=1)) == rE, (name, l)
            # and the certified dimension bound holds
            bound = (layer.c_out * qrank(eps) if eps is not None else 0) + \
                    (layer.c_in * qrank(phi) if phi is not None else 0)
            if eps is not None and phi is not None and not e.aug and any(v != 0 for v in gradient(e, l)):
                bound -= 1
            assert qrank(row) <= min(bound, rE)


@given(cnn_architectures(dims=1, max_depth=3, max_input=6, max_kernel=3, max_channels=2, bias=None),
       st.integers(1, 8))
def test_spanning_matrix_contains_block_rows_1d(arch, n):
    _check_block_rows(arch, n)


@given(cnn_architectures(dims=2, max_depth=2, max_input=6, max_kernel=2, max_channels=2, bias=None),
       st.integers(1, 6))
def test_spanning_matrix_contains_block_rows_2d(arch, n):
    _check_block_rows(arch, n)


@pytest.mark.parametrize("arch", [
    eh.CNN((8,), (3, 3), 3, 2, paddings=1),
    eh.FCN(4, (3, 2), 2),
])
def test_bound_is_tight_on_examples(arch):
    """On these networks the composite bound equals the exact block-row rank."""
    prob = make_problem(arch, n_samples=2 * arch.input_dim, seed=0)
    e = Engine(prob, QQ)
    for l in range(1, len(arch.layers) + 1):
        row = np.concatenate([e.block("H_f", l, m) for m in range(1, len(arch.layers) + 1)], axis=1)
        eps, phi = pieces(e, l, False)
        layer = arch.layers[l - 1]
        bound = (layer.c_out * qrank(eps) if eps is not None else 0) + \
                (layer.c_in * qrank(phi) if phi is not None else 0)
        if eps is not None and phi is not None and not e.aug and any(v != 0 for v in gradient(e, l)):
            bound -= 1
        assert qrank(row) == min(bound, layer.n_params)


@given(cnn_architectures(dims=1, max_depth=3, max_input=6, max_kernel=3, max_channels=2, bias=True),
       st.integers(1, 8))
def test_data_gradient_lies_in_the_lower_part(arch, n):
    """With biases the parts share g_l^0 (bias-free data gradient): it is in the lower part."""
    e = Engine(make_problem(arch, n_samples=n, seed=2), QQ)
    for l in range(2, len(arch.layers) + 1):
        _, phi = pieces(e, l, False)
        El = assemble(QQ, arch.layers[l - 1], None, phi)
        g0 = data_gradient(e, l).reshape(-1, 1)
        assert qrank(np.concatenate([El, g0], axis=1)) == qrank(El)


def test_biased_cnn_is_certified_by_composites():
    arch = eh.CNN((16,), (4, 4), 5, 3, paddings=2, bias=True)
    prob = make_problem(arch, n_samples=32, seed=0)
    from exacthess.hessian.ranks import certified_ranks
    _, info, qq = certified_ranks(prob)
    assert all(r.certified and not r.failures and "Hadamard" not in r.bounds[1].how
               and "exact elimination over Q" != r.bounds[1].how for r in info.values()), info
    for key in ("H_f", "H_L"):
        assert info[key].value == qrank(qq.full(key))
