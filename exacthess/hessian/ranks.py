r"""Certified ranks of ``H_o``, ``H_f``, ``H_L`` and the block columns of ``H_f`` for one problem.

This module knows the structure of the Hessians and hands the certification pipeline
(:mod:`exacthess.certify.pipeline`) matrices (by name, through a
:class:`~exacthess.hessian.source.ProblemSource`) and *proposals*:

* ``H_o = J^T (G (x) I_K) J`` with ``G`` positive definite (``Sigma~ = R G R^T``), or
  ``H_o = sum_i J_i^T A_i J_i`` with a rational factor ``C_i``, ``ker C_i = ker A_i``: so
  ``rank H_o = rank J`` (``rank (C J)``), bounded by the layer chain
  (:meth:`~exacthess.hessian.structure.StructureHints.jacobian_bound`) or by exact null vectors
  of ``J`` (:mod:`exacthess.hessian.nullvectors`);
* ``H_f`` and ``H_L``: per block column the smaller of the chain and the composite (channel x
  spatial) bounds, with spanning vectors for the core argument, or exact null vectors.

Every proposal is checked (:mod:`exacthess.certify.checker`) before it certifies anything; the
free consistency facts ``|rank H_o - rank H_f| <= rank H_L <= rank H_o + rank H_f`` are checked
on every result (a violation is an :class:`~exacthess.core.errors.InternalError`).
"""

from __future__ import annotations

import time

import numpy as np

from ..certify.bounds import UPPER, Bound
from ..certify.certificate import Minor, RankCertificate, Theorem
from ..certify.pipeline import Certifier, FactoredProblem, SymmetricProblem
from ..certify.small import SmallRanks, modular_minor
from ..core.domains import QQ
from ..core.errors import InternalError
from ..core.modular import random_engine_prime
from ..core.progress import Update
from ..models.quantities import block_column, is_quantity, parse_quantity
from .composite import block_row_space as composite_row_space
from .engine import Engine
from .nullvectors import channel_rows, locally_constant
from .source import ProblemSource, output_factor
from .structure import StructureHints

__all__ = ["certified_ranks", "check_consistency"]

_RELEASE_ABOVE = 5000  # parameters above which the Jacobians are dropped once H_o is certified


def _block_row_space(hints: StructureHints, l: int, with_o: bool, n_l: int):
    """The smaller of the chain and the composite (channel x spatial) bounds, preferring one whose
    bound is met by rows of its spanning vectors (the core argument needs that). The composite is
    tried where the chain is loose, and always for networks with spatial structure (weight
    sharing makes the chain loose there even when it is met)."""
    space = hints.chain_space(l, with_o)
    spatial = any(layer.sources.shape[1] > 1 for layer in hints.qq.arch.layers)
    if space is not None and space.core_rows(n_l, hints.p) is not None and not spatial:
        return space
    comp = composite_row_space(hints, l, with_o)
    candidates = [c for c in (space, comp) if c is not None]
    if not candidates:
        return None
    met = [c for c in candidates if c.core_rows(n_l, hints.p) is not None]
    return min(met or candidates, key=lambda c: c.bound.value)


def _linear_H_o(problem, hints, cert, p, say):
    """``H_o`` of a linear network: ``rank H_o = rank J`` (``rank (C J)``), bounded by the layer chain."""
    say(Update(f"H_o: rank {'J' if problem.sample_free else '(C J)'} mod a prime, the layer chain", part="H_o"))
    if problem.sample_free:
        return cert.factored(FactoredProblem(
            key="H_o", factor="J", theorem="gram", p=p, upper=hints.jacobian_bound(),
            why="rank H_o = rank J, G > 0"))
    if problem.forward.kernel_factors is None:
        return cert.lower_only("H_o", "H_o", p) if cert.certify == "never" else cert.dense("H_o", "H_o")
    return cert.factored(FactoredProblem(
        key="H_o", factor="CJ", theorem="gauss_newton", p=p, upper=hints.jacobian_bound(),
        why="rank H_o = rank (C J), ker C_i = ker A_i"))


