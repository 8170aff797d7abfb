"""``exacthess.verify``: exact ranks of a network's Hessians against the registered statements."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..models.architectures import CNN, Architecture, check_architecture
from ..models.graph import Graph
from ..models.commands import verify_command
from ..hessian.problem import Problem, make_problem
from ..core.errors import InvalidOptionError, InvalidTypeError, describe
from ..core.progress import Tracker, Update, check_progress, open_progress
from ..core.validate import check_bool, check_option, check_real, check_samples, check_seed
from ..certify.rank import CERTIFY_OPTIONS
from ..hessian.cost import Cost, require_fits, sample_count, sample_free, verify_cost, verify_plan
from ..hessian.ranks import certified_ranks, check_consistency
from .floats import check_float_check, float_columns, float_cost, float_ranks, skipped_note
from .report import Report, Row
from ..statements import Context, Statement, get_statement, statements_for
from ..statements.verdicts import GenericBound, bounded, judge, prediction
from .sampler import GenericSampler
from ..hessian.rounding import grid_step, round_inputs, rounding_findings
from ..hessian.saved import problem_to_data
from .point_ranks import point_context, point_quantities
from .points import perfect_fit as fit_targets

__all__ = ["verify", "verify_estimate", "float_rank", "ESTIMATE_SHOWN"]

#: the estimate is passed to ``progress`` when the computation may take at least this many seconds
ESTIMATE_SHOWN = 5.0


def float_rank(M: np.ndarray) -> int:
    """numpy's float64 ``matrix_rank`` with its default tolerance (the common practice)."""
    F = np.array([float(v) for v in M.flat], dtype=np.float64).reshape(M.shape)
    return int(np.linalg.matrix_rank(F)) if F.size else 0


def _family(arch: Architecture) -> str:
    return "cnn" if isinstance(arch, CNN) else "fcn"


def _chosen(statements, family: str) -> list[Statement]:
    """The statements to check: all of the family's, or the requested ids (validated)."""
    every = statements_for(family)
    if statements is None:
        return every
    if isinstance(statements, str) or not hasattr(statements, "__iter__"):
        raise InvalidTypeError(f"statements = {describe(statements)} is not a list of statement ids; "
                               "expected e.g. ['singh2021.H_o'] or None (all)")
    ids = {s.id for s in every}
    out = []
    for sid in statements:
        st = get_statement(sid)  # unknown ids raise UnknownStatementError listing the known ones
        if st.id not in ids:
            raise InvalidOptionError(f"statement {st.id!r} is about {'/'.join(st.family)} networks, not {family}; "
                                     f"expected one of: {', '.join(sorted(ids))}")
        if st not in out:
            out.append(st)
    return out


def _prediction(st: Statement, ctx: Context, l, info: dict):
    """The prediction, or a proven interval when it uses ranks that are not certified.

    Predictions that use ranks (sums of ranks) are increasing in them: evaluating at the lower
    and at the upper bounds brackets the true prediction."""
    return prediction(st, *bounded(ctx, info), l)


def _generic_upper_bounds(family: str, ctx: Context) -> dict:
    """Per quantity, the smallest registered bound that also bounds the generic rank."""
    out: dict = {}
    for st in statements_for(family):
        if not st.generic_bound or st.layers is not None or st.applies(ctx) is not None:
            continue
        value = st.predict(ctx)
        if st.quantity not in out or value < out[st.quantity].value:
            out[st.quantity] = GenericBound(value, st.id)
    return out


def _evidence(sampler: GenericSampler, qty: str, omega_rank, say):
    def run(target: int):
        say(f"{qty} at random points modulo primes (generic rank)")
        return sampler.evidence(qty, target, omega_rank)
    return run


