r"""KFAC's exactness for deep linear networks (``[eschenhagen2023]`` in docs/references.md), judged over Q.

Eschenhagen et al. (NeurIPS 2023), abstract: two settings of linear weight-sharing layers motivate
KFAC-expand and KFAC-reduce, and "they are exact for deep linear networks with weight-sharing in
their respective setting". exacthess reads the settings as follows (factors and conventions:
:mod:`exacthess.oracle.kfac`), with the MSE loss (a Gaussian likelihood: :math:`\nabla^2 l = I`):

* **expand** -- every layer acts position by position (linear layers on token maps, a
  convolution followed by ``1 x 1`` convolutions) and the output keeps the positions, one loss term
  per sample and position;
* **reduce** -- position-wise layers, then the positions averaged (global average pooling) before
  a linear head, one loss term per sample.

An FCN has one position (``S = 1``): it is in both settings, and the two flavours coincide.
Verdicts come from exact identities (``kron(B, A) == block`` entry by entry over Q), turned into
words by :func:`~exacthess.statements.verdicts.decided`:

* :func:`kfac_expand_exact`, :func:`kfac_reduce_exact` -- the paper's statements on deep linear
  networks in their settings (``holds``; ``VIOLATED`` would mean a published claim is false);
* :func:`kfac_relu`, :func:`kfac_cross_entropy` -- exacthess's readings *without* one condition
  (no activation; a loss Hessian that is the same for every sample), each ``refuted`` by its
  smallest counterexample, pinned: two samples (one sample makes every KFAC exact: the sums have
  one term), two parameters (a ReLU unit needs a weight in and a weight out; softmax
  cross-entropy needs two logits) and the least data. ReLU: ``x = 1, -2`` (the hidden unit off at the second sample;
  with ``|x_1| = |x_2|`` the factors agree, and ``x = 0`` puts a pre-activation on the kink, where
  KFAC's output factor depends on the convention for ``relu'(0)``); cross-entropy: ``x = 1, 0``.

>>> from exacthess import claims
>>> str(claims.kfac_relu().verdict)
'refuted'
"""

from __future__ import annotations

from ...core.progress import Update
from ...core.validate import check_seed
from ...models.architectures import FCN
from ...models.graph import GraphBuilder
from ...oracle.kfac import kfac_error
from ...oracle.operator import curvature
from ...statements.verdicts import Verdict, decided
from .result import Case, ClaimResult, combine, with_progress

__all__ = ["kfac_case", "kfac_expand_exact", "kfac_reduce_exact", "kfac_relu", "kfac_cross_entropy",
           "expand_setting_networks", "reduce_setting_networks", "RELU_COUNTEREXAMPLE", "CE_COUNTEREXAMPLE"]

#: the smallest ReLU counterexample: FCN(1, (1,), 1), w1 = w2 = 1, x = 1 and -2 (the hidden unit off at the second sample)
RELU_COUNTEREXAMPLE = {"arch": FCN(1, (1,), 1, activation="relu"), "params": [[[1]], [[1]]],
                       "data": ([[1], [-2]], [[0], [0]]), "loss": "mse"}
#: the smallest cross-entropy counterexample: a linear model with two logits, W = (1, 0), x = 1 and 0
CE_COUNTEREXAMPLE = {"arch": FCN(1, (), 2), "params": [[[1], [0]]], "data": ([[1], [0]], [[1, 0], [1, 0]]),
                     "loss": "cross_entropy"}


def expand_setting_networks() -> list:
    """Deep linear networks in the expand setting: FCNs (with and without biases), linear layers on
    3 tokens of 2 features, a 2x2 convolution (zero padding) followed by a 1x1 convolution."""
    b = GraphBuilder((3, 2))
    tok = b.build(b.reshape(b.linear(b.linear(b.input, 3, bias=True, name="tok1"), 2, name="tok2"), (6,)))
    b = GraphBuilder((1, 2, 3))
    conv = b.conv(b.input, 2, (2, 2), padding=(1, 1), bias=True, name="conv")
    conv = b.build(b.reshape(b.conv(conv, 2, (1, 1), name="pointwise"), (24,)))
    return [FCN(3, (2,), 2, bias=True), FCN(2, (3, 2), 2), tok, conv]


def reduce_setting_networks() -> list:
    """Deep linear networks in the reduce setting: an FCN, 4 tokens (``1 x 1`` convolutions over a
    length-4 map) averaged before a linear head, a 2x2 convolution averaged before a linear head."""
    b = GraphBuilder((2, 4))
    h = b.conv(b.conv(b.input, 3, (1,), bias=True, name="tok1"), 2, (1,), name="tok2")
    tok = b.build(b.linear(b.reshape(b.avgpool(h, (4,)), (2,)), 2, bias=True, name="head"))
    b = GraphBuilder((2, 3, 3))
    h = b.avgpool(b.conv(b.input, 2, (2, 2), bias=True, name="conv"), (2, 2))
    conv = b.build(b.linear(b.reshape(h, (2,)), 2, bias=True, name="head"))
    return [FCN(3, (2,), 2, bias=True), tok, conv]


def kfac_case(arch, kind: str, *, binding: bool, params=None, data=None, n_samples=None, seed: int = 0,
              loss: str = "mse", command: str = "", note: str = "") -> Case:
    """One network at one exact point: is KFAC (``kind``) the exact GGN block of every layer?

    ``binding``: a false answer is ``VIOLATED`` (the paper's statement) or ``refuted`` (a reading)."""
    C = curvature(arch, params=params, data=data, n_samples=n_samples, seed=seed, loss=loss)
    errs = kfac_error(C, kind)
    nums = {"kind": kind}
    for e in errs:
        nums[f"{e.name}: kron(B, A) == GGN block"] = e.exact
        nums[f"{e.name}: |kron(B, A) - G|_F^2"] = e.fro2
    verdict = decided(all(e.exact for e in errs), binding=binding).verdict
    return Case(repr(arch), arch.to_spec(), loss, C.problem.X.shape[0], seed, nums, {"KFAC": "exact over Q"},
                verdict, True, command=command, note=note)


