"""Prime fields with roots of unity: primes ``l = 1 (mod L)``, primitive roots, exact DFTs.

All residues are kept below ``2**21`` so that a DFT of length ``n' <= 2048`` can be done as a
float64 matrix product whose integer partial sums stay below ``2**53`` (hence exact in any
summation order), followed by a reduction modulo ``l``.
"""

from __future__ import annotations

import math

import numpy as np
from flint import fmpz

PRIME_LIMIT = 1 << 21


def totient(n: int) -> int:
    out, m, p = n, n, 2
    while p * p <= m:
        if m % p == 0:
            while m % p == 0:
                m //= p
            out -= out // p
        p += 1
    if m > 1:
        out -= out // m
    return out


def prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while p * p <= n:
        if n % p == 0:
            out.append(p)
            while n % p == 0:
                n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


def primes_one_mod(L: int, bits: float, limit: int = PRIME_LIMIT) -> list[int]:
    """Distinct primes ``l = 1 (mod L)``, ``l < limit``, largest first, until
    ``sum(log2 l) > bits``."""
    out: list[int] = []
    total = 0.0
    j = (limit - 2) // L
    while total <= bits:
        if j < 1:
            raise ArithmeticError(f"not enough primes = 1 mod {L} below {limit} for {bits:.0f} bits")
        l = 1 + j * L
        if fmpz(l).is_prime():
            out.append(l)
            total += math.log2(l)
        j -= 1
    return out


def primitive_root_of_unity(L: int, l: int) -> int:
    """An element of exact multiplicative order ``L`` in ``GF(l)`` (``L | l - 1``)."""
    qs = prime_factors(L)
    for g in range(2, l):
        w = pow(g, (l - 1) // L, l)
        if all(pow(w, L // q, l) != 1 for q in qs):
            return w
    raise ArithmeticError(f"no primitive {L}-th root of unity modulo {l}")


def dft_matrix(n: int, omega: int, l: int) -> np.ndarray:
    """``F[u, q] = omega^(u q) mod l`` as float64 (exact small integers)."""
    powers = np.array([pow(omega, e, l) for e in range(n)], dtype=np.int64)
    idx = (np.arange(n)[:, None] * np.arange(n)[None, :]) % n
    return powers[idx].astype(np.float64)


def dft_mod(x: np.ndarray, mats: list[np.ndarray], l: int) -> np.ndarray:
    """Multidimensional DFT mod ``l`` over the last ``len(mats)`` axes of *x* (float64 residues).

    ``out[.., u_1, .., u_d] = sum_q x[.., q_1, .., q_d] prod_a F_a[u_a, q_a] (mod l)``.
    """
    d = len(mats)
    y = x
    for a, f in enumerate(mats):
        axis = y.ndim - d + a
        y = np.moveaxis(y, axis, -1)
        y = np.fmod(y @ f.T, l)
        y = np.moveaxis(y, -1, axis)
    return y


def mod_array(values: np.ndarray, l: int) -> np.ndarray:
    """Object array of Python ints reduced mod ``l`` as float64."""
    return np.vectorize(lambda v: int(v) % l, otypes=[np.int64])(values).astype(np.float64)
