"""The similarity route of the exact check (see :mod:`exacthess.spectral.theorem`).

The matrix identity ``M V = V' B`` with the Fourier bases ``V, V'`` and
``B = blockdiag(P(u))`` is an identity in ``Z[zeta_L]``; it is checked in ``GF(l)`` for primes
``l = 1 (mod L)`` whose product exceeds ``B_E^phi(L)``, where ``B_E`` bounds every complex
conjugate of an entry of ``M V - V' B``. A non-zero algebraic integer ``e`` lying in the prime
ideals above all these ``l`` would have ``|N(e)| >= prod l``, which is impossible, so the identity
holds exactly; as ``V / sqrt(N')`` and ``V' / sqrt(N')`` are unitary (orthogonality of
characters), the singular values agree. The explicit operator modulo ``l`` comes from the
layer's tap table (:func:`~exacthess.models.toeplitz.toeplitz_operator` over ``GF(l)``).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ..core.domains import GF
from ..core.modular import dft_matrix, dft_mod, mod_array, primes_one_mod, totient
from ..models.geometry import ConvLayer
from ..models.toeplitz import toeplitz_operator
from . import fft
from .charpoly import grid_roots

__all__ = ["similarity_bytes", "check_similarity"]


def similarity_bytes(layer: ConvLayer) -> int:
    """Estimated peak memory: the operator modulo ``l`` and its DFT copies (int64 / float64),
    the phase table and the index temporaries of the operator's assembly."""
    n_freq = layer.out_shape[0] * layer.out_shape[1]
    return 7 * 8 * layer.n_out * layer.n_in + 2 * 8 * n_freq * n_freq + 48 * layer.n_nonzeros


def check_similarity(k_int: np.ndarray, den: int, layer: ConvLayer,
                     progress: Callable[[str], Any] | None = None) -> tuple[bool, str, dict]:
    """``(holds, statement, details)`` of ``M V = V' blockdiag(P(u))`` for the integer kernel
    ``k_int`` (shape ``layer.weight_shape``, object ints) of the circular ``layer``."""
    nprime = layer.out_shape
    n_freq = math.prod(nprime)
    L = math.lcm(*nprime)
    cs = layer.c_in * fft.phases(layer)
    row_abs = max(sum(abs(int(v)) for v in k_int[o].flat) for o in range(layer.c_out))
    b_e = 2 * row_abs + 1
    bits = totient(L) * math.log2(b_e) + 1
    primes = primes_one_mod(L, bits)
    w_int = fft.polyphase_kernel(k_int, layer, object)
    taps = k_int.reshape(layer.c_out, -1)
    holds = True
    for count, l in enumerate(primes, 1):
        if progress is not None:
            progress(f"exact check (similarity): prime {count} of {len(primes)}")
        ring = GF(l)
        mats = [dft_matrix(m, r, l) for m, r in zip(nprime, grid_roots(layer, l))]
        m_mod = toeplitz_operator(layer, ring.convert(taps), ring)  # the explicit operator mod l
        # columns (i, pos) -> (i, b, q) with pos = s*q + b on every axis
        mb = m_mod.reshape(layer.n_out, layer.c_in, nprime[0], layer.stride[0], nprime[1], layer.stride[1])
        mb = mb.transpose(0, 1, 3, 5, 2, 4).reshape([layer.n_out, cs] + list(nprime)).astype(np.float64)
        lhs = dft_mod(mb, mats, l).reshape(layer.c_out, n_freq, cs, n_freq).astype(np.int64)
        p = dft_mod(mod_array(w_int, l), mats, l).reshape(layer.c_out, cs, n_freq).astype(np.int64)
        # phase table E[r, u] = prod_a omega_a^(u_a r_a)
        e = np.ones((1, 1), dtype=np.int64)
        for f in mats:
            e = (e[:, None, :, None] * f.astype(np.int64)[None, :, None, :]) % l
            e = e.reshape(e.shape[0] * e.shape[1], -1)
        rhs = (p[:, None, :, :] * e[None, :, None, :]) % l
        if not np.array_equal(lhs, rhs):
            holds = False
            break
    details = {"primes": primes, "norm_bound_bits": bits, "phi_L": totient(L), "L": L}
    stmt = (
        f"M V = V' diag(P(u)) holds exactly over Z[zeta_{L}] for the {layer.n_out} x {layer.n_in} "
        f"operator (kernel scaled by D = {den}; {len(primes)} primes l = 1 mod {L}, product > "
        f"B^phi(L) = 2^{bits:.0f}); with the unitary Fourier bases this gives sigma(M) = union of "
        f"sigma(P(u)) over {n_freq} blocks of size {layer.c_out} x {cs}"
    )
    return holds, ("NOT: " + stmt) if not holds else stmt, details
