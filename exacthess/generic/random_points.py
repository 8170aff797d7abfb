r"""Random integer points modulo random primes: the one sampler of generic ranks.

Both routes that bound a *generic* rank from below evaluate the Hessian at a random point and
reduce modulo a random prime: :class:`~exacthess.verification.sampler.GenericSampler` (the
report's evidence for a generic statement, with the user's data) and
:class:`~exacthess.generic.prover.GenericProver` (via
:meth:`~exacthess.generic.network.SymbolicNetwork.point`, with random data). Each point is a
:class:`RandomPoint`:

* a generator seeded by ``[seed, stream, index, *extra]`` (``stream`` keeps the callers' points
  independent of each other: :data:`SAMPLER_STREAM`, :data:`PROVER_STREAM`);
* a prime ``p`` drawn first, uniformly from the primes in :math:`[2^{30}, 2^{31})`
  (:func:`~exacthess.core.modular.random_small_prime`), redrawn while it divides ``avoid`` (a
  common denominator of the exact inputs, which must be invertible modulo ``p``);
* then the variables, uniform integers in :math:`[0, B)` (:meth:`RandomPoint.uniform`), with
  :math:`B = 2^{30}` (:data:`RANGE_BITS`) for the sampler and :math:`B = p` for the prover.

**Schwartz--Zippel.** A nonzero polynomial of total degree ``D`` vanishes at a uniform point of
:math:`S^N` with probability at most :math:`D / |S|` (:func:`schwartz_zippel`). A rank modulo
``p`` at an integer point is at most the rational rank there, which is at most the generic rank,
whatever the point and the prime: the lower bound is proven; only the chance of *reaching* the
generic rank is probabilistic.

>>> pt = RandomPoint(0, SAMPLER_STREAM, 1)
>>> x = pt.uniform((2, 3), 1 << RANGE_BITS)
>>> 2**30 <= pt.p < 2**31, x.shape, bool((x >= 0).all() and (x < 2**RANGE_BITS).all())
(True, (2, 3), True)
>>> schwartz_zippel(20)
1.862645149230957e-08
"""

from __future__ import annotations

import numpy as np

from ..core.errors import InvalidValueError
from ..core.modular import SMALL_PRIME_BITS, random_small_prime

__all__ = ["RandomPoint", "schwartz_zippel", "RANGE_BITS", "SAMPLER_STREAM", "PROVER_STREAM"]

#: the sampler's variables are uniform in [0, 2**RANGE_BITS) (below every prime drawn)
RANGE_BITS = SMALL_PRIME_BITS - 1
#: stream of the points of :class:`~exacthess.verification.sampler.GenericSampler`
SAMPLER_STREAM = 29
#: stream of the points of :meth:`~exacthess.generic.network.SymbolicNetwork.point`
PROVER_STREAM = 41


class RandomPoint:
    """One random point: its seeded generator and its prime.

    Args:
        seed: the user's seed; stream: the caller's stream; index: the point's number;
        extra: further ints of the generator's seed (e.g. a variant of the point).
        avoid: a positive integer the prime must not divide (redrawn until ``avoid % p != 0``).
    """

    def __init__(self, seed: int, stream: int, index: int, *extra: int, avoid: int = 1):
        if avoid < 1:
            raise InvalidValueError(f"avoid = {avoid!r} is not positive; expected an int >= 1")
        self.rng = np.random.default_rng([seed, stream, index, *extra])
        while True:
            p = random_small_prime(self.rng)
            if avoid % p:
                break
        self.p = p

    def uniform(self, shape, bound: int | None = None) -> np.ndarray:
        """Independent uniform integers in ``[0, bound)`` (default ``[0, p)``), as int64."""
        return self.rng.integers(0, self.p if bound is None else bound, size=shape, dtype=np.int64)


def schwartz_zippel(degree: int, bits: int = RANGE_BITS) -> float:
    r"""Bound :math:`D / 2^{b}` on the probability that a nonzero polynomial of total degree ``D``
    vanishes at a uniform point of :math:`[0, 2^b)^N`."""
    return degree / 2 ** bits
