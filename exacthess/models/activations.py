r"""Activations, applied exactly after every hidden layer (never after the output layer).

Each activation gives, for exact pre-activations ``z`` (``fmpq``), the value :math:`\sigma(z)`,
the first derivative :math:`\sigma'(z)` and the second derivative :math:`\sigma''(z)`, all exact
rationals, so the engine can reduce them to any domain (GF(p) included):

* ``"linear"`` -- :math:`\sigma(z) = z`;
* ``"relu"`` and ``"leaky_relu(a)"`` -- :math:`\sigma(z) = z` for :math:`z > 0` and :math:`a z`
  for :math:`z < 0` (ReLU: ``a = 0``; ``a`` a rational such as ``1/4``). The mask
  :math:`\sigma'(z) \in \{1, a\}` comes from the *exact sign* of ``z``; :math:`\sigma'' = 0`.
  At :math:`z = 0` the loss is not twice differentiable: :meth:`Activation.check` raises
  :class:`~exacthess.core.errors.NonDifferentiableError` naming the sample, layer and unit;
  no side is ever picked silently;
* ``"poly(c0, c1, ..., cd)"`` -- :math:`\sigma(z) = \sum_k c_k z^k` with rational
  coefficients, e.g. ``"poly(0, 1, 0, 1/3)"`` for :math:`z + z^3/3`, an exact stand-in for
  :math:`\tanh` near 0 (whose Taylor series is :math:`z - z^3/3 + \dots`).

>>> act = activation("leaky_relu(1/4)")
>>> from flint import fmpq
>>> [str(act.derivative(fmpq(v))) for v in (2, -3)]
['1', '1/4']
>>> activation("poly(0, 1, 0, 1/3)").second_derivative(fmpq(3))
6
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flint import fmpq

from ..core.errors import InvalidOptionError, InvalidTypeError, InvalidValueError, describe
from ..core.exact import to_rational

__all__ = ["Activation", "activation", "ACTIVATIONS"]

#: the activation names understood by :func:`activation`
ACTIVATIONS = ("linear", "relu", "leaky_relu(a)", "poly(c0, c1, ...)")

_ZERO, _ONE = fmpq(0), fmpq(1)


@dataclass(frozen=True)
class Activation:
    """An exact activation.

    Attributes:
        name: canonical name (``"linear"``, ``"relu"``, ``"leaky_relu(1/4)"``, ``"poly(0, 1, 0, 1/3)"``).
        kind: ``"linear"``, ``"piecewise"`` (ReLU-type) or ``"poly"``.
        slope: the negative-side slope ``a`` of a ReLU-type activation.
        coeffs: polynomial coefficients ``c0, c1, ...`` (``poly`` only).
    """

    name: str
    kind: str
    slope: fmpq = _ZERO
    coeffs: tuple = ()

    @property
    def is_linear(self) -> bool:
        return self.kind == "linear"

    @property
    def piecewise(self) -> bool:
        """ReLU-type: piecewise linear, with a kink at 0."""
        return self.kind == "piecewise"

    @property
    def has_curvature(self) -> bool:
        r"""Whether :math:`\sigma''` can be nonzero (polynomials of degree >= 2)."""
        return self.kind == "poly" and len(self.coeffs) > 2

    def value(self, z: fmpq) -> fmpq:
        if self.kind == "linear":
            return z
        if self.kind == "piecewise":
            return z if z > 0 else self.slope * z
        out = _ZERO
        for c in reversed(self.coeffs):
            out = out * z + c
        return out

    def derivative(self, z: fmpq) -> fmpq:
        if self.kind == "linear":
            return _ONE
        if self.kind == "piecewise":
            return _ONE if z > 0 else self.slope
        out = _ZERO
        for k in range(len(self.coeffs) - 1, 0, -1):
            out = out * z + k * self.coeffs[k]
        return out

    def second_derivative(self, z: fmpq) -> fmpq:
        if self.kind != "poly":
            return _ZERO
        out = _ZERO
        for k in range(len(self.coeffs) - 1, 1, -1):
            out = out * z + k * (k - 1) * self.coeffs[k]
        return out

    def __str__(self) -> str:
        return self.name


def _rationals(text: str, name: str, what: str) -> list[fmpq]:
    from fractions import Fraction
    out = []
    for i, part in enumerate(p.strip() for p in text.split(",")):
        try:
            out.append(to_rational(Fraction(part), name=f"{name}[{i}]"))
        except (ValueError, ZeroDivisionError):
            raise InvalidValueError(f"{what} {part!r} in activation = {name!r} is not a finite rational; "
                                    "expected e.g. 1/4 or -0.5") from None
    return out


def activation(spec) -> Activation:
    """Parse an activation name (or pass an :class:`Activation` through).

    Raises:
        InvalidOptionError: unknown names (the message lists the known ones).
        InvalidValueError: a slope or coefficient that is not a finite rational.
    """
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise InvalidTypeError(f"activation = {describe(spec)} has type {type(spec).__name__}; "
                               f"expected one of {', '.join(ACTIVATIONS)}")
    text = re.sub(r"\s+", "", spec.lower())
    if text in ("linear", "identity", "none"):
        return Activation("linear", "linear")
    if text == "relu":
        return Activation("relu", "piecewise", _ZERO)
    m = re.fullmatch(r"(leaky_relu|poly)\((.*)\)", text)
    if m and m.group(1) == "leaky_relu":
        vals = _rationals(m.group(2), spec, "slope")
        if len(vals) != 1:
            raise InvalidValueError(f"activation = {spec!r} has {len(vals)} slopes; expected one, e.g. 'leaky_relu(1/4)'")
        a = vals[0]
        if a == 1:
            return Activation("linear", "linear")
        return Activation(f"leaky_relu({a})", "piecewise", a)
    if m:
        coeffs = _rationals(m.group(2), spec, "coefficient")
        while len(coeffs) > 1 and coeffs[-1] == 0:
            coeffs.pop()
        if coeffs == [_ZERO, _ONE]:
            return Activation("linear", "linear")
        return Activation("poly(" + ", ".join(str(c) for c in coeffs) + ")", "poly", coeffs=tuple(coeffs))
    raise InvalidOptionError(f"activation = {spec!r} is not known; expected one of {', '.join(ACTIVATIONS)} "
                             "(e.g. 'relu', 'leaky_relu(1/4)', 'poly(0, 1, 0, 1/3)')")
