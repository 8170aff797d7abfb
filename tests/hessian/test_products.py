"""Jacobian-vector products by forward mode against the Jacobian formed by the engine's contraction
(two independent routes to the same matrix), over Q and modulo a prime."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import exacthess as eh
from exacthess.core.domains import GF, QQ
from exacthess.core.modular import reduce_mod
from exacthess.hessian.problem import make_problem
from exacthess.hessian.products import jacobian_products
from exacthess.hessian.source import ProblemSource

P = 1048573
ACTS = ["linear", "relu", "leaky_relu(1/4)", "poly(1, 1, 1/2)", "poly(0, 1, 0, 1/3)"]


@st.composite
def problems(draw):
    act = draw(st.sampled_from(ACTS))
    bias = draw(st.booleans())
    if draw(st.booleans()):
        arch = eh.FCN(draw(st.integers(1, 3)), tuple(draw(st.lists(st.integers(1, 3), max_size=2))),
                      draw(st.integers(1, 3)), bias=bias, activation=act)
    else:
        arch = eh.CNN((draw(st.integers(3, 5)),), (draw(st.integers(1, 2)),), draw(st.integers(1, 3)),
                      draw(st.integers(1, 2)), paddings=draw(st.integers(0, 1)), bias=bias, activation=act)
    loss = draw(st.sampled_from(["mse", "cross_entropy"])) if arch.output_dim > 1 else "mse"
    return arch, draw(st.integers(1, 4)), draw(st.integers(0, 10**6)), draw(st.sampled_from(["gaussian", "integers"])), loss


@given(problems(), st.integers(0, 3))
def test_forward_mode_products_equal_the_jacobian_times_v(case, k):
    arch, n, seed, point, loss = case
    try:
        problem = make_problem(arch, n_samples=n, seed=seed, point=point, loss=loss)
        source = ProblemSource(problem)
        J = source.exact("J_f")
    except (eh.errors.NonDifferentiableError, eh.errors.ProblemTooLargeError):  # a kink; saturated logits
        return
    rng = np.random.default_rng(seed)
    V = rng.integers(-3, 4, (arch.n_params, k))
    if rng.random() < 0.3:
        V[:] = 0  # the zero direction
    e = source.engine(QQ)
    got = jacobian_products(e, QQ.convert(V.astype(object)))
    want = QQ.matmul(J, QQ.convert(V.astype(object)))
    assert got.shape == want.shape and (got == want).all()
    Jp = reduce_mod(J, P)
    assert (jacobian_products(source.engine(GF(P)), V % P) == Jp @ (V % P) % P).all()
    cols = tuple(sorted(rng.choice(arch.n_params, size=int(rng.integers(0, arch.n_params + 1)), replace=False)))
    sub = source.product("J_f", P, None, cols, (V[list(cols)] % P))
    assert (sub == Jp[:, list(cols)] @ (V[list(cols)] % P) % P).all()
    if loss != "mse" and k:
        CJ = reduce_mod(source.exact("CJ"), P)
        assert (source.product("CJ", P, None, None, V % P) == CJ @ (V % P) % P).all()
