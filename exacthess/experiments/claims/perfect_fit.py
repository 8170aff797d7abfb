r"""The discussion thread's perfect-fit claims (``[thread]`` in docs/references.md), exactly.

At a perfect fit (every output gradient exactly 0, built by
:func:`exacthess.verification.points.perfect_fit`: the targets are the network's own predictions),
:math:`H_L = J_f^\top A J_f` with :math:`A = \mathrm{blockdiag}_i \nabla^2 l_i`, so
:math:`\operatorname{rank} H_L = \operatorname{rank} A^{1/2} J_f`:

* MSE (:math:`A = I`), weighted MSE (:math:`A = \mathrm{diag}(w)`, :math:`w > 0`), BCE
  (:math:`A = \mathrm{diag}(s(1 - s))`, :math:`0 < s < 1`): :math:`A` is diagonal and positive, and
  :math:`\operatorname{rank} H_L = \operatorname{rank} J_f` -- the thread's claim, which holds;
* softmax cross-entropy on logits: :math:`A_i = \mathrm{diag}\,p_i - p_ip_i^\top` has kernel
  :math:`\mathrm{span}(\mathbf 1)`, and the all-ones directions reachable through the output layer
  make :math:`\operatorname{rank} H_L < \operatorname{rank} J_f` (the equality fails, as the thread says);
* the same loss with the probabilities as the outputs: the loss
  :math:`l(p) = -\sum_k y_k \log p_k` has the diagonal positive Hessian :math:`\mathrm{diag}(y/p^2)
  = \mathrm{diag}(1/p)` at :math:`p = y`, its gradient :math:`-\mathbf 1` is normal to the simplex
  (the second term :math:`-\sum_k \nabla^2 p_k = -\nabla^2 \sum_k p_k = 0`), so
  :math:`H_L = J_p^\top \mathrm{diag}(1/p) J_p` with the Jacobian of the probabilities
  :math:`J_p = \mathrm{blockdiag}(A_i) J_f`, and :math:`\operatorname{rank} H_L = \operatorname{rank} J_p`.
  exacthess computes :math:`H_L` (the same function of :math:`\theta`: cross-entropy of the
  softmax of the logits), :math:`J_p`, checks the identity
  :math:`H_L = J_p^\top \mathrm{diag}(1/p) J_p` exactly (at the stand-ins, which sum to exactly 1)
  and compares the certified ranks.
"""

from __future__ import annotations

import numpy as np

from ...certify.rank import rank
from ...core.errors import InvalidValueError
from ...core.domains import QQ
from ...core.validate import check_option, check_samples, check_seed
from ...hessian.cost import gap_cost, require_fits, sample_count
from ...hessian.engine import Engine
from ...models.architectures import CNN, FCN, check_architecture
from ...models.commands import verify_command
from ...models.losses import loss as parse_loss
from ...statements import get_statement
from ...statements.verdicts import Verdict, bounded, judge, prediction
from ...verification.point_ranks import point_context, point_flags, probability_jacobian
from ...verification.points import is_perfect_fit, kink_free_problem, output_jacobian
from ...core.progress import Update
from .result import Case, ClaimResult, check_cases, combine, with_progress

__all__ = ["perfect_fit_case", "perfect_fit_mse", "perfect_fit_weighted_mse", "perfect_fit_bce",
           "perfect_fit_cross_entropy_logits", "perfect_fit_cross_entropy_probabilities", "default_architectures",
           "statement_for", "THREAD"]

THREAD = "[thread] (docs/references.md)"


def default_architectures() -> list:
    """FCNs and CNNs, with and without biases; linear, ReLU, leaky ReLU and a cubic activation."""
    return [FCN(3, (3,), 2), FCN(3, (3,), 2, bias=True), FCN(3, (4, 3), 3, activation="relu"),
            FCN(2, (3,), 2, bias=True, activation="leaky_relu(1/4)"), FCN(2, (3,), 2, activation="poly(0, 1, 0, -1/3)"),
            CNN((6,), (2,), 3, 2), CNN((6,), (2,), 3, 2, bias=True, activation="relu"),
            CNN((4, 4), (2,), (2, 2), 2, paddings=1, activation="relu")]


