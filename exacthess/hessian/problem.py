"""Exact parameters and data: seeded generation and validation of user input.

Seeded values are integers drawn uniformly from ``[-999, 999]`` (numpy's PCG64 with the given
seed), so every quantity is an exact integer and "generic" in practice. User floats are
converted exactly (:mod:`exacthess.exact`).

For linear networks the data enter the MSE Hessian only through
``Sigma = sum_i x~_i x~_i^T`` and ``Yhat = sum_i y_i x~_i^T`` (``x~ = [x; 1]`` when the
network has biases), so :class:`Problem` stores these, plus an exact factorisation
``Sigma = R G R^T`` (the columns of ``R`` span the data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from flint import fmpq

from ..models.architectures import Architecture
from ..core.errors import InvalidDataError, ParamsMismatchError, describe
from ..core.exact import rational_array
from ..models.losses import Loss, check_targets, loss as parse_loss

__all__ = ["Problem", "make_problem", "seeded_params", "seeded_data", "SEED_RANGE"]

SEED_RANGE = 999


def _rand_ints(rng: np.random.Generator, shape) -> np.ndarray:
    vals = rng.integers(-SEED_RANGE, SEED_RANGE + 1, size=shape)
    out = np.empty(shape, dtype=object)
    for idx, v in np.ndenumerate(vals):
        out[idx] = fmpq(int(v))
    return out


def seeded_params(arch: Architecture, seed: int = 0) -> list[np.ndarray]:
    """Integer parameters in ``[-999, 999]``, one array per entry of ``arch.param_shapes()``."""
    rng = np.random.default_rng([seed, 1])
    return [_rand_ints(rng, s) for s in arch.param_shapes()]


def seeded_data(arch: Architecture, n_samples: int, seed: int = 0):
    """Integer data ``X`` (n x d) and targets ``Y`` (n x K) in ``[-999, 999]``."""
    rng = np.random.default_rng([seed, 2])
    return _rand_ints(rng, (n_samples, arch.input_dim)), _rand_ints(rng, (n_samples, arch.output_dim))


@dataclass
class Problem:
    """Exact inputs of a Hessian computation.

    Attributes:
        arch: the architecture.
        weights: per layer, an object array ``(c_out, n_taps)`` in tap ordering (see
            :class:`~exacthess.architecture.ConvLayer`), entries ``fmpq`` or sympy.
        sigma: ``Sigma~`` of shape ``(n0, n0)``, ``n0 = d (+1 with bias)``.
        yhat: ``Yhat~ = sum_i y_i x~_i^T`` of shape ``(K, n0)``.
        R, G: ``Sigma~ = R G R^T``: with ``n <= n0`` samples ``R = X~^T`` and ``G = I``;
            otherwise ``R = I`` and ``G = Sigma~``. Integer data give integer ``R`` and ``G``.
        n_samples: number of samples.
    """

    arch: Architecture
    weights: list
    sigma: np.ndarray
    yhat: np.ndarray
    R: np.ndarray
    G: np.ndarray
    n_samples: int
    loss: Loss = field(default_factory=lambda: parse_loss("mse"))
    X: np.ndarray | None = field(default=None, repr=False)
    Y: np.ndarray | None = field(default=None, repr=False)

    @property
    def sample_free(self) -> bool:
        """Linear network and quadratic loss: the Hessians depend on the data only through
        ``Sigma~`` and ``Yhat~`` (the engine's fast path)."""
        return self.arch.activation.is_linear and self.loss.quadratic and not self.loss.weights

    @cached_property
    def forward(self):
        """The exact per-sample forward pass (:class:`~exacthess.hessian.forward.ExactForward`)."""
        from .forward import ExactForward
        return ExactForward(self)

    @property
    def gram_is_identity(self) -> bool:
        return self.R.shape[1] == self.n_samples and self.R.shape[0] >= self.n_samples

    @property
    def aug(self) -> bool:
        return self.arch.bias


def _split_params(arch: Architecture, params) -> list:
    shapes = arch.param_shapes()
    if isinstance(params, np.ndarray) and params.ndim == 1 and params.dtype != object or (
        isinstance(params, np.ndarray) and params.ndim == 1 and len(shapes) > 1 and len(params) == arch.n_params
    ):
        flat = rational_array(params, "params", ndim=1)
        if flat.shape[0] != arch.n_params:
            raise ParamsMismatchError(
                f"params has {flat.shape[0]} entries; expected {arch.n_params} for {arch!r}")
        out, i = [], 0
        for s in shapes:
            k = int(np.prod(s))
            out.append(flat[i:i + k].reshape(s))
            i += k
        return out
    if not isinstance(params, (list, tuple)):
        raise ParamsMismatchError(
            f"params = {describe(params)} is not a list of arrays; expected {len(shapes)} arrays "
            f"of shapes {shapes} (or a flat vector of {arch.n_params} numbers)")
    if len(params) != len(shapes):
        raise ParamsMismatchError(
            f"params has {len(params)} arrays; expected {len(shapes)} with shapes {shapes}")
    out = []
    for i, (p, s) in enumerate(zip(params, shapes)):
        if _is_symbolic(p):
            arr = np.asarray(p, dtype=object)
        else:
            arr = rational_array(p, f"params[{i}]")
        if arr.shape != tuple(s):
            raise ParamsMismatchError(
                f"params[{i}] has shape {arr.shape}; expected {tuple(s)} for {arch!r}")
        out.append(arr)
    return out


def _is_symbolic(p) -> bool:
    import sympy
    return any(isinstance(v, sympy.Basic) for v in np.asarray(p, dtype=object).flat)


def _to_tap_order(arch: Architecture, plist: list) -> list:
    """Per layer ``(c_out, n_taps)`` arrays from the documented ``params`` list."""
    weights, i = [], 0
    for layer in arch.layers:
        w = np.asarray(plist[i], dtype=object).reshape(layer.c_out, -1)
        i += 1
        if layer.bias:
            b = np.asarray(plist[i], dtype=object).reshape(layer.c_out, 1)
            i += 1
            w = np.concatenate([w, b], axis=1)
        weights.append(w)
    return weights


def make_problem(arch: Architecture, *, n_samples: int | None = None, seed: int = 0,
                 data=None, params=None, loss="mse") -> Problem:
    """Validate or generate parameters and data and form the exact data statistics.

    Args:
        arch: an :class:`~exacthess.architecture.Architecture`.
        n_samples: number of seeded samples when ``data`` is None (default ``2 d``).
        seed: seed for generated parameters and data.
        data: ``(X, Y)`` with shapes ``(n, d)`` and ``(n, K)``.
        params: list of arrays of shapes ``arch.param_shapes()``, or a flat vector.
        loss: a loss name or :class:`~exacthess.models.losses.Loss` (default ``"mse"``).
    """
    the_loss = parse_loss(loss)
    if not isinstance(arch, Architecture):
        raise InvalidDataError(f"arch = {describe(arch)} is not an architecture; expected FCN(...) or CNN(...)")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidDataError(f"seed = {describe(seed)} is not valid; expected an int >= 0")
    d, K = arch.input_dim, arch.output_dim
    if the_loss.name == "cross_entropy" and K < 2:
        raise InvalidDataError(f"loss = 'cross_entropy' needs output_dim >= 2; this network has output_dim = {K}: "
                               "the softmax of one logit is constantly 1, so the loss does not depend on the "
                               "parameters (use 'bce' for one output)")
    if data is None:
        if n_samples is None:
            n_samples = 2 * d
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise InvalidDataError(f"n_samples = {describe(n_samples)} is not valid; expected an int >= 1")
        X, Y = seeded_data(arch, int(n_samples), seed)
        if the_loss.targets == "probabilities":
            Y = _seeded_probabilities(Y, the_loss)
    else:
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise InvalidDataError(f"data = {describe(data)} is not valid; expected a pair (X, Y)")
        X = rational_array(data[0], "data X", ndim=2)
        Y = rational_array(data[1], "data Y")
        if X.shape[1] != d:
            raise InvalidDataError(f"data X has shape {X.shape}; expected (n, {d}) (n x input_dim)")
        Y = check_targets(the_loss, Y, K)
        if Y.ndim != 2 or Y.shape != (X.shape[0], K):
            raise InvalidDataError(f"data Y has shape {Y.shape}; expected ({X.shape[0]}, {K}) (n x output_dim)")
        if X.shape[0] < 1:
            raise InvalidDataError("data X has 0 rows; expected at least one sample")
        if n_samples is not None and n_samples != X.shape[0]:
            raise InvalidDataError(f"n_samples = {n_samples} disagrees with data ({X.shape[0]} samples)")
        n_samples = X.shape[0]
    plist = seeded_params(arch, seed) if params is None else _split_params(arch, params)
    aug = arch.bias
    if aug:
        X = np.concatenate([X, np.array([[fmpq(1)]] * X.shape[0], dtype=object)], axis=1)
    from ..core.domains import QQ
    Xt = np.ascontiguousarray(X.T)
    sigma = QQ.matmul(Xt, X)
    yhat = QQ.matmul(np.ascontiguousarray(Y.T), X)
    if X.shape[0] <= X.shape[1]:
        R, G = Xt, QQ.eye(X.shape[0])
    else:
        R, G = QQ.eye(X.shape[1]), sigma
    return Problem(arch, _to_tap_order(arch, plist), sigma, yhat, R, G, int(n_samples), the_loss, X, Y)


def _seeded_probabilities(Y: np.ndarray, the_loss: Loss) -> np.ndarray:
    """Seeded targets for losses on probabilities: one class per sample (cross-entropy), or
    ``y`` mapped into ``[0, 1]`` (BCE), both exact."""
    out = np.empty(Y.shape, dtype=object)
    out.fill(fmpq(0))
    for i, row in enumerate(Y):
        if the_loss.name == "cross_entropy":
            out[i, int(np.argmax([float(v) for v in row]))] = fmpq(1)
        else:
            for j, v in enumerate(row):
                out[i, j] = fmpq(1) if v > 0 else fmpq(0)
    return out
