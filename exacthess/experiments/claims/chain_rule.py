r"""The approximate-chain-rule slides' claims (``[skorski2021]`` in docs/references.md), exactly.

Dropping the curvature term ``C = H_f`` of ``H_L = G + C`` (:mod:`exacthess.experiments.gn_gap`):

* "no error with variations of ReLU": for ReLU-type activations the activation part of ``C`` is
  exactly 0 and so are its within-layer blocks (``approx_chain_rule.relu.activation_part``,
  ``.within_layer``: hold), but the cross-layer blocks are not: they are linear in the residual
  (checked exactly: doubling every residual doubles ``C``; at a perfect fit ``C = 0``), so read
  for the whole Hessian the claim fails (``approx_chain_rule.relu.whole_hessian``);
* "small error for activations nearly linear around 0" (``h(x) = x + O(x^3)``): "small" is decided
  here as *tends to 0 with the initialisation scale* ``s``. With ``h(x) = x + a x^3`` the
  activations' part is of smaller order than the rest of ``C``,
  ``|C_act|^2 / |C_cross|^2 ~ s^4`` (``approx_chain_rule.near_linear.activation_part``: holds), but
  the curvature term against the Gauss--Newton term grows, ``|C|^2 / |G|^2 ~ s^-(2L+2)``
  (``approx_chain_rule.near_linear.whole_hessian``: fails). The exponents are proven from the squared
  norms as exact polynomials in ``s`` (:mod:`exacthess.experiments.gn_exponents`); the heuristic
  derivation of :mod:`exacthess.experiments.gn_scaling` and least-squares fits are shown beside them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from flint import fmpq

from ...core.errors import InvalidValueError
from ...models.architectures import CNN, FCN
from ..gn_gap import gap_of_problem, gauss_newton_gap
from ..gn_exponents import RATIO_PARTS
from ..figures import check_formats, paper_style, save_figure
from ..gn_scaling import curvature_scaling
from ...verification.points import standard_data, standard_params, with_targets
from ...statements import get_statement
from ...statements.skorski2021 import WHOLE_HESSIAN
from ...statements.verdicts import RankBounds, Verdict, decided, judge
from ...core.progress import Update
from .result import Case, ClaimResult, check_cases, combine, with_progress

__all__ = ["relu_activation_part", "relu_within_layer", "relu_whole_hessian", "near_linear_activation_part",
           "near_linear_whole_hessian", "relu_architectures", "cubic_architectures", "SCALES", "SLIDES"]

SLIDES = "[skorski2021] slide 'Chain Rule Evaluation' (docs/references.md)"
#: scales of the sweep: 2**-2 .. 2**-10 (the leading order dominates there)
SCALES = tuple(fmpq(1, 2 ** k) for k in range(2, 11))


def relu_architectures() -> list:
    """ReLU and leaky ReLU FCNs and CNNs, with and without biases."""
    return [FCN(3, (3,), 2, activation="relu"), FCN(3, (4, 3), 2, bias=True, activation="relu"),
            FCN(2, (3,), 2, activation="leaky_relu(1/4)"), CNN((6,), (2,), 3, 2, activation="relu"),
            CNN((6,), (2, 2), (3, 2), 2, bias=True, activation="leaky_relu(1/4)")]


def cubic_architectures() -> list:
    """``h(x) = x - x^3/3`` (tanh's cubic Taylor polynomial): FCNs with 1 and 2 hidden layers and a CNN."""
    act = "poly(0, 1, 0, -1/3)"
    return [FCN(3, (3,), 2, activation=act), FCN(3, (3, 2), 2, activation=act), CNN((5,), (2,), 2, 2, activation=act)]


def _gap_case(arch, gap, verdict, extra=None) -> Case:
    nums = {"gn_fro2": gap.gn_fro2, "curvature_fro2": gap.curvature_fro2, "activation_fro2": gap.activation_fro2,
            "cross_layer_fro2": gap.cross_layer_fro2, "within_layer_fro2": gap.within_layer_fro2,
            "curvature_fro2 / gn_fro2 (float)": None if gap.curvature_ratio is None else float(gap.curvature_ratio),
            "rank H_L": gap.rank_H_L.value, "rank G": gap.rank_G.value,
            "rank H_L - rank G": gap.rank_gap if not isinstance(gap.rank_gap, tuple) else list(gap.rank_gap)}
    nums.update(extra or {})
    how = {"H_L": gap.rank_H_L.how, "G": gap.rank_G.how, "norms": "exact rationals"}
    return Case(repr(arch), arch.to_spec(), gap.problem.loss.name, gap.problem.n_samples, gap.seed, nums, how,
                verdict, gap.certified)


def _zero_rank(statement_id: str, arch, fro2) -> Verdict:
    """The registered statement ``rank X <= 0`` judged by :func:`~exacthess.statements.verdicts.judge`,
    the rank known from the exact squared norm ``fro2`` of ``X`` (0 iff the norm is 0)."""
    stmt = WHOLE_HESSIAN if statement_id == WHOLE_HESSIAN.id else get_statement(statement_id)
    return judge(stmt, stmt.quantity, RankBounds.of_norm(fro2, arch.n_params), 0).verdict  # the formula: 0


def relu_type_activation(arch, name: str = "archs") -> None:
    """Raise :class:`~exacthess.core.errors.InvalidValueError` unless ``arch``'s activation is ReLU-type
    (``relu``, ``leaky_relu(a)``, or ``linear``): the slides' "variations of ReLU"."""
    if not (arch.activation.piecewise or arch.activation.is_linear):
        raise InvalidValueError(
            f"{name} has activation {arch.activation.name!r} for {arch!r}; the ReLU claims speak about ReLU-type "
            "activations (piecewise linear, second derivative 0 away from the kink): expected 'relu', "
            "'leaky_relu(a)' or 'linear' (near-linear polynomials: approx_chain_rule.near_linear.*)")


def _gaps(archs, n_samples, seed, progress, cid):
    archs = check_cases(archs, relu_architectures, n_samples=n_samples, seed=seed, progress=progress)
    for i, arch in enumerate(archs):
        relu_type_activation(arch, f"archs[{i}]")
    for i, arch in enumerate(archs):
        if progress:
            progress(Update(f"{cid}: case {i + 1}/{len(archs)}", stage=cid, done=i + 1, total=len(archs)))
        yield arch, gauss_newton_gap(arch, n_samples=n_samples, seed=seed, block_ranks=False, progress=None)


@with_progress
def relu_activation_part(archs=None, *, n_samples: int = 6, seed: int = 0, progress="auto") -> ClaimResult:
    """``approx_chain_rule.relu.activation_part``: the activations' part of ``C`` is exactly 0."""
    cid = "approx_chain_rule.relu.activation_part"
    sid = "skorski2021.relu.activation_part"
    cases = [_gap_case(a, g, _zero_rank(sid, a, g.activation_fro2))
             for a, g in _gaps(archs, n_samples, seed, progress, cid)]
    verdict, certified = combine(cases)
    return ClaimResult(cid, "No error with variations of ReLU, read for the part of the curvature term that comes "
                            f"from the activations' second derivatives: it is exactly 0 {SLIDES}", verdict,
                       Verdict.HOLDS, True, cases, command=f"exacthess reproduce approx-chain-rule --claim {cid}",
                       summary=f"activation_fro2 = 0 exactly on {sum(c.verdict == 'holds' for c in cases)} of "
                               f"{len(cases)} ReLU-type cases (points without kinks)", statement_id=sid)


@with_progress
def relu_within_layer(archs=None, *, n_samples: int = 6, seed: int = 0, progress="auto") -> ClaimResult:
    """``approx_chain_rule.relu.within_layer``: every within-layer block ``C[l, l]`` is exactly 0."""
    cid = "approx_chain_rule.relu.within_layer"
    sid = "skorski2021.relu.within_layer"
    cases = [_gap_case(a, g, _zero_rank(sid, a, g.within_layer_fro2))
             for a, g in _gaps(archs, n_samples, seed, progress, cid)]
    verdict, _ = combine(cases)
    return ClaimResult(cid, "No error with variations of ReLU, read for the within-layer blocks ('main hessian "
                            f"components'): G[l, l] = H_L[l, l] exactly {SLIDES}", verdict, Verdict.HOLDS, True, cases,
                       command=f"exacthess reproduce approx-chain-rule --claim {cid}",
                       summary=f"within-layer blocks of C exactly 0 on {sum(c.verdict == 'holds' for c in cases)} of "
                               f"{len(cases)} ReLU-type cases", statement_id=sid)


def _doubled_residual_scales(gap) -> bool:
    """Whether doubling every residual (targets y' = 2 y - F) doubles C exactly (C is linear in the residual)."""
    prob = gap.problem
    F = prob.forward.outputs.T
    Y2 = np.array([[2 * y - f for y, f in zip(yr, fr)] for yr, fr in zip(prob.Y, F)], dtype=object)
    g2 = gap_of_problem(with_targets(prob, Y2), ranks=False)
    return bool((g2.C == np.vectorize(lambda v: 2 * v, otypes=[object])(gap.C)).all())


@with_progress
def relu_whole_hessian(archs=None, *, n_samples: int = 6, seed: int = 0, progress="auto") -> ClaimResult:
    """``approx_chain_rule.relu.whole_hessian``: the literal reading ``C = 0`` fails (cross-layer blocks)."""
    cid = "approx_chain_rule.relu.whole_hessian"
    cases = []
    for a, g in _gaps(archs, n_samples, seed, progress, cid):
        lin = _doubled_residual_scales(g)
        cases.append(_gap_case(a, g, _zero_rank(WHOLE_HESSIAN.id, a, g.curvature_fro2),
                               {"C doubles when every residual doubles (exact)": lin}))
    verdict, _ = combine(cases)
    return ClaimResult(cid, "No error with variations of ReLU, read for the whole Hessian: the Gauss-Newton matrix "
                            f"G equals H_L {SLIDES}", verdict, Verdict.HOLDS, True, cases,
                       command=f"exacthess reproduce approx-chain-rule --claim {cid}",
                       summary="cross_layer_fro2 > 0 on " + str(sum(c.numbers["cross_layer_fro2"] > 0 for c in cases))
                               + f" of {len(cases)} cases: the cross-layer blocks of C are linear in the residual "
                                 "(zero only at a perfect fit)",
                       notes=["rank H_L - rank G is reported per case; the within-layer reading holds "
                              "(approx_chain_rule.relu.within_layer)"], statement_id=WHOLE_HESSIAN.id)


def near_linear_activation(arch, name: str = "archs") -> None:
    """Raise :class:`~exacthess.core.errors.InvalidValueError` unless ``arch`` has an activation the
    near-linear claims speak about: a polynomial ``h(x) = c_1 x + c_3 x^3 + ...`` (``h(0) = 0``,
    ``h'(0) != 0``, ``h''(0) = 0``: linear up to ``O(x^3)``) with a term of degree >= 3."""
    act = arch.activation
    c = list(act.coeffs) + [0] * 3 if act.kind == "poly" else []
    if act.kind != "poly" or c[0] != 0 or c[1] == 0 or c[2] != 0 or not any(v != 0 for v in act.coeffs[3:]):
        raise InvalidValueError(
            f"{name} has activation {act.name!r} for {arch!r}; the near-linear claims speak about activations "
            "h(x) = x + O(x^3): expected a polynomial with h(0) = 0, h'(0) != 0, no x^2 term and a term of degree "
            ">= 3, such as 'poly(0, 1, 0, -1/3)'")


def _tends_to_zero(e) -> Verdict:
    """The verdict on 'the ratio tends to 0 as s -> 0' from its proven exponent (None: identically 0):
    a claim of the slides, so ``VIOLATED`` when false (:func:`~exacthess.statements.verdicts.decided`)."""
    return decided(e is None or e > 0, binding=True).verdict


def _scaling_claim(cid, name, statement, archs, *, n_samples, seed, progress, out, formats) -> ClaimResult:
    archs = check_cases(archs, cubic_architectures, n_samples=n_samples, seed=seed, progress=progress, out=out)
    formats = check_formats(formats, "formats")
    for i, arch in enumerate(archs):
        near_linear_activation(arch, f"archs[{i}]")
    cases, plots, fits = [], [], []
    for i, arch in enumerate(archs):
        if progress:
            progress(Update(f"{cid}: scale sweep {i + 1}/{len(archs)}", stage=cid, done=i + 1, total=len(archs)))
        res = curvature_scaling(arch, scales=SCALES, n_samples=n_samples, seed=seed, progress=None)
        n = res.gaps[0].problem.n_samples
        at1 = gauss_newton_gap(arch, params=standard_params(arch, seed), data=standard_data(arch, n, seed), ranks=False,
                               progress=None)
        vals, polys = res.ratios[name], res.polynomials
        proven = res.proven[name]
        num, den = RATIO_PARTS[name]
        nums = {"proven exponent": proven, "limit of ratio / s^e as s -> 0 (exact)": polys.leading(name),
                f"lowest degree in s of |{num}|^2": polys.valuation(num),
                f"lowest degree in s of |{den}|^2": polys.valuation(den),
                "scales": [str(s) for s in res.scales], name: [str(v) for v in vals],
                name + " (float)": [float(v) for v in vals], "fitted exponent": round(res.fitted[name], 4),
                "heuristic exponent (no biases)": res.derived.get(name), "depth L": arch.depth,
                f"{name} at the standard scale s = 1 (float)": float(getattr(at1, name))}
        fits.append(res.to_dict())
        if out is not None:
            Path(out).mkdir(parents=True, exist_ok=True)
            with paper_style():  # both claims draw the same figure (all three ratios) to the same files
                plots += [str(p) for p in save_figure(res.figure(), Path(out) / f"approx_chain_rule_scaling_{i + 1}",
                                                      formats)]
        cases.append(Case(repr(arch), arch.to_spec(), "mse", n, seed, nums,
                          {"exponent": "proven: squared norms computed symbolically as exact polynomials in s",
                           "ratios": "exact rationals at every scale (equal to the polynomials there)",
                           "fit": "least squares on log2, a float illustration"},
                          _tends_to_zero(proven), True))
    verdict, certified = combine(cases)
    exps = ", ".join(f"{c.numbers['proven exponent']} (fitted {c.numbers['fitted exponent']:+.3f})" for c in cases)
    return ClaimResult(cid, statement, verdict, Verdict.HOLDS, certified, cases,
                       command=f"exacthess reproduce approx-chain-rule --claim {cid}",
                       summary=f"{name} ~ c s^e as s -> 0 with proven e = {exps}", extra={"plots": plots},
                       notes=["'small' := tends to 0 as the initialisation scale s -> 0: every parameter times s, "
                              "data and targets fixed; s = 1 is the seeded standard-initialisation point",
                              "verdict: the proven exponent e = (lowest degree in s of the numerator's squared norm) - "
                              "(lowest degree of the denominator's), from exact polynomials in s; the ratio tends to 0 "
                              "iff e > 0. Exact values at s = 2^-2 .. 2^-10 and the least-squares slope on log2 "
                              "illustrate it"])


@with_progress
def near_linear_activation_part(archs=None, *, n_samples: int = 6, seed: int = 0, progress="auto", out=None,
                                formats=("png",)):
    """``approx_chain_rule.near_linear.activation_part``: ``|C_act|^2 / |C_cross|^2 ~ s^4 -> 0``."""
    return _scaling_claim("approx_chain_rule.near_linear.activation_part", "activation_share",
                          "Small error for activations nearly linear around 0 (h(x) = x + O(x^3)), read for the "
                          "activations' part of the curvature term against the rest of it: |C_act|^2 / |C_cross|^2 "
                          f"-> 0 with the initialisation scale {SLIDES}", archs, n_samples=n_samples, seed=seed,
                          progress=progress, out=out, formats=formats)


@with_progress
def near_linear_whole_hessian(archs=None, *, n_samples: int = 6, seed: int = 0, progress="auto", out=None,
                              formats=("png",)):
    """``approx_chain_rule.near_linear.whole_hessian``: ``|C|^2 / |G|^2`` grows like ``s^-(2L+2)``."""
    return _scaling_claim("approx_chain_rule.near_linear.whole_hessian", "curvature_ratio",
                          "Small error for activations nearly linear around 0, read for the whole Hessian: "
                          f"|C|^2 / |G|^2 -> 0 with the initialisation scale {SLIDES}", archs,
                          n_samples=n_samples, seed=seed, progress=progress, out=out, formats=formats)