def _nonlinear_H_o(problem, cert, p, say):
    """``H_o`` with a nonlinear activation: ``rank (C J) <= p - k`` (exact null vectors of ``J``)."""
    say(Update(f"H_o: rank (C J) mod a prime ({problem.n_samples} samples)", part="H_o"))
    n = problem.arch.n_params
    if problem.forward.kernel_factors is None or cert.certify == "never":
        return cert.lower_only("H_o", "H_o", p) if cert.certify == "never" else cert.dense("H_o", "H_o")
    rows = problem.n_samples * _factor_rows(problem)
    nv = locally_constant(problem, p, second_order=False, with_rescalings=True)
    upper = None
    if nv is not None and rows <= n - len(nv.pivots):
        nv = None  # C J has no more rows than the null vectors would leave: the trivial bound is as good
    if nv is not None:
        k = len(nv.pivots)
        upper = Bound(n - k, UPPER, "structure", f"{k} exact null vectors of J ({nv.how})", certificate=nv)
    return cert.factored(FactoredProblem(
        key="H_o", factor="CJ", theorem="gauss_newton", p=p, upper=upper,
        why="rank H_o = rank (C J), ker C_i = ker A_i"))


def _factor_rows(problem) -> int:
    """Rows of ``C_i`` (the loss's kernel factor) per sample: ``K`` for an identity factor."""
    C = problem.forward.kernel_factors
    return problem.arch.output_dim if isinstance(C, str) or C is None else int(np.shape(C)[1])


def _one_hidden_H_f(problem, source, small, cert, p):
    r"""``H_f`` of a one-hidden-layer network without activation curvature (linear or ReLU-type).

    ``H_f = [[0, B], [B^T, 0]]`` (no within-layer blocks; the only pair of layers is (1, 2)), so
    ``rank H_f = 2 rank B``. A hidden channel ``o``'s parameters meet only the output weights that
    read channel ``o`` (:math:`\partial \tilde h_1 / \partial \theta_{1,o}` lives on channel ``o``),
    so ``B`` is block diagonal after permutation: ``rank B = sum_o rank B_o`` with small blocks
    ``B_o`` whose ranks are certified one by one (the ``one_hidden`` theorem)."""
    t0 = time.perf_counter()
    arch = problem.arch
    l1, l2 = arch.layers
    n1 = l1.n_params
    k_sp = l2.kernel[0] * l2.kernel[1]
    parts = []
    for o in range(l1.c_out):
        rows = tuple(int(i) for i in channel_rows(l1, o))
        cols = tuple(int(n1 + j) for c in range(l2.c_out) for j in channel_rows(l2, c)[o * k_sp:(o + 1) * k_sp])
        part = small.get("H_f", rows=rows, cols=cols)
        if part is None:
            return None
        parts.append(part)
    Bp = source.mod("H_f", p, tuple(range(n1)), tuple(range(n1, n1 + l2.n_params)))
    m = modular_minor(Bp, p)
    S = tuple(m.rows) + tuple(n1 + j for j in m.cols)
    node = Theorem(name="one_hidden", parts=tuple(parts),
                   how="H_f = [[0, B], [B^T, 0]], B block diagonal over hidden channels")
    proposal = RankCertificate(matrix="H_f", value=2 * len(m.rows), lower=Minor(prime=p, rows=S, cols=S), upper=node)
    return cert.accept("H_f", proposal, t0, (p,))


def _subadditive(info: dict):
    """``rank H_L <= rank H_o + rank H_f`` when both are certified (the ``sum`` theorem)."""
    ho, hf = info.get("H_o"), info.get("H_f")
    if ho is None or hf is None or not (ho.certified and hf.certified):
        return None
    node = Theorem(name="sum", parts=(ho.certificate, hf.certificate), how="rank H_L <= rank H_o + rank H_f")
    return Bound(ho.value + hf.value, UPPER, "structure", "rank H_L <= rank H_o + rank H_f (both certified)",
                 certificate=node)


