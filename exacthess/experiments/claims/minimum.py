r"""Minima with a nonzero output gradient (``[thread]`` in docs/references.md), built exactly over Q.

The thread: the critical-point condition is :math:`\nabla_\theta\ell = J_f^\top \nabla_f l = 0`, so
a minimum can have :math:`\nabla_f l \ne 0` when :math:`\nabla_f l` lies in the left null space of
:math:`J_f`; then the second term :math:`\sum_i\sum_c (\nabla l_i)_c \nabla^2 F_c` need not vanish.

**Construction** (deep linear networks, MSE, more samples than inputs). Inputs
:math:`X = [I_d; -I_d]` (``n = 2d`` samples, :math:`\Sigma = X^\top X = 2I`, :math:`\sum_i x_i = 0`),
targets :math:`Y = X B^\top + N + \mathbf 1 c^\top` with :math:`B` rectangular-diagonal with
distinct positive entries :math:`b_1 > b_2 > \dots`, :math:`N = [E; E]` (:math:`X^\top N = 0`) with
columns summing to 0 (:math:`\mathbf 1^\top N = 0`), and :math:`c` a target mean (biases only).
For an end-to-end map :math:`A` (and offset :math:`c'`),
:math:`\ell = \|A - B\|_F^2 + \tfrac n2\|c' - c\|^2 + \text{const}`, and a network with smallest
width :math:`q` reaches exactly the maps of rank :math:`\le q`. So by Eckart--Young the global
minimum keeps the :math:`q` largest entries of :math:`B`: :math:`A^* = B_q`, :math:`c' = c`,
factored exactly into layers (first layer :math:`\mathrm{diag}(b_j)` rows, identity embeddings,
last layer selecting the outputs). Then

* :math:`\nabla_f l_i = A^* x_i + c - y_i \ne 0` (the residual :math:`N` is outside the model);
* :math:`\nabla_\theta\ell = J_f^\top \nabla_f l = 0` exactly (checked);
* with a bottleneck (:math:`q < \min(K, d)`) :math:`\Omega = \sum_i \nabla_f l_i\, x_i^\top
  = 2(B_q - B) \ne 0`, and :math:`H_f \ne 0` (the second term does not vanish); without one,
  :math:`A^* = B` solves the normal equations, :math:`\Omega = 0`, and :math:`H_f = 0` exactly
  (for linear networks :math:`H_f` depends on the data only through :math:`\Omega`), although
  :math:`\nabla_f l \ne 0`.

Second-order check, exact: :math:`H_L` is positive semi-definite iff the coefficients of
:math:`\det(tI - H_L)` alternate in sign (all its roots are real), computed over Q.
"""

from __future__ import annotations

import numpy as np
from flint import fmpq, fmpq_mat

from ...certify.rank import rank
from ...core.domains import QQ
from ...core.errors import InvalidArchitectureError
from ...core.validate import check_seed
from ...hessian.cost import gap_cost, require_fits
from ...hessian.problem import make_problem
from ...hessian.ranks import certified_ranks
from ...models.architectures import FCN, check_architecture
from ...verification.points import frobenius2, output_jacobian
from ...statements.verdicts import Verdict, decided
from ...core.progress import Update
from .result import Case, ClaimResult, check_cases, with_progress

__all__ = ["least_squares_minimum", "is_psd", "minimum_case", "minimum_with_nonzero_gradient"]


def is_psd(H: np.ndarray) -> bool:
    r"""Exact test of positive semi-definiteness of a symmetric rational matrix.

    The characteristic polynomial :math:`\det(tI - H) = \sum_k c_k t^k` of a symmetric matrix has
    only real roots; they are all :math:`\ge 0` iff :math:`(-1)^{n-k} c_k \ge 0` for every ``k``
    (then :math:`\det(-tI - H)` has no sign change, hence no positive root: Descartes' rule of signs).

    >>> import numpy as np
    >>> from flint import fmpq
    >>> is_psd(np.array([[fmpq(1), fmpq(1)], [fmpq(1), fmpq(1)]], dtype=object)), is_psd(np.array([[fmpq(0), fmpq(1)], [fmpq(1), fmpq(0)]], dtype=object))
    (True, False)
    """
    n = H.shape[0]
    if n == 0:
        return True
    M = fmpq_mat(n, n, [v for v in H.flat])
    coeffs = M.charpoly().coeffs()  # c_0 .. c_n
    return all(((-1) ** (n - k)) * c >= 0 for k, c in enumerate(coeffs))


