r"""Hunting counterexamples to the KFAC claims with Hypothesis (``exacthess search kfac.<id>``).

:func:`search_kfac` draws networks in the claim's scope and random exact points, and asks
:func:`~exacthess.experiments.claims.kfac.kfac_case` whether ``kron(B, A)`` equals every layer's GGN
block over Q:

* ``kfac.expand.deep_linear`` -- deep linear networks in the expand setting: FCNs of depth 0-3 and
  widths 1-4 (biases or not), linear layers on token maps (``(T, d)``), a convolution followed by
  ``1 x 1`` convolutions; MSE;
* ``kfac.reduce.deep_linear`` -- FCNs, and position-wise layers averaged before a linear head;
* ``kfac.relu`` / ``kfac.cross_entropy`` -- FCNs with a ReLU, or linear FCNs under cross-entropy
  (the readings without one condition: a counterexample is the expected result).

The first exact mismatch (Hypothesis shrinks it) is returned with its network and point; none found
is no proof, only what was tried.

>>> r = search_kfac("kfac.relu", max_examples=20)   # doctest: +SKIP
>>> r.counterexample is not None                    # doctest: +SKIP
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

from ...core.errors import InvalidOptionError
from ...core.validate import check_int, check_seed

__all__ = ["KFAC_SEARCHES", "search_kfac", "KFACSearch"]

#: claim id -> (KFAC kind, activation, loss)
KFAC_SEARCHES = {"kfac.expand.deep_linear": ("expand", "linear", "mse"),
                 "kfac.reduce.deep_linear": ("reduce", "linear", "mse"),
                 "kfac.relu": ("expand", "relu", "mse"),
                 "kfac.cross_entropy": ("expand", "linear", "cross_entropy")}


@dataclass
class KFACSearch:
    """What :func:`search_kfac` tried: ``examples`` networks, and the ``counterexample`` (a
    :class:`~exacthess.experiments.claims.result.Case`) or None."""

    claim: str
    examples: int = 0
    seconds: float = 0.0
    counterexample: object = None
    tried: list = field(default_factory=list)


def _networks(st, kind: str, act: str, K_min: int):
    from ...models.architectures import FCN
    from ...models.graph import GraphBuilder
    size = st.integers(1, 4)

    @st.composite
    def fcn(draw):
        depth = draw(st.integers(0 if act == "linear" else 1, 3))
        return FCN(draw(size), tuple(draw(size) for _ in range(depth)), draw(st.integers(K_min, 4)),
                   bias=draw(st.booleans()), activation=act)

    @st.composite
    def tokens(draw):
        T, d = draw(st.integers(2, 3)), draw(size)
        b = GraphBuilder((d, T))  # channels = features, positions = tokens: 1 x 1 convolutions act per token
        h = b.input
        for _ in range(draw(st.integers(1, 2))):
            h = b.conv(h, draw(size), (1,), bias=draw(st.booleans()))
        if kind == "reduce":
            h = b.linear(b.reshape(b.avgpool(h, (T,)), (b._shape(h)[0],)), draw(size), bias=draw(st.booleans()))
            return b.build(h)
        return b.build(b.reshape(h, (b._shape(h)[0] * T,)))

    @st.composite
    def conv(draw):
        b = GraphBuilder((draw(st.integers(1, 2)), 3, 3))
        h = b.conv(b.input, draw(size), (2, 2), bias=draw(st.booleans()))
        if kind == "reduce":
            h = b.linear(b.reshape(b.avgpool(h, (2, 2)), (b._shape(h)[0],)), draw(size))
            return b.build(h)
        h = b.conv(h, draw(size), (1, 1))
        return b.build(b.reshape(h, (b._shape(h)[0] * 4,)))
    if act != "linear" or K_min > 1:
        return fcn()
    return st.one_of(fcn(), tokens(), conv())


def search_kfac(claim: str, *, max_examples: int = 50, seed: int = 0) -> KFACSearch:
    """Search for a network and exact point where the KFAC claim ``claim`` fails (see the module doc).

    Raises:
        InvalidOptionError: ``claim`` is not one of :data:`KFAC_SEARCHES`.
    """
    from hypothesis import HealthCheck, Phase, given, reject, settings, strategies as st
    from ...core.errors import NonDifferentiableError
    from .kfac import kfac_case
    if claim not in KFAC_SEARCHES:
        raise InvalidOptionError(f"claim = {claim!r} is not a searchable KFAC claim; expected one of "
                                 f"{', '.join(KFAC_SEARCHES)}")
    check_int(max_examples, "max_examples", 1)
    check_seed(seed)
    kind, act, loss = KFAC_SEARCHES[claim]
    out = KFACSearch(claim)
    found = []

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink))
    @given(arch=_networks(st, kind, act, 2 if loss == "cross_entropy" else 1), n=st.integers(2, 4),
           s=st.integers(0, 2**16))
    def check(arch, n, s):
        out.examples += 1
        try:
            case = kfac_case(arch, kind, binding=claim.endswith("deep_linear"), n_samples=n, seed=s, loss=loss)
        except NonDifferentiableError:
            reject()
        if case.verdict != "holds":
            binding = claim.endswith("deep_linear")
            found.append(replace(case, command=f"exacthess.experiments.claims.kfac.kfac_case("
                                               f"exacthess.from_spec({case.spec!r}), {kind!r}, binding={binding}, "
                                               f"n_samples={n}, seed={s}, loss={loss!r})"))
            raise AssertionError(case.verdict)
    t0 = time.perf_counter()
    try:
        check()
    except AssertionError:
        out.counterexample = found[-1]  # Hypothesis replays the shrunk example last
    out.seconds = time.perf_counter() - t0
    return out
