"""One small array API over the grounds exacthess computes in.

A *ring* turns exact rationals into arrays and multiplies them; everything else the Hessian
engine does (reshapes, transposes, gathers) is plain numpy indexing, which works on every
ground. This mirrors sympy's ``polys/matrices`` (one matrix API over ZZ, QQ, GF(p)):

* :data:`QQ` -- exact rationals: numpy object arrays of FLINT ``fmpq``; large products go
  through FLINT's ``fmpq_mat``.
* :class:`GF` -- the prime field GF(p), ``p < 2**31``: int64 arrays in ``[0, p)``; products
  are exact float64 BLAS calls on 16-bit halves, so they are fast and never round.
* :data:`SR` -- symbols: numpy object arrays of sympy expressions (tiny networks).
* :data:`F64`, :data:`F32` -- plain float64 / float32 (every product rounded in that
  precision), only to show what the usual float practice would report.
* :data:`ABS` -- float64 magnitudes: every input replaced by its absolute value and every
  subtraction by an addition, so each output bounds ``|exact entry|`` from above. Used only
  to size certificates (Hadamard bounds), never to decide a rank.

>>> F = GF(7)
>>> a = F.convert(np.array([[fmpq(1, 2), fmpq(3)]], dtype=object))
>>> a, F.matmul(a, a.T)
(array([[4, 3]]), array([[4]]))
"""

from __future__ import annotations

import numpy as np
import sympy
from flint import fmpq, fmpq_mat, fmpz

from .errors import InvalidValueError
from .modular import reduce_mod

__all__ = ["DOMAINS", "resolve_domain", "Ring", "QQ", "GF", "SR", "ABS", "F64", "F32"]