def verify(arch: Architecture, *, n_samples: int | None = None, seed: int = 0, data=None, params=None,
           loss="mse", certify: str = "auto", budget_seconds: float = 60.0, float_check: bool = True,
           statements=None, progress="auto", point: str = "gaussian", perfect_fit: bool = False,
           round_to=None) -> Report:
    """Compute the exact Hessian ranks of ``arch`` and check every registered statement.

    Args:
        arch: :class:`~exacthess.FCN` or :class:`~exacthess.CNN`.
        n_samples: number of seeded samples when ``data`` is None (default ``2 d``).
        seed: seed of generated parameters, data and primes.
        data: ``(X, Y)``, arrays of shapes ``(n, input_dim)`` and ``(n, output_dim)``.
        params: parameters (list of arrays of shapes ``arch.param_shapes()``, or flat).
        loss: ``"mse"`` (default), ``"weighted_mse(w1, ..., wK)"``, ``"cross_entropy"``, ``"bce"`` or a
            :class:`~exacthess.models.losses.Loss`. Statements speak about the activations and losses
            they were published for (the others are ``n/a`` with the reason); softmax and sigmoid
            are evaluated at exact rational stand-ins (:mod:`exacthess.models.losses`) and the rows say so.
        certify: ``"auto"``, ``"always"`` or ``"never"`` (see :func:`exacthess.rank`; ``"never"``: no
            upper-bound certificate at all, a rank is certified only when it is full). Every
            certificate is checked (:mod:`exacthess.certify.checker`) before a rank is certified;
            ``Report.to_dict()`` saves them with the exact point for :func:`exacthess.check`.
        budget_seconds: certification budget per rank in ``"auto"`` mode.
        float_check: also compute each matrix in float32 and in float64 from the same point
            (the whole pipeline in that precision, :mod:`exacthess.verification.floats`), take
            numpy's ``matrix_rank`` with its default tolerance the way a careful user does
            (``hermitian=True``, symmetric eigenvalues, for ``H_o``, ``H_f``, ``H_L``; an SVD of the
            slice for a block column ``H_f[:,l]``) and flag every disagreement (``Row.float_ranks``).
            True (default): up to :data:`~exacthess.verification.floats.FLOAT_COLUMNS_LIMIT`
            (1000) parameters, skipped above with a note (there the two precisions cost more than
            the user's own torch float64 pipeline); ``"always"``: at any size; False: never.
        statements: restrict to these statement ids (default: all of the family). Unknown
            ids raise :class:`~exacthess.core.errors.UnknownStatementError` listing the known ones.
        progress: ``"auto"`` (default): a live display of the stage (which matrix, which
            certificate, primes done of needed), its units and the estimated time left, revised
            as work proceeds, in a terminal or a notebook, nothing otherwise; True: always (plain
            lines, one per stage, when not a terminal); False or None: nothing; a callable:
            receives the messages (strings; :class:`~exacthess.core.progress.Update` carries the
            stage, units and estimate) (:mod:`exacthess.core.progress`).
        point: seeded point when ``params`` or ``data`` are not given: ``"gaussian"``
            (default; weights about ``N(0, 1/fan_in)``, biases about ``N(0, 0.01/fan_in)``,
            data and targets about ``N(0, 1)``, dyadic with about 8 significant bits, exactly
            representable in float32) or ``"integers"`` (uniform in ``[-999, 999]``); see
            :mod:`exacthess.hessian.problem`.
        perfect_fit: replace the targets by the network's own predictions (softmax/sigmoid
            stand-ins for cross-entropy/BCE), so every output gradient is exactly 0
            (:func:`exacthess.verification.points.perfect_fit`); statements about perfect fits
            apply only there.
        round_to: the grid the intended values of float ``data`` and ``params`` lie on (``"1/1000"``,
            ``2**-20``): each float is read as the exact nearest multiple, and the report says so
            (:mod:`exacthess.hessian.rounding`); None (default): floats are read exactly, and a float
            array whose exact rank exceeds its numerical rank is flagged in ``Report.warnings``.

    Returns:
        a :class:`~exacthess.verification.report.Report`; a false statement is a verdict in it
        (``VIOLATED`` or ``refuted``), and one the proven bounds do not decide is
        ``undecided`` (rules: :mod:`exacthess.statements.verdicts`).
    """
    graph = isinstance(arch, Graph)
    if not graph:
        check_architecture(arch)
    seed, n_samples = check_seed(seed), check_samples(n_samples)
    check_option(certify, "certify", CERTIFY_OPTIONS)
    budget_seconds = check_real(budget_seconds, "budget_seconds", 0, allow_inf=True)
    float_check, perfect_fit = check_float_check(float_check), check_bool(perfect_fit, "perfect_fit")
    check_progress(progress)
    if graph:
        from .graph import verify_graph
        return verify_graph(arch, n_samples=n_samples, seed=seed, data=data, params=params, loss=loss,
                            certify=certify, budget_seconds=budget_seconds, float_check=float_check,
                            statements=None if statements is None else _chosen(statements, "graph"),
                            progress=progress, point=point, round_to=round_to, perfect_fit=perfect_fit)
    chosen = _chosen(statements, _family(arch))
    n = sample_count(arch, n_samples, data)
    cost = require_fits(verify_estimate(arch, n, loss=loss, float_check=float_check))
    channel = open_progress(progress, f"verify {arch!r} ({arch.n_params} parameters)")
    with channel:
        say = Tracker(channel, _plan(arch, n, loss=loss, float_check=float_check)) if channel else None
        return _verify(arch, cost, say, n_samples=n_samples, seed=seed, data=data, params=params, loss=loss,
                       certify=certify, budget_seconds=budget_seconds, float_check=float_check, chosen=chosen,
                       point=point, perfect_fit=perfect_fit, round_to=round_to)


