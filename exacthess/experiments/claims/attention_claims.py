r"""The self-attention Hessian blocks (``[ormaniec2025]``) as claims, judged against the graph engine over Q.

Each block of :data:`~exacthess.experiments.claims.attention.BLOCKS`, for linear and for softmax
attention, is a claim ``attention.<kind>.<part>.<pair>`` (``attention.linear.Ho.QK``,
``attention.softmax.Hf.VV``, ...): the closed form of
:func:`~exacthess.experiments.claims.attention.attention_blocks` equals the block of
:func:`exacthess.hessian` on the layer built as a :class:`~exacthess.models.graph.Graph`
(:func:`attention_graph`), entry by entry, at every point of :func:`attention_points`: a generic
point and the degenerate ones (zero weights, zero inputs, repeated tokens, one token, ``d_K = 4``
where :math:`1/\sqrt{d_K} = 1/2` is the paper's scale exactly). Softmax attention is exact at the
rational stand-ins (:mod:`exacthess.models.standins`): the engine's ``softmax`` op and
:func:`~exacthess.experiments.claims.attention.attention_matrix` use the same ones.

The closed forms are exacthess's derivation in the paper's setting (the printed blocks are checked
separately, :mod:`exacthess.experiments.claims.attention_structure`): a false verdict is
``refuted`` (the derivation is wrong), never ``VIOLATED``.
``exacthess search attention.<...>`` (:func:`search_attention`) draws further exact points with
:func:`exacthess.strategies.attention_points`.

>>> r = attention_claim("attention.linear.Hf.QQ")
>>> str(r.verdict), len(r.cases)
('holds', 6)
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
from flint import fmpq

from ...core.errors import InvalidOptionError
from ...core.validate import check_int, check_seed
from ...statements.verdicts import Verdict, decided
from .attention import BLOCKS, KINDS, assemble, attention_blocks, attention_matrix, exacthess_params
from .kfac_search import KFACSearch
from .result import Case, ClaimResult, combine

__all__ = ["ATTENTION_CLAIMS", "attention_graph", "attention_case", "attention_points", "attention_claim",
           "search_attention", "engine_parts"]

#: claim id -> (kind, block)
ATTENTION_CLAIMS = {f"attention.{kind}.{block}": (kind, block) for kind in KINDS for block in BLOCKS}


def attention_graph(T: int, d: int, d_K: int, d_V: int, *, scale, kind: str = "linear"):
    """One self-attention layer on a ``(T, d)`` map: linear nodes ``W_Q``, ``W_K`` (``d_K`` outputs)
    and ``W_V`` (``d_V``), scores ``scale * q k^T`` (an ``affine`` node, or the ``softmax`` op's own
    ``scale``), then ``A v``; output ``(T, d_V)`` flattened row-major, parameters ``W_Q, W_K, W_V``."""
    from ...models.graph import GraphBuilder
    b = GraphBuilder((T, d))
    q, k, v = (b.linear(b.input, w, name=nm) for w, nm in ((d_K, "W_Q"), (d_K, "W_K"), (d_V, "W_V")))
    scores = b.matmul(q, b.transpose(k))
    if kind == "softmax":
        A = b.softmax(scores, scale=scale)
    elif kind == "linear":
        A = b.affine(scores, [scale] * T, [0] * T)
    else:
        raise InvalidOptionError(f"kind = {kind!r} is not an attention kind; expected one of {', '.join(KINDS)}")
    return b.build(b.reshape(b.matmul(A, v), (T * d_V,)), param_order=[(nm, "weight") for nm in ("W_Q", "W_K", "W_V")])


def engine_parts(point: dict) -> dict:
    """``{"Ho": H_o, "Hf": H_f}``: the engine's exact outer-product and functional Hessians at ``point``
    (a dict of :func:`exacthess.strategies.attention_points`), parameters in the order W_Q, W_K, W_V."""
    from ...hessian.matrices import hessian
    X, Y = point["X"], point["Y"]
    n, T, d = X.shape
    dK, dV = point["W_Q"].shape[1], point["W_V"].shape[1]
    g = attention_graph(T, d, dK, dV, scale=point["scale"], kind=point["kind"])
    H = hessian(g, params=exacthess_params(point["W_Q"], point["W_K"], point["W_V"]),
                data=(X.reshape(n, T * d), Y.reshape(n, T * dV)), loss="mse")
    return {"Ho": H.H_o, "Hf": H.H_f}


_engine = engine_parts


def attention_case(point: dict, blocks=BLOCKS, *, command: str = "", note: str = "") -> Case:
    """The closed forms of ``blocks`` against the engine at one point: ``holds`` iff every block
    equals the engine's entry by entry over Q (``refuted`` otherwise, with the point in the case)."""
    A = attention_matrix(point["X"], point["W_Q"], point["W_K"], scale=point["scale"], kind=point["kind"])
    mine = attention_blocks(point["X"], point["W_Q"], point["W_K"], point["W_V"], point["Y"], A,
                            scale=point["scale"], kind=point["kind"])
    engine = engine_parts(point)
    n, T, d = point["X"].shape
    dK, dV = point["W_Q"].shape[1], point["W_V"].shape[1]
    nums = {"kind": point["kind"], "scale": str(point["scale"]), "n, T, d, d_K, d_V": [n, T, d, dK, dV],
            "degenerate": point.get("degenerate", "none")}
    ok = True
    diff = {part: assemble(mine, part) - engine[part] for part in ("Ho", "Hf")}
    sl = _slices(d, dK, dV)
    for b in blocks:
        part, (r, c) = b.split(".")
        block_diff = diff[part][sl[r], sl[c]]
        fro2 = sum((v * v for v in block_diff.ravel()), fmpq(0))
        nums[f"{b}: formula == engine"] = fro2 == 0
        nums[f"{b}: |formula - engine|_F^2"] = fro2
        ok = ok and fro2 == 0
    for name in ("X", "Y", "W_Q", "W_K", "W_V"):
        nums[name] = [str(v) for v in np.asarray(point[name]).ravel()]
    how = {"engine": "exacthess.hessian over Q" + (" at the softmax stand-ins" if point["kind"] == "softmax" else "")}
    return Case(f"self-attention ({point['kind']}), T={T}, d={d}, d_K={dK}, d_V={dV}", {}, "mse", n, 0, nums, how,
                decided(ok, binding=False).verdict, True, command=command, note=note)


