r""":func:`exacthess.verify` of a graph network (:class:`~exacthess.models.graph.Graph`).

The stages are those of a chain's verification, on the graph engine
(:mod:`exacthess.hessian.graph_route`):

1. the exact point (seeded, or the user's parameters and data converted exactly), its forward pass
   (kinks and max-pooling ties refused, naming the node);
2. ``H_o``, ``H_f``, ``H_L`` over Q and their certified ranks: a core nonsingular modulo a prime and
   the kernel solved over Q from it (:func:`~exacthess.certify.explicit.symmetric_rank`), every
   certificate verified by the checker; Hadamard's argument when the proposal fails;
3. the statements registered for graphs (family ``"graph"``: residual networks, ...) judged by
   :func:`~exacthess.statements.verdicts.judge`;
4. the float32 / float64 columns: the same Hessians computed by the same engine in floating point,
   ranked as ``matrix_rank(hermitian=True)`` does (up to
   :data:`~exacthess.verification.floats.FLOAT_COLUMNS_LIMIT` parameters unless ``"always"``).

Batch normalisation's scale :math:`1/\sqrt{v + \epsilon}` and the softmax / sigmoid of the losses
are rational stand-ins; the notes say which results are exact at the stand-ins.
"""

from __future__ import annotations

import time

import numpy as np

from ..certify.explicit import kernel_rank
from ..certify.bounds import UPPER, Bound
from ..certify.pipeline import Certifier, FactoredProblem, SymmetricProblem
from ..core.modular import random_small_prime
from ..hessian.attention_symmetry import symmetry_dimension, symmetry_proposal, symmetry_vectors
from ..hessian.graph_source import GraphSource
from ..core.domains import QQ, resolve_domain
from ..core.progress import Update, open_progress
from ..hessian.cost import graph_cost, require_fits, sample_count
from ..hessian.matrices import hessian
from ..hessian.saved import problem_to_data
from ..models.commands import verify_command
from ..models.graph import Graph
from ..statements import Context, statements_for
from ..statements.residual import residual_structure
from ..statements.verdicts import judge, prediction
from .floats import FLOAT_COLUMNS_LIMIT, matrix_rank, skipped_note
from .points import fitted_targets
from .report import Report, Row

__all__ = ["verify_graph", "graph_context", "graph_ranks"]

_NAMES = ("H_L", "H_o", "H_f")


def graph_context(arch: Graph, problem, ranks: dict, source: GraphSource | None = None) -> Context:
    """The :class:`~exacthess.statements.Context` of a graph at a point: sizes, the samples ``n``,
    the data rank ``r`` (exact), and the structure a statement may read in ``extra``
    (``arch`` is the graph; ``s``, the rank of the residual moment, is not computed for graphs: 0;
    ``source``: the point's matrices, whose Jacobians give the loss gradient when needed)."""
    from flint import fmpq_mat
    X = problem.X
    r = fmpq_mat(X.shape[0], X.shape[1], list(X.ravel())).rank() if X.size else 0
    extra = {"n": problem.X.shape[0]}
    extra.update(_residual_extra(arch, problem, r))
    extra.update(_attention_extra(problem, source))
    return Context(arch=arch, family="graph", d=arch.input_dim, K=arch.output_dim,
                   L=sum(1 for n in arch.nodes if n.op in ("linear", "conv")) - 1, widths=(), r=r, s=0,
                   p=arch.n_params, bias=any(k == "bias" for _, k in arch.param_order), ranks=dict(ranks),
                   extra=extra, activation="linear" if arch.is_linear else "nonlinear",
                   loss=problem.loss.name,
                   activation_name=", ".join(sorted({str(a) for a in arch.activations}) + (
                       ["max pooling"] if any(n.op == "maxpool" for n in arch.nodes) else []) + (
                       ["softmax"] if any(n.op == "softmax" for n in arch.nodes) else []) + (
                       ["products of node values (attention)"] if any(n.op == "matmul" for n in arch.nodes) else []))
                   or "linear")


