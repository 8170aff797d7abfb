"""Certified ranks of ``H_o``, ``H_f``, ``H_L`` and the block columns of ``H_f`` for one problem.

This module knows the structure of the Hessians and hands the certification pipeline
(:mod:`exacthess.certify.pipeline`) matrices and hints:

* ``H_o = J^T (G (x) I_K) J`` with ``G`` positive definite (``Sigma~ = R G R^T``), so
  ``rank H_o = rank J``, bounded by the layer chain (:meth:`StructureHints.jacobian_bound`);
* ``H_f`` and ``H_L``: per block row the smaller of the chain and the composite (channel x
  spatial) bounds, with spanning vectors for the core argument.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..certify.small import SmallRanks
from ..certify.bounds import UPPER, Bound
from ..certify.pipeline import Certifier, FactoredProblem, SymmetricProblem
from ..certify.rank import rank
from ..core.domains import ABS, GF, QQ
from ..core.modular import random_engine_prime, rank_mod_p
from .composite import block_row_space as composite_row_space
from .engine import Engine
from .nullvectors import locally_constant, rescalings
from .structure import StructureHints

__all__ = ["certified_ranks", "core_matrix"]


def core_matrix(engine: Engine, name: str, rows_per_block) -> np.ndarray:
    """``H[I, I]`` over the engine's domain, assembled block by block (``I`` given per layer)."""
    L1 = len(rows_per_block)
    out = []
    for l in range(L1):
        row = []
        for m in range(L1):
            rl, rm = rows_per_block[l], rows_per_block[m]
            if len(rl) == 0 or len(rm) == 0:
                row.append(engine.ring.zeros((len(rl), len(rm))))
                continue
            row.append(engine.block(name, l + 1, m + 1, rows=np.asarray(rl), cols=np.asarray(rm)))
        out.append(np.concatenate(row, axis=1))
    return np.concatenate(out, axis=0)


def _denominator_bits(problem) -> float:
    """log2 of a bound on the common denominator of the Hessian entries (0 for integer inputs).

    Entries are polynomials of total degree at most ``2 (L + 1) + 2`` in the inputs, so their
    denominators divide ``D ** (2L + 4)`` where ``D`` is the lcm of the inputs' denominators."""
    den = 1
    for arr in list(problem.weights) + [problem.sigma, problem.yhat]:
        for v in np.asarray(arr, dtype=object).flat:
            q = int(getattr(v, "q", 1))
            if q != 1:
                den = den * q // math.gcd(den, q)
    return 0.0 if den == 1 else (2 * len(problem.arch.layers) + 4) * math.log2(den)


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


def _linear_H_o(problem, qq, gf, hints, cert, seed, say):
    """``H_o`` of a linear network: ``rank H_o = rank (C J)``, bounded by the layer chain."""
    say("H_o")
    n = problem.arch.n_params
    if problem.sample_free:
        G = problem.G
        gram_pd = problem.gram_is_identity or rank(G, seed=seed).lower == G.shape[0]  # full-rank Gram => PD
        if not gram_pd:
            return cert.dense("H_o", lambda: qq.full("H_o"))
        return cert.factored(FactoredProblem(
            "H_o", (n, n), gf.jacobian_stack, p=gf.ring.p, upper=hints.jacobian_bound(),
            exact=lambda: qq.jacobian_stack, why="H_o = J^T (G (x) I) J with G positive definite"))
    Jp = gf.per_sample.factored_jacobian()
    if Jp is None:
        return cert.dense("H_o", lambda: qq.full("H_o"))
    return cert.factored(FactoredProblem(
        "H_o", (n, n), Jp, p=gf.ring.p, upper=hints.jacobian_bound(),
        exact=lambda: qq.per_sample.factored_jacobian(),
        why="H_o = sum_i J_i^T A_i J_i, rank H_o = rank (C J) with ker C_i = ker A_i"))


def _nonlinear_H_o(problem, qq, gf, null, cert, say):
    """``H_o`` with a nonlinear activation: ``rank (C J) <= p - dim`` (exact null vectors of ``J``)."""
    say("H_o")
    arch = problem.arch
    n = arch.n_params
    Jp = gf.per_sample.factored_jacobian()
    if Jp is None:
        return cert.dense("H_o", lambda: qq.full("H_o"))
    hows = ["locally constant directions"] if null is not None else []
    R = rescalings(gf) if arch.activation.piecewise else np.zeros((n, 0), dtype=np.int64)
    if R.shape[1]:
        hows.append("rescalings")
    if null is not None:
        k = null.rank_with(R, gf.ring.p)
    else:
        k = rank_mod_p(R, gf.ring.p) if R.size else 0
    rows = Jp.shape[0]
    if rows <= n - k:
        upper = Bound(rows, UPPER, "trivial", f"C J has {rows} rows")
    else:
        upper = Bound(n - k, UPPER, "structure", f"{k} independent exact null vectors of J ({', '.join(hows)})")
    return cert.factored(FactoredProblem(
        "H_o", (n, n), Jp, p=gf.ring.p, upper=upper, exact=lambda: qq.per_sample.factored_jacobian(),
        why="H_o = sum_i J_i^T A_i J_i, rank H_o = rank (C J) with ker C_i = ker A_i"))


