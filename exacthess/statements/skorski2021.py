r"""The approximate-chain-rule slides' claims (``[skorski2021]`` in docs/references.md), as statements.

The slides write :math:`D^2_w\ell = D^2_z\ell \bullet D_wz \bullet D_wz + D_z\ell \bullet D^2_wz`
(exacthess: :math:`H_L = H_o + H_f`) and claim "no error with variations of ReLU" for dropping
the curvature term :math:`D_z\ell \bullet D^2_wz = H_f`. Exactly (:mod:`exacthess.experiments.gn_gap`):
:math:`H_f = C_{\mathrm{cross}} + C_{\mathrm{act}}`, where the activation part
:math:`C_{\mathrm{act}}` (from :math:`\sigma''`) is zero for ReLU-type activations and the
within-layer blocks :math:`H_f[l, l]` vanish (a layer is linear in its own weights), while the
cross-layer blocks are linear in the residuals and nonzero away from a perfect fit. So the claim
holds for the within-layer blocks (``skorski2021.relu.within_layer``, ``.activation_part``) and
is refuted when read for the whole Hessian (``skorski2021.relu.whole_hessian``).
"""

from __future__ import annotations

from .registry import ALL, Kind, PinnedCounterexample, Relation, Statement, register

__all__ = []

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

register(Statement(
    id="skorski2021.relu.whole_hessian", quantity="H_f", kind=Kind.DERIVED, relation=Relation.LE,
    formula="0 (the Gauss-Newton matrix H_o equals H_L)",
    condition="ReLU-type activations at a point without kinks (exacthess's literal reading of the slide "
              "for the whole Hessian)",
    citation=CITE + ", read literally for the whole Hessian", predict=lambda ctx: 0, family=_FAMILIES,
    activations=_RELU, losses=(ALL,),
    counterexamples=(PinnedCounterexample(
        spec={"family": "fcn", "input_dim": 1, "widths": [1], "output_dim": 1, "bias": False, "activation": "relu"},
        n_samples=1, seed=0, ranks={"H_o": 1, "H_f": 2, "H_L": 2}, verdict="refuted",
        note="one hidden ReLU unit, active at the sample: H_f = [[0, r], [r, 0]] with the residual r != 0 "
             "(the cross-layer block), so H_L != H_o"),)))