def graph_ranks(problem, *, seed: int = 0, certify: str = "auto", budget_seconds: float = 60.0,
                say=lambda msg: None, source: GraphSource | None = None, symmetries: bool = True) -> tuple[dict, dict]:
    """The certified ranks of ``H_L``, ``H_o``, ``H_f`` (see the module doc): ``H_o`` through
    ``rank H_o = rank (C J)`` when the loss gives its kernel factors, the others (and ``H_o`` otherwise)
    by a core and the kernel over Q; ``certify="never"``: lower bounds only. With ``symmetries``, the
    tangent vectors of self-attention's symmetries
    (:func:`~exacthess.hessian.attention_symmetry.symmetry_proposal`) are proposed as null vectors of
    ``C J`` (or of ``H_o``), checked like every certificate."""
    source = GraphSource(problem) if source is None else source
    cert = Certifier(source=source, seed=seed, certify=certify, budget_seconds=budget_seconds, progress=say)
    p = random_small_prime(np.random.default_rng([seed, 13]))
    nv = symmetry_proposal(problem, p) if symmetries and certify != "never" else None
    ranks, info = {}, {}
    for name in _NAMES:
        say(Update(f"{name}: the exact {problem.arch.n_params} x {problem.arch.n_params} matrix over Q",
                   part="ranks"))
        if certify == "never":
            res = cert.lower_only(name, name, p)
        elif name == "H_o" and problem.forward.kernel_factors is not None:
            up = None if nv is None else Bound(problem.arch.n_params - len(nv.pivots), UPPER, "structure",
                                               nv.how, certificate=nv)
            res = cert.factored(FactoredProblem(key="H_o", factor="CJ", theorem="gauss_newton", p=p, upper=up,
                                                why="rank H_o = rank (C J), ker C_i = ker A_i"))
        elif name == "H_o" and nv is not None:
            res = cert.symmetric(SymmetricProblem(key="H_o", sizes=(problem.arch.n_params,), p=p, spaces=[None],
                                                  null_vectors=nv))["H_o"]
        else:
            res = kernel_rank(cert, name)
        ranks[name], info[name] = res.value, res
    return ranks, info


def _rank(rows) -> int:
    from flint import fmpq_mat
    rows = np.asarray(rows, dtype=object)
    return fmpq_mat(rows.shape[0], rows.shape[1], list(rows.ravel())).rank() if rows.size else 0


def _attention_extra(problem, source) -> dict:
    """What the attention statements read: ``d_sym`` (exact dimension of the span of the symmetries'
    tangent vectors), their families, and whether the point is critical (``grad l = 0`` exactly)."""
    V, _, families = symmetry_vectors(problem)
    if not V.shape[1]:
        return {}
    grads = problem.forward.gradients  # (K, n): the loss gradient at the outputs
    critical = all(v == 0 for v in grads.flat)
    if not critical:
        J = (source or GraphSource(problem)).engine.jacobian_stack  # (n K, p), samples stacked
        g = np.ascontiguousarray(grads.T).reshape(-1)
        critical = all(v == 0 for v in QQ.matmul(np.ascontiguousarray(J.T), g.reshape(-1, 1)).flat)
    return {"attention": {"d_sym": symmetry_dimension(V), "families": families, "vectors": V.shape[1],
                          "critical": critical}}


def _residual_extra(arch: Graph, problem, r: int) -> dict:
    """What the residual statements read: the structure (:func:`~exacthess.statements.residual.residual_structure`),
    whether the blocks' weights are all zero, and there the closed-form rank of ``H_o``
    (``beta r~ + (K - beta) u``; ``M r~`` without projections)."""
    from flint import fmpq
    structure = residual_structure(arch)
    if structure is None:
        return {}
    zero = all(all(v == 0 for v in problem.param(b, "weight").flat) for b in structure["blocks"])
    out = {"residual": structure, "residual_at_identity": zero}
    if zero:
        X = problem.X
        ones = np.full((X.shape[0], 1), fmpq(1), dtype=object)
        r_t = _rank(np.concatenate([X, ones], axis=1)) if structure["bias"] else r
        if not structure["proj"]:
            out["residual_identity_rank"] = structure["M"] * r_t
        else:
            h = problem.forward.values[problem.forward.problem.arch.by_name[structure["out"]].inputs[0]]
            u = _rank(np.concatenate([h, ones], axis=1) if structure["bias"] else h)
            beta = _rank(problem.param(structure["out"], "weight"))
            out["residual_identity_rank"] = beta * r_t + (arch.output_dim - beta) * u
    return out


