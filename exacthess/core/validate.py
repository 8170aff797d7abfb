"""Argument checks shared by every public entry point.

Each helper returns the normalised value or raises: :class:`~exacthess.core.errors.InvalidTypeError`
(a ``TypeError``) for a wrong type, a :class:`~exacthess.core.errors.InvalidValueError`
subclass (a ``ValueError``) for a wrong value. Messages name the argument, the value and
what was expected.

>>> check_int(3, "n_samples", minimum=1)
3
>>> check_option("auto", "certify", ("auto", "always", "never"))
'auto'
>>> check_option("maybe", "certify", ("auto", "always", "never"))
Traceback (most recent call last):
...
exacthess.errors.InvalidOptionError: certify = 'maybe' is not a known option; expected one of 'auto', 'always', 'never'
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Sequence

import numpy as np

from .errors import InvalidDataError, InvalidOptionError, InvalidTypeError, InvalidValueError, describe

__all__ = ["check_int", "check_bool", "check_real", "check_option", "check_int_sequence",
           "check_callable", "check_seed", "check_samples", "check_progress", "is_int"]


def is_int(value) -> bool:
    """True for Python and numpy integers, False for bools."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _range_text(minimum, maximum) -> str:
    if minimum is not None and maximum is not None:
        return f"between {minimum} and {maximum}"
    if minimum is not None:
        return f">= {minimum}"
    if maximum is not None:
        return f"<= {maximum}"
    return ""


def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None,
              error: type = InvalidValueError) -> int:
    """An integer in ``[minimum, maximum]``; ``error`` is the value-error class to raise."""
    want = ("an int " + _range_text(minimum, maximum)).strip()
    if not is_int(value):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected {want}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise error(f"{name} = {v} is too small; expected {want}")
    if maximum is not None and v > maximum:
        raise error(f"{name} = {v} is too large; expected {want}")
    return v


def check_bool(value, name: str) -> bool:
    """A bool (numpy bools accepted)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected True or False")
    return bool(value)


def check_real(value, name: str, minimum: float | None = None, *, strict: bool = False,
               maximum: float | None = None, allow_inf: bool = False, error: type = InvalidValueError) -> float:
    """A finite real number (``allow_inf`` admits +inf), ``> minimum`` when ``strict``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected a real number")
    v = float(value)
    rel = ">" if strict else ">="
    want = "a finite number" + (f" {rel} {minimum}" if minimum is not None else "")
    if math.isnan(v) or (math.isinf(v) and not (allow_inf and v > 0)):
        raise error(f"{name} = {v!r} is not finite; expected {want}")
    if minimum is not None and (v < minimum or (strict and v == minimum)):
        raise error(f"{name} = {value!r} is too small; expected {want}")
    if maximum is not None and v > maximum:
        raise error(f"{name} = {value!r} is too large; expected a number <= {maximum}")
    return v


def check_option(value, name: str, allowed: Iterable[str]) -> str:
    """One of the strings in ``allowed``; the error lists them."""
    allowed = tuple(allowed)
    listing = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected one of {listing}")
    if value not in allowed:
        raise InvalidOptionError(f"{name} = {value!r} is not a known option; expected one of {listing}")
    return value


def check_int_sequence(value, name: str, minimum: int = 1, allow_int: bool = True) -> tuple[int, ...]:
    """A sequence of ints ``>= minimum`` (a single int becomes a 1-tuple when ``allow_int``)."""
    if allow_int and is_int(value):
        value = (value,)
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; "
                               f"expected a sequence of ints >= {minimum}")
    return tuple(check_int(v, f"{name}[{i}]", minimum) for i, v in enumerate(value))


def check_callable(value, name: str):
    """A callable, or None."""
    if value is not None and not callable(value):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected a callable or None")
    return value


def check_seed(seed, name: str = "seed") -> int:
    """A seed: an int >= 0 (:class:`~exacthess.core.errors.InvalidTypeError` otherwise, or
    :class:`~exacthess.core.errors.InvalidDataError` for a negative one)."""
    if not is_int(seed):
        raise InvalidTypeError(f"{name} = {describe(seed)} has type {type(seed).__name__}; expected an int >= 0")
    if seed < 0:
        raise InvalidDataError(f"{name} = {seed} is not valid; expected an int >= 0")
    return int(seed)


def check_samples(n_samples, name: str = "n_samples") -> int | None:
    """None (the default) or a number of samples >= 1."""
    if n_samples is None:
        return None
    if not is_int(n_samples):
        raise InvalidTypeError(f"{name} = {describe(n_samples)} has type {type(n_samples).__name__}; "
                               "expected an int >= 1 or None")
    if n_samples < 1:
        raise InvalidDataError(f"{name} = {n_samples} is not valid; expected an int >= 1")
    return int(n_samples)


def check_progress(value, name: str = "progress"):
    """A progress callback: a callable receiving short messages, or None."""
    if value is not None and not callable(value):
        raise InvalidTypeError(f"{name} = {describe(value)} has type {type(value).__name__}; expected a callable "
                               "receiving progress messages (e.g. print), or None")
    return value
