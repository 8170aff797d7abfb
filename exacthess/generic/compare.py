r"""``prove_generic``: proven generic ranks of one architecture, compared with the statements.

A registered statement predicts a rank from the architecture and the data ranks. For generic
data with ``n`` samples, ``r = rank(Sigma_xx) = min(n, d)`` and ``s = rank(Omega) = min(r, K)``
(the residual moment of generic targets), which is the :class:`~exacthess.statements.Context`
built here (no evaluation at a point is involved). Then, for each statement that applies:

judged by :func:`exacthess.statements.verdicts.judge` (the one interval rule; the proven bounds
are on the generic rank itself, so a generic equality is refuted by a generic rank below it):

* ``holds`` -- the generic rank is proven and equals the prediction (``==``), or its proven
  upper bound is at most the prediction (``<=``): the statement is a theorem for this
  architecture and sample count;
* ``VIOLATED`` (published or proven statements) or ``refuted`` (conjectures, derived
  statements) -- the proven bounds exclude the prediction (``==``), or the proven lower bound
  exceeds it (``<=``): the generic claim is false here;
* ``undecided`` -- the bounds do not decide it;
* ``n/a`` -- the statement's condition excludes this case; the formula is still evaluated and
  the note says whether the proven rank contradicts it (for example the FCN functional-Hessian
  formula at ``L = 0``, where :math:`H_f = 0` but the formula gives ``q^2``).

Statements that use other ranks (``rank H_o + rank H_f``, sums of block columns, ranks of
products of convolutions) are evaluated with the lower and the upper bounds of those ranks;
every registered prediction is non-decreasing in them, so the two values bracket the true
prediction. For convolution products only the trivial bounds (rank at a point, ``min(rows,
cols)``) are used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..core.modular import rank_mod_p
from ..core.validate import check_int
from ..models.architectures import CNN, Architecture
from ..statements import Context, network_context, statements_for
from ..statements.verdicts import Verdict, judge, prediction
from .rank import GenericRank, check_size, quantities, result_from, validate

__all__ = ["StatementCheck", "GenericProof", "prove_generic", "generic_context"]


@dataclass
class StatementCheck:
    """One statement compared with proven generic ranks.

    ``verdict`` is a :class:`~exacthess.statements.verdicts.Verdict` decided by
    :func:`~exacthess.statements.verdicts.judge`; ``predicted`` is ``(low, high)`` (equal when
    the prediction is exact); ``binding`` is False for conjectures and derived statements. For
    an ``n/a`` row, ``outside`` is what the proven rank says about the formula anyway
    (``"agrees"``, ``"refuted"``, ``"undecided"``; None for non-binding statements, not evaluated)."""

    statement: str
    quantity: str
    kind: str
    relation: str
    predicted: tuple | None
    lower: int
    upper: int
    verdict: Verdict
    note: str = ""
    formula: str = ""
    binding: bool = True
    outside: str | None = None

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["predicted"] = list(self.predicted) if self.predicted is not None else None
        d["verdict"] = str(self.verdict)
        d["kind"], d["relation"] = str(self.kind), str(self.relation)
        return d


@dataclass
class GenericProof:
    """Proven generic ranks of every quantity of one architecture and the statements' status."""

    arch: Architecture
    n_samples: int
    ranks: dict
    checks: list
    context: dict
    seconds: float
    notes: list = field(default_factory=list)

    @property
    def proven(self) -> bool:
        """Every generic rank is proven."""
        return all(r.proven for r in self.ranks.values())

    @property
    def refuted(self) -> list:
        """Binding statements (published or proven) found false for this architecture (``VIOLATED``)."""
        return [c for c in self.checks if c.verdict == Verdict.VIOLATED]

    @property
    def exit_code(self) -> int:
        """0: every rank proven and every applicable statement decided, none binding refuted;
        1: a binding statement is refuted; 3: something is undecided."""
        if self.refuted:
            return 1
        if not self.proven or any(c.verdict == Verdict.UNDECIDED for c in self.checks):
            return 3
        return 0

    def to_dict(self) -> dict:
        return {"architecture": repr(self.arch), "spec": self.arch.to_spec(), "n_samples": self.n_samples,
                "context": self.context, "ranks": {k: v.to_dict() for k, v in self.ranks.items()},
                "statements": [c.to_dict() for c in self.checks], "proven": self.proven,
                "exit_code": self.exit_code, "seconds": self.seconds, "notes": list(self.notes)}


def generic_context(arch: Architecture, n_samples: int, ranks: dict, extra: dict | None = None) -> Context:
    """The statements' :class:`Context` for generic data: ``r = min(n, d)``, ``s = min(r, K)``
    (:func:`~exacthess.statements.registry.network_context` with these values)."""
    r = min(n_samples, arch.input_dim)
    r_aug = min(n_samples, arch.input_dim + 1) if arch.bias else r  # generic data with a column of ones
    return network_context(arch, r=r, s=min(r, arch.output_dim), r_aug=r_aug, ranks=ranks,
                           extra=extra if isinstance(arch, CNN) else None)