def statement_for(loss: str, target: str = "J_f"):
    """The registered statement a perfect-fit case is judged by: ``thread.perfect_fit.H_L``
    (``rank H_L = rank J_f``; MSE, weighted MSE, BCE), ``thread.perfect_fit.cross_entropy_logits``
    (``rank H_L <= rank J_f - 1``: the equality is not satisfied on the logits) or
    ``thread.perfect_fit.cross_entropy_probabilities`` (``rank H_L = rank J_p``)."""
    if target == "J_p":
        return get_statement("thread.perfect_fit.cross_entropy_probabilities")
    if loss == "cross_entropy":
        return get_statement("thread.perfect_fit.cross_entropy_logits")
    return get_statement("thread.perfect_fit.H_L")


def _loss_arg(name: str) -> str:
    name = name.replace(" ", "")
    return f"'{name}'" if "(" in name else name


def perfect_fit_case(arch, loss="mse", *, params=None, data=None, n_samples: int = 8, seed: int = 0,
                     target: str = "J_f") -> Case:
    r"""Build the perfect fit of ``arch`` at the point (the targets are replaced by the network's own
    predictions), and judge the certified ``rank H_L`` against ``rank J_f`` (``target="J_f"``) or
    the rank of the probabilities' Jacobian ``J_p`` (``target="J_p"``, cross-entropy only) by the
    registered statement of :func:`statement_for` (for cross-entropy on the logits:
    ``rank H_L <= rank J_f - 1``), with :func:`~exacthess.statements.verdicts.judge` at the
    statements' context of the point, as ``exacthess verify --perfect-fit`` does.

    Raises:
        InvalidValueError: ``target="J_p"`` with a loss other than cross-entropy.
        InvalidDataError: cross-entropy with one output (the softmax of one logit is constant).
        NonDifferentiableError: given ReLU-type parameters and data with a pre-activation at a kink.
    """
    check_architecture(arch)
    check_option(target, "target", ("J_f", "J_p"))
    if target == "J_p" and parse_loss(loss).name != "cross_entropy":
        raise InvalidValueError(f"target = 'J_p' with loss = {parse_loss(loss).name!r}; J_p is the Jacobian of the "
                                "softmax probabilities: expected loss = 'cross_entropy' (or target = 'J_f')")
    require_fits(gap_cost(arch, sample_count(arch, check_samples(n_samples), data), loss=loss))
    problem, used = kink_free_problem(arch, n_samples=n_samples, seed=check_seed(seed), loss=loss, params=params,
                                      data=data, fit=True)
    engine = Engine(problem, QQ)
    mats = {"H_o": engine.full("H_o"), "H_f": engine.full("H_f")}
    mats["H_L"] = QQ.add(mats["H_o"], mats["H_f"])
    info = {k: rank(M, seed=seed) for k, M in mats.items()}  # explicit matrices: mod-p and Hadamard bounds
    J = output_jacobian(engine)
    rJ = rank(J, seed=seed)
    Hf_zero = all(v == 0 for v in mats["H_f"].flat)
    nums = {"perfect fit (grad_f l = 0 exactly)": is_perfect_fit(problem), "H_f = 0 exactly": Hf_zero,
            "rank H_L": info["H_L"].value, "rank H_o": info["H_o"].value, "rank H_f": info["H_f"].value,
            "rank J_f": rJ.value, "J_f shape": list(J.shape)}
    how = {"H_L": info["H_L"].how, "J_f": rJ.how}
    other = rJ
    if problem.loss.name == "cross_entropy":
        Jp = probability_jacobian(problem, engine)
        rJp = rank(Jp, seed=seed)
        nums["rank J_p (probabilities)"] = rJp.value
        nums["dim(image J_f in ker A) = rank J_f - rank H_L"] = rJ.value - info["H_L"].value
        how["J_p"] = rJp.how
        if target == "J_p":
            other = rJp
            nums["H_L = J_p^T diag(1/p) J_p exactly"] = _probability_identity(problem, engine, Jp)
    stmt = statement_for(problem.loss.name, target)
    ctx, _, uncertain = point_context(arch, engine, {k: v.value for k, v in info.items()}, seed)
    ctx.extra.update(point_flags(problem, engine))
    known = {"J_f": rJ} if target == "J_f" else {"J_f": rJ, "J_p": other}
    j = judge(stmt, "H_L", info["H_L"], prediction(stmt, *bounded(ctx, known)),
              why_not=stmt.scope(ctx) or stmt.applies(ctx), uncertain_inputs=", ".join(uncertain) or None)
    verdict = j.verdict
    if target == "J_p" and not nums["H_L = J_p^T diag(1/p) J_p exactly"] and verdict == Verdict.HOLDS:
        verdict = Verdict.false_for(stmt)  # the identity behind rank H_L = rank J_p fails
    cmd = verify_command(arch.to_spec(), samples=problem.n_samples, seed=used,
                         loss=None if problem.loss.name == "mse" else _loss_arg(problem.loss.name), perfect_fit=True)
    return Case(repr(arch), arch.to_spec(), problem.loss.name, problem.n_samples, used, nums, how, verdict,
                info["H_L"].certified and other.certified, command=cmd if params is None and data is None else "",
                note=j.note)