def _one_hidden_H_f(problem, qq, gf, small, t0):
    r"""``H_f`` of a one-hidden-layer network without activation curvature (linear or ReLU-type).

    ``H_f = [[0, B], [B^T, 0]]`` (no within-layer blocks; the only pair of layers is (1, 2)), so
    ``rank H_f = 2 rank B``. A hidden channel ``o``'s parameters meet only the output weights that
    read channel ``o`` (:math:`\partial \tilde h_1 / \partial \theta_{1,o}` lives on channel ``o``),
    so ``B`` is block diagonal after permutation: ``rank B = sum_o rank B_o`` with small blocks
    ``B_o`` whose ranks are certified one by one (:class:`SmallRanks`)."""
    from ..certify.bounds import LOWER
    from ..certify.rank import RankResult
    from .nullvectors import channel_rows
    arch = problem.arch
    l1, l2 = arch.layers
    k_sp = l2.kernel[0] * l2.kernel[1]
    Bp = gf.per_sample.block_cross(1, 2)
    total = 0
    for o in range(l1.c_out):
        rows = channel_rows(l1, o)
        cols = np.concatenate([channel_rows(l2, c)[o * k_sp:(o + 1) * k_sp] for c in range(l2.c_out)])
        r_o = small.get(("B", o), lambda rows=rows, cols=cols: qq.per_sample.block_cross(1, 2)[np.ix_(rows, cols)],
                        mod_p=np.ascontiguousarray(Bp[np.ix_(rows, cols)]))
        if r_o is None:
            return None
        total += r_o
    n = arch.n_params
    lower = Bound(rank_mod_p(Bp, gf.ring.p) * 2, LOWER, "mod p", "2 rank B modulo a prime")
    upper = Bound(2 * total, UPPER, "structure", "H_f = [[0, B], [B^T, 0]], B block diagonal over hidden channels: "
                                                 "2 x sum of certified block ranks")
    ok = lower.value == upper.value
    return RankResult(lower.value, lower.value, upper.value, ok, ("certificate: " + upper.how) if ok else "probabilistic",
                      (n, n), (gf.ring.p,), 0.0 if ok else 1.0, time.perf_counter() - t0, (lower, upper))


def _subadditive(info: dict):
    """``rank H_L <= rank H_o + rank H_f`` when both are certified."""
    ho, hf = info.get("H_o"), info.get("H_f")
    if ho is None or hf is None or not (ho.certified and hf.certified):
        return None
    return Bound(ho.value + hf.value, UPPER, "structure", "rank H_L <= rank H_o + rank H_f (both certified)")


def certified_ranks(problem, *, seed: int = 0, certify: str = "auto", budget_seconds: float = 60.0,
                    block_columns: bool = True, progress=None) -> tuple[dict, dict, Engine]:
    """Certified ranks of ``H_o``, ``H_f``, ``H_L`` (and ``H_f[:,l]``) of one problem.

    Returns:
        ``(ranks, rank_info, engine)``: values, :class:`~exacthess.certify.rank.RankResult` per
        key, and the exact engine over QQ.
    """
    say = progress or (lambda msg: None)
    rng = np.random.default_rng([seed, 11])
    p = random_engine_prime(rng)
    while problem.denominator % p == 0:  # the inputs must reduce modulo p
        p = random_engine_prime(rng)
    qq, gf = Engine(problem, QQ), Engine(problem, GF(p))
    small = SmallRanks(seed, budget_seconds, p)
    hints = StructureHints(qq, gf, small)
    cert = Certifier(seed=seed, certify=certify, budget_seconds=budget_seconds, progress=say)
    arch = problem.arch
    counts = arch.layer_param_counts
    info: dict = {}

    if arch.activation.is_linear:
        factors = None if problem.sample_free else problem.forward.kernel_factors
        if factors is not None and not isinstance(factors, str) and all((f == factors[0]).all() for f in factors):
            hints.use_output_factor(factors[0])  # e.g. softmax: H_o's rows live in C T_{>l}
        info["H_o"] = _linear_H_o(problem, qq, gf, hints, cert, seed, say)
        spaces = {name: [_block_row_space(hints, l, with_o, counts[l - 1]) for l in range(1, len(arch.layers) + 1)]
                  for name, with_o in (("H_f", False), ("H_L", True))}
        null = None
    else:
        null = locally_constant(gf, small, second_order=True)
        info["H_o"] = _nonlinear_H_o(problem, qq, gf, locally_constant(gf, small, second_order=False), cert, say)
        spaces = {name: [None] * len(arch.layers) for name in ("H_f", "H_L")}
        block_columns = False  # the block-column statements are about linear networks

    engines = {}

    def on(domain):
        if domain not in engines:
            engines[domain] = Engine(problem, domain)
        return engines[domain]

    for name in ("H_f", "H_L"):
        say(name)
        if name == "H_f" and not arch.activation.is_linear and arch.depth == 1 and not arch.activation.has_curvature:
            res = _one_hidden_H_f(problem, qq, gf, small, time.perf_counter())
            if res is not None and res.certified:
                info["H_f"] = res
                continue
        keys = tuple(f"H_f[:,{l}]" for l in range(1, len(arch.layers) + 1)) if (name == "H_f" and block_columns) else ()
        info.update(cert.symmetric(SymmetricProblem(
            key=name, sizes=counts, p=p, spaces=spaces[name],
            core_mod_p=lambda rows, name=name: core_matrix(gf, name, rows),
            core_exact=lambda rows, name=name: core_matrix(qq, name, rows),
            core_magnitudes=lambda rows, name=name: core_matrix(on(ABS), name, rows),
            core_mod_q=lambda rows, q, name=name: core_matrix(on(GF(q)), name, rows),
            denominator_bits=_denominator_bits(problem), column_keys=keys,
            zero_diagonal=name == "H_f" and not arch.activation.has_curvature,
            null_vectors=None if null is None else (null.blocks, null.how),
            upper_hint=_subadditive(info) if name == "H_L" else None)))
    order = ["H_o", "H_f", "H_L"] + [k for k in info if k.startswith("H_f[")]
    info = {k: info[k] for k in order if k in info}
    return {k: v.value for k, v in info.items()}, info, qq