class Ring:
    """Interface: ``convert``, ``zeros``, ``eye``, ``add``, ``sub``, ``mul``, ``matmul``, ``sum``."""

    name = "ring"
    exact = True

    def convert(self, arr: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def zeros(self, shape) -> np.ndarray:
        out = np.empty(shape, dtype=object)
        out.fill(self.zero)
        return out

    def eye(self, n: int) -> np.ndarray:
        out = self.zeros((n, n))
        for i in range(n):
            out[i, i] = self.one
        return out

    def add(self, a, b):
        return a + b

    def sub(self, a, b):
        return a - b

    def mul(self, a, b):
        return a * b

    def matmul(self, a, b):
        return np.dot(a, b) if a.shape[1] else self.zeros((a.shape[0], b.shape[1]))

    def bmatmul(self, a, b):
        """Batched product ``a @ b`` over the leading axis (``(n, i, k) @ (n, k, j)``)."""
        if a.shape[-1] == 0:
            return self.zeros(a.shape[:-1] + (b.shape[-1],))
        return np.matmul(a, b)

    def sum(self, a, axis):
        if a.shape[axis] == 0:
            shape = list(a.shape)
            del shape[axis]
            return self.zeros(tuple(shape))
        return a.sum(axis=axis)

    def __repr__(self) -> str:
        return self.name


class _Rationals(Ring):
    name = "QQ"
    zero = fmpq(0)
    one = fmpq(1)

    def convert(self, arr):
        return np.asarray(arr, dtype=object)

    def matmul(self, a, b):
        m, k = a.shape
        n = b.shape[1]
        if k == 0 or m == 0 or n == 0:
            return self.zeros((m, n))
        if m * k * n <= 20_000:
            return np.dot(a, b)
        prod = fmpq_mat(m, k, a.ravel().tolist()) * fmpq_mat(k, n, b.ravel().tolist())
        return np.array(prod.entries(), dtype=object).reshape(m, n)

    def bmatmul(self, a, b):
        if a.shape[1] * a.shape[2] * b.shape[2] <= 20_000:
            return super().bmatmul(a, b)
        return np.stack([self.matmul(x, y) for x, y in zip(a, b)]) if len(a) else self.zeros(a.shape[:-1] + b.shape[-1:])


class GF(Ring):
    """The prime field GF(p) for a prime ``2 < p < 2**31``."""

    exact = True

    def __init__(self, p: int):
        from .errors import InvalidTypeError, describe
        from .validate import is_int
        if not is_int(p):
            raise InvalidTypeError(f"p = {describe(p)} has type {type(p).__name__}; expected a prime 2 < p < 2**31")
        p = int(p)
        if not (2 < p < 2**31) or not fmpz(p).is_prime():
            raise InvalidValueError(f"p = {p} is not valid; expected a prime 2 < p < 2**31")
        self.p = p
        self.name = f"GF({p})"
        self.zero = 0
        self.one = 1

    def __eq__(self, other):
        return isinstance(other, GF) and other.p == self.p

    def __hash__(self):
        return hash(("GF", self.p))

    def convert(self, arr):
        return reduce_mod(arr, self.p)

    def zeros(self, shape):
        return np.zeros(shape, dtype=np.int64)

    def eye(self, n):
        return np.eye(n, dtype=np.int64)

    def add(self, a, b):
        return (a + b) % self.p

    def sub(self, a, b):
        return (a - b) % self.p

    def mul(self, a, b):
        return (a * b) % self.p

    def sum(self, a, axis):
        return np.sum(a, axis=axis) % self.p  # p < 2**31: up to 2**32 terms fit in int64

    def matmul(self, a, b):
        """Exact ``a @ b mod p`` with float64 BLAS: split entries into 16-bit halves."""
        return self.bmatmul(a, b)

    def bmatmul(self, a, b):
        """Exact (batched) ``a @ b mod p`` with float64 BLAS.

        For ``p < 2**21`` one product per chunk of ``2**53 // (p - 1)**2`` inner terms (every
        partial sum of products of residues stays below ``2**53``, hence exact); otherwise the
        entries are split into 16-bit halves (four products)."""
        p = self.p
        k = a.shape[-1]
        out_shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
        if k == 0:
            return np.zeros(out_shape, dtype=np.int64)
        if p < 1 << 21:
            # x - p rint(x / p) is exact for integers |x| < 2^53 (and far cheaper than fmod)
            step = ((1 << 53) - 2 * p) // ((p - 1) ** 2)
            af, bf = a.astype(np.float64), b.astype(np.float64)
            acc = None
            for s0 in range(0, k, step):
                part = np.matmul(af[..., s0:s0 + step], bf[..., s0:s0 + step, :])
                if acc is not None:
                    part += acc
                part -= p * np.rint(part * (1.0 / p))
                acc = part
            out = acc.astype(np.int64)
            out[out < 0] += p
            return out
        a1, a0 = (a >> 16).astype(np.float64), (a & 0xFFFF).astype(np.float64)
        b1, b0 = (b >> 16).astype(np.float64), (b & 0xFFFF).astype(np.float64)
        out = np.zeros(out_shape, dtype=np.int64)
        step = 1 << 19  # keeps every partial sum below 2**53
        for s in range(0, k, step):
            sl = slice(s, s + step)
            hh = np.matmul(a1[..., sl], b1[..., sl, :]).astype(np.int64) % p
            hl = (np.matmul(a1[..., sl], b0[..., sl, :]) + np.matmul(a0[..., sl], b1[..., sl, :])).astype(np.int64) % p
            ll = np.matmul(a0[..., sl], b0[..., sl, :]).astype(np.int64) % p
            t = (hh * 65536) % p
            t = ((t + hl) * 65536) % p
            out = (out + t + ll) % p
        return out


def _to_float(v) -> float:
    """``float(v)``, or +-inf for an exact value beyond the float64 range (IEEE overflow)."""
    try:
        return float(v)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")


class _Symbols(Ring):
    name = "SR"
    zero = sympy.Integer(0)
    one = sympy.Integer(1)

    def convert(self, arr):
        out = np.empty(np.shape(arr), dtype=object)
        for idx, v in np.ndenumerate(np.asarray(arr, dtype=object)):
            out[idx] = v if isinstance(v, sympy.Basic) else sympy.Rational(int(v.p), int(v.q))
        return out

    def matmul(self, a, b):
        out = super().matmul(a, b)
        return out


class _Magnitudes(Ring):
    name = "ABS"
    exact = False
    zero = 0.0
    one = 1.0

    def convert(self, arr):
        return np.array([abs(float(v)) for v in np.asarray(arr, dtype=object).flat],
                        dtype=np.float64).reshape(np.shape(arr))

    def zeros(self, shape):
        return np.zeros(shape)

    def eye(self, n):
        return np.eye(n)

    def sub(self, a, b):
        return a + b

    def matmul(self, a, b):
        return a @ b


class _Floats(Ring):
    """IEEE floats with ordinary signs (numpy ``dtype``): the common practice, for comparison only.

    Inputs are rounded to ``dtype`` once; every sum and product is then computed in ``dtype``
    (numpy keeps float32 operands in float32).
    """

    exact = False

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.name = {"float64": "F64", "float32": "F32"}[self.dtype.name]
        self.zero = self.dtype.type(0)
        self.one = self.dtype.type(1)

    def convert(self, arr):
        a = np.asarray(arr)
        if a.dtype.kind in "fiu":
            return a.astype(self.dtype)
        with np.errstate(over="ignore"):  # beyond the float range: +-inf, as float arithmetic gives
            return np.array([_to_float(v) for v in a.flat], dtype=np.float64).reshape(a.shape).astype(self.dtype)

    def zeros(self, shape):
        return np.zeros(shape, dtype=self.dtype)

    def eye(self, n):
        return np.eye(n, dtype=self.dtype)

    def matmul(self, a, b):
        return a @ b


QQ = _Rationals()
F64 = _Floats(np.float64)
F32 = _Floats(np.float32)
SR = _Symbols()
ABS = _Magnitudes()


#: the number domains, as named everywhere in exacthess (``domain=``)
DOMAINS = ("QQ", "GF(p)", "SR", "float64", "float32")


def resolve_domain(domain, name: str = "domain") -> Ring:
    """The :class:`Ring` of a domain name: ``"QQ"``, ``"GF(p)"``, ``"SR"``, ``"float64"``, ``"float32"``.

    A ring object and (for ``GF(p)``) a prime ``p`` as an int are accepted too.

    >>> resolve_domain("GF(7)"), resolve_domain("QQ")
    (GF(7), QQ)
    """
    from .errors import InvalidOptionError, InvalidTypeError, describe
    from .validate import is_int
    if isinstance(domain, Ring):
        return domain
    if is_int(domain):
        return GF(int(domain))
    if not isinstance(domain, str):
        raise InvalidTypeError(f"{name} = {describe(domain)} has type {type(domain).__name__}; "
                               f"expected one of {', '.join(map(repr, DOMAINS))}")
    key = domain.strip()
    table = {"QQ": QQ, "Q": QQ, "SR": SR, "float64": F64, "F64": F64, "float32": F32, "F32": F32}
    if key in table:
        return table[key]
    if key.upper().startswith("GF(") and key.endswith(")"):
        text = key[3:-1].strip()
        p = int(text) if text.isdigit() else None
        if p is None or not (2 < p < 2**31) or not fmpz(p).is_prime():
            raise InvalidValueError(f"{name} = {domain!r} is not a prime field; expected GF(p) with a prime "
                                    "2 < p < 2**31, e.g. 'GF(2147483629)'")
        return GF(p)
    raise InvalidOptionError(f"{name} = {domain!r} is not a known option; expected one of "
                             f"{', '.join(map(repr, DOMAINS))}")