def check_consistency(info: dict) -> None:
    """The facts that cost nothing: every value within its proven bounds, and
    ``|rank H_o - rank H_f| <= rank H_L <= rank H_o + rank H_f`` possible within the bounds.

    Raises:
        InternalError: a violation (a bug in exacthess, never a verdict)."""
    for key, r in info.items():
        if not r.lower <= r.value <= r.upper or (r.certified and r.lower != r.upper):
            raise InternalError(f"rank {key}: value {r.value} outside its proven bounds [{r.lower}, {r.upper}]")
    if all(k in info for k in ("H_o", "H_f", "H_L")):
        o, f, L = info["H_o"], info["H_f"], info["H_L"]
        if L.lower > o.upper + f.upper or L.upper < max(0, o.lower - f.upper, f.lower - o.upper):
            raise InternalError(f"proven bounds contradict rank(A + B) <= rank A + rank B and its converse: "
                                f"H_o in [{o.lower}, {o.upper}], H_f in [{f.lower}, {f.upper}], "
                                f"H_L in [{L.lower}, {L.upper}]")


def certified_ranks(problem, *, seed: int = 0, certify: str = "auto", budget_seconds: float = 60.0,
                    block_columns: bool = True, progress=None) -> tuple[dict, dict, Engine]:
    """Certified ranks of ``H_o``, ``H_f``, ``H_L`` (and ``H_f[:,l]``) of one problem.

    Returns:
        ``(ranks, rank_info, engine)``: values, :class:`~exacthess.certify.rank.RankResult` per
        key (each with its checked certificate), and the exact engine over QQ.
    """
    say = progress or (lambda msg: None)
    rng = np.random.default_rng([seed, 11])
    source = ProblemSource(problem)
    p = random_engine_prime(rng)
    while source.denominator() % p == 0:  # the inputs must reduce modulo p
        p = random_engine_prime(rng)
    small = SmallRanks(source, p, seed, budget_seconds if certify != "never" else 0.0)
    cert = Certifier(source=source, seed=seed, certify=certify, budget_seconds=budget_seconds, progress=say)
    arch = problem.arch
    counts = arch.layer_param_counts
    info: dict = {}
    null = None
    spaces = {name: [None] * len(arch.layers) for name in ("H_f", "H_L")}
    if arch.activation.is_linear and certify != "never":
        hints = StructureHints(source, p, small)
        of = output_factor(problem)
        if of is not None:
            hints.use_output_factor(of)  # e.g. softmax: H_o's rows live in C T_{>l}
        info["H_o"] = _linear_H_o(problem, hints, cert, p, say)
        if certify != "never":
            spaces = {name: [_block_row_space(hints, l, with_o, counts[l - 1]) for l in range(1, len(arch.layers) + 1)]
                      for name, with_o in (("H_f", False), ("H_L", True))}
        if arch.n_params > _RELEASE_ABOVE:
            source.release_jacobians()  # the cores of H_f and H_L are formed from the blocks, not from J
    elif arch.activation.is_linear:
        info["H_o"] = cert.lower_only("H_o", "H_o", p)
    else:
        info["H_o"] = _nonlinear_H_o(problem, cert, p, say)
        if certify != "never":
            say(Update("H_f: exact null vectors (locally constant directions)", part="H_f"))
        null = locally_constant(problem, p, second_order=True) if certify != "never" else None
    if not arch.activation.is_linear:
        block_columns = False  # the block-column statements are about linear networks

    for name in ("H_f", "H_L"):
        say(Update(f"{name}: its core mod a prime, structural bound", part=name))
        if name == "H_f" and not arch.activation.is_linear and arch.depth == 1 and not arch.activation.has_curvature \
                and certify != "never":
            res = _one_hidden_H_f(problem, source, small, cert, p)
            if res is not None and res.certified:
                info["H_f"] = res
                continue
        keys = tuple(block_column(l) for l in range(1, len(arch.layers) + 1)) if (name == "H_f" and block_columns) else ()
        info.update(cert.symmetric(SymmetricProblem(
            key=name, sizes=counts, p=p, spaces=spaces[name], column_keys=keys, null_vectors=null,
            upper_hint=_subadditive(info) if name == "H_L" else None)))
    order = ["H_o", "H_f", "H_L"] + [k for k in info if is_quantity(k) and parse_quantity(k).is_block_column]
    info = {k: info[k] for k in order if k in info}
    check_consistency(info)
    return {k: v.value for k, v in info.items()}, info, source.engine(QQ)
