r"""Quantities of one point that some statements read besides the Hessian ranks (``Statement.needs``).

Computed only when a chosen statement asks for them, each as a certified
:class:`~exacthess.certify.rank.RankResult`:

* ``"J_f"`` -- :math:`\operatorname{rank} J_f`, the stacked Jacobian of the outputs
  (:math:`nK \times p`, rows (sample, output));
* ``"J_p"`` -- for softmax cross-entropy, the rank of the Jacobian of the *probabilities*
  :math:`J_p = \mathrm{blockdiag}_i(\mathrm{diag}\,p_i - p_i p_i^\top)\, J_f` (at the rational
  stand-ins :math:`p_i`; its rank is the same at the true softmax values, since the kernel of
  :math:`\mathrm{diag}\,p - pp^\top` is :math:`\mathrm{span}(\mathbf 1)` for every :math:`p > 0`);
* ``"C_act"`` -- the rank of the part of :math:`H_f` coming from the activations' second derivatives;
* ``"C_within"`` -- the rank of the within-layer blocks of :math:`H_f`
  (:math:`\mathrm{blockdiag}_l H_f[l, l]`: the sum of the blocks' ranks).

and the statements' context at the point (:func:`point_context`), with the flags ``perfect_fit`` (every output gradient is exactly 0) and
``last_hidden_nonzero`` (some sample's last hidden representation, with the constant 1 of a
bias, is nonzero).
"""

from __future__ import annotations

import numpy as np
from flint import fmpq

from ..certify.certificate import RankCertificate, Theorem, Trivial
from ..certify.checker import check
from ..core.errors import InternalError
from ..hessian.source import ProblemSource
from ..certify.rank import RankResult, named, rank
from ..core.domains import QQ
from ..models.architectures import CNN
from ..statements.registry import Context, network_context
from .points import is_perfect_fit, output_jacobian

__all__ = ["point_context", "point_flags", "point_quantities", "probability_jacobian", "sum_of_ranks"]


def probability_jacobian(problem, engine) -> np.ndarray:
    r""":math:`J_p = \mathrm{blockdiag}_i(A_i) J_f` with :math:`A_i = \mathrm{diag}\,p_i - p_ip_i^\top`,
    the output-space Hessians of softmax cross-entropy (exact at the stand-ins)."""
    J = output_jacobian(engine)
    A = problem.forward.hessians  # (n, K, K)
    n, K = A.shape[0], A.shape[1]
    Jr = J.reshape(n, K, -1)
    return np.ascontiguousarray(QQ.bmatmul(A, Jr).reshape(n * K, -1))


def sum_of_ranks(results, shape, name: str = "C_within") -> RankResult:
    """The rank of a block-diagonal matrix from its blocks' ranks (bounds add up; the certificate is
    the ``block_diagonal`` theorem on the blocks' certificates)."""
    lo = sum(r.lower for r in results)
    hi = sum(r.upper for r in results)
    ok = all(r.certified for r in results)
    node = Theorem(name="block_diagonal", parts=tuple(r.certificate for r in results), how="sum of the blocks' ranks")
    cert = RankCertificate(matrix=name, value=sum(r.value for r in results), equal=node)
    return RankResult(value=sum(r.value for r in results), lower=lo, upper=hi, certified=ok,
                      method="sum of block ranks" if ok else "probabilistic", shape=shape,
                      failure_bound=sum(r.failure_bound for r in results), certificate=cert)


def point_context(arch, engine, ranks: dict, seed: int = 0) -> tuple[Context, dict, list]:
    """The statements' context at the point of ``engine``, its printable summary, and which of
    its ranks are not certified (a prediction computed from them decides nothing).

    ``r = rank Sigma_xx``, ``s = rank Omega`` (and, with biases, the rank of the data with a
    column of ones; for CNNs the ranks of ``T^(2:L+1)`` and ``T^(L:1)``) are ranked exactly at
    the point; everything else comes from the architecture
    (:func:`~exacthess.statements.registry.network_context`, the one constructor)."""
    prob = engine.problem
    d = arch.input_dim
    uncertain = []

    def crank(M, name):
        res = rank(M, seed=seed)
        if not res.certified:
            uncertain.append(name)
        return res.value
    def gram_rank(cols, name):
        """rank of the Gram matrix Sigma~[:cols, :cols] = X~^T X~, which over Q equals rank X~ (n x cols):
        the smaller of the two is ranked (784 x 784 against 20 x 784 for 20 images)."""
        X = prob.X
        if X is None or X.shape[0] >= cols:
            return crank(prob.sigma[:cols, :cols], name)
        if cols > d:
            X = np.concatenate([X, np.array([[fmpq(1)]] * X.shape[0], dtype=object)], axis=1)
        return crank(np.ascontiguousarray(X[:, :cols]), name)
    r = gram_rank(d, "r = rank(Sigma_xx)")
    s = crank(engine.omega[:, :d], "s = rank(Omega)")
    r_aug = gram_rank(d + 1, "rank(Sigma~)") if arch.bias else r
    extra = {}
    if isinstance(arch, CNN):
        n1 = arch.layers[0].n_out
        extra["rank_T_2_L1"] = crank(engine.backward[1][:, :n1], "rank T(2:L+1)")
        extra["rank_T_L_1"] = crank(engine.between(0, len(arch.layers)), "rank T(L:1)")
    ctx = network_context(arch, r=r, s=s, r_aug=r_aug, ranks=ranks, loss=prob.loss.name, extra=extra)
    summary = {"d": d, "K": ctx.K, "L": ctx.L, "widths": list(ctx.widths), "n": prob.n_samples,
               "r": r, "s": s, "p": ctx.p, "bias": ctx.bias,
               "q": min((r, ctx.K) + tuple(ctx.widths)),
               "activation": arch.activation.name, "loss": prob.loss.name}
    return ctx, summary, uncertain


