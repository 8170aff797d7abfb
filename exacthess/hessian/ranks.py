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

import numpy as np

from ..certify.bounds import SmallRanks
from ..certify.pipeline import Certifier, FactoredProblem, SymmetricProblem
from ..certify.rank import rank
from ..core.domains import ABS, GF, QQ
from ..core.modular import random_small_prime
from .composite import block_row_space as composite_row_space
from .engine import Engine
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
    """The chain bound, or the composite bound where the chain is loose and the composite smaller."""
    space = hints.chain_space(l, with_o)
    if space is not None and space.core_rows(n_l, hints.p) is not None:
        return space
    comp = composite_row_space(hints, l, with_o)
    if comp is not None and (space is None or comp.bound.value < space.bound.value):
        return comp
    return space


def certified_ranks(problem, *, seed: int = 0, certify: str = "auto", budget_seconds: float = 60.0,
                    block_columns: bool = True, progress=None) -> tuple[dict, dict, Engine]:
    """Certified ranks of ``H_o``, ``H_f``, ``H_L`` (and ``H_f[:,l]``) of one problem.

    Returns:
        ``(ranks, rank_info, engine)``: values, :class:`~exacthess.certify.rank.RankResult` per
        key, and the exact engine over QQ.
    """
    say = progress or (lambda msg: None)
    p = random_small_prime(np.random.default_rng([seed, 11]))
    qq, gf = Engine(problem, QQ), Engine(problem, GF(p))
    small = SmallRanks(seed, budget_seconds)
    hints = StructureHints(qq, gf, small)
    cert = Certifier(seed=seed, certify=certify, budget_seconds=budget_seconds, progress=say)
    arch = problem.arch
    n = arch.n_params
    counts = arch.layer_param_counts
    info: dict = {}

    say("H_o")
    G = problem.G
    gram_pd = problem.gram_is_identity or rank(G, seed=seed).lower == G.shape[0]  # a full-rank Gram matrix is PD
    if gram_pd:
        info["H_o"] = cert.factored(FactoredProblem(
            "H_o", (n, n), gf.jacobian_stack, p, hints.jacobian_bound(), lambda: qq.jacobian_stack,
            why="H_o = J^T (G (x) I) J with G positive definite"))
    else:
        info["H_o"] = cert.dense("H_o", lambda: qq.full("H_o"))

    engines = {}

    def on(domain):
        if domain not in engines:
            engines[domain] = Engine(problem, domain)
        return engines[domain]

    for name, with_o in (("H_f", False), ("H_L", True)):
        say(name)
        spaces = [_block_row_space(hints, l, with_o, counts[l - 1]) for l in range(1, len(arch.layers) + 1)]
        keys = tuple(f"H_f[:,{l}]" for l in range(1, len(arch.layers) + 1)) if (name == "H_f" and block_columns) else ()
        info.update(cert.symmetric(SymmetricProblem(
            key=name, sizes=counts, p=p, spaces=spaces,
            core_mod_p=lambda rows, name=name: core_matrix(gf, name, rows),
            core_exact=lambda rows, name=name: core_matrix(qq, name, rows),
            core_magnitudes=lambda rows, name=name: core_matrix(on(ABS), name, rows),
            core_mod_q=lambda rows, q, name=name: core_matrix(on(GF(q)), name, rows),
            denominator_bits=_denominator_bits(problem), zero_diagonal=name == "H_f", column_keys=keys)))
    order = ["H_o", "H_f", "H_L"] + [k for k in info if k.startswith("H_f[")]
    info = {k: info[k] for k in order if k in info}
    return {k: v.value for k, v in info.items()}, info, qq
