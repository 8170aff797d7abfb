"""Reading convolution kernels: shapes, float64 values, exact rationals, framework layouts.

Conventions (PyTorch): a 1-D kernel is ``[c_out, c_in, k]``, a 2-D kernel
``[c_out, c_in, kh, kw]``. Floats are dyadic rationals and convert exactly
(:func:`exact_kernel`); NaN and infinities are refused with the index of the first one.

>>> exact_kernel([[[0.5, 2]]]).tolist()
[[[1/2, 2]]]
>>> integer_kernel([[[0.5, 0.25]]])
(array([[[2, 1]]], dtype=object), 4)
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
from flint import fmpq, fmpz

from ..core.errors import InvalidTypeError, NonFiniteError, describe
from ..core.exact import rational_array
from .geometry import InvalidKernelError

__all__ = ["kernel_shape", "float_kernel", "exact_kernel", "integer_kernel", "is_exact_input",
           "check_real_entries", "kernel_from_tensorflow"]


def _check_container(kernel: Any, name: str) -> None:
    if isinstance(kernel, (str, bytes, dict, set)) or kernel is None or np.isscalar(kernel):
        raise InvalidTypeError(f"{name} = {describe(kernel)} has type {type(kernel).__name__}; expected an "
                               "array of real numbers [c_out, c_in, k] or [c_out, c_in, kh, kw]")


def kernel_shape(kernel: Any, name: str = "kernel") -> tuple[int, ...]:
    """The shape of *kernel* (a numpy array or nested sequences) without reading its values."""
    _check_container(kernel, name)
    if isinstance(kernel, np.ndarray):
        return tuple(int(s) for s in kernel.shape)
    try:
        return tuple(int(s) for s in np.asarray(kernel, dtype=object).shape)
    except (ValueError, TypeError) as exc:  # ragged lists
        raise InvalidKernelError(f"{name} could not be read as an array: {exc}") from None


def float_kernel(kernel: Any, name: str = "kernel") -> np.ndarray:
    """The kernel as a float64 array; raises for NaN/inf, complex or non-numeric entries.

    Exact inputs (ints, Fractions) are rounded to the nearest float64; huge integers that
    overflow float64 are refused (the spectral functions rescale exactly first)."""
    _check_container(kernel, name)
    if isinstance(kernel, np.ndarray) and kernel.dtype.kind == "c":
        raise InvalidKernelError(f"{name} has complex dtype {kernel.dtype}; expected real numbers")
    if isinstance(kernel, np.ndarray) and kernel.dtype.kind in "iufb":
        arr = kernel.astype(np.float64)
    else:
        shape = kernel_shape(kernel, name)
        flat = []
        for idx, v in zip(np.ndindex(*shape), np.asarray(kernel, dtype=object).flat):
            if isinstance(v, (str, bytes)) or v is None:
                raise InvalidTypeError(f"{name}[{', '.join(map(str, idx))}] = {describe(v)} has type "
                                       f"{type(v).__name__}; expected a real number")
            if isinstance(v, (complex, np.complexfloating)):
                raise InvalidKernelError(f"{name}[{', '.join(map(str, idx))}] = {v!r} is complex; "
                                         "expected real numbers")
            try:
                flat.append(float(v))
            except OverflowError:
                raise InvalidKernelError(f"{name}[{', '.join(map(str, idx))}] = {describe(v)} is too large "
                                         "for float64; expected |value| < 1.8e308") from None
            except (TypeError, ValueError):
                raise InvalidTypeError(f"{name}[{', '.join(map(str, idx))}] = {describe(v)} has type "
                                       f"{type(v).__name__}; expected a real number") from None
        arr = np.array(flat, dtype=np.float64).reshape(shape)
    bad = ~np.isfinite(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NonFiniteError(
            f"{name}[{', '.join(map(str, idx))}] = {float(arr[idx])!r} is not finite; "
            "expected finite numbers"
        )
    return arr


def exact_kernel(kernel: Any, name: str = "kernel") -> np.ndarray:
    """The kernel as an object array of exact ``fmpq`` (floats converted exactly)."""
    _check_container(kernel, name)
    if isinstance(kernel, np.ndarray) and kernel.dtype.kind in "iub":
        return rational_array(kernel.astype(object), name=name)
    if isinstance(kernel, np.ndarray) and kernel.dtype.kind == "c":
        raise InvalidKernelError(f"{name} has complex dtype {kernel.dtype}; expected real numbers")
    shape = kernel_shape(kernel, name)
    if not isinstance(kernel, np.ndarray) or kernel.dtype.kind not in "iufb":
        check_real_entries(kernel, name, shape)
    return rational_array(kernel, name=name)


def check_real_entries(values: Any, name: str, shape: tuple[int, ...] | None = None,
                       complex_error: type = InvalidKernelError) -> None:
    """Refuse entries that are not real numbers: strings, None, containers (wrong type:
    :class:`InvalidTypeError`) and complex numbers (wrong value: ``complex_error``)."""
    arr = np.asarray(values, dtype=object)
    shape = arr.shape if shape is None else shape
    for idx, v in zip(np.ndindex(*shape), arr.flat):
        where = f"{name}[{', '.join(map(str, idx))}]" if idx else name
        if isinstance(v, (complex, np.complexfloating)):
            raise complex_error(f"{where} = {v!r} is complex; expected real numbers")
        if isinstance(v, (str, bytes, list, tuple, dict, set, np.str_, np.bytes_)) or v is None:
            raise InvalidTypeError(f"{where} = {describe(v)} has type {type(v).__name__}; expected a real number")


def integer_kernel(kernel: Any, name: str = "kernel") -> tuple[np.ndarray, int]:
    """``(K_int, D)`` with ``K_int = D * K`` an object array of Python ints and ``D >= 1``
    the least common denominator of the exact kernel entries."""
    exact = exact_kernel(kernel, name)
    den = 1
    for v in exact.flat:
        den = math.lcm(den, int(v.q))
    out = np.empty(exact.shape, dtype=object)
    for idx, v in np.ndenumerate(exact):
        out[idx] = int(v.p) * (den // int(v.q))
    return out, den


def is_exact_input(kernel: Any) -> bool:
    """True if *kernel* holds exact numbers (ints, Fractions, fmpq) rather than floats."""
    if isinstance(kernel, np.ndarray):
        if kernel.dtype.kind in "iub":
            return True
        if kernel.dtype.kind in "fc":
            return False
    arr = np.asarray(kernel, dtype=object)
    return all(
        isinstance(v, (int, np.integer, Fraction, fmpq, fmpz, bool, np.bool_))
        for v in arr.flat
    )


def kernel_from_tensorflow(kernel: Any) -> np.ndarray:
    """Convert a TensorFlow kernel to the PyTorch layout used by this package.

    TensorFlow stores 2-D kernels as ``[kh, kw, c_in, c_out]`` and 1-D kernels as
    ``[k, c_in, c_out]``; both frameworks compute a cross-correlation, so the conversion is a
    pure transpose to ``[c_out, c_in, kh, kw]`` (resp. ``[c_out, c_in, k]``).

    >>> import numpy as np
    >>> kernel_from_tensorflow(np.zeros((3, 5, 2, 7))).shape
    (7, 2, 3, 5)
    """
    _check_container(kernel, "kernel")
    arr = kernel if isinstance(kernel, np.ndarray) else np.asarray(kernel, dtype=object)
    if arr.ndim == 4:
        return np.transpose(arr, (3, 2, 0, 1)).copy()
    if arr.ndim == 3:
        return np.transpose(arr, (2, 1, 0)).copy()
    raise InvalidKernelError(
        f"kernel has {arr.ndim} dimension(s) (shape {arr.shape}); expected a TensorFlow kernel "
        "[kh, kw, c_in, c_out] (4) or [k, c_in, c_out] (3)"
    )