def _is_perfect_fit(problem, engine) -> bool:
    """Every output gradient exactly 0; for a linear network under MSE from the end-to-end map
    (no per-sample forward pass)."""
    if problem.sample_free and problem.loss.name == "mse":
        out = QQ.matmul(engine.end_to_end, np.ascontiguousarray(problem.X_aug.T))
        return bool((out == np.ascontiguousarray(problem.Y.T)).all())
    return is_perfect_fit(problem)


def point_flags(problem, engine) -> dict:
    """The context flags of the point: ``perfect_fit`` (every output gradient exactly 0) and, for
    cross-entropy at a perfect fit, ``last_hidden_nonzero``."""
    extra = {"perfect_fit": _is_perfect_fit(problem, engine)}
    if problem.loss.name == "cross_entropy" and extra["perfect_fit"]:
        L = len(problem.arch.layers) - 1
        extra["last_hidden_nonzero"] = any(v != 0 for v in problem.forward.post[L].flat)
    return extra


def point_quantities(problem, engine, statements, *, seed: int = 0, certify: str = "auto",
                     budget_seconds: float = 60.0) -> tuple[dict, dict]:
    """``(rank_info, context_extra)`` for the ``needs`` of the ``statements`` that speak about this
    network's activation and loss (:meth:`~exacthess.statements.registry.Statement.scope_of`; empty
    when none). Statements about perfect fits need nothing
    unless the point is one. ``C_act`` and ``C_within`` vanish by structure when the activation
    has no second derivative (linear, ReLU-type): a layer's output is linear in its own weights."""
    relevant = [st for st in statements if st.scope_of(problem.arch.activation.kind, problem.loss.name) is None]
    if not any(st.needs or st.point != "any" for st in relevant):
        return {}, {}
    extra = point_flags(problem, engine)
    needs = set()
    for st in relevant:
        if st.point == "perfect_fit" and not extra["perfect_fit"]:
            continue  # n/a here: nothing to compute
        needs.update(st.needs)
    info = {}
    p = problem.arch.n_params

    def crank(M, name, rows=None, cols=None):
        return named(rank(M, seed=seed, certify=certify, budget_seconds=budget_seconds), name, rows, cols)
    if "J_f" in needs:
        info["J_f"] = crank(output_jacobian(engine), "J_f")
    if "J_p" in needs and problem.loss.name == "cross_entropy":
        info["J_p"] = crank(probability_jacobian(problem, engine), "J_p")
    counts = problem.arch.layer_param_counts
    curved = problem.arch.activation.has_curvature

    source = ProblemSource(problem)

    def structural(name):
        if certify == "never":  # no upper-bound certificate: the trivial bounds
            return RankResult(value=0, lower=0, upper=p, certified=p == 0, method="probabilistic", shape=(p, p),
                              failure_bound=1.0, certificate=RankCertificate(matrix=name, value=0, upper=Trivial()))
        node = Theorem(name="no_curvature", how="sigma'' = 0 and each layer linear in its own weights")
        cert = RankCertificate(matrix=name, value=0, upper=node)
        res = check(cert, source)
        if not res.certified:
            raise InternalError(f"{name}: the zero-by-structure certificate did not verify: {res.failures}")
        return RankResult(value=0, lower=0, upper=0, certified=True,
                          method="certificate: zero by structure (sigma'' = 0 and each layer linear in its own weights)",
                          shape=(p, p), certificate=cert)
    if "C_act" in needs:
        if curved:
            ps = engine.per_sample
            L1 = len(counts)
            M = np.concatenate([np.concatenate([ps.block_act(l, m) for m in range(1, L1 + 1)], axis=1)
                                for l in range(1, L1 + 1)], axis=0)
            info["C_act"] = crank(M, "C_act")
        else:
            info["C_act"] = structural("C_act")
    if "C_within" in needs:
        offs = problem.arch.layer_offsets
        info["C_within"] = sum_of_ranks(
            [crank(engine.block("H_f", l, l), "H_f", tuple(range(offs[l - 1], offs[l - 1] + c)),
                   tuple(range(offs[l - 1], offs[l - 1] + c))) for l, c in enumerate(counts, start=1)],
            (p, p)) if curved else structural("C_within")
    return info, extra