def _probability_identity(problem, engine, Jp) -> bool:
    r"""Whether :math:`H_L = J_p^\top \mathrm{diag}(1/p) J_p` exactly (``p``: the stand-ins, stacked)."""
    p = np.concatenate([problem.loss.gradient(list(problem.forward.outputs[:, i]), [0] * engine.K)
                        for i in range(problem.n_samples)])
    scaled = np.array([[v / p[r] for v in row] for r, row in enumerate(Jp)], dtype=object)
    rhs = QQ.matmul(np.ascontiguousarray(Jp.T), scaled)
    H_L = engine.full("H_L")
    return bool((H_L == rhs).all())


def _run(cid, statement, loss, archs, *, n_samples, seed, target="J_f", progress=None, notes=()) -> ClaimResult:
    archs = check_cases(archs, default_architectures, n_samples=n_samples, seed=seed, progress=progress)
    cases = []
    for i, arch in enumerate(archs):
        if progress:
            progress(Update(f"{cid}: case {i + 1}/{len(archs)}", stage=cid, done=i + 1, total=len(archs)))
        the_loss = loss(arch) if callable(loss) else loss
        cases.append(perfect_fit_case(arch, the_loss, n_samples=n_samples, seed=seed, target=target))
    # the statement must hold on every case; one proven failure makes it false
    verdict, certified = combine(cases)
    key = "rank J_p (probabilities)" if target == "J_p" else "rank J_f"
    n_hold = sum(c.numbers["rank H_L"] == c.numbers[key] for c in cases)
    pairs = ", ".join(f"{c.numbers['rank H_L']}/{c.numbers[key]}" for c in cases)
    summary = (f"rank H_L = {key.split(' (')[0]} on {n_hold} of {len(cases)} cases (rank H_L / {key.split(' (')[0]}: "
               f"{pairs})")
    stmt = statement_for(cases[0].loss, target)  # one loss per claim
    return ClaimResult(cid, f"{statement} {THREAD}", verdict, Verdict.HOLDS, certified, cases,
                       command=f"exacthess reproduce discussion --claim {cid}", summary=summary, notes=list(notes),
                       statement_id=stmt.id)


@with_progress
def perfect_fit_mse(archs=None, *, n_samples: int = 8, seed: int = 0, progress="auto") -> ClaimResult:
    """``perfect_fit.mse``: at a perfect fit under MSE, ``rank H_L = rank J_f``."""
    return _run("perfect_fit.mse", "At a perfect fit under the MSE loss, rank(Hess L) = rank(J_f)",
                "mse", archs, n_samples=n_samples, seed=seed, progress=progress,
                notes=["targets := the network's outputs, so grad_f l = f - y = 0 exactly and H_L = J_f^T J_f"])


