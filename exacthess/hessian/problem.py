r"""Exact parameters and data: seeded generation and validation of user input.

Seeded points (``point=`` of :func:`make_problem`, :func:`exacthess.hessian`,
:func:`exacthess.verify` and ``--point`` on the command line):

* ``"gaussian"`` (default) -- a realistic point, at the scale of a standard initialisation,
  on a dyadic grid. Each tensor has a scale :math:`\sigma`:

  - weights of a layer: :math:`\sigma = 1/\sqrt{\text{fan\_in}}`, with
    ``fan_in = c_in * kh * kw`` (the input size of a fully-connected layer, the whole input map
    of a CNN's last layer), as LeCun's normal initialisation;
  - biases: :math:`\sigma = 0.1/\sqrt{\text{fan\_in}}` (small, never exactly zero);
  - data ``X`` and targets ``Y``: :math:`\sigma = 1`.

  A value is :math:`z \sim N(0, \sigma^2)` rounded to the nearest *odd* multiple of
  :math:`u = 2^{-(e + 8)}`, :math:`e = \lceil \log_2(1/\sigma) \rceil`, so it is
  :math:`m\,u` with :math:`m` odd and :math:`|m| \approx 2^8 \ldots 2^9` at one
  :math:`\sigma` (about 8 significant bits). Every value is a dyadic rational that float32
  (and float64) represents exactly, so exact and float computations start from the identical
  point; it is never 0 (a continuous initialisation is not either); and integer-scaled
  entries stay as short as today's integers, so certificates (Hadamard bounds grow with bit
  sizes) cost no more.
* ``"integers"`` -- integers drawn uniformly from ``[-999, 999]``: "generic" for exact
  arithmetic, but far from any trained or initialised network (Hessian entries reach 1e18).

Both use numpy's PCG64 seeded with ``[seed, 1]`` (parameters) and ``[seed, 2]`` (data).
User floats are converted exactly (:mod:`exacthess.core.exact`).

For linear networks the data enter the MSE Hessian only through
``Sigma = sum_i x~_i x~_i^T`` and ``Yhat = sum_i y_i x~_i^T`` (``x~ = [x; 1]`` when the
network has biases), so :class:`Problem` stores these, plus an exact factorisation
``Sigma = R G R^T`` (the columns of ``R`` span the data), and the data ``X``, ``Y`` themselves
(for float pipelines that form the statistics in their own precision).

>>> from exacthess import FCN
>>> W1, W2 = seeded_params(FCN(4, (3,), 2), seed=0)   # fan_in 4: sigma = 1/2, grid 2**-9
>>> sorted({float(v) * 2**9 % 2 for v in W1.flat})      # odd multiples of 2**-9
[1.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from flint import fmpq

from ..models.architectures import Architecture, check_architecture
from ..core.errors import InvalidDataError, InvalidTypeError, InvalidValueError, describe
from ..core.exact import rational_array
from .params import check_params, split_params, symbolic_entry
from ..core.validate import check_option, check_samples, check_seed
from ..models.losses import Loss, check_targets, loss as parse_loss

__all__ = ["Problem", "make_problem", "prepare_data", "rand_gaussian", "rand_ints", "check_params", "data_factorisation", "seeded_params", "seeded_data", "seed_scales",
           "POINTS", "SEED_RANGE", "SIGNIFICANT_BITS", "BIAS_SCALE"]

#: the seeded points, the default first
POINTS = ("gaussian", "integers")
#: ``point="integers"`` draws from ``[-SEED_RANGE, SEED_RANGE]``
SEED_RANGE = 999
#: ``point="gaussian"``: bits of the grid below the scale (values about ``2**8 .. 2**9`` grid units)
SIGNIFICANT_BITS = 8
#: ``point="gaussian"``: bias scale relative to the layer's weight scale ``1/sqrt(fan_in)``
BIAS_SCALE = 0.1


def rand_ints(rng: np.random.Generator, shape) -> np.ndarray:
    vals = rng.integers(-SEED_RANGE, SEED_RANGE + 1, size=shape)
    out = np.empty(shape, dtype=object)
    for idx, v in np.ndenumerate(vals):
        out[idx] = fmpq(int(v))
    return out


def grid_exponent(sigma: float) -> int:
    """``k = 8 + ceil(log2(1 / sigma))``: seeded values of scale ``sigma`` are odd multiples of ``2**-k``.

    >>> grid_exponent(1.0), grid_exponent(0.5), grid_exponent(0.2), grid_exponent(1 / 64 ** 0.5)
    (8, 9, 11, 11)
    """
    return SIGNIFICANT_BITS + max(0, math.ceil(-math.log2(sigma)))


def rand_gaussian(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    k = grid_exponent(sigma)
    t = rng.standard_normal(size=shape) * (sigma * 2.0**k)
    m = 2 * np.floor(t / 2).astype(np.int64) + 1  # the nearest odd integer
    den = 1 << k
    out = np.empty(shape, dtype=object)
    for idx, v in np.ndenumerate(m):
        out[idx] = fmpq(int(v), den)
    return out


def seed_scales(arch: Architecture) -> list[float]:
    """The scale ``sigma`` of every entry of ``arch.param_shapes()`` at ``point="gaussian"``.

    >>> from exacthess import CNN
    >>> [round(s, 4) for s in seed_scales(CNN((8,), (2,), 3, 1, bias=True))]   # fan_in 1*3, then 2*6
    [0.5774, 0.0577, 0.2887, 0.0289]
    """
    out = []
    for layer in arch.layers:
        w = 1.0 / math.sqrt(layer.c_in * layer.kernel[0] * layer.kernel[1])
        out.append(w)
        if layer.bias:
            out.append(BIAS_SCALE * w)
    return out


def seeded_params(arch: Architecture, seed: int = 0, point: str = "gaussian") -> list[np.ndarray]:
    """Seeded parameters, one ``fmpq`` array per entry of ``arch.param_shapes()``.

    ``point="gaussian"``: odd multiples of ``2**-(e + 8)`` about ``N(0, sigma**2)`` with the
    scales of :func:`seed_scales`; ``point="integers"``: integers in ``[-999, 999]`` (see the
    module docstring).
    """
    point = check_option(point, "point", POINTS)
    rng = np.random.default_rng([seed, 1])
    if point == "integers":
        return [rand_ints(rng, s) for s in arch.param_shapes()]
    return [rand_gaussian(rng, s, sig) for s, sig in zip(arch.param_shapes(), seed_scales(arch))]


def seeded_data(arch: Architecture, n_samples: int, seed: int = 0, point: str = "gaussian"):
    """Seeded data ``X`` (n x d) and targets ``Y`` (n x K).

    ``point="gaussian"``: odd multiples of ``2**-8`` about ``N(0, 1)``; ``point="integers"``:
    integers in ``[-999, 999]``.
    """
    point = check_option(point, "point", POINTS)
    rng = np.random.default_rng([seed, 2])
    shapes = (n_samples, arch.input_dim), (n_samples, arch.output_dim)
    if point == "integers":
        return tuple(rand_ints(rng, s) for s in shapes)
    return tuple(rand_gaussian(rng, s, 1.0) for s in shapes)


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
        X, Y: the data ``(n, d)`` and targets ``(n, K)`` (exact, without the bias column).
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
        ``Sigma~`` and ``Yhat~`` (the engine's sample-free route, :mod:`exacthess.hessian.samplefree`)."""
        return self.arch.activation.is_linear and self.loss.quadratic and not self.loss.weights

    @cached_property
    def X_aug(self) -> np.ndarray:
        """The data ``X~``: ``X`` with a column of ones appended when the network has biases."""
        if not self.aug:
            return self.X
        from flint import fmpq
        return np.concatenate([self.X, np.array([[fmpq(1)]] * self.X.shape[0], dtype=object)], axis=1)

    @cached_property
    def denominator(self) -> int:
        """The lcm of the denominators of every exact input (a prime dividing it cannot be used)."""
        den = 1
        for arr in list(self.weights) + [self.sigma, self.yhat, self.R, self.G, self.X, self.Y]:
            if arr is None:
                continue
            for v in np.asarray(arr, dtype=object).flat:
                q = int(getattr(v, "q", 1))
                if q != 1:
                    den = den * q // math.gcd(den, q)
        return den

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