def _slices(d: int, dK: int, dV: int) -> dict:
    return {"Q": slice(0, dK * d), "K": slice(dK * d, 2 * dK * d), "V": slice(2 * dK * d, 2 * dK * d + dV * d)}


def _m(rows) -> np.ndarray:
    return np.array([[fmpq(v) if not isinstance(v, fmpq) else v for v in r] for r in rows], dtype=object)


def attention_points(kind: str) -> list:
    """The fixed points every attention claim is checked at: generic (2 samples, 3 tokens), ``d_K = 4``
    (scale ``1/sqrt(4) = 1/2`` exactly), zero weights, zero inputs, repeated tokens, one token."""
    h = fmpq(1, 2)
    X = np.array([_m([[1, -1], [h, 2], [0, 1]]), _m([[-2, h], [1, 1], [fmpq(3, 4), 0]])], dtype=object)
    Y = np.array([_m([[1, 0], [0, -1], [h, h]]), _m([[0, 1], [-1, 0], [1, 1]])], dtype=object)
    WQ, WK, WV = _m([[1, h], [-1, 0]]), _m([[h, -1], [1, fmpq(1, 4)]]), _m([[1, -h], [0, 1]])
    gen = {"kind": kind, "scale": h, "X": X, "Y": Y, "W_Q": WQ, "W_K": WK, "W_V": WV, "degenerate": "none"}
    WQ4 = _m([[1, 0, h, -1], [0, 1, 1, h]])
    WK4 = _m([[h, -1, 0, 1], [1, h, -1, 0]])
    dk4 = {**gen, "W_Q": WQ4, "W_K": WK4, "degenerate": "d_K = 4, scale 1/sqrt(4)"}
    z = _m([[0, 0], [0, 0]])
    zero_w = {**gen, "W_Q": z, "W_K": z, "W_V": z, "degenerate": "zero_weights"}
    zero_x = {**gen, "X": np.full(X.shape, fmpq(0), dtype=object), "degenerate": "zero_inputs"}
    rep = {**gen, "X": np.array([[X[0][0]] * 3, [X[1][1]] * 3], dtype=object), "degenerate": "repeated_tokens"}
    one = {**gen, "X": X[:, :1], "Y": Y[:, :1], "scale": fmpq(1), "degenerate": "T = 1"}
    return [gen, dk4, zero_w, zero_x, rep, one]


