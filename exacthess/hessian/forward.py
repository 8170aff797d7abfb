r"""The exact per-sample forward pass: pre-activations, activation patterns, loss derivatives.

For every sample :math:`x_i` (columns of the arrays below), over :math:`\mathbb Q`:

.. math:: z_l = T_l \tilde h_{l-1},\qquad h_l = \sigma(z_l)\ (l \le L),\qquad F(x_i) = z_{L+1},

with :math:`\tilde h = [h; 1]` when the network has biases. Stored are :math:`\tilde h_l`,
:math:`\sigma'(z_l)` (for ReLU-type activations the mask, from the *exact sign* of
:math:`z_l`), :math:`\sigma''(z_l)`, the outputs, and the loss's output-space gradient
:math:`g_i = \nabla l_i` and Hessian :math:`A_i = \nabla^2 l_i` (exact, or at rational
stand-ins for softmax/sigmoid, see :mod:`exacthess.models.losses`). Engines over other domains
(GF(p), floats) reduce these exact values, so every domain sees the same activation pattern.

**Constant units.** A pre-activation ``z`` is *identically* zero near the point when the unit has
no bias and every entry it reads is locally zero: zero data entries, padding, inactive ReLU
units, or units that are themselves identically zero (:attr:`ExactForward.still`). Such a unit
is constant: its value is :math:`\sigma(0)` for every parameter near the point, so every
derivative through it vanishes (its :math:`\sigma'` and :math:`\sigma''` are stored as 0).
It is itself identically *zero* (:attr:`ExactForward.flat`) only when :math:`\sigma(0) = 0`
(linear, ReLU-type, polynomials without constant term). A polynomial with :math:`c_0 \ne 0`
makes it the nonzero constant :math:`c_0`, and the units reading it are then not zero either
(they move with the weights that read the constant).

Stand-ins at saturated logits have huge denominators (:mod:`exacthess.models.standins`), and every
exact Hessian entry they reach carries them: before any is computed, their size is bounded from
the outputs (:attr:`ExactForward.standin_bits`). Above :data:`STANDIN_CHECK_BITS` bits (``b``),
the memory of ``6 p^2 + 4 n K^2`` values of ``2 b`` bits (the exact ``H_o``, ``H_f``, ``H_L``,
temporaries and the ``n`` per-sample ``K x K`` loss Hessians) must fit the budget of
:mod:`exacthess.core.resources`, and the time of ``K^2 (p^2 + 4)`` products of ``2 b`` bits per
saturated sample (:data:`STANDIN_SECONDS_PER_BIT`) must stay below :data:`STANDIN_SECONDS_LIMIT`;
else :class:`~exacthess.core.errors.ProblemTooLargeError` says which, before any is computed.

A pre-activation exactly at a kink (``z = 0`` for ReLU-type activations) makes the Hessian
undefined: :class:`~exacthess.core.errors.NonDifferentiableError` names the sample, the layer
and the unit -- unless ``z`` is identically zero near the point, as above. Such a unit is
constant (ReLU-type activations have :math:`\sigma(0) = 0`, so it is identically zero) and is
treated as inactive.

>>> import numpy as np
>>> from exacthess import CNN
>>> from exacthess.hessian.problem import make_problem
>>> arch = CNN((1,), (1,), 1, 1, paddings=1, activation="poly(1, 1)")   # positions 0 and 2 read padding
>>> params = [np.full(s, 1, dtype=object) for s in arch.param_shapes()]
>>> fw = make_problem(arch, params=params, data=([[2]], [[0]])).forward
>>> fw.still[1][:, 0].tolist(), [str(v) for v in fw.post[1][:, 0]], fw.flat[1][:, 0].tolist()
([True, False, True], ['1', '3', '1'], [False, False, False])
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from flint import fmpq

from ..core.domains import QQ
from ..core.errors import ExactHessError, InvalidValueError, NonDifferentiableError, ProblemTooLargeError
from ..core.exact import rational_array, to_rational
from ..core.resources import format_seconds, require_memory
from ..models.toeplitz import toeplitz_operator

__all__ = ["ExactForward", "STANDIN_CHECK_BITS", "STANDIN_SECONDS_PER_BIT", "STANDIN_SECONDS_LIMIT",
           "require_standin_budget"]

#: stand-ins with denominators above this many bits (|logit| above about 2800) are checked against
#: the memory and time budgets before they are computed
STANDIN_CHECK_BITS = 4096
#: seconds per bit of one product of huge dyadic rationals, with the surrounding sums and copies:
#: conservative (whole ``hessian`` calls measured 1e-9 to 4.4e-9 on a 2-core machine, 2^20 to 2^27 logits)
STANDIN_SECONDS_PER_BIT = 1.2e-8
#: refuse work on saturated stand-ins estimated above this many seconds
STANDIN_SECONDS_LIMIT = 300.0


def _map(fn, arr: np.ndarray) -> np.ndarray:
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = fn(v)
    return out


def require_standin_budget(what: str, hint: str, bits: int, *, entries: int, work: float) -> None:
    """Refuse, before any stand-in is computed, exact Hessians whose ``entries`` rationals of about
    ``2 bits`` bits each exceed the memory budget, or whose ``work`` (products of such rationals, each about
    :data:`STANDIN_SECONDS_PER_BIT` seconds per bit) exceeds :data:`STANDIN_SECONDS_LIMIT`.

    Raises:
        ProblemTooLargeError: naming ``what`` and the ``hint``.
    """
    require_memory(entries * 2 * bits / 8, what, hint + ", or set EXACTHESS_MEMORY_LIMIT_GB")
    seconds = STANDIN_SECONDS_PER_BIT * 2 * bits * work
    if seconds > STANDIN_SECONDS_LIMIT:
        raise ProblemTooLargeError(f"{what} needs about {format_seconds(seconds)}; expected at most "
                                   f"{format_seconds(STANDIN_SECONDS_LIMIT)} ({hint})")


class ExactForward:
    r"""Exact forward pass of one problem, all samples at once (columns are samples).

    Attributes (lists indexed by layer ``l``; entry 0 unused where it has no meaning):
        post: ``post[l]`` = :math:`\tilde h_l` of shape ``(dim(l), n)`` (``post[0]`` = the data).
        pre: ``pre[l]`` = :math:`z_l`, ``(n_l, n)`` for ``l = 1..L+1`` (``pre[L+1]`` = outputs).
        d1, d2: :math:`\sigma'(z_l)`, :math:`\sigma''(z_l)` for ``l = 1..L``.
        still: ``still[l]`` (``(n_l, n)``, ``l = 1..L``) marks the units whose pre-activation is
            identically zero near the point: constant units of value :math:`\sigma(0)`, through
            which every derivative vanishes (``d1`` and ``d2`` are 0 there).
        flat: ``flat[l]`` marks the entries of ``post[l]`` that are identically zero near the point
            (zero data entries, inactive ReLU units, constant units when :math:`\sigma(0) = 0`).
        outputs: ``(K, n)``.
    """

    def __init__(self, problem):
        self.problem = problem
        arch = problem.arch
        act = arch.activation
        aug = problem.aug
        self.ops = [toeplitz_operator(layer, w, QQ, aug) for layer, w in zip(arch.layers, problem.weights)]
        X = problem.X_aug  # (n, n0 [+1])
        post = [np.ascontiguousarray(X.T)]
        pre, d1, d2 = [None], [None], [None]
        L1 = len(arch.layers)
        flat = np.zeros(post[0].shape, dtype=bool)  # entries that are locally identically zero
        flat[: arch.layers[0].n_in] = post[0][: arch.layers[0].n_in] == 0
        flats, stills = [flat], [None]
        zero_at_zero = act.value(fmpq(0)) == 0  # a constant unit (pre-activation identically 0) is sigma(0)
        for l in range(1, L1 + 1):
            layer = arch.layers[l - 1]
            n_l = layer.n_out
            z = QQ.matmul(self.ops[l - 1], post[-1])[:n_l]
            pre.append(z)
            if l == L1:
                break
            # z is identically zero near the point when every entry it reads is (padding included)
            ext = np.concatenate([flat[: layer.n_in], np.zeros((1, flat.shape[1]), dtype=bool),
                                  np.ones((1, flat.shape[1]), dtype=bool)], axis=0)
            still = np.tile(ext[layer.sources].all(axis=0), (layer.c_out, 1))  # same patch for every channel
            if act.piecewise:
                zero = np.argwhere((z == 0) & ~still)
                if len(zero):
                    unit, sample = (int(v) for v in zero[0])
                    raise NonDifferentiableError(
                        f"sample {sample}, layer {l}, unit {unit}: the pre-activation is exactly 0, where "
                        f"{act.name} has a kink, so the Hessian is not defined; expected a point with no "
                        "pre-activation at 0 (perturb the parameters or the data)",
                        sample=sample, layer=l, unit=unit)
            h = z if act.is_linear else _map(act.value, z)
            deriv = _map(act.derivative, z)
            deriv[still] = fmpq(0)  # constant units: every derivative through them vanishes
            d1.append(deriv)
            curv = _map(act.second_derivative, z) if act.has_curvature else None
            if curv is not None:
                curv[still] = fmpq(0)
            d2.append(curv)
            locally_zero = (still if zero_at_zero else np.zeros_like(still)) | (
                (z < 0) if act.piecewise and act.slope == 0 else False)  # sigma(0) != 0: constant, not zero
            flat = np.concatenate([locally_zero, np.zeros((int(aug), z.shape[1]), dtype=bool)], axis=0)
            flats.append(flat)
            stills.append(still)
            if aug:
                h = np.concatenate([h, np.full((1, h.shape[1]), fmpq(1), dtype=object)], axis=0)
            post.append(h)
        self.post, self.pre, self.d1, self.d2 = post, pre, d1, d2
        self.flat = flats  # flat[l]: entries of post[l] identically zero near the point
        self.still = stills  # still[l]: units of layer l that are constant (sigma(0)) near the point
        self.outputs = pre[-1]

    @cached_property
    def standin_bits(self) -> int:
        """An upper bound on the bits of the denominators of the loss's stand-ins over all samples
        (0 for exact losses), checked against the memory and time budgets (see the module docstring).

        Raises:
            ProblemTooLargeError: a stand-in or the Hessians they enter would be too large.
        """
        loss, n = self.problem.loss, self.outputs.shape[1]
        if loss.standin_bits is None:
            return 0
        sizes = []
        for i in range(n):
            try:
                sizes.append(loss.standin_bits(list(self.outputs[:, i])))
            except ProblemTooLargeError as exc:
                raise ProblemTooLargeError(f"loss {loss.name!r} at sample {i}: {exc}") from exc
        bits = max(sizes, default=0)
        if bits > STANDIN_CHECK_BITS:
            p, K = self.problem.arch.n_params, self.outputs.shape[0]
            what = (f"computing exact Hessians at the {loss.name} stand-ins of saturated logits (denominators of "
                    f"up to {bits} bits; {p} parameters, n = {n} samples, K = {K} outputs)")
            big = sum(b > STANDIN_CHECK_BITS for b in sizes)
            require_standin_budget(what, "scale the logits down or use an exact loss", bits,
                                   entries=6 * p * p + 4 * n * K * K, work=big * K * K * (p * p + 4))
        return bits

    def _loss_values(self, fn, what: str, shape: tuple) -> list:
        """``fn(f_i, y_i)`` for every sample, checked to be exact rationals of ``shape`` (a custom loss's
        functions may return anything: a wrong result is reported here, naming the loss and the sample)."""
        import sympy
        self.standin_bits  # refuses saturated logits before computing any stand-in
        loss, Y = self.problem.loss, self.problem.Y
        out = []
        for i in range(Y.shape[0]):
            name = f"the {what} of loss {loss.name!r} at sample {i}"
            try:
                value = fn(list(self.outputs[:, i]), list(Y[i]))
            except ExactHessError:  # stand-ins (their size was checked by standin_bits), built-in losses' own checks
                raise
            except (TypeError, ArithmeticError, ValueError) as exc:  # the user's function failed on exact input
                raise InvalidValueError(
                    f"{name} raised {type(exc).__name__}: {' '.join(str(exc).split())}; expected a function of lists "
                    "of flint.fmpq returning exact rationals (use exact constants: fmpq(1, 2) or Fraction(1, 2), "
                    "not 0.5)") from exc
            try:
                value = np.asarray(value, dtype=object)
            except ValueError:  # ragged rows
                value = np.empty(0, dtype=object)
            if value.shape != shape:
                raise InvalidValueError(f"{name} has shape {value.shape}; expected {shape} (K = {shape[0]} outputs)")
            for idx, v in np.ndenumerate(value):
                if not isinstance(v, (fmpq, sympy.Basic)):
                    value[idx] = to_rational(v, f"{name}[{', '.join(map(str, idx))}]")
            if len(shape) == 2 and any(value[a, b] != value[b, a] for a in range(shape[0]) for b in range(a)):
                raise InvalidValueError(f"{name} is not symmetric; expected a symmetric K x K matrix (a Hessian)")
            out.append(value)
        return out

    @cached_property
    def gradients(self) -> np.ndarray:
        """``g[:, i] = grad l(F(x_i), y_i)`` in output space, ``(K, n)``."""
        K = self.outputs.shape[0]
        cols = self._loss_values(self.problem.loss.gradient, "gradient", (K,))
        return np.array(cols, dtype=object).T.reshape(self.outputs.shape)

    @cached_property
    def hessians(self) -> np.ndarray:
        """``A[i] = grad^2 l(F(x_i), y_i)``, ``(n, K, K)``."""
        K = self.outputs.shape[0]
        mats = self._loss_values(self.problem.loss.hessian, "Hessian", (K, K))
        return np.array(mats, dtype=object).reshape(len(mats), K, K)

    @cached_property
    def kernel_factors(self):
        """``C[i]`` with ``ker C[i] = ker A[i]`` (``(n, K', K)``), ``"identity"`` when every ``A[i]`` is
        positive definite, or None when the loss gives no factor (then ``H_o`` is certified densely)."""
        loss, Y = self.problem.loss, self.problem.Y
        if loss.kernel_factor is None:
            return None
        rows = [loss.kernel_factor(list(self.outputs[:, i]), list(Y[i])) for i in range(Y.shape[0])]
        if all(r is None for r in rows):
            return "identity"
        K = self.outputs.shape[0]
        first = None
        for i, r in enumerate(rows):
            name = f"the kernel factor of loss {loss.name!r} at sample {i}"
            rows[i] = None if r is None else rational_array(r, name, ndim=2)
            if rows[i] is None or rows[i].shape[1] != K or rows[i].shape != (first if first else rows[i].shape):
                raise InvalidValueError(f"{name} has shape {None if r is None else rows[i].shape}; expected a "
                                        f"matrix with {K} columns, of the same shape at every sample")
            first = rows[i].shape
        return np.array(rows, dtype=object)

    def loss_premise(self) -> dict:
        """The ``gauss_newton`` theorem's premise ``"loss"`` (the matrix sources state it): every loss
        Hessian ``A_i`` and kernel factor ``C_i`` exactly, ``"identity"`` under MSE."""
        if self.problem.loss.name == "mse":
            return {"hessians": "identity", "factors": "identity"}
        C = self.kernel_factors
        return {"hessians": list(self.hessians), "factors": C if isinstance(C, str) or C is None else list(C)}