def prepare_data(arch, *, n_samples=None, seed: int = 0, data=None, loss="mse", point: str = "gaussian"):
    """The exact data ``(X, Y, n_samples, loss, point)`` of a problem, checked or seeded (as
    :func:`make_problem`; ``arch`` needs only ``input_dim``, ``output_dim`` and its ``repr``)."""
    point = check_option(point, "point", POINTS)
    the_loss = parse_loss(loss)
    seed = check_seed(seed)
    n_samples = check_samples(n_samples)
    d, K = arch.input_dim, arch.output_dim
    if the_loss.name == "cross_entropy" and K < 2:
        why = "the softmax of one logit is constantly 1, so the loss does not depend on the parameters"
        raise InvalidDataError(f"loss = 'cross_entropy' needs output_dim >= 2; this network has output_dim = {K}: "
                               f"{why} (use loss='bce' for one output)",
                               cli=f"--loss cross_entropy needs a network with at least 2 outputs; this one has {K}: "
                                   f"{why} (use --loss bce for one output)")
    if the_loss.groups > 1 and (K % the_loss.groups or K == the_loss.groups):
        T = the_loss.groups
        raise InvalidDataError(f"loss = {the_loss.name!r} splits the {K} outputs into {T} tokens; expected a multiple "
                               f"of {T} with at least 2 logits per token (a per-token read-out of width >= 2)",
                               cli=f"--loss {the_loss.name} splits the {K} outputs into {T} tokens; expected a "
                                   f"multiple of {T} with at least 2 logits per token (a per-token read-out of "
                                   "width >= 2)")
    shape = getattr(arch, "output_shape", None) if getattr(arch, "family", "") == "graph" else None
    if the_loss.groups > 1 and shape is not None and len(shape) == 2 and shape[0] != the_loss.groups:
        raise InvalidDataError(f"loss = {the_loss.name!r} reads {the_loss.groups} tokens, but the network's output "
                               f"is {shape[0]} tokens of {shape[1]} logits; expected loss='cross_entropy({shape[0]})'",
                               cli=f"--loss {the_loss.name} reads {the_loss.groups} tokens, but the network's output "
                                   f"is {shape[0]} tokens of {shape[1]} logits; expected --loss "
                                   f"'cross_entropy({shape[0]})'")
    if the_loss.weights and len(the_loss.weights) != K:
        n_w = len(the_loss.weights)
        text = f"has {n_w} weight{'s' * (n_w != 1)}; expected {K}, one per output of {arch!r}"
        raise InvalidValueError(f"loss = {the_loss.name!r} {text} (e.g. loss='weighted_mse({', '.join(['1'] * K)})')",
                                cli=f"--loss {the_loss.name} {text} (e.g. --loss 'weighted_mse({','.join(['1'] * K)})')")
    if data is None:
        if n_samples is None:
            n_samples = 2 * d
        X, Y = seeded_data(arch, int(n_samples), seed, point)
        if the_loss.targets == "probabilities":
            Y = _seeded_probabilities(Y, the_loss)
    else:
        if not isinstance(data, (tuple, list)):
            raise InvalidTypeError(f"data = {describe(data)} has type {type(data).__name__}; expected a pair (X, Y)")
        if len(data) != 2:
            raise InvalidDataError(f"data = {describe(data)} has {len(data)} entries; expected a pair (X, Y)")
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
    return X, Y, n_samples, the_loss, point