def verify_graph(arch: Graph, *, n_samples=None, seed: int = 0, data=None, params=None, loss="mse",
                 certify: str = "auto", budget_seconds: float = 60.0, float_check=True, statements=None,
                 progress="auto", point: str = "gaussian", round_to=None, perfect_fit: bool = False) -> Report:
    """:func:`exacthess.verify` of a graph (arguments as there; ``perfect_fit``: the targets replaced by the
    network's own predictions, :func:`~exacthess.verification.points.fitted_targets`, a critical point)."""
    t0 = time.perf_counter()
    n = sample_count(arch, n_samples, data)
    require_fits(graph_cost(arch, n, QQ))
    with open_progress(progress, f"verify {arch!r}") as say:
        say(Update("the exact point and its forward pass", part="point"))
        H = hessian(arch, params=params, data=data, n_samples=n_samples, seed=seed, loss=loss, point=point,
                    round_to=round_to)
        problem = H.engine.problem
        if perfect_fit:
            say(Update("targets := the network's own predictions (a perfect fit)", part="point"))
            H = hessian(arch, params=problem.params, data=(problem.X, fitted_targets(problem)), loss=problem.loss)
            problem = H.engine.problem
        source = GraphSource(problem)
        ranks, info = graph_ranks(problem, seed=seed, certify=certify, budget_seconds=budget_seconds, say=say,
                                  source=source)
        floats = {}
        if float_check == "always" or (float_check and arch.n_params <= FLOAT_COLUMNS_LIMIT):
            for dt in ("float32", "float64"):
                say(Update(f"the Hessians in {dt}", part="floats"))
                Hf = hessian(arch, params=problem.params, data=(problem.X, problem.Y), loss=problem.loss,
                             domain=resolve_domain(dt))
                for name in _NAMES:
                    floats.setdefault(name, {})[dt] = matrix_rank(np.asarray(getattr(Hf, name)), hermitian=True)
        ctx = graph_context(arch, problem, ranks, source)
        rows = []
        for st in statements_for("graph") if statements is None else statements:
            why = st.scope(ctx) or st.applies(ctx)
            pred = None if why is not None else prediction(st, ctx, ctx)
            j = judge(st, st.quantity, info.get(st.quantity), pred, why_not=why)
            fr = floats.get(st.quantity)
            rows.append(Row(statement=st.id, quantity=st.quantity, kind=st.kind, exact=ranks.get(st.quantity),
                            predicted=pred[0] if isinstance(pred, tuple) else pred, relation=st.relation,
                            verdict=j.verdict, how=info[st.quantity].how if st.quantity in info else "",
                            float_rank=None if fr is None else fr["float64"],
                            float_disagrees=fr is not None and any(v != ranks.get(st.quantity) for v in fr.values()),
                            note=j.note, formula=st.formula, citation=st.citation, generic=st.generic,
                            failure_bound=j.failure_bound, activation="graph", loss=problem.loss.name,
                            float_ranks=fr))
    notes = []
    standins = [n.name for n in arch.nodes if n.op == "batchnorm" and n.attrs.get("standin_rel_error", 0) != 0]
    if standins:
        notes.append("batch normalisation's 1/sqrt(var + eps) is a rational stand-in within 2^-64 relatively "
                     f"(nodes {', '.join(standins)}): every rank is exact at the stand-in")
    scales = [n.name for n in arch.nodes if n.op == "softmax" and n.attrs.get("standin_rel_error", 0) != 0]
    if scales:
        notes.append("the attention score scale 1/sqrt(d_k) is a rational stand-in within 2^-64 relatively (nodes "
                     f"{', '.join(scales)}): every rank is exact at the stand-in")
    soft = [n.name for n in arch.nodes if n.op == "softmax"]
    if soft:
        notes.append("attention weights are rational stand-ins of the softmax within 2^-64 relatively (nodes "
                     f"{', '.join(soft)}): H_o, H_f, H_L and their ranks are exact at the stand-ins")
    if not problem.loss.exact:
        notes.append(f"{problem.loss.name}: softmax/sigmoid values are exact rational stand-ins (within 2^-64 "
                     "relatively); H_f and H_L are exact at the stand-ins")
    if float_check and not floats:
        notes.append(skipped_note())
    for dt in ("float32", "float64"):
        off = sorted(k for k, v in floats.items() if v[dt] != ranks[k])
        if off:
            notes.append(f"{dt} matrix_rank (the Hessian computed in {dt}) disagrees with the exact rank for: "
                         + ", ".join(off))
    return Report(arch=arch, ranks=ranks, rank_info=info, rows=rows, context={"r": ctx.r, "n": ctx.extra["n"]},
                  seconds=time.perf_counter() - t0, notes=notes, float_ranks=floats, point=problem_to_data(problem),
                  command=_command(arch, problem, data=data, params=params, seed=seed, point=point,
                                   perfect_fit=perfect_fit))


def _command(arch: Graph, problem, *, data, params, seed: int, point: str, perfect_fit: bool = False) -> str:
    """The ``exacthess verify graph`` line of a seeded report ("" when the user gave data or parameters)."""
    if data is not None or params is not None:
        return ""
    return verify_command(getattr(arch, "origin", None) or arch.to_spec(), samples=problem.n_samples, seed=seed,
                          loss=None if problem.loss.name == "mse" else problem.loss.name,
                          point=None if point == "gaussian" else point, perfect_fit=perfect_fit)
