"""The source documents' claims, settled exactly: ``exacthess.claims``.

Each function returns a :class:`~exacthess.experiments.claims.result.ClaimResult` with ``.id``,
``.statement`` (the claim in words with its source key in docs/references.md), ``.verdict``
(a :class:`~exacthess.statements.verdicts.Verdict`: ``holds`` / ``VIOLATED`` / ``refuted`` /
``undecided``, the words of ``exacthess verify``), ``.expected`` (what the document claims),
``.statement_id`` (the registered statement the claim reports through, judged by
:func:`~exacthess.statements.verdicts.judge`), ``.certified``, ``.cases`` (every architecture with
its exact numbers) and ``.command``.

A claim that is a rank statement is registered once, in :mod:`exacthess.statements`
(``thread.perfect_fit.*``, ``skorski2021.relu.*``), and its claim function is a study of it: it
builds the points the statement needs (a perfect fit, ReLU-type networks) and judges it there.
Claims that are not about a rank (a minimum with a nonzero output gradient, scaling exponents)
are studies whose proven truth value becomes a verdict by
:func:`~exacthess.statements.verdicts.decided`.

* the discussion thread ``[thread]`` (:data:`DISCUSSION`): perfect-fit ranks
  (:mod:`.perfect_fit`), minima with a nonzero output gradient (:mod:`.minimum`);
* the approximate-chain-rule slides ``[skorski2021]`` (:data:`APPROX_CHAIN_RULE`,
  :mod:`.chain_rule`), on top of :func:`exacthess.gauss_newton_gap`;
* KFAC's exactness for deep linear networks ``[eschenhagen2023]`` (:data:`KFAC`, :mod:`.kfac`),
  exact identities of :mod:`exacthess.oracle.kfac`, with the pinned counterexamples of the
  readings without the paper's conditions;
* the Hessian blocks of one self-attention layer in the setting of ``[ormaniec2025]``
  (:data:`ATTENTION`, ids ``attention.<linear|softmax>.<Ho|Hf>.<pair>``, :mod:`.attention` and
  :mod:`.attention_claims`): closed forms against the graph engine over Q; the paper's blocks *as
  printed* (``attention.softmax.printed.<block>``, :mod:`.attention_printed`) and its structural
  claims (``attention.<kind>.Ho.psd``, ``.Hf.indefinite``, ``.growth.<block>``, :mod:`.attention_structure`).

>>> from exacthess import FCN, claims
>>> r = claims.perfect_fit_cross_entropy_logits([FCN(2, (2,), 2)], n_samples=3)
>>> str(r.verdict), r.statement_id, r.certified
('holds', 'thread.perfect_fit.cross_entropy_logits', True)
"""

from __future__ import annotations

import inspect

from ...core.errors import InvalidTypeError, UnknownStatementError, describe
from ...core.progress import check_progress, open_progress
from ..figures import check_formats
from .chain_rule import (near_linear_activation_part, near_linear_whole_hessian, relu_activation_part,
                         relu_whole_hessian, relu_within_layer)
from .minimum import least_squares_minimum, minimum_case, minimum_with_nonzero_gradient
from .perfect_fit import (perfect_fit_bce, perfect_fit_case, perfect_fit_cross_entropy_logits,
                          perfect_fit_cross_entropy_probabilities, perfect_fit_mse, perfect_fit_weighted_mse)
from .kfac import kfac_cross_entropy, kfac_expand_exact, kfac_reduce_exact, kfac_relu
from .attention_claims import ATTENTION_CLAIMS, attention_claim
from .attention_structure import PRINTED_CLAIMS, STRUCTURE_CLAIMS, structure_claim
from .result import Case, ClaimResult

__all__ = ["ClaimResult", "Case", "DISCUSSION", "APPROX_CHAIN_RULE", "claim", "discussion", "approx_chain_rule",
           "perfect_fit_mse", "perfect_fit_weighted_mse", "perfect_fit_bce", "perfect_fit_cross_entropy_logits",
           "perfect_fit_cross_entropy_probabilities", "perfect_fit_case", "minimum_with_nonzero_gradient",
           "minimum_case", "least_squares_minimum", "relu_activation_part", "relu_within_layer", "relu_whole_hessian",
           "near_linear_activation_part", "near_linear_whole_hessian", "KFAC", "kfac_expand_exact",
           "kfac_reduce_exact", "kfac_relu", "kfac_cross_entropy", "ATTENTION", "attention_claim"]

#: the discussion thread's claims, by id
DISCUSSION = {
    "perfect_fit.mse": perfect_fit_mse,
    "perfect_fit.weighted_mse": perfect_fit_weighted_mse,
    "perfect_fit.bce": perfect_fit_bce,
    "perfect_fit.cross_entropy_logits": perfect_fit_cross_entropy_logits,
    "perfect_fit.cross_entropy_probabilities": perfect_fit_cross_entropy_probabilities,
    "minimum_with_nonzero_gradient": minimum_with_nonzero_gradient,
}