def make_problem(arch: Architecture, *, n_samples: int | None = None, seed: int = 0,
                 data=None, params=None, loss="mse", point: str = "gaussian", symbolic: bool = False) -> Problem:
    """Validate or generate parameters and data and form the exact data statistics.

    Args:
        arch: an :class:`~exacthess.architecture.Architecture`.
        n_samples: number of seeded samples when ``data`` is None (default ``2 d``).
        seed: seed for generated parameters and data.
        data: ``(X, Y)`` with shapes ``(n, d)`` and ``(n, K)``.
        params: list of arrays of shapes ``arch.param_shapes()``, or a flat vector.
        loss: a loss name or :class:`~exacthess.models.losses.Loss` (default ``"mse"``).

        point: how seeded parameters and data are drawn: ``"gaussian"`` (default; scale of a
            standard initialisation on a dyadic grid, exactly representable in float32) or
            ``"integers"`` (uniform in ``[-999, 999]``); see the module docstring. Ignored for
            what the user supplies.
        symbolic: keep sympy symbols in ``params`` (the caller computes over ``"SR"``); otherwise
            they are refused (:func:`~exacthess.hessian.params.split_params`).

    Raises:
        InvalidOptionError: ``point`` is not one of :data:`POINTS`.
    """
    check_architecture(arch)
    X, Y, n_samples, the_loss, point = prepare_data(arch, n_samples=n_samples, seed=seed, data=data, loss=loss,
                                                    point=point)
    plist = seeded_params(arch, seed, point) if params is None else split_params(arch, params, symbolic)
    symbolic = params is not None and symbolic and any(symbolic_entry(p) is not None for p in plist)
    if symbolic and not the_loss.exact:
        raise InvalidValueError(
            f"params are symbolic but loss = {the_loss.name!r} is computed at rational stand-ins of transcendental "
            "values (softmax / sigmoid), which symbols do not have; expected rational params, or 'mse' / "
            "'weighted_mse(...)' for symbolic ones")
    if symbolic and arch.activation.piecewise:
        raise InvalidValueError(
            f"params are symbolic but activation = {arch.activation.name!r} is piecewise: its pattern depends on "
            "the sign of every pre-activation, which symbols do not fix; expected rational params (or a linear "
            "or polynomial activation for symbolic ones)")
    X0, aug = X, arch.bias
    if aug:
        X = np.concatenate([X, np.array([[fmpq(1)]] * X.shape[0], dtype=object)], axis=1)
    from ..core.domains import QQ
    Xt = np.ascontiguousarray(X.T)
    sigma = QQ.matmul(Xt, X)
    yhat = QQ.matmul(np.ascontiguousarray(Y.T), X)
    R, G = data_factorisation(X, sigma)
    return Problem(arch, _to_tap_order(arch, plist), sigma, yhat, R, G, int(n_samples), the_loss, X0, Y)


