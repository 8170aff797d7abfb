r"""Losses, described by their per-sample gradient and Hessian in output space.

For outputs :math:`f_i = F(x_i) \in \mathbb R^K` and a loss :math:`\ell = \sum_i l(f_i, y_i)`,
the Hessian splits as

.. math:: H_L = \underbrace{\sum_i J_i^\top (\nabla^2 l_i) J_i}_{H_o}
          + \underbrace{\sum_i \sum_c (\nabla l_i)_c \nabla^2_\theta F_c(x_i)}_{H_f},

so a loss enters only through :math:`\nabla l_i` and :math:`\nabla^2 l_i`:

* ``"mse"`` -- :math:`\tfrac12\|f - y\|^2`: :math:`\nabla l = f - y`, :math:`\nabla^2 l = I`;
* ``"weighted_mse(w1, ..., wK)"`` -- :math:`\tfrac12\sum_k w_k (f_k - y_k)^2`, rational
  :math:`w_k > 0`: :math:`\nabla l = w \odot (f - y)`, :math:`\nabla^2 l = \mathrm{diag}(w)`;
* ``"cross_entropy"`` -- softmax on the ``K`` logits against targets that are probability
  vectors (or class indices): :math:`\nabla l = p - y`, :math:`\nabla^2 l = \mathrm{diag}(p) - pp^\top`
  with :math:`p = \mathrm{softmax}(f)`;
* ``"cross_entropy(T)"`` -- per-token cross-entropy (a Transformer's next-token loss): the ``K``
  outputs are ``T`` consecutive groups of ``K / T`` logits (a ``(T, V)`` output flattened row-major),
  each with its own softmax and probability target, summed; :math:`\nabla^2 l` is block diagonal;
* ``"bce"`` -- a sigmoid per output against targets in ``[0, 1]``: :math:`\nabla l = s - y`,
  :math:`\nabla^2 l = \mathrm{diag}(s (1 - s))`, :math:`s = \sigma(f)`;
* a custom :class:`Loss` given by rational ``gradient(f, y)`` and ``hessian(f, y)`` functions.

**What is exact.** MSE, weighted MSE and custom rational losses are exact everywhere.
Softmax and sigmoid are transcendental: their values are replaced by *rational stand-ins*
(:mod:`exacthess.models.standins`): dyadic rationals within :math:`2^{-b}` of the true value
*relatively*, :data:`STANDIN_BITS` ``= b = 64``, and so are :math:`1 - s` and :math:`1 - p_{\max}`;
the softmax stand-ins are positive and sum to exactly 1. Hence every entry of
:math:`\nabla^2 l` is within :math:`2^{1-b}` of its true value relatively, and every entry of
:math:`\nabla l` for 0/1 (one-hot) targets within :math:`2^{-b}`; sums with cancellation keep only
the absolute bound their terms give. Logits that would need stand-ins with huge denominators are
refused (:data:`~exacthess.models.standins.MAX_STANDIN_BITS`). What stays exact
at the *true* point: :math:`\nabla^2 l = \mathrm{diag}(p) - pp^\top` has kernel exactly
:math:`\mathrm{span}(\mathbf 1)` for every :math:`p > 0`, so
:math:`\mathrm{rank}\,H_o = \mathrm{rank}(P J)` with the rational projector
:math:`P = I - \mathbf 1\mathbf 1^\top / K`; and :math:`\mathrm{diag}(s(1-s)) > 0`, so for BCE
:math:`\mathrm{rank}\,H_o = \mathrm{rank}\,J`. :meth:`Loss.kernel_factor` returns such a
rational factor ``C`` (``ker C = ker \nabla^2 l``). ``H_f`` and ``H_L`` need the values
themselves and are computed exactly *at the stand-ins*; reports label them so.

>>> from flint import fmpq
>>> loss("weighted_mse(1, 1/2)").gradient([fmpq(3), fmpq(1)], [fmpq(1), fmpq(0)])
[2, 1/2]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from flint import fmpq

from ..core.errors import InvalidDataError, InvalidOptionError, InvalidTypeError, InvalidValueError, describe
from ..core.exact import to_rational
from .standins import STANDIN_BITS, dyadic_mul, sigmoid, sigmoid_bits, softmax, softmax_bits

__all__ = ["Loss", "loss", "check_targets", "LOSSES", "STANDIN_BITS"]

#: names understood by :func:`loss`
LOSSES = ("mse", "weighted_mse(w1, ..., wK)", "cross_entropy", "cross_entropy(T)", "bce")
_ZERO, _ONE = fmpq(0), fmpq(1)


@dataclass(frozen=True)
class Loss:
    r"""A loss in output space.

    Attributes:
        name: canonical name.
        gradient: ``(f, y) -> list`` of ``K`` rationals (:math:`\nabla l`).
        hessian: ``(f, y) -> K x K`` nested list of rationals (:math:`\nabla^2 l`).
        kernel_factor: ``(f, y) -> rows`` of a rational matrix ``C`` with
            ``ker C = ker hessian`` when the Hessian is positive semi-definite (then
            ``rank H_o = rank (C J)``), or None.
        exact: whether ``gradient``/``hessian`` are the true values (False: rational stand-ins).
        quadratic: ``l`` is a quadratic polynomial in ``f`` (then linear networks keep their
            sample-free form).
        targets: ``"values"``, ``"probabilities"`` (cross-entropy, BCE) -- how targets are read.
        groups: ``"cross_entropy(T)"``: the ``T`` token groups of the outputs (1 otherwise).
        standin_bits: ``f -> int``, an upper bound on the bits of the denominators of the
            stand-ins at outputs ``f`` (raising :class:`~exacthess.core.errors.ProblemTooLargeError`
            beyond :data:`~exacthess.models.standins.MAX_STANDIN_BITS`), or None for exact losses;
            lets callers refuse saturated logits before computing anything.
    """

    name: str
    gradient: Callable = field(repr=False)
    hessian: Callable = field(repr=False)
    kernel_factor: Callable | None = field(default=None, repr=False)
    exact: bool = True
    quadratic: bool = False
    targets: str = "values"
    weights: tuple = ()
    standin_bits: Callable | None = field(default=None, repr=False)
    groups: int = 1

    @staticmethod
    def custom(gradient: Callable, hessian: Callable, *, name: str = "custom", psd_factor: Callable | None = None):
        """A loss given by exact per-sample derivatives in output space.

        Args:
            gradient: ``(f, y) -> K`` rationals (``f``, ``y``: lists of ``fmpq``).
            hessian: ``(f, y) -> K x K`` rationals, symmetric.
            name: shown in reports.
            psd_factor: optional ``(f, y) -> C`` with ``ker C = ker hessian`` for a positive
                semi-definite Hessian (lets ``rank H_o`` be certified from ``C J``).

        >>> sq = Loss.custom(lambda f, y: [f[0] - y[0]], lambda f, y: [[1]], name="my_mse")
        >>> sq.gradient([3], [1])
        [2]
        """
        for fn, what in ((gradient, "gradient"), (hessian, "hessian"), (psd_factor, "psd_factor")):
            if not callable(fn) and not (what == "psd_factor" and fn is None):
                raise InvalidTypeError(f"{what} = {describe(fn)} is not callable (type {type(fn).__name__}); expected "
                                       "a function (f, y) -> values" + (" or None" if what == "psd_factor" else ""))
        if not isinstance(name, str):
            raise InvalidTypeError(f"name = {describe(name)} has type {type(name).__name__}; expected a str")
        if not name.strip():
            raise InvalidValueError(f"name = {name!r} is empty; expected a name shown in reports")
        return Loss(name, gradient, hessian, psd_factor)

    def __str__(self) -> str:
        return self.name


def _mse():
    return Loss("mse", lambda f, y: [a - b for a, b in zip(f, y)],
                lambda f, y: [[_ONE if i == j else _ZERO for j in range(len(f))] for i in range(len(f))],
                lambda f, y: None, quadratic=True)


def _weighted(ws: list) -> Loss:
    name = "weighted_mse(" + ", ".join(str(w) for w in ws) + ")"

    def grad(f, y):
        if len(f) != len(ws):
            raise InvalidValueError(f"loss = {name!r} has {len(ws)} weights; expected {len(f)} (one per output)")
        return [w * (a - b) for w, a, b in zip(ws, f, y)]
    return Loss(name, grad,
                lambda f, y: [[ws[i] if i == j else _ZERO for j in range(len(f))] for i in range(len(f))],
                lambda f, y: None, quadratic=True, weights=tuple(ws))


def _cross_entropy() -> Loss:
    def grad(f, y):
        return [a - b for a, b in zip(softmax(f), y)]

    def hess(f, y):
        p = softmax(f)
        return [[dyadic_mul(p[i], 1 - p[i]) if i == j else -dyadic_mul(p[i], p[j]) for j in range(len(p))]
                for i in range(len(p))]

    def factor(f, y):  # rows of P = I - 11^T/K without its last row: kernel exactly span(1)
        K = len(f)
        return [[(_ONE if i == j else _ZERO) - fmpq(1, K) for j in range(K)] for i in range(K - 1)]
    return Loss("cross_entropy", grad, hess, factor, exact=False, targets="probabilities", standin_bits=softmax_bits)


def _token_cross_entropy(T: int) -> Loss:
    one = _cross_entropy()

    def split(f):
        if len(f) % T:
            raise InvalidValueError(f"loss = 'cross_entropy({T})' splits {len(f)} outputs into {T} tokens; expected "
                                    f"a multiple of {T} outputs")
        V = len(f) // T
        return V, [list(range(t * V, (t + 1) * V)) for t in range(T)]

    def grad(f, y):
        return [g for idx in split(f)[1] for g in one.gradient([f[i] for i in idx], [y[i] for i in idx])]

    def hess(f, y):
        V, groups = split(f)
        out = [[_ZERO] * len(f) for _ in f]
        for idx in groups:
            block = one.hessian([f[i] for i in idx], None)
            for a, i in enumerate(idx):
                out[i][idx[0]:idx[0] + V] = block[a]
        return out

    def factor(f, y):  # per token the rows of I - 11^T/V without the last: kernel the T group indicators
        V, groups = split(f)
        return [[(_ONE if i == j else _ZERO) - fmpq(1, V) if j // V == i // V else _ZERO for j in range(len(f))]
                for idx in groups for i in idx[:-1]]

    def bits(f):
        return max(softmax_bits(f[t * (len(f) // T):(t + 1) * (len(f) // T)]) for t in range(T))
    return Loss(f"cross_entropy({T})", grad, hess, factor, exact=False, targets="probabilities", standin_bits=bits,
                groups=T)


def _bce() -> Loss:
    def grad(f, y):
        return [sigmoid(a) - b for a, b in zip(f, y)]

    def hess(f, y):
        s = [sigmoid(a) for a in f]
        return [[dyadic_mul(s[i], 1 - s[i]) if i == j else _ZERO for j in range(len(s))] for i in range(len(s))]
    return Loss("bce", grad, hess, lambda f, y: None, exact=False, targets="probabilities", standin_bits=sigmoid_bits)


def loss(spec) -> Loss:
    """Parse a loss name (or pass a :class:`Loss` through).

    Raises:
        InvalidOptionError: unknown names (the message lists the known ones).
        InvalidValueError: weights that are not finite positive rationals.
    r"""
    if isinstance(spec, Loss):
        return spec
    if not isinstance(spec, str):
        raise InvalidTypeError(f"loss = {describe(spec)} has type {type(spec).__name__}; "
                               f"expected one of {', '.join(LOSSES)} or a Loss")
    text = re.sub(r"\s+", "", spec.lower())
    if text == "mse":
        return _mse()
    if text in ("cross_entropy", "ce", "crossentropy"):
        return _cross_entropy()
    if text in ("bce", "binary_cross_entropy"):
        return _bce()
    m = re.fullmatch(r"cross_entropy\((\d+)\)", text)
    if m:
        T = int(m.group(1))
        if T < 1:
            raise InvalidValueError(f"loss = {spec!r} has {T} tokens; expected cross_entropy(T) with T >= 1")
        return _cross_entropy() if T == 1 else _token_cross_entropy(T)
    m = re.fullmatch(r"weighted_mse\((.*)\)", text)
    if m:
        from fractions import Fraction
        ws = []
        for i, part in enumerate(m.group(1).split(",")):
            try:
                w = to_rational(Fraction(part), name=f"weights[{i}]")
            except (ValueError, ZeroDivisionError):
                raise InvalidValueError(f"weight {part!r} in loss = {spec!r} is not a finite rational; "
                                        "expected positive rationals such as 1/2") from None
            if w <= 0:
                raise InvalidValueError(f"weights[{i}] = {w} in loss = {spec!r} is not positive; expected weights > 0")
            ws.append(w)
        return _weighted(ws)
    raise InvalidOptionError(f"loss = {spec!r} is not known; expected one of {', '.join(LOSSES)}")


def check_targets(the_loss: Loss, Y, K: int):
    """Validate (and convert) targets for ``the_loss``: class indices become one-hot rows.

    Args:
        Y: object array ``(n, K)`` of ``fmpq`` (probability vectors), or ``(n,)`` / ``(n, 1)``
            integer class indices when ``K > 1`` and the loss reads probabilities.
    """
    import numpy as np
    if the_loss.weights and len(the_loss.weights) != K:
        raise InvalidValueError(f"loss = {the_loss.name!r} has {len(the_loss.weights)} weights; expected {K} "
                                "(one per output)")
    if the_loss.targets != "probabilities":
        return Y
    Y = np.asarray(Y, dtype=object)
    if the_loss.name == "bce" and Y.ndim == 1 and K == 1:
        Y = Y.reshape(-1, 1)
    elif the_loss.name == "bce" and (Y.ndim != 2 or Y.shape[1] != K):
        raise InvalidDataError(f"data Y has shape {Y.shape}; expected (n, {K}): bce reads one probability per output "
                               "(class indices are read only by cross_entropy)")
    if the_loss.groups > 1:
        return _token_targets(the_loss, Y, K)
    if Y.ndim == 1 or (Y.ndim == 2 and Y.shape[1] == 1 and K > 1):
        idx = Y.reshape(-1)
        out = np.empty((len(idx), K), dtype=object)
        out.fill(_ZERO)
        for i, c in enumerate(idx):
            if getattr(c, "q", 1) != 1 or not 0 <= int(c) < K:
                raise InvalidDataError(f"data Y[{i}] = {c} is not a class index; expected an int in [0, {K})")
            out[i, int(c)] = _ONE
        return out
    for i, row in enumerate(Y):
        text = "[" + ", ".join(str(v) for v in row) + "]"
        neg = [v for v in row if v < 0]
        if neg:
            raise InvalidDataError(f"data Y[{i}] = {text} has the negative entry {neg[0]}; expected probabilities "
                                   f">= 0 for {the_loss.name}")
        if the_loss.name == "cross_entropy" and sum(row, _ZERO) != 1:
            head = (f"data Y[{i}] = {text} sums to {sum(row, _ZERO)}; expected a probability vector summing to "
                    "exactly 1 (or class indices); floats such as 0.1 are not exactly 1/10: ")
            raise InvalidDataError(head + "pass Fractions, or round_to= the grid of the intended values (e.g. "
                                   "round_to='1/1000')",
                                   cli=head + "give the grid of the intended values with --round-to (e.g. "
                                   "--round-to 1/1000), or class indices")
        big = [v for v in row if v > 1]
        if the_loss.name == "bce" and big:
            raise InvalidDataError(f"data Y[{i}] = {text} has the entry {big[0]} > 1; expected probabilities in "
                                   "[0, 1] for bce")
    return Y


def _token_targets(the_loss: Loss, Y, K: int):
    """Targets of ``cross_entropy(T)``: ``(n, K)`` probability vectors per token, or ``(n, T)`` class indices."""
    import numpy as np
    T = the_loss.groups
    if K % T or K == T:
        raise InvalidValueError(f"loss = {the_loss.name!r} splits {K} outputs into {T} tokens; expected a multiple "
                                f"of {T} with at least 2 logits per token")
    V = K // T
    if Y.ndim == 2 and Y.shape[1] == T:  # class indices per token
        out = np.empty((Y.shape[0], K), dtype=object)
        out.fill(_ZERO)
        for (i, t), c in np.ndenumerate(Y):
            if getattr(c, "q", 1) != 1 or not 0 <= int(c) < V:
                raise InvalidDataError(f"data Y[{i}, {t}] = {c} is not a class index; expected an int in [0, {V})")
            out[i, t * V + int(c)] = _ONE
        return out
    for i, row in enumerate(Y):
        for t in range(T):
            part = list(row[t * V:(t + 1) * V])
            if min(part) < 0 or sum(part, _ZERO) != 1:
                raise InvalidDataError(f"data Y[{i}], token {t} = [{', '.join(map(str, part))}]; expected a "
                                       f"probability vector summing to exactly 1 (or (n, {T}) class indices)")
    return Y