def _weights(arch) -> str:
    return "weighted_mse(" + ", ".join(f"1/{k + 1}" for k in range(arch.output_dim)) + ")"


@with_progress
def perfect_fit_weighted_mse(archs=None, *, n_samples: int = 8, seed: int = 0, progress="auto") -> ClaimResult:
    """``perfect_fit.weighted_mse``: the output Hessian ``diag(w)`` is diagonal positive, not a multiple of I."""
    return _run("perfect_fit.weighted_mse",
                "At a perfect fit, rank(Hess L) = rank(J_f) whenever Hess l is diagonal and positive, not only a "
                "multiple of the identity: weighted MSE with weights 1, 1/2, ..., 1/K",
                _weights, archs, n_samples=n_samples, seed=seed, progress=progress,
                notes=["H_L = J_f^T diag(w) J_f with w > 0"])


@with_progress
def perfect_fit_bce(archs=None, *, n_samples: int = 8, seed: int = 0, progress="auto") -> ClaimResult:
    """``perfect_fit.bce``: binary cross-entropy at a perfect fit of the sigmoid stand-ins."""
    return _run("perfect_fit.bce",
                "At a perfect fit under binary cross-entropy, rank(Hess L) = rank(J_f)", "bce", archs,
                n_samples=n_samples, seed=seed, progress=progress,
                notes=["perfect fit for BCE: targets := s, the rational sigmoid stand-ins of the outputs (within "
                       "2^-64 of sigma(f) relatively); grad = s - y = 0 exactly and H_L = J_f^T diag(s(1-s)) J_f. "
                       "At the true perfect fit y = sigma(f) (irrational) H_L = J_f^T diag(sigma(1-sigma)) J_f has "
                       "the same rank: the diagonal is positive in both"])


@with_progress
def perfect_fit_cross_entropy_logits(archs=None, *, n_samples: int = 8, seed: int = 0, progress="auto") -> ClaimResult:
    """``perfect_fit.cross_entropy_logits``: the equality fails for softmax cross-entropy on logits."""
    return _run("perfect_fit.cross_entropy_logits",
                "At a perfect fit under softmax cross-entropy on the logits, rank(Hess L) = rank(J_f) is NOT "
                "satisfied: rank(Hess L) <= rank(J_f) - 1", "cross_entropy", archs, n_samples=n_samples, seed=seed,
                progress=progress,
                notes=["targets := p, the softmax stand-ins (positive, summing to exactly 1): grad = p - y = 0 exactly",
                       "H_L = J_f^T A J_f with A_i = diag(p_i) - p_i p_i^T, whose kernel is span(1): rank H_L = "
                       "rank J_f - dim(image J_f in ker A); moving the output layer by 1 v^T gives such a vector"])


@with_progress
def perfect_fit_cross_entropy_probabilities(archs=None, *, n_samples: int = 8, seed: int = 0,
                                            progress="auto") -> ClaimResult:
    """``perfect_fit.cross_entropy_probabilities``: with the probabilities as the outputs the equality holds."""
    return _run("perfect_fit.cross_entropy_probabilities",
                "At a perfect fit under cross-entropy with the probabilities (after the softmax) as the outputs, "
                "rank(Hess L) = rank(J_p), J_p the Jacobian of the probabilities", "cross_entropy", archs,
                n_samples=n_samples, seed=seed, target="J_p", progress=progress,
                notes=["l(p) = -sum y log p has Hessian diag(y/p^2) = diag(1/p) at p = y (diagonal, positive); its "
                       "gradient -1 is normal to the simplex, so the second term vanishes",
                       "checked exactly: H_L = J_p^T diag(1/p) J_p with J_p = blockdiag(diag p_i - p_i p_i^T) J_f"])
