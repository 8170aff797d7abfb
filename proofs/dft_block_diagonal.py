"""Symbolic check: the 2-D DFT block-diagonalises a circular multi-channel convolution.

For a symbolic kernel ``K[o, i, p, q]`` (m = 2 channels in and out, full n x n support, n = 2
and n = 3), build the operator ``M`` of ``Y[o, r, s] = sum_i sum_{p,q} X[i, r+p, s+q] K[o,i,p,q]``
(indices mod n, channel-major vectorisation), the Fourier basis ``V = I_m (x) (F (x) F)`` with
``F[r, u] = w^(r u)``, ``w = exp(2 pi i / n)``, and check with sympy that

    M V = V B,   B[(o, u, v), (i, u', v')] = delta_{uu'} delta_{vv'} P(u, v)[o, i],
    P(u, v)[o, i] = sum_{p, q} K[o, i, p, q] w^(u p + v q),

i.e. ``V^{-1} M V`` is block diagonal with the m x m blocks ``P(u, v)`` (up to the ordering of
rows/columns). Since ``V / n`` is unitary, the singular values of ``M`` are the union of those
of the blocks. The entries of ``V`` are powers of a symbol ``z``; every entry of ``M V - V B``
is reduced modulo ``z^n - 1``, so the identity holds for ``z = w`` (indeed for every n-th root of
unity). Finally ``V^H V = n^2 I`` is checked at ``z = w = exp(2 pi i / n)`` with sympy's exact
roots of unity.

Run: ``python proofs/dft_block_diagonal.py``.
"""

from __future__ import annotations

import itertools
import sys

import sympy as sp


def check(n: int, m: int = 2) -> bool:
    w = sp.exp(2 * sp.pi * sp.I / n)
    K = {(o, i, p, q): sp.Symbol(f"K_{o}{i}{p}{q}") for o, i, p, q in itertools.product(range(m), range(m), range(n), range(n))}
    N = n * n
    M = sp.zeros(m * N, m * N)
    for o, r, s in itertools.product(range(m), range(n), range(n)):
        row = o * N + r * n + s
        for i, p, q in itertools.product(range(m), range(n), range(n)):
            col = i * N + ((r + p) % n) * n + ((s + q) % n)
            M[row, col] += K[(o, i, p, q)]
    # symbolic root of unity z with z^n = 1 handled by reducing exponents mod n
    z = sp.Symbol("z")
    F = sp.Matrix(n, n, lambda r, u: z ** ((r * u) % n))
    FF = sp.kronecker_product(F, F)
    V = sp.kronecker_product(sp.eye(m), FF)

    def P(u, v, o, i):
        return sum(K[(o, i, p, q)] * z ** ((u * p + v * q) % n) for p in range(n) for q in range(n))

    B = sp.zeros(m * N, m * N)
    for o, i, u, v in itertools.product(range(m), range(m), range(n), range(n)):
        B[o * N + u * n + v, i * N + u * n + v] = P(u, v, o, i)
    D = (M * V - V * B).expand()
    # reduce modulo z^n - 1 (every power of z is a power of the root of unity w)
    for idx in range(D.rows * D.cols):
        rem = sp.rem(sp.Poly(D[idx], z), sp.Poly(z**n - 1, z))
        if not rem.is_zero:
            return False
    # and confirm that V is invertible with V^H V = n^2 I at z = w (unitary up to scale)
    Vw = V.subs(z, w)
    G = sp.simplify((Vw.H * Vw - N * sp.eye(m * N)).applyfunc(lambda e: sp.nsimplify(sp.expand_complex(e))))
    return G == sp.zeros(m * N, m * N)


def main() -> int:
    ok = True
    for n in (2, 3):
        res = check(n)
        print(f"n = {n}, m = 2: M V == V blockdiag(P(u, v)) and V^H V = n^2 I: {res}")
        ok &= res
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
