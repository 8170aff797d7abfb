r"""Exact points for the claims: perfect fits, scaled parameters, kink-free ReLU points, output Jacobians.

**Perfect fit.** For a network :math:`F` at parameters :math:`\theta` and inputs :math:`x_i`,
:func:`perfect_fit` replaces the targets by what the network predicts, so that the output-space
gradient :math:`\nabla_f l(F(x_i), y_i)` is *exactly* zero for every sample:

* MSE and weighted MSE: :math:`y_i := F(x_i)` (exact rationals);
* cross-entropy on logits: :math:`y_i := p_i`, the rational softmax stand-ins of
  :math:`F(x_i)` (positive, summing to exactly 1; :mod:`exacthess.models.losses`), so
  :math:`\nabla l = p_i - y_i = 0` exactly;
* BCE: :math:`y_i := s_i`, the rational sigmoid stand-ins (in :math:`(0, 1)`), so
  :math:`\nabla l = s_i - y_i = 0` exactly.

For the two losses on probabilities this is a perfect fit *of the stand-in model*: the true
:math:`\sigma(F(x_i))` is irrational and within :math:`2^{-64}` of :math:`s_i` relatively
(:mod:`exacthess.models.standins`). The rank statements transfer to the true perfect fit
:math:`y_i = \sigma(F(x_i))` because there too :math:`H_L = J^\top \mathrm{diag}(\sigma(1-\sigma)) J` (BCE) or
:math:`J^\top(\mathrm{diag}\,p - pp^\top)J` (softmax), whose rank does not depend on the
positive values :math:`\sigma(1 - \sigma)`, resp. :math:`p` (the kernel of
:math:`\mathrm{diag}\,p - pp^\top` is :math:`\mathrm{span}(\mathbf 1)` for every :math:`p > 0`).
The stand-ins are read off the loss itself: for these losses :math:`\nabla l(f, 0)` *is* the
stand-in vector (:math:`p - 0`, :math:`s - 0`).

>>> from exacthess import FCN
>>> from exacthess.hessian.problem import make_problem
>>> prob = perfect_fit(make_problem(FCN(2, (2,), 2), n_samples=3))
>>> is_perfect_fit(prob)
True
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from flint import fmpq

from ..core.domains import QQ
from ..core.errors import InvalidValueError, NonDifferentiableError
from ..core.exact import to_rational
from ..hessian.problem import make_problem, seeded_data, seeded_params

__all__ = ["perfect_fit", "fitted_targets", "with_targets", "is_perfect_fit", "output_jacobian", "scaled_params", "kink_free_problem",
           "frobenius2", "standard_params", "standard_data"]


def fitted_targets(problem) -> np.ndarray:
    """The targets ``(n, K)`` that the network at ``problem`` predicts exactly (see the module docstring):
    its outputs, or the stand-ins of their softmax / sigmoid for the losses on probabilities (per token for
    ``cross_entropy(T)``). Works for chains and graphs alike (it reads only the forward pass and the loss)."""
    F = problem.forward.outputs  # (K, n)
    K, n = F.shape
    zero = [fmpq(0)] * K
    Y = np.empty((n, K), dtype=object)
    for i in range(n):
        f = list(F[:, i])
        # MSE-like: y := f. Losses on probabilities: grad l(f, 0) = p (softmax) or s (sigmoid)
        row = problem.loss.gradient(f, zero) if problem.loss.targets == "probabilities" else f
        if problem.loss.weights:  # weighted MSE: y := f as well
            row = f
        Y[i] = row
    return Y


def perfect_fit(problem):
    """The same network, parameters and inputs, with targets replaced by the network's own
    predictions (see the module docstring); every output gradient is then exactly zero."""
    return with_targets(problem, fitted_targets(problem))


def with_targets(problem, Y):
    """The same network, parameters and inputs with the targets ``Y`` (``n x K`` exact rationals)."""
    Y = np.asarray(Y, dtype=object)
    yhat = QQ.matmul(np.ascontiguousarray(Y.T), problem.X_aug)
    return replace(problem, Y=Y, yhat=yhat)


def is_perfect_fit(problem) -> bool:
    """Whether every output-space gradient ``grad_f l(F(x_i), y_i)`` is exactly zero."""
    return all(v == 0 for v in problem.forward.gradients.flat)


def output_jacobian(engine) -> np.ndarray:
    r"""The stacked Jacobian of the outputs, :math:`J_f` of shape ``(n K, p)`` (rows
    ``(sample, output)``, columns the parameters in documented order), over the engine's domain."""
    ps = engine.per_sample
    J = np.concatenate([ps.jacobian(l) for l in range(1, engine.L1 + 1)], axis=2)  # (n, K, p)
    return np.ascontiguousarray(J.reshape(-1, J.shape[2]))