#: the approximate-chain-rule slides' claims, by id
APPROX_CHAIN_RULE = {
    "approx_chain_rule.relu.activation_part": relu_activation_part,
    "approx_chain_rule.relu.within_layer": relu_within_layer,
    "approx_chain_rule.relu.whole_hessian": relu_whole_hessian,
    "approx_chain_rule.near_linear.activation_part": near_linear_activation_part,
    "approx_chain_rule.near_linear.whole_hessian": near_linear_whole_hessian,
}

#: KFAC's exactness statements [eschenhagen2023] and the readings without their conditions, by id
KFAC = {
    "kfac.expand.deep_linear": kfac_expand_exact,
    "kfac.reduce.deep_linear": kfac_reduce_exact,
    "kfac.relu": kfac_relu,
    "kfac.cross_entropy": kfac_cross_entropy,
}



def _attention(claim_id: str):
    def run(*, progress="auto"):
        return attention_claim(claim_id)
    run.__name__ = run.__qualname__ = "attention_claim"
    return run


def _structure(claim_id: str):
    def run(*, progress="auto"):
        return structure_claim(claim_id)
    run.__name__ = run.__qualname__ = "structure_claim"
    return run


#: the self-attention Hessian blocks in the setting of [ormaniec2025], by id: exacthess's closed forms
#: (``attention.<kind>.<Ho|Hf>.<pair>``), the printed blocks (``attention.softmax.printed.<block>``) and the
#: structural claims (``attention.<kind>.Ho.psd``, ``.Hf.indefinite``, ``.growth.<block>``), against the engine
ATTENTION = {**{cid: _attention(cid) for cid in ATTENTION_CLAIMS},
             **{cid: _structure(cid) for cid in list(PRINTED_CLAIMS) + list(STRUCTURE_CLAIMS)}}


def claim(claim_id: str, **options) -> ClaimResult:
    """Run one claim by id (``options`` go to its function, e.g. ``out=`` for the scaling plots)."""
    if not isinstance(claim_id, str):
        raise InvalidTypeError(f"claim_id = {describe(claim_id)} has type {type(claim_id).__name__}; expected a "
                               "claim id such as 'perfect_fit.mse'")
    fn = DISCUSSION.get(claim_id) or APPROX_CHAIN_RULE.get(claim_id) or KFAC.get(claim_id) or ATTENTION.get(claim_id)
    if fn is None:
        known = ", ".join(list(DISCUSSION) + list(APPROX_CHAIN_RULE) + list(KFAC) + list(ATTENTION))
        raise UnknownStatementError(f"claim id {claim_id!r} is not known; expected one of: {known}")
    params = inspect.signature(fn).parameters
    allowed = [k for k in params if k != "archs"] + (["archs"] if "archs" in params else [])
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InvalidTypeError(f"claim {claim_id!r} takes no option {', '.join(map(repr, unknown))}; expected "
                               f"options among {', '.join(allowed)}")
    return fn(**options)


def _ids(ids, known: dict) -> list:
    if ids is None:
        return list(known)
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
        raise InvalidTypeError(f"ids = {describe(ids)} has type {type(ids).__name__}; expected a list of claim ids "
                               f"(e.g. [{next(iter(known))!r}]) or None")
    ids = list(ids)
    for k, i in enumerate(ids):
        if not isinstance(i, str):
            raise InvalidTypeError(f"ids[{k}] = {describe(i)} has type {type(i).__name__}; expected a claim id")
        if i not in known:
            raise UnknownStatementError(f"claim id {i!r} is not one of these claims; expected one of: "
                                        f"{', '.join(known)}")
    return ids


def discussion(ids=None, *, progress="auto") -> list:
    """Every claim of the discussion thread (or the given ids); ``progress`` as for every claim
    (``"auto"``: a live display in a terminal or a notebook)."""
    check_progress(progress)
    ids = _ids(ids, DISCUSSION)
    with open_progress(progress, "the discussion claims") as channel:
        return [claim(i, progress=channel if channel else None) for i in ids]


def approx_chain_rule(ids=None, *, out=None, progress="auto", formats=("png",)) -> list:
    """Every claim of the approximate-chain-rule slides (or the given ids); ``out``: folder of the
    scaling figures, written in each of ``formats`` (``png``, ``pdf``, ``svg``); ``progress`` as for
    every claim (``"auto"``: a live display in a terminal or a notebook)."""
    check_progress(progress)
    formats = check_formats(formats, "formats")
    res = []
    ids = _ids(ids, APPROX_CHAIN_RULE)
    with open_progress(progress, "the approx-chain-rule claims") as channel:
        for i in ids:
            opts = {"progress": channel if channel else None}
            if i.startswith("approx_chain_rule.near_linear."):
                opts["out"] = out
                opts["formats"] = formats
            res.append(claim(i, **opts))
    return res
