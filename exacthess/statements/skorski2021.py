r"""The approximate-chain-rule slides' claims (``[skorski2021]`` in docs/references.md), as statements.

The slides write :math:`D^2_w\ell = D^2_z\ell \bullet D_wz \bullet D_wz + D_z\ell \bullet D^2_wz`
(exacthess: :math:`H_L = H_o + H_f`) and claim "no error with variations of ReLU" for dropping
the curvature term :math:`D_z\ell \bullet D^2_wz = H_f`. Exactly (:mod:`exacthess.experiments.gn_gap`):
:math:`H_f = C_{\mathrm{cross}} + C_{\mathrm{act}}`, where the activation part
:math:`C_{\mathrm{act}}` (from :math:`\sigma''`) is zero for ReLU-type activations and the
within-layer blocks :math:`H_f[l, l]` vanish (a layer is linear in its own weights), while the
cross-layer blocks are linear in the residuals and nonzero away from a perfect fit. So the claim
holds for the within-layer blocks (``skorski2021.relu.within_layer``, ``.activation_part``). Read
for the whole Hessian (``rank H_f = 0``) it is false at every point that is not a perfect fit of
every network with a hidden layer, so it is not registered (it would make every report fail):
it is :data:`WHOLE_HESSIAN`, the statement ``exacthess reproduce approx-chain-rule`` judges
(``approx_chain_rule.relu.whole_hessian``) with its exact numbers.
"""

from __future__ import annotations

from .registry import ALL, Kind, Relation, Statement, register

__all__ = ["WHOLE_HESSIAN"]

REFS = "see docs/references.md"
CITE = f"[skorski2021] slide 'Chain Rule Evaluation': 'no error with variations of ReLU' ({REFS})"
_FAMILIES = ("fcn", "cnn")
_RELU = ("linear", "piecewise")  # linear = leaky_relu(1)

register(Statement(
    id="skorski2021.relu.activation_part", quantity="C_act", kind=Kind.CLAIMED_EQUALITY, relation=Relation.LE,
    formula="0 (the part of D_z l . D^2_w z from the activations' second derivatives)",
    condition="ReLU-type activations (relu, leaky_relu(a), linear) at a point without kinks",
    citation=CITE + ", read for the activations' part", predict=lambda ctx: 0, family=_FAMILIES,
    activations=_RELU, losses=(ALL,), needs=("C_act",)))

register(Statement(
    id="skorski2021.relu.within_layer", quantity="C_within", kind=Kind.CLAIMED_EQUALITY, relation=Relation.LE,
    formula="0 (rank of the within-layer blocks H_f[l, l] of the curvature term)",
    condition="ReLU-type activations (relu, leaky_relu(a), linear) at a point without kinks",
    citation=CITE + ", read for the within-layer blocks ('main hessian components')", predict=lambda ctx: 0,
    family=_FAMILIES, activations=_RELU, losses=(ALL,), needs=("C_within",)))

#: the slides' claim read for the whole curvature term: false away from perfect fits, so not
#: registered; judged by the claim ``approx_chain_rule.relu.whole_hessian`` only
WHOLE_HESSIAN = Statement(
    id="skorski2021.relu.whole_hessian", quantity="H_f", kind=Kind.CLAIMED_EQUALITY, relation=Relation.LE,
    formula="0 (the whole curvature term D_z l . D^2_w z = H_f)",
    condition="ReLU-type activations (relu, leaky_relu(a), linear) at a point without kinks",
    citation=CITE + ", read for the whole Hessian", predict=lambda ctx: 0, family=_FAMILIES, activations=_RELU,
    losses=(ALL,))