def _seeded_probabilities(Y: np.ndarray, the_loss: Loss) -> np.ndarray:
    """Seeded targets for losses on probabilities: one class per sample (cross-entropy; per token for
    ``cross_entropy(T)``), or
    ``y`` mapped into ``[0, 1]`` (BCE), both exact."""
    out = np.empty(Y.shape, dtype=object)
    out.fill(fmpq(0))
    for i, row in enumerate(Y):
        if the_loss.groups > 1:  # cross_entropy(T): one class per token
            V = len(row) // the_loss.groups
            for t in range(the_loss.groups):
                out[i, t * V + int(np.argmax([float(v) for v in row[t * V:(t + 1) * V]]))] = fmpq(1)
        elif the_loss.name == "cross_entropy":
            out[i, int(np.argmax([float(v) for v in row]))] = fmpq(1)
        else:
            for j, v in enumerate(row):
                out[i, j] = fmpq(1) if v > 0 else fmpq(0)
    return out


def data_factorisation(X: np.ndarray, sigma: np.ndarray):
    r"""``(R, G)`` with :math:`\tilde\Sigma = X^\top X = R G R^\top` and ``G`` positive definite.

    * ``n <= n0`` samples: ``R = X^T``, ``G = I``.
    * more samples than coordinates and ``X`` of full column rank: ``R = I``, ``G = Sigma``.
    * more samples but rank ``r < n0`` (e.g. ``n > d`` samples spanning an ``r``-dimensional
      space): ``R = X[P]^T`` for ``r`` independent samples ``P`` (chosen modulo a prime) and
      ``X^T = R C`` solved exactly; the identity is then *checked exactly* (a failed check keeps
      ``R = I``), and ``G = C C^T`` is positive definite because ``C`` has full row rank.
      The Jacobian chain then sees the data's true rank.
    """
    from ..core.domains import QQ
    from ..core.modular import pivot_rows, random_engine_prime, rank_mod_p, reduce_mod
    n, n0 = X.shape
    Xt = np.ascontiguousarray(X.T)
    if n <= n0:
        return Xt, QQ.eye(n)
    p = random_engine_prime(np.random.default_rng([n, n0, 19]))
    Xp = reduce_mod(X, p)
    if rank_mod_p(Xp, p) == n0:
        return QQ.eye(n0), sigma
    P = pivot_rows(Xp, p)  # r samples independent mod p, hence over Q
    R = np.ascontiguousarray(Xt[:, P])  # (n0, r)
    cols = pivot_rows(np.ascontiguousarray(Xp[P].T), p)  # r coordinates where R is invertible mod p (so over Q)
    from flint import fmpq_mat
    r = len(P)
    A = fmpq_mat(r, r, [v for v in R[cols].flat])
    C = A.solve(fmpq_mat(r, n, [v for v in Xt[cols].flat]))  # R[cols] C = X^T[cols]
    Cn = np.array(C.entries(), dtype=object).reshape(r, n)
    if not (QQ.matmul(R, Cn) == Xt).all():  # X^T not in span(R): the modular rank was unlucky
        return QQ.eye(n0), sigma
    return R, QQ.matmul(Cn, np.ascontiguousarray(Cn.T))
