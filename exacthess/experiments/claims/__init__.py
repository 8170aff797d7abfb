"""The source documents' claims, settled exactly: ``exacthess.claims``.

Each function returns a :class:`~exacthess.experiments.claims.result.ClaimResult` with ``.id``,
``.statement`` (the claim in words with its source key in docs/references.md), ``.verdict``
(``holds`` / ``fails`` / ``undecided``), ``.expected`` (what the document claims), ``.certified``,
``.cases`` (every architecture with its exact numbers) and ``.command``.

* the discussion thread ``[thread]`` (:data:`DISCUSSION`): perfect-fit ranks
  (:mod:`.perfect_fit`), minima with a nonzero output gradient (:mod:`.minimum`);
* the approximate-chain-rule slides ``[skorski2021]`` (:data:`APPROX_CHAIN_RULE`,
  :mod:`.chain_rule`), on top of :func:`exacthess.gauss_newton_gap`.

>>> from exacthess import FCN, claims
>>> r = claims.perfect_fit_cross_entropy_logits([FCN(2, (2,), 2)], n_samples=3)
>>> r.verdict, r.expected, r.certified
('fails', 'fails', True)
"""

from __future__ import annotations

from ...core.errors import UnknownStatementError
from .chain_rule import (near_linear_activation_part, near_linear_whole_hessian, relu_activation_part,
                         relu_whole_hessian, relu_within_layer)
from .minimum import least_squares_minimum, minimum_case, minimum_with_nonzero_gradient
from .perfect_fit import (perfect_fit_bce, perfect_fit_case, perfect_fit_cross_entropy_logits,
                          perfect_fit_cross_entropy_probabilities, perfect_fit_mse, perfect_fit_weighted_mse)
from .result import Case, ClaimResult

__all__ = ["ClaimResult", "Case", "DISCUSSION", "APPROX_CHAIN_RULE", "claim", "discussion", "approx_chain_rule",
           "perfect_fit_mse", "perfect_fit_weighted_mse", "perfect_fit_bce", "perfect_fit_cross_entropy_logits",
           "perfect_fit_cross_entropy_probabilities", "perfect_fit_case", "minimum_with_nonzero_gradient",
           "minimum_case", "least_squares_minimum", "relu_activation_part", "relu_within_layer", "relu_whole_hessian",
           "near_linear_activation_part", "near_linear_whole_hessian"]

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


def claim(claim_id: str, **options) -> ClaimResult:
    """Run one claim by id (``options`` go to its function, e.g. ``out=`` for the scaling plots)."""
    fn = DISCUSSION.get(claim_id) or APPROX_CHAIN_RULE.get(claim_id)
    if fn is None:
        known = ", ".join(list(DISCUSSION) + list(APPROX_CHAIN_RULE))
        raise UnknownStatementError(f"claim id {claim_id!r} is not known; expected one of: {known}")
    return fn(**options)


def discussion(ids=None, *, progress=None) -> list:
    """Every claim of the discussion thread (or the given ids)."""
    return [claim(i, progress=progress) for i in (ids or DISCUSSION)]


def approx_chain_rule(ids=None, *, out=None, progress=None) -> list:
    """Every claim of the approximate-chain-rule slides (or the given ids); ``out``: folder of the PNG plots."""
    res = []
    for i in ids or APPROX_CHAIN_RULE:
        opts = {"progress": progress}
        if i == "approx_chain_rule.near_linear.activation_part":
            opts["out"] = out
        res.append(claim(i, **opts))
    return res
