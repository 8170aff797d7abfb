r"""Attention weights at saturated scores: the size of their softmax stand-ins, checked before any is computed.

A row of scores ``z`` (the kept entries, times the node's scale) whose largest and smallest entries are
``gap`` apart has softmax stand-ins whose denominators have about :math:`\mathrm{gap}\,\log_2 e` bits
(:func:`~exacthess.models.standins.standin_bits`). Above :data:`~exacthess.models.standins.MAX_STANDIN_BITS`
they are refused; above :data:`~exacthess.hessian.forward.STANDIN_CHECK_BITS` the exact Hessians built on
them (entries of about twice as many bits) are checked against the memory budget and an estimate of
the time, as the loss's stand-ins are (:attr:`~exacthess.hessian.forward.ExactForward.standin_bits`): the
graph route multiplies each saturated row's ``n^2`` weight derivatives into ``p x p`` products, so the time
is about :data:`GRAPH_STANDIN_FACTOR` times the loss's per-bit rate times ``2 bits * rows * n^2 (p^2 + 4)``
(measured: a 4-parameter layer at a score gap of 2^23, 12 million bits in two rows: ``hessian`` 25 s,
``verify`` 89 s; estimated 92 s).
"""

from __future__ import annotations

import numpy as np

from ..core.errors import ProblemTooLargeError
from ..models.standins import MAX_STANDIN_BITS, standin_bits
from .forward import STANDIN_CHECK_BITS, require_standin_budget

__all__ = ["check_softmax_standins", "GRAPH_STANDIN_FACTOR"]

#: the graph route's cost per stand-in bit relative to the chain engine's loss stand-ins: ``verify`` forms the
#: Hessians more than once (4 parameters, scores 2^24 apart: ``hessian`` 135 s, ``verify`` about twice that)
GRAPH_STANDIN_FACTOR = 2

_HINT = "scale the attention scores down (a smaller score scale, or smaller query/key weights or inputs)"


def check_softmax_standins(node, u, scale, keep, n_params: int) -> int:
    """The largest denominator (bits) among the softmax stand-ins of ``node`` over all samples ``u`` (``(n, m n)``
    scores, ``keep`` the ``(m, n)`` entries not masked), after the checks of the module doc.

    Raises:
        ProblemTooLargeError: a stand-in, or the Hessians built on them, would be too large or too slow,
            naming the node, the sample and the row.
    """
    m, n_ = keep.shape
    worst, big = (0, None), 0
    for i in range(u.shape[0]):
        rows = u[i].reshape(m, n_)
        for r in range(m):
            z = [scale * x for x in rows[r, keep[r]]]
            if len(z) < 2:
                continue
            gap = max(z) - min(z)
            bits = standin_bits(gap, len(z))
            if bits > MAX_STANDIN_BITS:
                raise ProblemTooLargeError(
                    f"{node.label()}, sample {i}, row {r}: the scaled scores span {gap} (about {float(gap):.3g}), so "
                    f"the softmax stand-ins need denominators of about {bits} bits; expected at most "
                    f"MAX_STANDIN_BITS = {MAX_STANDIN_BITS} (a span below about {MAX_STANDIN_BITS * 0.6931:.4g}): "
                    f"{_HINT}")
            big += bits > STANDIN_CHECK_BITS
            if bits > worst[0]:
                worst = (bits, (i, r))
    bits = worst[0]
    if bits > STANDIN_CHECK_BITS:
        i, r = worst[1]
        what = (f"computing exact Hessians at the softmax stand-ins of {node.label()} (saturated at sample {i}, row "
                f"{r}: denominators of up to {bits} bits; {big} such rows, {n_params} parameters)")
        require_standin_budget(what, _HINT, bits, entries=6 * n_params * n_params,
                               work=GRAPH_STANDIN_FACTOR * big * n_ * n_ * (n_params ** 2 + 4))
    return int(np.int64(bits))