def _cnn_extras(prover) -> tuple[dict, dict]:
    """Bounds on the generic ranks of T^(2:L+1) and T^(L:1): rank mod p at the first point and
    ``min(rows, cols)``."""
    e = prover.hessians[0].engine
    p = prover.points[0].p
    n1 = e.arch.layers[0].n_out
    a, b = e.backward[1][:, :n1], e.between(0, len(e.arch.layers))
    lo = {"rank_T_2_L1": rank_mod_p(np.asarray(a, dtype=np.int64), p),
          "rank_T_L_1": rank_mod_p(np.asarray(b, dtype=np.int64), p)}
    hi = {"rank_T_2_L1": min(a.shape), "rank_T_L_1": min(b.shape)}
    return lo, hi


def compare(arch: Architecture, n_samples: int, ranks: dict, extras=({}, {})) -> list[StatementCheck]:
    """Every statement of the family against the proven bounds in ``ranks`` (GenericRank)."""
    lo_ctx = generic_context(arch, n_samples, {k: v.lower for k, v in ranks.items()}, extras[0])
    hi_ctx = generic_context(arch, n_samples, {k: v.upper for k, v in ranks.items()}, extras[1])
    out = []
    for st in statements_for(lo_ctx.family):
        if st.needs or st.point != "any" or st.scope(lo_ctx) is not None:
            continue  # about other points (perfect fits), activations or losses: not a generic rank here
        why = st.applies(lo_ctx)
        for l in (list(st.layers(lo_ctx)) if st.layers else [None]):
            qty = st.quantity.format(l=l) if l is not None else st.quantity
            sid = st.id if l is None else f"{st.id}[{l}]"
            if qty not in ranks:
                continue
            rk = ranks[qty]
            if why is not None and not st.binding:
                out.append(StatementCheck(sid, qty, st.kind, st.relation, None, rk.lower, rk.upper,
                                          judge(st, qty, rk, None, why_not=why).verdict, why, st.formula, st.binding))
                continue
            pred = prediction(st, lo_ctx, hi_ctx, l)
            pred = pred if isinstance(pred, tuple) else (pred, pred)
            verdict = judge(st, qty, rk, pred, generic_rank=True).verdict
            note, outside = "", None
            if why is not None:
                outside = "agrees" if verdict == Verdict.HOLDS else "refuted" if verdict.is_false else "undecided"
                note, verdict = f"{why}; outside its condition the formula {'is ' if outside != 'agrees' else ''}{outside}", Verdict.NA
            out.append(StatementCheck(sid, qty, st.kind, st.relation, pred, rk.lower, rk.upper, verdict, note,
                                      st.formula, st.binding, outside))
    return out


def prove_generic(arch: Architecture, n_samples: int | None = None, *, seed: int = 0,
                  progress=None) -> GenericProof:
    """Proven generic ranks of ``H_o``, ``H_f``, ``H_L`` and every block column ``H_f[:,l]`` of
    ``arch`` with ``n_samples`` generic samples (default ``2 d``), and the status of every
    registered statement of its family, judged by :func:`~exacthess.statements.verdicts.judge`
    (see the module docstring).

    >>> import exacthess as eh
    >>> proof = prove_generic(eh.FCN(4, (), 3), n_samples=8)
    >>> proof.ranks["H_f"].value, [str(c.verdict) for c in proof.checks if c.statement == "singh2021.H_f"]
    (0, ['n/a'])
    """
    from .prover import GenericProver
    n = validate(arch, None, n_samples)
    check_int(seed, "seed", minimum=0)
    check_size(arch, n)
    t0 = time.perf_counter()
    prover = GenericProver(arch, n, seed=seed, progress=progress)
    say = progress or (lambda msg: None)
    ranks: dict[str, GenericRank] = {}
    for q in quantities(arch):
        say(f"{q}")
        ranks[q] = result_from(prover, q, time.perf_counter())
    extras = _cnn_extras(prover) if isinstance(arch, CNN) else ({}, {})
    checks = compare(arch, n, ranks, extras)
    r = min(n, arch.input_dim)
    summary = {"d": arch.input_dim, "K": arch.output_dim, "L": arch.depth, "widths": list(arch.hidden_sizes),
               "n": n, "r": r, "s": min(r, arch.output_dim), "p": arch.n_params, "bias": arch.bias,
               "regime": prover.net.regime}
    notes = []
    if not all(v.proven for v in ranks.values()):
        notes.append("some generic ranks are only bounded: the known null-vector families do not close them")
    return GenericProof(arch, n, ranks, checks, summary, time.perf_counter() - t0, notes)