def attention_claim(claim_id: str, *, progress=None) -> ClaimResult:
    """The claim ``claim_id`` (a key of :data:`ATTENTION_CLAIMS`) at every point of :func:`attention_points`.

    Raises:
        InvalidOptionError: an unknown id (the known ones are listed).
        InvalidArchitectureError: a softmax claim while the graph engine has no ``softmax`` op.
    """
    if claim_id not in ATTENTION_CLAIMS:
        raise InvalidOptionError(f"claim id {claim_id!r} is not an attention claim; expected one of "
                                 f"{', '.join(ATTENTION_CLAIMS)}")
    kind, block = ATTENTION_CLAIMS[claim_id]
    cmd = f"exacthess.claims.claim({claim_id!r})"
    cases = [attention_case(p, (block,), command=cmd, note=p["degenerate"]) for p in attention_points(kind)]
    verdict, certified = combine(cases)
    part, pair = block.split(".")
    what = "outer-product" if part == "Ho" else "functional"
    good = sum(c.verdict == "holds" for c in cases)
    return ClaimResult(
        claim_id, f"the ({pair[0]}, {pair[1]}) block of the {what} Hessian of one {kind} self-attention layer, MSE, "
                  f"equals its closed form (exacthess.experiments.claims.attention), in the setting of "
                  f"[ormaniec2025] (docs/references.md)",
        verdict, Verdict.HOLDS, certified, cases, command=cmd,
        summary=f"closed form == engine block exactly at {good} of {len(cases)} points (generic, d_K = 4, zero "
                "weights, zero inputs, repeated tokens, T = 1)",
        notes=["the closed form is exacthess's derivation (the printed blocks: attention.softmax.printed.*)",
               "MSE 1/2 sum ||F - Y||^2; a loss c ||F - Y||^2 multiplies every block by 2c"]
        + (["softmax values are the exact rational stand-ins (within 2^-64 relatively)"] if kind == "softmax" else []))


def search_attention(claim: str, *, max_examples: int = 50, seed: int = 0) -> KFACSearch:
    """Hunt a counterexample to an attention claim at points drawn by
    :func:`exacthess.strategies.attention_points` (Hypothesis shrinks the first mismatch).

    Raises:
        InvalidOptionError: ``claim`` is not one of :data:`ATTENTION_CLAIMS`."""
    from hypothesis import HealthCheck, Phase, given, settings
    from ...strategies import attention_points as points
    if claim not in ATTENTION_CLAIMS:
        raise InvalidOptionError(f"claim = {claim!r} is not a searchable attention claim; expected one of "
                                 f"{', '.join(ATTENTION_CLAIMS)}")
    check_int(max_examples, "max_examples", 1)
    check_seed(seed)
    kind, block = ATTENTION_CLAIMS[claim]
    out = KFACSearch(claim)
    found = []

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink))
    @given(point=points(kind))
    def check(point):
        out.examples += 1
        case = attention_case(point, (block,))
        if case.verdict != "holds":
            found.append(replace(case, command=f"exacthess.experiments.claims.attention_claims.attention_case("
                                               f"<the point in the case's numbers>, ({block!r},))"))
            raise AssertionError(case.verdict)
    t0 = time.perf_counter()
    try:
        check()
    except AssertionError:
        out.counterexample = found[-1]
    out.seconds = time.perf_counter() - t0
    return out
