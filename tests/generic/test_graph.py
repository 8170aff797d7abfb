"""generic_rank of a polynomial graph (self-attention), exacthess/generic/graph.py: the proven value against
FLINT's rank of the dense exact H_o at a seeded rational point (a rank at a point never exceeds the generic
rank, and the seeded point is generic in practice), and the refusals."""

import numpy as np
import pytest
from flint import fmpq, fmpq_mat

import exacthess as eh
from exacthess.core.errors import InvalidArchitectureError, InvalidOptionError
from exacthess.models.graph import GraphBuilder


def layer(T, d, dk, dv, K, bias, act=None):
    b = GraphBuilder((T, d))
    x = b.input if act is None else b.act(b.input, act)
    q, k, v = (b.linear(x, w, bias=bias, name=n) for n, w in (("q", dk), ("k", dk), ("v", dv)))
    s = b.affine(b.matmul(q, b.transpose(k)), [fmpq(1, 2)] * T, [0] * T)
    return b.build(b.linear(b.matmul(s, v), K, bias=bias, name="o"))


@pytest.mark.parametrize("shape,expected", [((3, 2, 1, 1, 2, False), 5), ((3, 2, 2, 2, 2, False), 7),
                                            ((3, 3, 2, 2, 3, True), 24), ((4, 2, 4, 2, 2, False), 7)])
def test_generic_rank_of_linear_attention_is_proven(shape, expected):
    g = layer(*shape)
    r = eh.generic_rank(g, "H_o", progress=False)
    assert r.proven and r.value == expected and r.upper == g.n_params - r.null_vectors
    H = eh.hessian(g, n_samples=r.n_samples, seed=5).H_o
    M = np.asarray(H, dtype=object)
    assert fmpq_mat(M.shape[0], M.shape[1], [fmpq(v) for v in M.ravel()]).rank() == expected


def test_few_samples_leave_an_interval():
    r = eh.generic_rank(layer(3, 3, 2, 2, 3, True), "H_o", n_samples=2, progress=False)
    assert not r.proven and r.lower < r.upper == 24 and "OPEN" in r.how


def test_refusals_say_why():
    with pytest.raises(InvalidOptionError, match="critical points only"):
        eh.generic_rank(layer(3, 2, 1, 1, 2, False), "H_L", progress=False)
    with pytest.raises(InvalidArchitectureError, match="not polynomial"):
        eh.generic_rank(layer(3, 2, 1, 1, 2, False, act="relu"), "H_o", progress=False)
