"""Independent check of certified ranks: every Hessian block's rank by FLINT's exact Gaussian
elimination over Q (``fmpq_mat.rank``: no primes, no certificates), against what the certifier says."""

import numpy as np
from flint import fmpq_mat

from exacthess.hessian.problem import make_problem
from exacthess.hessian.ranks import certified_ranks


def qrank(a: np.ndarray) -> int:
    """The rank over Q of an object array of exact rationals."""
    return fmpq_mat(a.shape[0], a.shape[1], list(a.flat)).rank() if a.size else 0


def check_certified_ranks(arch, n: int, seed: int = 0, loss="mse") -> dict:
    """Certify, then assert for every quantity that its proven bounds bracket the exact rank, that a
    certified value equals it, and that no structural proposal was rejected by the checker (a
    rejected proposal is a bug in the structure code, even when the checker saved the result);
    returns the rank infos (``bounds[1].how`` says what proved each upper bound)."""
    prob = make_problem(arch, n_samples=n, seed=seed, loss=loss)
    _, info, qq = certified_ranks(prob, seed=seed)
    offs = arch.layer_offsets
    for key, r in info.items():
        if key.startswith("H_f["):
            l = int(key[len("H_f[:,"):-1])
            M = qq.full("H_f")[:, offs[l - 1]: offs[l - 1] + arch.layer_param_counts[l - 1]]
        else:
            M = qq.full(key)
        exact = qrank(M)
        assert not r.failures, (arch, loss, key, r.failures)
        assert r.lower <= exact <= r.upper, (arch, loss, key, r, exact)
        if r.certified:
            assert r.value == exact, (arch, loss, key, r.how, exact)
    return info
