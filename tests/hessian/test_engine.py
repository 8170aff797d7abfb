"""The engine's two routes: chosen once per problem, independent of each other, equal where both apply.

On a linear network under the MSE loss the sample-free route (data moments) and the per-sample
route (sample by sample) are two computations of the same matrices: they agree entry by entry,
exactly over Q (and modulo a prime), for every block, every selection of rows and columns, the
residual moment and the assembled ``H_o``, ``H_f``, ``H_L``.
"""

import numpy as np
import pytest

import exacthess as eh
from exacthess.core.domains import GF, QQ
from exacthess.hessian.chain import OperatorChain
from exacthess.hessian.engine import Engine
from exacthess.hessian.persample import PerSample
from exacthess.hessian.problem import make_problem
from exacthess.hessian.route import Route
from exacthess.hessian.samplefree import Moments, SampleFree

NETWORKS = {
    "fcn": lambda: eh.FCN(3, (2,), 2),
    "fcn-bias": lambda: eh.FCN(3, (2, 3), 2, bias=True),
    "cnn": lambda: eh.CNN((5,), (2,), 3, 2, paddings=1),
    "cnn2d-bias": lambda: eh.CNN((3, 3), (2,), (2, 2), 2, strides=1, bias=True),
}


def routes(arch, n, seed, ring=QQ):
    problem = make_problem(arch, n_samples=n, seed=seed)
    chain = OperatorChain(arch, problem.weights, ring)
    return problem, SampleFree(chain, Moments(problem, chain)), PerSample(problem, chain)


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("n", [2, 7])  # fewer samples than inputs (R = X~^T) and more (G = Sigma~)
def test_sample_free_and_per_sample_routes_agree_exactly(name, n):
    arch = NETWORKS[name]()
    problem, free, each = routes(arch, n, seed=n)
    assert problem.sample_free
    assert (free.omega == each.omega).all()
    for H in ("H_o", "H_f", "H_L"):
        A, B = free.full(H), each.full(H)
        assert A.shape == B.shape == (arch.n_params,) * 2
        assert (A == B).all(), H
        assert (A == A.T).all(), H
        assert any(v != 0 for v in A.flat), H  # not trivially equal
    L1 = len(arch.layers)
    for l in range(1, L1 + 1):
        for m in range(1, L1 + 1):
            rows = np.arange(arch.layers[l - 1].n_params)[::2]
            cols = np.arange(arch.layers[m - 1].n_params)[::-1]
            for H in ("H_o", "H_f", "H_L"):
                assert (free.block(H, l, m, rows, cols) == each.block(H, l, m, rows, cols)).all(), (H, l, m)


def test_routes_agree_modulo_a_prime():
    arch = NETWORKS["fcn-bias"]()
    _, free, each = routes(arch, 4, seed=3, ring=GF(10007))
    for H in ("H_o", "H_f", "H_L"):
        assert (free.full(H) == each.full(H)).all(), H


@pytest.mark.parametrize("arch, loss, route", [
    (eh.FCN(3, (2,), 2), "mse", SampleFree),
    (eh.FCN(3, (2,), 2, activation="relu"), "mse", PerSample),
    (eh.FCN(3, (2,), 2), "cross_entropy", PerSample),
    (eh.FCN(3, (2,), 2), "weighted_mse(1, 2)", PerSample),
])
def test_the_engine_chooses_its_route_once(arch, loss, route):
    e = Engine(make_problem(arch, n_samples=3, seed=0, loss=loss))
    assert type(e.rep) is route and isinstance(e.rep, Route)
    assert e.sample_free == (route is SampleFree)
    assert isinstance(e.per_sample, PerSample)
    assert (e.per_sample is e.rep) == (route is PerSample)
    assert (e.full("H_L") == e.rep.full("H_L")).all()


def test_routes_hold_no_pointer_to_the_engine_or_each_other():
    e = Engine(make_problem(eh.FCN(3, (2,), 2), n_samples=3, seed=0))
    e.full("H_L")
    e.per_sample.full("H_L")
    for route in (e.rep, e.per_sample):
        for value in vars(route).values():
            assert not isinstance(value, (Engine, Route)), (type(route).__name__, type(value).__name__)