def verify_estimate(arch: Architecture, n_samples: int, *, loss="mse", float_check=True) -> Cost:
    """Peak memory and time of :func:`verify` (:func:`~exacthess.hessian.cost.verify_cost` of the
    certified ranks, plus :func:`~exacthess.verification.floats.float_cost` when the float columns are
    computed, :func:`~exacthess.verification.floats.float_columns`)."""
    if isinstance(arch, Graph):
        from ..core.domains import QQ
        from ..hessian.cost import graph_cost
        return graph_cost(arch, n_samples, QQ)
    cost = verify_cost(arch, n_samples, loss=loss)
    if float_columns(arch, float_check):
        cost = cost + float_cost(arch, n_samples, sample_free=sample_free(arch, loss))
    return cost


def _plan(arch: Architecture, n_samples: int, *, loss, float_check) -> list:
    """:func:`~exacthess.hessian.cost.verify_plan` with the float columns' own estimate."""
    floats = float_cost(arch, n_samples, sample_free=sample_free(arch, loss)).seconds \
        if float_columns(arch, float_check) else 0.0
    return [(part, floats if part == "floats" else seconds)
            for part, seconds in verify_plan(arch, n_samples, loss=loss)]


@dataclass(frozen=True, kw_only=True)
class _Ranked:
    """What the statements are judged on: the exact point, its ranks and their context."""

    problem: Problem
    ranks: dict
    info: dict
    ctx: Context
    summary: dict
    uncertain: list
    franks: dict


def _verify(arch, cost, progress, *, n_samples, seed, data, params, loss, certify, budget_seconds, float_check,
            chosen, point, perfect_fit, round_to) -> Report:
    """:func:`verify` after its arguments are checked; ``progress`` is a :class:`Tracker` or None.

    The stages: the exact point, its ranks (the Hessians', then those the statements need), their
    context and float comparison, the statements' rows, the notes, the reproducing command."""
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    given_data, given_params = data, params
    data, params = round_inputs(data, params, round_to)
    problem = _exact_point(arch, cost, say, n_samples=n_samples, seed=seed, data=data, params=params, loss=loss,
                           point=point, perfect_fit=perfect_fit)
    ranked = _rank_point(problem, chosen, progress, say, seed=seed, certify=certify, budget_seconds=budget_seconds,
                         float_check=float_check)
    ranked.summary["point"] = ("perfect fit" if perfect_fit else
                               ("given" if data is not None and params is not None else point))
    say(Update("the statements' verdicts", part="verdicts"))
    rows = _rows(chosen, ranked, say, seed)
    warnings = _rounding(given_data, given_params, seed) if round_to is None else []
    notes = _notes(rows, problem, float_check=float_check, round_to=round_to,
                   given=given_data is not None or given_params is not None)
    command = "" if data is not None or params is not None else _command(
        arch, problem, seed=seed, point=point, perfect_fit=perfect_fit, certify=certify,
        budget_seconds=budget_seconds, float_check=float_check)
    return Report(arch=arch, ranks=ranked.ranks, rank_info=ranked.info, rows=rows, context=ranked.summary,
                  seconds=time.perf_counter() - t0, command=command, notes=notes, warnings=warnings,
                  point=problem_to_data(problem))