def frobenius2(M: np.ndarray) -> fmpq:
    """The exact squared Frobenius norm ``sum M_ij^2`` of a rational matrix."""
    total = fmpq(0)
    for v in np.asarray(M, dtype=object).flat:
        total += v * v
    return total


def scaled_params(arch, params, factor) -> list:
    """``factor * params`` (every weight and bias), exactly; ``params`` in documented order."""
    c = to_rational(factor, name="scale")
    if c == 0:
        raise InvalidValueError("scale = 0 is not allowed; expected a nonzero rational such as 1/8")
    return [np.vectorize(lambda v: c * v, otypes=[object])(np.asarray(p, dtype=object)) for p in params]


def standard_params(arch, seed: int = 0) -> list:
    r"""The seeded parameters of :func:`exacthess.hessian.problem.seeded_params` (``point="gaussian"``),
    unchanged: exact dyadic rationals about :math:`N(0, \sigma^2)` at a standard-initialisation
    scale (:math:`\sigma^2 \approx 1/\text{fan-in}`). This is the point every scale sweep calls
    :math:`s = 1`; :func:`scaled_params` multiplies it by ``s``.

    >>> from exacthess import FCN
    >>> from exacthess.hessian.problem import seeded_params
    >>> arch = FCN(3, (3,), 2)
    >>> all((a == b).all() for a, b in zip(standard_params(arch), seeded_params(arch)))
    True
    """
    return seeded_params(arch, seed)


def standard_data(arch, n_samples: int, seed: int = 0):
    """The seeded inputs and targets of :func:`exacthess.hessian.problem.seeded_data`
    (``point="gaussian"``: exact dyadic rationals about ``N(0, 1)``), unchanged."""
    return seeded_data(arch, n_samples, seed)


def kink_free_problem(arch, *, n_samples: int, seed: int = 0, loss="mse", tries: int = 50, params=None,
                      data=None, fit: bool = False):
    """A seeded problem whose pre-activations avoid every kink of a ReLU-type activation.

    Tries seeds ``seed, seed + 1, ...`` (at most ``tries``) until the exact forward pass finds no
    pre-activation at a kink (with ``fit``, at the perfect fit); returns ``(problem, seed_used)``.
    Given ``params`` and ``data`` are used as they are (a kink then raises
    :class:`~exacthess.core.errors.NonDifferentiableError`)."""
    last = None
    given = params is not None and data is not None
    for s in range(seed, seed + (1 if given else tries)):
        prob = make_problem(arch, n_samples=None if data is not None else n_samples, seed=s, loss=loss,
                            params=params, data=data)
        try:
            prob.forward  # noqa: B018 - raises NonDifferentiableError at a kink
        except NonDifferentiableError as exc:
            last = exc
            continue
        return (perfect_fit(prob) if fit else prob), s
    if given:
        raise NonDifferentiableError(f"the given params and data put a pre-activation at a kink for {arch!r}: {last}; "
                                     "expected a point with no pre-activation at a kink (move the params or data)")
    raise NonDifferentiableError(f"no kink-free point among seeds {seed}..{seed + tries - 1} for {arch!r}: {last}; "
                                 "expected a point with no pre-activation at a kink (try another seed)")
