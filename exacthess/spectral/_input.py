"""Validation of kernels, shapes, strides and paddings shared by the spectral modules.

Conventions (PyTorch): a 1-D kernel is ``[c_out, c_in, k]``, a 2-D kernel
``[c_out, c_in, kh, kw]``; ``input_shape`` lists the spatial sizes only (``(n,)`` or
``(h, w)``; an int is accepted in 1-D).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from flint import fmpq, fmpz

from ..core.errors import describe
from ..core.exact import rational_array
from .errors import (
    InvalidInputShapeError,
    InvalidKernelError,
    InvalidPaddingError,
    InvalidStrideError,
    NonFiniteError,
)

_U = 2.0**-53  # unit roundoff of IEEE binary64


@dataclass(frozen=True)
class ConvSpec:
    """A validated convolution: sizes of everything, no data."""

    c_out: int
    c_in: int
    ksize: tuple[int, ...]
    n: tuple[int, ...]
    stride: tuple[int, ...]
    padding: str | int

    @property
    def dim(self) -> int:
        return len(self.n)

    @property
    def out_shape(self) -> tuple[int, ...]:
        if self.padding == "circular":
            return tuple(n // s for n, s in zip(self.n, self.stride))
        p = int(self.padding)
        return tuple((n + 2 * p - k) // s + 1 for n, k, s in zip(self.n, self.ksize, self.stride))

    @property
    def rows(self) -> int:
        return self.c_out * math.prod(self.out_shape)

    @property
    def cols(self) -> int:
        return self.c_in * math.prod(self.n)

    @property
    def phases(self) -> int:
        """``S = prod(stride)``: the number of polyphase components per input channel."""
        return math.prod(self.stride)


def is_exact_input(kernel: Any) -> bool:
    """True if *kernel* holds exact numbers (ints, Fractions, fmpq) rather than floats."""
    if isinstance(kernel, np.ndarray):
        if kernel.dtype.kind in "iub":
            return True
        if kernel.dtype.kind in "fc":
            return False
    arr = np.asarray(kernel, dtype=object)
    return all(
        isinstance(v, (int, np.integer, Fraction, fmpq, fmpz)) and not isinstance(v, bool)
        or isinstance(v, (bool, np.bool_))
        for v in arr.flat
    )


def _kernel_shape(kernel: Any) -> tuple[int, ...]:
    if isinstance(kernel, np.ndarray):
        return kernel.shape
    try:
        return np.asarray(kernel, dtype=object).shape
    except Exception as exc:  # ragged lists
        raise InvalidKernelError(f"kernel could not be read as an array: {exc}") from None


def float_kernel(kernel: Any, name: str = "kernel") -> np.ndarray:
    """The kernel as a float64 array; raises for NaN/inf, complex or non-numeric entries."""
    if isinstance(kernel, np.ndarray) and kernel.dtype.kind == "c":
        raise InvalidKernelError(f"{name} has complex dtype {kernel.dtype}; expected real numbers")
    if isinstance(kernel, np.ndarray) and kernel.dtype.kind in "iufb":
        arr = kernel.astype(np.float64)
    else:
        try:
            arr = np.array([float(v) for v in np.asarray(kernel, dtype=object).flat], dtype=np.float64)
            arr = arr.reshape(_kernel_shape(kernel))
        except (TypeError, ValueError) as exc:
            raise InvalidKernelError(
                f"{name} = {describe(kernel)} has non-numeric entries ({exc}); expected real numbers"
            ) from None
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
    if isinstance(kernel, np.ndarray) and kernel.dtype.kind in "iub":
        return rational_array(kernel.astype(object), name=name)
    return rational_array(kernel, name=name)


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


def _positive_ints(value: Any, name: str, count: int, what: str, err: type) -> tuple[int, ...]:
    vals = (value,) * count if isinstance(value, (int, np.integer)) and count >= 1 else value
    try:
        vals = tuple(vals)
    except TypeError:
        raise err(f"{name} = {describe(value)} is not {what}") from None
    if len(vals) != count:
        raise err(f"{name} = {describe(value)} has {len(vals)} entries; expected {count} ({what})")
    out = []
    for i, v in enumerate(vals):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
            raise err(f"{name}[{i}] = {describe(v)} is not a positive integer; expected {what}")
        out.append(int(v))
    return tuple(out)


def validate(
    kernel: Any, input_shape: Any, stride: Any = 1, padding: Any = "circular"
) -> ConvSpec:
    """Check the shapes and return a :class:`ConvSpec` (the kernel values are not read)."""
    shape = _kernel_shape(kernel)
    if len(shape) not in (3, 4):
        raise InvalidKernelError(
            f"kernel has {len(shape)} dimension(s) (shape {tuple(shape)}); expected 3 "
            "([c_out, c_in, k]) or 4 ([c_out, c_in, kh, kw])"
        )
    if any(s == 0 for s in shape):
        raise InvalidKernelError(f"kernel has an empty axis (shape {tuple(shape)}); expected sizes >= 1")
    dim = len(shape) - 2
    if dim == 1 and isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        input_shape = (int(input_shape),)
    n = _positive_ints(
        input_shape, "input_shape", dim,
        f"{dim} positive spatial size(s) for a {dim}-D kernel of shape {tuple(shape)}",
        InvalidInputShapeError,
    )
    s = _positive_ints(stride, "stride", dim, f"{dim} positive integer stride(s)", InvalidStrideError)
    if isinstance(padding, str):
        if padding != "circular":
            raise InvalidPaddingError(
                f"padding = {padding!r} is not understood; expected 'circular' or an int >= 0"
            )
        for i, (ni, si) in enumerate(zip(n, s)):
            if ni % si:
                raise InvalidStrideError(
                    f"stride[{i}] = {si} does not divide input_shape[{i}] = {ni}; expected a "
                    "divisor of the input size for circular padding"
                )
    else:
        if isinstance(padding, (bool, np.bool_)) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise InvalidPaddingError(
                f"padding = {describe(padding)} is not 'circular' or an int >= 0; expected one of those"
            )
        padding = int(padding)
        for i, (ni, ki, si) in enumerate(zip(n, shape[2:], s)):
            if ni + 2 * padding < ki:
                raise InvalidPaddingError(
                    f"padding = {padding} leaves input_shape[{i}] + 2*padding = {ni + 2 * padding} "
                    f"smaller than the kernel size {ki}; expected a padded input at least as large "
                    "as the kernel"
                )
    return ConvSpec(int(shape[0]), int(shape[1]), tuple(int(k) for k in shape[2:]), n, s, padding)