def _setting(kind: str, nets: list, seed: int, progress) -> ClaimResult:
    seed = check_seed(seed)
    cases = []
    for i, arch in enumerate(nets):
        if progress:
            progress(Update(f"kfac_{kind}_exact: case {i + 1}/{len(nets)}", stage=f"kfac_{kind}_exact",
                            done=i + 1, total=len(nets)))
        cases.append(kfac_case(arch, kind, binding=True, n_samples=3, seed=seed,
                               command=f"exacthess.claims.kfac_{kind}_exact(seed={seed})"))
    verdict, certified = combine(cases)
    other = "reduce" if kind == "expand" else "expand"
    return ClaimResult(
        f"kfac.{kind}.deep_linear",
        f"KFAC-{kind} equals the GGN's diagonal block of every layer for deep linear networks with weight "
        f"sharing in the {kind} setting, MSE [eschenhagen2023] (docs/references.md)",
        verdict, Verdict.HOLDS, certified, cases, command=f"exacthess.claims.kfac_{kind}_exact()",
        summary=f"kron(B, A) == G exactly on {sum(c.verdict == 'holds' for c in cases)} of {len(cases)} deep "
                f"linear networks in the {kind} setting (3 seeded samples each)",
        notes=[f"the {kind} setting as read in exacthess.experiments.claims.kfac; KFAC-{other} is not exact there "
               "when the layers share weights (tests/oracle)",
               "B is the type-2 factor (the loss Hessian itself, not sampled labels); only kron(B, A) is compared"])


@with_progress
def kfac_expand_exact(*, seed: int = 0, progress="auto") -> ClaimResult:
    """``kfac.expand.deep_linear``: KFAC-expand is exact on :func:`expand_setting_networks`."""
    return _setting("expand", expand_setting_networks(), seed, progress)


@with_progress
def kfac_reduce_exact(*, seed: int = 0, progress="auto") -> ClaimResult:
    """``kfac.reduce.deep_linear``: KFAC-reduce is exact on :func:`reduce_setting_networks`."""
    return _setting("reduce", reduce_setting_networks(), seed, progress)


def _reading(cid: str, example: dict, statement: str, why: str) -> ClaimResult:
    cases = [kfac_case(example["arch"], kind, binding=False, params=example["params"], data=example["data"],
                       loss=example["loss"], command=f"exacthess.claims.{cid}()", note=why)
             for kind in ("expand", "reduce")]
    verdict, certified = combine(cases)
    nums = cases[0].numbers
    bad = [k.split(":")[0] for k, v in nums.items() if k.endswith("== GGN block") and not v]
    fro2 = nums[bad[0] + ": |kron(B, A) - G|_F^2"] if bad else 0
    shown = str(fro2) if len(str(fro2)) <= 24 else f"{float(fro2):.4g}, exact in the case's numbers"
    return ClaimResult(
        f"kfac.{cid.removeprefix('kfac_')}", statement, verdict, Verdict.REFUTED, certified, cases,  # not claimed
        command=f"exacthess.claims.{cid}()",
        summary=f"{example['arch']!r} at 2 samples: KFAC != GGN block on {', '.join(bad)} "
                f"(|difference|_F^2 = {shown})" if bad else "no counterexample",
        notes=[why, f"params {example['params']}, X {example['data'][0]}, Y {example['data'][1]}, "
                    f"loss {example['loss']}; one position, so expand and reduce coincide"])


@with_progress
def kfac_relu(*, progress="auto") -> ClaimResult:
    """``kfac.relu``: the paper's statement without 'linear' -- refuted by :data:`RELU_COUNTEREXAMPLE`."""
    return _reading(
        "kfac_relu", RELU_COUNTEREXAMPLE,
        "KFAC (expand and reduce) equals the GGN's diagonal blocks for ReLU networks too, MSE: the statement of "
        "[eschenhagen2023] without its linearity condition (exacthess's reading)",
        "the first layer's output gradient relu'(z_i) w2 depends on the sample (the hidden unit is off at the second sample): "
        "block = sum_i x_i^2 w2^2 relu'(z_i) = 1, KFAC = (1/2)(1 + 4) (1) = 5/2")


@with_progress
def kfac_cross_entropy(*, progress="auto") -> ClaimResult:
    """``kfac.cross_entropy``: the statement for softmax cross-entropy -- refuted by :data:`CE_COUNTEREXAMPLE`."""
    return _reading(
        "kfac_cross_entropy", CE_COUNTEREXAMPLE,
        "KFAC (expand and reduce) equals the GGN's diagonal blocks for deep linear networks with the softmax "
        "cross-entropy loss too: the statement of [eschenhagen2023] without its MSE condition (exacthess's reading)",
        "the loss Hessian L_i = diag(p_i) - p_i p_i^T depends on the sample (softmax of the exact stand-in): "
        "block = L_1 x_1^2 + L_2 x_2^2 = L_1, KFAC = (1/2)(x_1^2 + x_2^2)(L_1 + L_2) = (L_1 + L_2)/2, and "
        "L_2 = [[1, -1], [-1, 1]]/4 (equal logits) differs from L_1")
