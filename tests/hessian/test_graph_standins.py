"""Saturated attention weights: the softmax stand-ins of a graph are sized before any is computed."""

from __future__ import annotations

import time

import pytest

import exacthess as eh
from exacthess.errors import ProblemTooLargeError
from exacthess.models.attention import transformer_block


def _hessian(k):
    g = transformer_block(1, 2, scale=1)
    return eh.hessian(g, params=[[[2 ** k]], [[1]], [[1]], [[1]]], data=([[1, -1]], [[0, 0]]))


def test_saturated_scores_are_refused_up_front_naming_the_node():
    """Scores 2^28 apart: about 10^8-bit stand-ins, an estimated hour; refused before any is computed. Scores
    2^32 apart: beyond MAX_STANDIN_BITS, refused naming the node, the sample and the row."""
    t0 = time.perf_counter()
    with pytest.raises(ProblemTooLargeError, match=r"softmax stand-ins of node .attn.weights0.*needs about ~"):
        _hessian(27).H_L
    with pytest.raises(ProblemTooLargeError, match=r"node 'attn.weights0' \(softmax\), sample 0, row 0: the scaled "
                                                   r"scores span 4294967296"):
        _hessian(31).H_L
    assert time.perf_counter() - t0 < 5
    assert _hessian(8).H_L.shape == (4, 4)  # moderate scores: computed
