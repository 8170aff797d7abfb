"""A network's parameters as the user passes them, validated and split into exact arrays.

``params`` is a list of arrays of shapes ``arch.param_shapes()`` or a flat vector of
``arch.n_params`` numbers. Every number is converted exactly (:mod:`exacthess.core.exact`); sympy
rationals are numbers too. Symbolic entries (sympy symbols and expressions that are not rational
numbers) are kept only where the caller computes over the symbolic domain ``"SR"``
(``exacthess.hessian(..., domain="SR")``); everywhere else they are refused with that advice,
never kept silently in an exact rational matrix.

>>> import sympy
>>> from exacthess import FCN
>>> [p.shape for p in split_params(FCN(2, (1,), 1), [[[1, sympy.Rational(1, 2)]], [[3]]])]
[(1, 2), (1, 1)]
>>> split_params(FCN(2, (1,), 1), [[[1, sympy.Symbol("a")]], [[3]]])
Traceback (most recent call last):
...
exacthess.errors.InvalidTypeError: params[0][0, 1] = a is symbolic (a sympy Symbol); expected exact numbers (ints, Fractions or floats): symbolic parameters need domain='SR', as in exacthess.hessian(arch, params=..., data=..., domain='SR')
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InvalidTypeError, ParamsMismatchError, describe
from ..core.exact import rational_array, to_rational
from ..models.architectures import Architecture, check_architecture

__all__ = ["split_params", "check_params", "symbolic_entry"]


def symbolic_entry(p):
    """``(index, value)`` of the first symbolic entry of the array-like ``p`` (a sympy object that is not
    a rational number), or None."""
    import sympy
    try:
        arr = np.asarray(p, dtype=object)
    except ValueError:  # malformed: the exact conversion says what is wrong with it
        return None
    for idx, v in np.ndenumerate(arr):
        if isinstance(v, sympy.Basic) and not v.is_Rational:
            return idx, v
    return None


def _exact(p, name: str, symbolic: bool) -> np.ndarray:
    found = symbolic_entry(p)
    if found is None:
        return rational_array(p, name)
    if symbolic:  # sympy entries kept, every other number converted exactly
        import sympy
        arr = np.asarray(p, dtype=object)
        out = np.empty(arr.shape, dtype=object)
        for idx, v in np.ndenumerate(arr):
            out[idx] = v if isinstance(v, sympy.Basic) else to_rational(v, f"{name}[{', '.join(map(str, idx))}]")
        return out
    idx, v = found
    where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
    raise InvalidTypeError(f"{where} = {describe(v)} is symbolic (a sympy {type(v).__name__}); expected exact numbers "
                           "(ints, Fractions or floats): symbolic parameters need domain='SR', as in "
                           "exacthess.hessian(arch, params=..., data=..., domain='SR')")


def split_params(arch: Architecture, params, symbolic: bool = False) -> list:
    """``params`` split into arrays of shapes ``arch.param_shapes()``: exact ``fmpq`` entries, or, with
    ``symbolic`` (the caller computes over ``"SR"``), the sympy entries kept as they are.

    Raises:
        InvalidTypeError: ``params`` is not a list or vector of numbers, or has a symbolic entry
            while ``symbolic`` is False (the message says to use ``domain='SR'``).
        ParamsMismatchError: the number of arrays or entries, or a shape, does not match ``arch``.
    """
    shapes = arch.param_shapes()
    if isinstance(params, np.ndarray) and params.ndim == 1 and params.dtype != object or (
        isinstance(params, np.ndarray) and params.ndim == 1 and len(shapes) > 1 and len(params) == arch.n_params
    ):
        flat = _exact(params, "params", symbolic)
        if flat.ndim != 1 or flat.shape[0] != arch.n_params:
            raise ParamsMismatchError(
                f"params has {flat.shape[0]} entries; expected {arch.n_params} for {arch!r}")
        out, i = [], 0
        for s in shapes:
            k = int(np.prod(s))
            out.append(flat[i:i + k].reshape(s))
            i += k
        return out
    if not isinstance(params, (list, tuple, np.ndarray)):
        raise InvalidTypeError(
            f"params = {describe(params)} has type {type(params).__name__}; expected a list of {len(shapes)} arrays "
            f"of shapes {shapes} (or a flat vector of {arch.n_params} numbers)")
    if len(params) != len(shapes):
        raise ParamsMismatchError(
            f"params has {len(params)} arrays; expected {len(shapes)} with shapes {shapes}")
    out = []
    for i, (p, s) in enumerate(zip(params, shapes)):
        arr = _exact(p, f"params[{i}]", symbolic)
        if arr.shape != tuple(s):
            raise ParamsMismatchError(
                f"params[{i}] has shape {arr.shape}; expected {tuple(s)} for {arch!r}")
        out.append(arr)
    return out


def check_params(arch: Architecture, params, symbolic: bool = False) -> list:
    """``params`` validated and split into exact arrays of shapes ``arch.param_shapes()`` (a list of
    arrays, or a flat vector of ``arch.n_params`` numbers; sympy entries kept only with ``symbolic``)."""
    return split_params(check_architecture(arch), params, symbolic)