def least_squares_minimum(arch: FCN, seed: int = 0):
    """``(params, (X, Y), info)``: an exact global minimum of the MSE loss of a linear FCN (module docstring).

    Raises:
        InvalidArchitectureError: not a linear FCN, or ``input_dim < 2`` (the residual needs it).
    """
    check_architecture(arch)
    check_seed(seed)
    if not isinstance(arch, FCN) or not arch.activation.is_linear:
        raise InvalidArchitectureError(f"arch = {arch!r} is not a deep linear FCN; expected FCN(...) with the "
                                       "linear activation (the exact least-squares minimum is built for those)")
    d, K = arch.input_dim, arch.output_dim
    if d < 2:
        raise InvalidArchitectureError(f"input_dim = {d} is too small; expected >= 2 (with X = [I; -I] a residual "
                                       "orthogonal to the inputs and to the constant needs two samples per column)")
    rng = np.random.default_rng([seed, 31])
    s = min(K, d)
    b = [fmpq(3 * (s - j) + 1, 1) for j in range(s)]  # distinct, decreasing, positive
    B = np.full((K, d), fmpq(0), dtype=object)
    for j in range(s):
        B[j, j] = b[j]
    X = np.concatenate([np.eye(d, dtype=int), -np.eye(d, dtype=int)]).astype(object)
    X = np.vectorize(fmpq, otypes=[object])(X)
    E = rng.integers(-5, 6, size=(d, K))
    E[-1] = -E[:-1].sum(axis=0)  # columns sum to 0
    if not E.any():
        E[0, 0], E[-1, 0] = 1, -1
    N = np.vectorize(fmpq, otypes=[object])(np.concatenate([E, E]))
    c = [fmpq(int(v)) for v in rng.integers(-3, 4, size=K)] if arch.bias else [fmpq(0)] * K
    Y = QQ.matmul(X, np.ascontiguousarray(B.T)) + N + np.array([c] * (2 * d), dtype=object)
    q = min(s, min(arch.hidden_sizes, default=s))
    # A* = B_q = (last layer) (identity embeddings) (first layer)
    widths = arch.hidden_sizes
    params = []
    dims = [d] + list(widths) + [K]
    for l in range(len(dims) - 1):
        W = np.full((dims[l + 1], dims[l]), fmpq(0), dtype=object)
        for j in range(q):
            W[j, j] = b[j] if l == 0 else fmpq(1)
        if len(dims) == 2:  # no hidden layer: the map itself
            W = np.array(B, dtype=object)
            for j in range(q, s):
                W[j, j] = fmpq(0)
        params.append(W)
        if arch.bias:
            params.append(np.array(c if l == len(dims) - 2 else [fmpq(0)] * dims[l + 1], dtype=object))
    return params, (X, Y), {"q": q, "s": s, "bottleneck": q < s}


