"""Gathers onto parameters (``exacthess.hessian.taps``): the positions of unshared parameters and the
entrywise products of gathered factors.

Independent routes: the positions against the documented parameter order written out by hand
(``vec_row(W)``, then ``b``) and against the operator itself (the derivative of ``T(w)`` with respect to one
parameter is the unit matrix at its position); the products against plain Python integers and FLINT
rationals, one entry at a time, with every chunk size down to one row.
"""

from unittest import mock

import numpy as np
from flint import fmpq
from hypothesis import given, strategies as st

import exacthess as eh
from exacthess.core.domains import GF, QQ
from exacthess.hessian import taps
from exacthess.hessian.taps import gather_pairs, one_position, positions
from exacthess.models.geometry import ConvLayer
from exacthess.models.toeplitz import toeplitz_operator

P = 2147483629  # the largest prime GF(p) takes: products of residues need all of int64


def test_one_position_means_no_weight_sharing():
    fcn = eh.FCN(3, (2,), 4, bias=True)
    assert all(one_position(layer) for layer in fcn.layers)
    cnn = eh.CNN((5,), (2,), 3, 2, paddings=1)
    assert [one_position(layer) for layer in cnn.layers] == [False, True]  # the dense head is unshared
    assert one_position(ConvLayer(1, 2, (1, 2), (1, 4), padding=(0, 1)))  # a kernel covering the padded input
    assert one_position(ConvLayer(1, 1, (1, 1), (1, 3), padding_mode="circular"))  # taps wrap onto one input


def test_positions_of_a_dense_layer_follow_the_documented_order():
    """``theta = vec_row(W), b``: parameter ``o * n_in + i`` sits at ``(o, i)`` and bias ``o`` at ``(o, n_in)``."""
    for bias in (False, True):
        layer = eh.FCN(3, (), 2, bias=bias).layers[0]
        rows, cols = positions(layer, np.arange(layer.n_params))
        want = [(o, i) for o in range(2) for i in range(3)] + ([(o, 3) for o in range(2)] if bias else [])
        assert list(zip(rows.tolist(), cols.tolist())) == want


@given(layer=st.sampled_from([
    eh.FCN(3, (), 2, bias=True).layers[0],
    ConvLayer(1, 2, (1, 2), (1, 4), padding=(0, 1), bias=True),  # taps 0 and 3 read padding
    ConvLayer(2, 1, (1, 1), (1, 3), padding_mode="circular"),  # all taps of a channel read one input
]), data=st.data())
def test_positions_are_where_the_operator_depends_on_the_parameter(layer, data):
    """``d T / d theta`` is the unit matrix at the parameter's position (zero for a tap reading padding)."""
    k = data.draw(st.integers(0, layer.n_params - 1))
    w = QQ.zeros(layer.n_params)
    w[k] = fmpq(1)  # theta = e_k in the documented order; the operator is linear in it
    taps_order = QQ.zeros(layer.n_params)
    taps_order[layer.tap_to_documented] = w
    T = toeplitz_operator(layer, taps_order.reshape(layer.c_out, layer.n_taps), QQ, True)[: layer.n_out]
    (row,), (col,) = positions(layer, [k])
    want = QQ.zeros(T.shape)
    if col <= layer.n_in:
        want[row, col] = fmpq(1)
    else:
        assert col == layer.n_in + 1  # padding: the parameter multiplies a zero
    assert (T == want).all()


@given(shape_a=st.tuples(st.integers(1, 4), st.integers(1, 4)), shape_b=st.tuples(st.integers(1, 4), st.integers(1, 4)),
       n=st.integers(0, 7), m=st.integers(0, 7), chunk=st.sampled_from((1, 2, 3, 5, 1 << 22)), exact=st.booleans(),
       data=st.data())
def test_gather_pairs_multiplies_entries_exactly(shape_a, shape_b, n, m, chunk, exact, data):
    """``out[s, t] = A[ai[s], aj[t]] B[bi[s], bj[t]]`` for every chunk size, modulo a prime near 2^31 (entries
    near p: a product needs 62 bits) and over Q."""
    ring = QQ if exact else GF(P)
    if exact:
        entry = st.builds(fmpq, st.integers(-50, 50), st.integers(1, 9))
    else:
        entry = st.one_of(st.integers(0, 3), st.integers(P - 4, P - 1))
    A = np.array(data.draw(st.lists(entry, min_size=shape_a[0] * shape_a[1], max_size=shape_a[0] * shape_a[1])),
                 dtype=object if exact else np.int64).reshape(shape_a)
    B = np.array(data.draw(st.lists(entry, min_size=shape_b[0] * shape_b[1], max_size=shape_b[0] * shape_b[1])),
                 dtype=object if exact else np.int64).reshape(shape_b)

    def index(size, count):
        return np.array(data.draw(st.lists(st.integers(0, size - 1), min_size=count, max_size=count)), dtype=np.int64)
    ai, bi, aj, bj = index(shape_a[0], n), index(shape_b[0], n), index(shape_a[1], m), index(shape_b[1], m)
    with mock.patch.object(taps, "PAIR_CHUNK", chunk):
        out = gather_pairs(ring, A, ai, aj, B, bi, bj)
    assert out.shape == (n, m)
    for s in range(n):
        for t in range(m):
            want = A[ai[s], aj[t]] * B[bi[s], bj[t]]
            assert out[s, t] == (want if exact else int(want) % P)
