"""Another library's curvature matrix, materialised as a float array in its own precision.

:func:`their_matrix` accepts

* a numpy array or a torch tensor of a real float type (float16, bfloat16, float32, float64);
* an operator: anything with ``.shape`` and ``@`` on a vector -- a scipy ``LinearOperator``
  (curvlinops' operators up to 1.x are ones), a torch-based operator such as curvlinops'
  ``CurvatureLinearOperator`` (``@`` on a torch vector);
* a callable ``v -> M v``.

An operator or a callable is materialised **column by column: p products** ``M e_j`` with the
unit vectors ``e_j`` in its dtype (``.dtype``: numpy or torch; ``dtype=`` for a callable,
float64 numpy vectors by default). The precision reported is that of the products it returns.

>>> import numpy as np
>>> t = their_matrix(lambda v: 2 * v, 2)
>>> t.values.tolist(), t.dtype, t.source
([[2.0, 0.0], [0.0, 2.0]], 'float64', 'callable, 2 products')
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import numpy as np

from ..core.errors import InvalidTypeError, InvalidValueError, NonFiniteError, describe

__all__ = ["TheirMatrix", "their_matrix", "DTYPES"]

#: the precisions accepted, with their machine epsilon (bfloat16: torch's ``finfo``)
DTYPES = {"float16": float(np.finfo(np.float16).eps), "bfloat16": 2.0 ** -7,
          "float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}

_KINDS = ("a numpy array or torch tensor of floats, an operator with .shape and @ (a scipy LinearOperator, "
          "a curvlinops operator) or a callable v -> M v")


class TheirMatrix(NamedTuple):
    """Their matrix: ``values`` (float32 or float64; bfloat16 and float16 values widened exactly),
    ``dtype`` (their precision's name), ``eps`` (its machine epsilon), ``source`` (what it was)."""

    values: np.ndarray
    dtype: str
    eps: float
    source: str


def _torch():
    return sys.modules.get("torch")


def _is_tensor(x) -> bool:
    torch = _torch()
    return torch is not None and isinstance(x, torch.Tensor)


def _array(x, name: str):
    """``(float array, dtype name)`` of a numpy array or torch tensor of real floats."""
    if _is_tensor(x):
        t = x.detach().cpu()
        if t.layout != _torch().strided:
            t = t.to_dense()
        if t.is_complex():
            raise InvalidTypeError(f"{name} has complex dtype {t.dtype}; expected real floats (a symmetric "
                                   "curvature matrix is real)")
        if not t.is_floating_point():
            raise InvalidTypeError(f"{name} has dtype {t.dtype}; expected floats (float16, bfloat16, float32 "
                                   "or float64): their precision decides the error bound")
        dtype = str(t.dtype).replace("torch.", "")
        if dtype == "bfloat16":
            return t.float().numpy(), dtype  # every bfloat16 is a float32
        return t.numpy(), dtype
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "c":
            raise InvalidTypeError(f"{name} has complex dtype {x.dtype}; expected real floats (a symmetric "
                                   "curvature matrix is real)")
        if x.dtype.name not in DTYPES:
            raise InvalidTypeError(f"{name} has dtype {x.dtype}; expected floats (float16, float32 or float64): "
                                   "their precision decides the error bound")
        return np.asarray(x), x.dtype.name
    raise InvalidTypeError(f"{name} = {describe(x)} has type {type(x).__name__}; expected a numpy array or a "
                           "torch tensor")


def _unit_vectors(dtype, device):
    """A function ``j -> e_j`` of length ``p`` in ``dtype`` (numpy, or torch for a torch dtype)."""
    torch = _torch()
    if torch is not None and isinstance(dtype, torch.dtype):
        def unit(j, p):
            e = torch.zeros(p, dtype=dtype, device=device)
            e[j] = 1
            return e
        return unit
    try:
        np_dtype = np.dtype(dtype if dtype is not None else np.float64)
    except TypeError:
        raise InvalidTypeError(f"dtype = {describe(dtype)} is not a dtype; expected a numpy or torch float "
                               "dtype") from None
    if np_dtype.name not in DTYPES:
        raise InvalidTypeError(f"dtype = {np_dtype} is not a float dtype; expected float16, float32 or float64")

    def unit(j, p):
        e = np.zeros(p, dtype=np_dtype)
        e[j] = 1
        return e
    return unit


def _materialise(apply, p: int, unit, name: str, kind: str) -> TheirMatrix:
    cols, dtypes = [], set()
    for j in range(p):
        col, dtype = _array(apply(unit(j, p)), f"{name} @ e_{j}")
        if col.shape not in ((p,), (p, 1)):
            raise InvalidValueError(f"{name} @ e_{j} has shape {col.shape}; expected ({p},): {name} must map "
                                    f"vectors of length {p} to vectors of length {p}")
        cols.append(np.asarray(col).reshape(p))
        dtypes.add(dtype)
    dtype = max(dtypes, key=lambda d: DTYPES[d]) if dtypes else "float64"  # the coarsest precision returned
    store = np.float64 if "float64" in dtypes else np.float32  # holds every value exactly
    values = np.stack(cols, axis=1).astype(store) if cols else np.zeros((0, 0))
    return TheirMatrix(values, dtype, DTYPES[dtype], f"{kind}, {p} products")


def their_matrix(theirs, p: int, *, dtype=None, name: str = "theirs") -> TheirMatrix:
    """Their ``p x p`` matrix (see the module doc).

    Args:
        theirs: an array, a tensor, an operator or a callable.
        p: the size (the number of parameters).
        dtype: the dtype of the unit vectors given to a callable (numpy or torch; default
            float64 numpy) or to an operator; for an operator it also states their precision,
            overriding its ``.dtype`` (a wrapper such as ``to_scipy()`` may say float64 for a float32
            computation).
        name: how errors name it.

    Raises:
        InvalidTypeError: not one of the accepted kinds, or a complex or integer dtype.
        InvalidValueError: a shape other than ``p x p`` (naming both shapes).
        NonFiniteError: NaN or infinite entries (their number and the first one).
    """
    if isinstance(theirs, np.ndarray) or _is_tensor(theirs):
        values, dt = _array(theirs, name)
        if values.shape != (p, p):
            raise InvalidValueError(f"{name} has shape {tuple(values.shape)}; the exact matrix has shape ({p}, {p})")
        out = TheirMatrix(values, dt, DTYPES[dt], f"{dt} {'tensor' if _is_tensor(theirs) else 'array'}")
    elif hasattr(theirs, "shape") and hasattr(type(theirs), "__matmul__") and not isinstance(theirs, (str, bytes)):
        shape = tuple(theirs.shape)
        if shape != (p, p):
            raise InvalidValueError(f"{name} has shape {shape}; the exact matrix has shape ({p}, {p})")
        own = getattr(theirs, "dtype", None)
        unit = _unit_vectors(dtype if dtype is not None else own, getattr(theirs, "device", None))
        out = _materialise(lambda v: theirs @ v, p, unit, name, type(theirs).__name__)
        if dtype is not None:  # the caller states their precision (a wrapper may report float64 for float32 work)
            told = str(dtype).replace("torch.", "")
            try:
                told = np.dtype(dtype).name  # numpy dtypes, their types and names
            except TypeError:  # a torch dtype: its name
                pass
            if told in DTYPES:
                out = out._replace(dtype=told, eps=DTYPES[told], source=out.source + f", precision {told} as told")
    elif callable(theirs):
        out = _materialise(theirs, p, _unit_vectors(dtype, None), name, "callable")
    else:
        raise InvalidTypeError(f"{name} = {describe(theirs)} has type {type(theirs).__name__}; expected {_KINDS}")
    values = out.values if out.values.dtype in (np.float32, np.float64) else out.values.astype(np.float32)
    bad = ~np.isfinite(values)
    if bad.any():
        i, j = (int(k) for k in np.argwhere(bad)[0])
        raise NonFiniteError(f"{name} has {int(bad.sum())} non-finite entries (NaN or inf) of {values.size}, the "
                             f"first {name}[{i}, {j}] = {float(values[i, j])!r}; expected finite numbers: their matrix "
                             "overflowed or is undefined there")
    return out._replace(values=values)