def _exact_point(arch, cost, say, *, n_samples, seed, data, params, loss, point, perfect_fit) -> Problem:
    """Stage 1: the exact parameters and data (and targets fitted exactly for ``perfect_fit``)."""
    if cost.seconds >= ESTIMATE_SHOWN:
        say(Update(f"estimated: {cost.summary()}", part="point"))
    say(Update(f"the exact point: parameters and {cost.n_samples} samples"
               + ("" if sample_free(arch, loss) else ", the exact forward pass"), part="point"))
    problem = make_problem(arch, n_samples=n_samples, seed=seed, data=data, params=params, loss=loss,
                           point=point)
    return fit_targets(problem) if perfect_fit else problem


def _rank_point(problem: Problem, chosen, progress, say, *, seed, certify, budget_seconds, float_check) -> _Ranked:
    """Stage 2: the certified ranks of the Hessians and of what the statements need, their context,
    and the float ranks of the same matrices."""
    arch = problem.arch
    ranks, info, engine = certified_ranks(problem, seed=seed, certify=certify, budget_seconds=budget_seconds,
                                          progress=progress)
    say(Update("the ranks the statements need (J_f, C_act, ...)", part="statements"))
    point_info, point_extra = point_quantities(problem, engine, chosen, seed=seed, certify=certify,
                                               budget_seconds=budget_seconds)  # Statement.needs: J_f, ...
    info.update(point_info)
    ranks.update({k: v.value for k, v in point_info.items()})
    check_consistency(info)
    ctx, summary, uncertain = point_context(arch, engine, ranks, seed)
    ctx.extra.update(point_extra)
    franks = float_ranks(problem, list(ranks), progress=progress) if float_columns(arch, float_check) else {}
    return _Ranked(problem=problem, ranks=ranks, info=info, ctx=ctx, summary=summary, uncertain=uncertain,
                   franks=franks)


def _rows(chosen, ranked: _Ranked, say, seed: int) -> list[Row]:
    """Stage 3: one row per statement (per layer for the statements about each layer)."""
    sampler = GenericSampler(ranked.problem, seed=seed)
    upper = _generic_upper_bounds(_family(ranked.problem.arch), ranked.ctx)
    rows = []
    for st in chosen:
        why = st.scope(ranked.ctx) or st.applies(ranked.ctx)
        for l in (list(st.layers(ranked.ctx)) if st.layers else [None]):
            rows.append(_row(st, l, why, ranked, sampler, upper, say))
    return rows


