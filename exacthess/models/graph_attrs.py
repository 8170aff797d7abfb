"""Attributes of graph nodes read from plain data: rationals from their ``"p/q"`` text, lists as tuples."""

from __future__ import annotations

from ..core.errors import InvalidArchitectureError
from ..core.exact import to_rational

__all__ = ["spec_attr", "exact_attr"]


def spec_attr(v):
    """An attribute read back from :meth:`Graph.to_spec`'s plain data: lists as tuples, ``"p/q"`` as rationals."""
    import re
    if isinstance(v, list):
        return tuple(spec_attr(x) for x in v)
    if isinstance(v, str) and re.fullmatch(r"-?\d+(/\d+)?", v):
        from flint import fmpq
        num, _, den = v.partition("/")
        return fmpq(int(num), int(den or 1))
    return v


def exact_attr(v, name: str):
    """An exact rational from a number, or from its text (``"1/3"``: how :meth:`Graph.to_spec` writes it)."""
    if isinstance(v, str):
        from fractions import Fraction
        try:
            v = Fraction(v)
        except ValueError:
            raise InvalidArchitectureError(f"{name} = {v!r} is not a rational; expected e.g. '1/3' or 0.25") from None
    return to_rational(v, name)