def minimum_case(arch: FCN, seed: int = 0) -> Case:
    """Build :func:`least_squares_minimum` and check it exactly (gradients, PSD, ranks)."""
    params, data, meta = least_squares_minimum(arch, seed)
    require_fits(gap_cost(arch, 2 * arch.input_dim))
    problem = make_problem(arch, params=params, data=data)
    ranks, info, engine = certified_ranks(problem, seed=seed, block_columns=False)
    g = problem.forward.gradients  # (K, n): grad_f l per sample
    gvec = np.ascontiguousarray(g.T.reshape(-1))  # rows (sample, output), as J_f
    J = output_jacobian(engine)
    grad_theta = QQ.matmul(np.ascontiguousarray(J.T), gvec.reshape(-1, 1))
    H_L = engine.full("H_L")
    omega = engine.omega[:, : arch.input_dim]
    rJ, rOm = rank(J, seed=seed), rank(omega, seed=seed)
    nums = {"|grad_f l|^2": frobenius2(g), "grad_theta l = 0 exactly": all(v == 0 for v in grad_theta.flat),
            "grad_f l in the left null space of J_f": all(v == 0 for v in grad_theta.flat),
            "H_L positive semi-definite (exact)": is_psd(H_L), "H_f = 0 exactly": info["H_f"].value == 0,
            "bottleneck q < min(K, d)": meta["bottleneck"], "q": meta["q"], "rank Omega": rOm.value,
            "rank H_L": info["H_L"].value, "rank H_o": info["H_o"].value, "rank H_f": info["H_f"].value,
            "rank J_f": rJ.value, "loss": frobenius2(g) / 2}
    how = {k: info[k].how for k in ("H_L", "H_o", "H_f")} | {"J_f": rJ.how}
    is_min = nums["grad_theta l = 0 exactly"] and nums["H_L positive semi-definite (exact)"]
    verdict = decided(bool(is_min and nums["|grad_f l|^2"] != 0), binding=True).verdict
    certified = all(r.certified for r in info.values()) and rJ.certified
    note = ("global minimum (Eckart-Young on the whitened problem); "
            + ("H_f != 0: the second term does not vanish" if not nums["H_f = 0 exactly"] else
               "no bottleneck: Omega = 0 (normal equations), so H_f = 0 although grad_f l != 0"))
    return Case(repr(arch), arch.to_spec(), "mse", problem.n_samples, seed, nums, how, verdict, certified, note=note)


def default_minimum_architectures() -> list:
    """Deep linear FCNs with and without biases, with and without a bottleneck."""
    return [FCN(4, (4,), 3), FCN(4, (2,), 3), FCN(3, (1,), 2, bias=True), FCN(4, (3, 2), 3, bias=True),
            FCN(3, (4, 4), 3), FCN(3, (), 2)]


@with_progress
def minimum_with_nonzero_gradient(archs=None, *, seed: int = 0, progress="auto") -> ClaimResult:
    """``minimum_with_nonzero_gradient``: exact global minima with ``grad_f l != 0``, and ``H_f != 0``."""
    archs = check_cases(archs, default_minimum_architectures, seed=seed, progress=progress)
    cases = []
    for i, arch in enumerate(archs):
        if progress:
            progress(Update(f"minimum_with_nonzero_gradient: case {i + 1}/{len(archs)}",
                            stage="minimum_with_nonzero_gradient", done=i + 1, total=len(archs)))
        cases.append(minimum_case(arch, seed))
    exists = [c for c in cases if c.verdict == "holds" and c.certified]
    second = [c for c in exists if not c.numbers["H_f = 0 exactly"]]
    verdict = decided(True if second else (None if any(c.verdict == "holds" for c in cases) else False),
                      binding=True).verdict
    summary = f"{len(exists)} of {len(cases)} exact global minima have grad_f l != 0 with grad_theta l = 0; " + (
        f"H_f != 0 on {len(second)} (the bottlenecked ones: rank H_f "
        + ", ".join(str(c.numbers["rank H_f"]) for c in second) + ")" if second else
        "H_f = 0 on every one (no case has a bottleneck q < min(K, d), so the second term vanishes)")
    return ClaimResult(
        "minimum_with_nonzero_gradient",
        "A minimum can have grad_f l != 0 when grad_f l lies in the left null space of J_f, and then the second "
        "term sum_p grad_p l D^2 f_p need not vanish [thread] (docs/references.md)",
        verdict, Verdict.HOLDS, bool(second), cases, command="exacthess reproduce discussion --claim minimum_with_nonzero_gradient",
        summary=summary,
        notes=["deep linear FCNs, MSE, X = [I; -I] (n = 2d > d samples), targets with a component outside the model; "
               "the global minimum is exact over Q (Eckart-Young with distinct singular values)",
               "without a bottleneck the least-squares minimum has Omega = sum_i r_i x_i^T = 0 (normal equations), "
               "and H_f, which depends on the data only through Omega for linear networks, is exactly 0",
               "CNNs: not built (the end-to-end maps of a CNN form a structured set; no exact global minimum is "
               "constructed for them)"])