def _row(st: Statement, l, why, ranked: _Ranked, sampler: GenericSampler, upper: dict, say) -> Row:
    """The row of statement ``st`` (at layer ``l``, or None): its prediction judged against the exact rank
    (``why``: the reason it does not apply, or None) and the float ranks of the same matrix."""
    problem, ctx = ranked.problem, ranked.ctx
    qty = st.quantity.format(l=l) if l is not None else st.quantity
    exact, ri = ranked.ranks.get(qty), ranked.info.get(qty)
    pred = None if why is not None else _prediction(st, ctx, l, ranked.info)
    omega_rank = ctx.s if st.keep_residual_rank else None
    evidence = _evidence(sampler, qty, omega_rank, say) if st.generic and problem.sample_free else None
    j = judge(st, qty, ri, pred, why_not=why, evidence=evidence, generic_upper=upper.get(qty),
              uncertain_inputs=", ".join(ranked.uncertain) or None)
    how = (ri.how if ri else "") + (_standin_note(qty, problem.arch) if ri and not problem.loss.exact else "")
    floats = ranked.franks.get(qty)
    return Row(statement=st.id if l is None else f"{st.id}[{l}]", quantity=qty, kind=st.kind, exact=exact,
               predicted=pred[0] if isinstance(pred, tuple) else pred, relation=st.relation, verdict=j.verdict,
               how=how, float_rank=None if floats is None else floats["float64"],
               float_disagrees=floats is not None and exact is not None and any(v != exact for v in floats.values()),
               note=j.note, formula=st.formula, citation=st.citation, generic=st.generic,
               failure_bound=j.failure_bound, activation=problem.arch.activation.name, loss=problem.loss.name,
               float_ranks=floats)


def _notes(rows: list, problem: Problem, *, float_check: bool | str, round_to, given: bool) -> list:
    """Stage 4: the remarks under the table (rounding, stand-ins, biases, the float comparison)."""
    arch = problem.arch
    notes = []
    if round_to is not None and given:
        notes.append(f"floats in the given data and parameters read as the nearest multiples of {grid_step(round_to)} "
                     "(round_to)")
    if not problem.loss.exact:
        notes.append(f"{problem.loss.name}: softmax/sigmoid values are exact rational stand-ins (within 2^-64 "
                     "relatively); rank H_o is exact at the true values (its kernel does not depend on them), "
                     "H_f and H_L are exact at the stand-ins")
    if arch.bias:
        notes.append("the reference documents give no published rank formula with biases: the exact ranks "
                      "are reported, and only conjectures (empirical fits, not from a paper) are checked")
    if float_check and not float_columns(arch, float_check):
        notes.append(skipped_note())
    for dt in ("float32", "float64"):
        broke = sorted({r.quantity for r in rows if r.float_ranks and r.float_ranks[dt] is None})
        if broke:
            notes.append(f"{dt}: the Hessian computed in {dt} overflows or has NaN entries (no rank) for: "
                         + ", ".join(broke))
        disagree = sorted({r.quantity for r in rows if r.float_ranks and r.float_ranks[dt] not in (None, r.exact)})
        if disagree:
            notes.append(f"{dt} matrix_rank (the Hessian computed in {dt}) disagrees with the exact rank for: "
                         + ", ".join(disagree))
    return notes


def _command(arch, problem: Problem, *, seed, point, perfect_fit, certify, budget_seconds, float_check) -> str:
    """Stage 5: the ``exacthess verify`` line that reproduces a seeded report."""
    return verify_command(arch.to_spec(), samples=problem.n_samples, seed=seed,
                          loss=None if problem.loss.name == "mse" else problem.loss.name,
                          point=None if point == "gaussian" else point, perfect_fit=perfect_fit,
                          certify=None if certify == "auto" else certify,
                          budget=None if budget_seconds == 60.0 else budget_seconds,
                          no_float=not float_check, float_always=float_check == "always")


def _rounding(data, params, seed: int) -> list:
    """Warnings for float arrays the user passed whose exact rank exceeds their numerical rank."""
    arrays = {"data X": data[0], "data Y": data[1]} if isinstance(data, (tuple, list)) and len(data) == 2 else {}
    if isinstance(params, (list, tuple)):
        arrays.update({f"params[{i}]": p for i, p in enumerate(params)})
    return rounding_findings(arrays, seed=seed)


def _standin_note(quantity: str, arch) -> str:
    """What a rank of a softmax / sigmoid loss is exact for (the loss Hessian's values are stand-ins)."""
    if quantity == "H_o":
        return " (exact at the true softmax / sigmoid point: the loss Hessian's kernel does not depend on p)"
    if quantity in ("C_act", "C_within") and arch.activation.piecewise:
        return ""  # zero by structure, whatever the loss values
    return " (at the rational stand-ins of the loss)"
