r"""The DFT block-diagonalises a circular multi-channel convolution.

For a kernel ``K[o, i, t]`` (``c_out`` output and ``c_in`` input channels; ``t`` a 1-D or 2-D
tap index with full support ``0..n-1`` per axis) let ``M`` be the matrix of the circular
cross-correlation (stride 1)

.. math:: Y[o, r] = \sum_i \sum_t X[i, (r + t) \bmod n]\, K[o, i, t]

(channel-major vectorisation, spatial positions row-major), ``F[r, u] = z^{r u}`` the
Fourier matrix of a root of unity ``z`` of order n, ``F_d = F (x) ... (x) F`` (d = 1 or 2
factors) and ``V_c = I_c (x) F_d``. Then

.. math:: M\, V_{c_{in}} = V_{c_{out}}\, B, \qquad B[(o, u), (i, u')] = \delta_{u u'}\, P(u)[o, i],
          \qquad P(u)[o, i] = \sum_t K[o, i, t]\, z^{u \cdot t},

i.e. ``V_out^{-1} M V_in`` is block diagonal with the ``c_out x c_in`` blocks ``P(u)``, one
per frequency ``u``; and ``V_c^H V_c = n^d I`` when ``z`` is a primitive n-th root of unity.
Since ``V_c / n^{d/2}`` is unitary, the singular values of ``M`` are the union over ``u`` of
those of ``P(u)`` (Sedghi, Gupta & Long, ICLR 2019; exacthess's ``conv_singular_values``
and ``check_conv_sv_theorem`` rely on it). Kernels with smaller support, and kernels larger
than the input (taps with equal ``t mod n`` add up), are specialisations of the full-support
kernel, so they are covered.

Route (python-flint): the kernel entries and ``z`` are variables of ``Q[z, K]``; every entry
of ``M V_in - V_out B`` reduces to 0 modulo ``z^n - 1`` (so the identity holds for every n-th
root of unity), and ``V^H V - n^d I`` reduces to 0 modulo the cyclotomic polynomial
``Phi_n(z)``, i.e. in the field ``Q(zeta_n) = Q[z]/Phi_n``, where complex conjugation maps
``z`` to ``z^{-1} = z^{n-1}``.

Run: ``python proofs/dft_block_diagonal.py [--thorough]``.
"""

from __future__ import annotations

import itertools
import sys
import types

import numpy as np
from flint import fmpz_poly

from exacthess.proofs.support import covered, poly_ring, poly_zeros, thorough

__all__ = ["STATEMENT", "SIZES", "THOROUGH_SIZES", "check", "check_identity", "check_unitary",
           "main", "test_block_diagonalisation", "test_fourier_basis_unitary"]

STATEMENT = ("DFT block-diagonalisation of a circular multi-channel convolution: M (I (x) F_d) = "
             "(I (x) F_d) blockdiag_u P(u) mod z^n - 1, and V^H V = n^d I in Q(zeta_n)")

#: (d, n, c_in, c_out)
CASES = ([(1, n, ci, co) for n in (2, 3, 4, 5) for ci, co in ((1, 1), (2, 2), (1, 3), (3, 2))]
         + [(2, n, ci, co) for n in (2, 3) for ci, co in ((1, 1), (2, 2), (1, 2), (2, 1))] + [(2, 4, 2, 2)])
CASES_MORE = ([(1, n, ci, co) for n in (6, 7, 8) for ci, co in ((2, 2), (3, 3))]
              + [(2, 4, 1, 3), (2, 5, 2, 2), (2, 6, 1, 1)])


def _listing(cases) -> str:
    parts = []
    for dims in (1, 2):
        ns = sorted({n for d, n, _, _ in cases if d == dims})
        chans = sorted({(ci, co) for d, _, ci, co in cases if d == dims})
        if ns:
            parts.append(f"{dims}-D n in {ns}, (c_in, c_out) in {chans}")
    return "; ".join(parts)


SIZES = _listing(CASES)
THOROUGH_SIZES = "also " + _listing(CASES_MORE)


def reduce_mod_z(p, ctx, n: int):
    """``p`` with every power of ``z`` (variable 0) reduced modulo ``n`` (i.e. mod ``z^n - 1``)."""
    out = {}
    for exps, coeff in p.terms():
        key = (exps[0] % n,) + tuple(exps[1:])
        out[key] = out.get(key, 0) + coeff
    return ctx.from_dict({k: v for k, v in out.items() if v != 0})


