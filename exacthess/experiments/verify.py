"""``exacthess.verify``: exact ranks of a network's Hessians against the registered statements."""

from __future__ import annotations

import time

import numpy as np

from ..models.architectures import CNN, Architecture
from .commands import verify_command
from ..hessian.problem import make_problem
from ..core.errors import InvalidDataError, describe
from ..hessian.engine import Engine
from ..hessian.ranks import certified_ranks
from ..certify.rank import rank
from .report import Report, Row
from ..statements import Context, statements_for

__all__ = ["verify", "float_rank"]


def float_rank(M: np.ndarray) -> int:
    """numpy's float64 ``matrix_rank`` with its default tolerance (the common practice)."""
    F = np.array([float(v) for v in M.flat], dtype=np.float64).reshape(M.shape)
    return int(np.linalg.matrix_rank(F)) if F.size else 0


def _family(arch: Architecture) -> str:
    return "cnn" if isinstance(arch, CNN) else "fcn"


def _float_matrices(problem) -> dict:
    """The same Hessians computed in float64 (the usual practice), for comparison."""
    from ..core.domains import F64
    e = Engine(problem, F64)
    out = {"H_o": e.full("H_o"), "H_f": e.full("H_f")}
    out["H_L"] = out["H_o"] + out["H_f"]
    offs = problem.arch.layer_offsets
    for l, layer in enumerate(problem.arch.layers, start=1):
        out[f"H_f[:,{l}]"] = out["H_f"][:, offs[l - 1]: offs[l - 1] + layer.n_params]
    return out


def _context(arch: Architecture, engine: Engine, ranks: dict, seed: int) -> tuple[Context, dict]:
    prob = engine.problem
    d = arch.input_dim
    r = rank(prob.sigma[:d, :d], seed=seed).value
    s = rank(engine.omega[:, :d], seed=seed).value
    ctx = Context(arch=arch, family=_family(arch), d=d, K=arch.output_dim, L=arch.depth,
                  widths=arch.hidden_sizes, r=r, s=s, p=arch.n_params, bias=arch.bias, ranks=ranks)
    if isinstance(arch, CNN):
        n1 = arch.layers[0].n_out
        ctx.extra["rank_T_2_L1"] = rank(engine.backward[1][:, :n1], seed=seed).value
        ctx.extra["rank_T_L_1"] = rank(engine.between(0, len(arch.layers)), seed=seed).value
        ctx.extra["weights_per_layer"] = tuple(l.c_out * l.c_in * l.kernel[0] * l.kernel[1] for l in arch.layers)
        ctx.channels = arch.channels
        ctx.spatial = arch.spatial_sizes
        ctx.kernels = tuple(l.kernel[0] * l.kernel[1] for l in arch.layers[:-1])
    summary = {"d": d, "K": ctx.K, "L": ctx.L, "widths": list(ctx.widths), "n": prob.n_samples,
               "r": r, "s": s, "p": ctx.p, "bias": ctx.bias,
               "q": min((r, ctx.K) + tuple(ctx.widths))}
    return ctx, summary


def verify(arch: Architecture, *, n_samples: int | None = None, seed: int = 0, data=None, params=None,
           certify: str = "auto", budget_seconds: float = 60.0, float_check: bool = True,
           statements=None, progress=None) -> Report:
    """Compute the exact Hessian ranks of ``arch`` and check every registered statement.

    Args:
        arch: :class:`~exacthess.FCN` or :class:`~exacthess.CNN`.
        n_samples: number of seeded samples when ``data`` is None (default ``2 d``).
        seed: seed of generated parameters, data and primes.
        data: ``(X, Y)``, arrays of shapes ``(n, input_dim)`` and ``(n, output_dim)``.
        params: parameters (list of arrays of shapes ``arch.param_shapes()``, or flat).
        certify: ``"auto"``, ``"always"`` or ``"never"`` (see :func:`exacthess.rank`).
        budget_seconds: certification budget per rank in ``"auto"`` mode.
        float_check: also compute numpy's float64 ``matrix_rank`` of each matrix and flag
            disagreements (skipped above 3000 parameters).
        statements: restrict to these statement ids (default: all that apply to the family).
        progress: optional callable receiving short progress messages.

    Returns:
        a :class:`~exacthess.report.Report`; a violated statement is a verdict in it.
    """
    if not isinstance(arch, Architecture):
        raise InvalidDataError(f"arch = {describe(arch)} is not an architecture; expected FCN(...) or CNN(...)")
    t0 = time.perf_counter()
    problem = make_problem(arch, n_samples=n_samples, seed=seed, data=data, params=params)
    ranks, info, engine = certified_ranks(problem, seed=seed, certify=certify, budget_seconds=budget_seconds,
                                          progress=progress)
    ctx, summary = _context(arch, engine, ranks, seed)
    floats: dict[str, int] = {}
    do_float = float_check and arch.n_params <= 3000
    fmats = _float_matrices(problem) if do_float else {}

    def fl(key):
        if key not in fmats:
            return None
        if key not in floats:
            floats[key] = int(np.linalg.matrix_rank(fmats[key]))
        return floats[key]

    rows = []
    family = _family(arch)
    chosen = statements_for(family)
    if statements is not None:
        wanted = set(statements)
        chosen = [s for s in chosen if s.id in wanted]
    for st in chosen:
        why = st.applies(ctx)
        layers = list(st.layers(ctx)) if st.layers else [None]
        for l in layers:
            qty = st.quantity.format(l=l) if l is not None else st.quantity
            sid = st.id if l is None else f"{st.id}[{l}]"
            exact = ranks.get(qty)
            ri = info.get(qty)
            fr = fl(qty)
            if why is not None:
                rows.append(Row(sid, qty, st.kind, exact, None, st.relation, "n/a", ri.how if ri else "",
                                fr, fr is not None and fr != exact, why, st.formula, st.citation))
                continue
            pred = st.predict(ctx, l) if l is not None else st.predict(ctx)
            if ri is not None and not ri.certified and st.relation == "==":
                # equality needs the exact value; use proven bounds for the verdict when possible
                holds = ri.lower <= pred <= ri.upper
                definite = ri.lower == ri.upper or pred < ri.lower or pred > ri.upper
            else:
                holds = exact == pred if st.relation == "==" else exact <= pred
                definite = True
                if ri is not None and not ri.certified and st.relation == "<=":
                    holds, definite = ri.upper <= pred, ri.upper <= pred or ri.lower > pred
            if not definite:
                verdict, note = "holds", "probable: rank not certified"
            elif holds:
                verdict, note = "holds", ""
            else:
                verdict, note = ("VIOLATED" if st.binding else "refuted"), ""
            rows.append(Row(sid, qty, st.kind, exact, pred, st.relation, verdict, ri.how if ri else "",
                            fr, fr is not None and fr != exact, note, st.formula, st.citation))
    notes = []
    if arch.bias:
        notes.append("the reference documents give no published rank formula with biases: the exact ranks "
                      "are reported, and only conjectures (empirical fits, not from a paper) are checked")
    if float_check and not do_float:
        notes.append("float64 comparison skipped (more than 3000 parameters)")
    disagree = sorted({r.quantity for r in rows if r.float_disagrees})
    if disagree:
        notes.append("float64 matrix_rank disagrees with the exact rank for: " + ", ".join(disagree))
    command = ""
    if data is None and params is None:
        command = verify_command(arch.to_spec(), samples=problem.n_samples, seed=seed)
    return Report(arch=arch, ranks=ranks, rank_info=info, rows=rows, context=summary,
                  seconds=time.perf_counter() - t0, command=command, notes=notes)
