"""One random-point sampler for the generic routes: the report's sampler and the generic prover
draw their primes and variables from :class:`RandomPoint` (same seed, same point), the prime
avoids the given denominator, and the Schwartz--Zippel term is D / 2^30."""

import numpy as np
import pytest
from flint import fmpz

from exacthess import FCN
from exacthess.errors import InvalidValueError
from exacthess.generic.network import SymbolicNetwork
from exacthess.generic.random_points import (PROVER_STREAM, RANGE_BITS, SAMPLER_STREAM, RandomPoint,
                                             schwartz_zippel)
from exacthess.hessian.problem import make_problem
from exacthess.verification.sampler import GenericSampler


def test_same_seed_same_point_and_a_prime_in_range():
    a, b = RandomPoint(3, SAMPLER_STREAM, 2, 1), RandomPoint(3, SAMPLER_STREAM, 2, 1)
    assert a.p == b.p and fmpz(a.p).is_prime() and 2**30 <= a.p < 2**31
    assert np.array_equal(a.uniform((3, 4)), b.uniform((3, 4)))
    x = a.uniform(1000)
    assert x.dtype == np.int64 and x.min() >= 0 and x.max() < a.p


def test_the_prime_avoids_the_denominator():
    p = RandomPoint(0, SAMPLER_STREAM, 0).p
    q = RandomPoint(0, SAMPLER_STREAM, 0, avoid=p * 6)
    assert q.p != p and (p * 6) % q.p
    with pytest.raises(InvalidValueError, match="avoid = 0"):
        RandomPoint(0, SAMPLER_STREAM, 0, avoid=0)


def test_both_callers_draw_from_the_shared_sampler():
    arch = FCN(3, (2,), 2)
    sampler = GenericSampler(make_problem(arch, n_samples=3), seed=5)
    pt = sampler._point(1, None)
    draw = RandomPoint(5, SAMPLER_STREAM, 1, 0)
    assert pt.p == draw.p
    for w in pt.weights:
        assert np.array_equal(np.asarray(w, dtype=np.int64), draw.uniform(np.shape(w), 1 << RANGE_BITS))
    net = SymbolicNetwork(arch, 6)
    q = net.point(7, 1)
    draw = RandomPoint(7, PROVER_STREAM, 1)
    assert q.p == draw.p and q.values[:net.P] == [int(v) for v in draw.uniform(net.P)]


def test_schwartz_zippel():
    assert schwartz_zippel(40) == 40 / 2**30 and schwartz_zippel(3, bits=2) == 0.75