def check_identity(dims: int, n: int, c_in: int, c_out: int) -> None:
    """Assert ``M V_in == V_out B`` modulo ``z^n - 1`` (raises ``AssertionError``)."""
    taps = list(itertools.product(range(n), repeat=dims))
    N = n ** dims
    ctx, v = poly_ring([("z", ()), ("K", (c_out, c_in, len(taps)))])
    z, K = v["z"], v["K"]
    positions = taps  # spatial positions r, row-major; same index set as the taps

    def flat(pos):
        idx = 0
        for p in pos:
            idx = idx * n + p
        return idx

    M = poly_zeros(ctx, (c_out * N, c_in * N))
    for o, r in itertools.product(range(c_out), positions):
        for i, (ti, t) in itertools.product(range(c_in), enumerate(taps)):
            col = i * N + flat(tuple((a + b) % n for a, b in zip(r, t)))
            M[o * N + flat(r), col] = M[o * N + flat(r), col] + K[o, i, ti]
    powers = [z ** e for e in range(n)]

    def fourier(c):
        V = poly_zeros(ctx, (c * N, c * N))
        for ch, r, u in itertools.product(range(c), positions, positions):
            V[ch * N + flat(r), ch * N + flat(u)] = powers[sum(a * b for a, b in zip(r, u)) % n]
        return V

    B = poly_zeros(ctx, (c_out * N, c_in * N))
    for o, i, u in itertools.product(range(c_out), range(c_in), positions):
        B[o * N + flat(u), i * N + flat(u)] = sum(
            (K[o, i, ti] * powers[sum(a * b for a, b in zip(u, t)) % n] for ti, t in enumerate(taps)), ctx.constant(0))
    D = np.dot(M, fourier(c_in)) - np.dot(fourier(c_out), B)
    for idx, entry in np.ndenumerate(D):
        rem = reduce_mod_z(entry, ctx, n)
        assert rem.is_zero(), (f"d={dims} n={n} c_in={c_in} c_out={c_out}: entry {idx} of M V - V B is "
                               f"{rem} mod z^{n} - 1, not 0")


def check_unitary(dims: int, n: int, c: int = 1) -> None:
    """Assert ``V^H V = n^d I`` in ``Q(zeta_n)`` for ``V = I_c (x) F_d`` (conj(z) = z^(n-1))."""
    phi = fmpz_poly.cyclotomic(n)
    positions = list(itertools.product(range(n), repeat=dims))
    N = len(positions)
    for ch1, ch2 in itertools.product(range(c), range(c)):
        for a, u in enumerate(positions):
            for b, w in enumerate(positions):
                # (V^H V)[(ch1,u),(ch2,w)] = delta_{ch1 ch2} sum_r conj(z^{r.u}) z^{r.w}
                coeffs = [0] * n
                if ch1 == ch2:
                    for r in positions:
                        e = ((n - 1) * sum(x * y for x, y in zip(r, u)) + sum(x * y for x, y in zip(r, w))) % n
                        coeffs[e] += 1
                expected = N if (ch1 == ch2 and a == b) else 0
                coeffs[0] -= expected
                rem = fmpz_poly(coeffs) % phi
                assert rem == 0, f"d={dims} n={n}: entry ({ch1},{u}),({ch2},{w}) of V^H V - n^d I is {rem} mod Phi_n"


def check(n: int, m: int = 2) -> bool:
    """Both statements for a 2-D kernel with ``m`` input and output channels (True when proven)."""
    try:
        check_identity(2, n, m, m)
        check_unitary(2, n, m)
    except AssertionError:
        return False
    return True


def cases():
    return CASES + (CASES_MORE if thorough() else [])


def test_block_diagonalisation():
    """M (I_{c_in} (x) F_d) = (I_{c_out} (x) F_d) blockdiag_u P(u) modulo z^n - 1, for symbolic kernels (every n-th root of unity z)"""
    for dims, n, c_in, c_out in cases():
        check_identity(dims, n, c_in, c_out)
        covered(f"{dims}-D n={n} c_in={c_in} c_out={c_out}")


def test_fourier_basis_unitary():
    """(I_c (x) F_d)^H (I_c (x) F_d) = n^d I in Q(zeta_n) (conj(zeta) = zeta^(n-1)), so the singular values of M are those of the P(u)"""
    for dims, n in sorted({(d, n) for d, n, _, _ in cases()}):
        check_unitary(dims, n, 2)
        covered(f"{dims}-D n={n} c=2")


def main(argv=None) -> int:
    """Run this file's statements (``python proofs/dft_block_diagonal.py [--thorough]``)."""
    from exacthess.cli.prove import script_main
    module = sys.modules.get(__name__)
    if module is None:  # loaded from its path without registering in sys.modules
        module = types.ModuleType(__name__)
        module.__dict__.update(globals())
    return script_main(module, [] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
