"""The general engine (every activation, every loss) against independent routes.

* sympy: the loss written out explicitly (``tests/general_reference.py``: explicit convolution
  loops, ``Piecewise`` ReLUs, polynomials, explicit MSE / weighted MSE / cross-entropy / BCE sums)
  and differentiated symbolically, evaluated exactly at rational points (softmax and sigmoid values
  replaced by exacthess's rational stand-ins after differentiation); ``H_L``, ``H_o`` and ``H_f``
  compared entry by entry, exactly.
* ``torch.func.hessian`` / ``jacrev`` in float64 at small-integer points, where every float64
  operation is exact; through :func:`exacthess.from_torch` for ReLU / leaky ReLU networks (so the
  conversion is checked too) and hand-written torch functions for polynomial activations.
* mpmath at 50 digits for the stand-ins themselves.
"""

import numpy as np
import pytest
import sympy
from flint import fmpq

import exacthess as eh
import general_reference as ref
from exacthess.core.errors import (InvalidDataError, InvalidOptionError, InvalidTypeError, InvalidValueError,
                                   NonDifferentiableError)
from exacthess.models import from_torch
from exacthess.models.losses import STANDIN_BITS, Loss, loss as parse_loss

# torch.func itself calls the deprecated torch.jit.script (torch 2.13)
TORCH_FUNC_WARNING = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")

ACTS = {"linear": ("linear",), "relu": ("leaky", 0), "leaky_relu(1/4)": ("leaky", "1/4"),
        "poly(0, 1, 1/2)": ("poly", (0, 1, "1/2")), "poly(1, 1, 0, 1/3)": ("poly", (1, 1, 0, "1/3"))}


def net(kind, act):
    return {"fcn": lambda: eh.FCN(2, (2,), 2, bias=True, activation=act),
            "fcn2": lambda: eh.FCN(1, (2, 1), 2, activation=act),
            "cnn1": lambda: eh.CNN((5,), (1,), 3, 2, strides=2, paddings=1, bias=True, activation=act),
            "cnn2": lambda: eh.CNN((2, 2), (1,), (2, 2), 2, strides=2, paddings=1, bias=True, activation=act)}[kind]()


def targets(loss_name, rng, n, K):
    if loss_name == "cross_entropy":
        a = rng.integers(1, 4, size=n)
        return [[fmpq(int(v), 4), 1 - fmpq(int(v), 4)] for v in a]
    if loss_name == "bce":
        return [[fmpq(int(v), 4) for v in rng.integers(0, 5, size=K)] for _ in range(n)]
    return rng.integers(-3, 4, size=(n, K))


def kink_free_point(arch, act_spec, n, seed):
    """Parameters k/2 and integer data, redrawn until no hidden pre-activation is exactly 0
    (decided by the reference's own forward pass)."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        params = [np.vectorize(lambda v: fmpq(int(v), 2), otypes=[object])(rng.integers(-3, 4, size=s))
                  for s in arch.param_shapes()]
        X = rng.integers(-3, 4, size=(n, arch.input_dim))
        if act_spec[0] != "leaky" or all(z != 0 for x in X for z in ref.hidden_preactivations(arch, act_spec, params, x)):
            return params, X, rng
    raise AssertionError("no kink-free point found")  # pragma: no cover


def assert_exact(name, got, want):
    p = want.shape[0]
    assert got.shape == (p, p)
    bad = [(i, j) for i in range(p) for j in range(p) if ref.rat(got[i, j]) != want[i, j]]
    assert not bad, f"{name}: {len(bad)} entries differ; first {bad[0]}: exacthess {got[bad[0]]}, sympy {want[bad[0]]}"


def standins(the_loss, Y):
    """The loss's own rational stand-ins at given outputs, read through its public gradient
    (``p - y`` for cross-entropy, ``s - y`` for BCE)."""
    def fn(i, fvals):
        f = [fmpq(int(v.p), int(v.q)) for v in fvals]
        y = list(Y[i])
        return [g + t for g, t in zip(the_loss.gradient(f, y), y)]
    return fn


# (architecture, activation, loss name, reference loss): every activation and every loss, on FCNs
# (one and two hidden layers) and 1-D / 2-D CNNs with bias, stride and padding
SYMPY_CASES = [
    ("fcn", "linear", "mse", "mse"),
    ("cnn1", "relu", "mse", "mse"),
    ("cnn2", "poly(0, 1, 1/2)", "mse", "mse"),
    ("fcn2", "leaky_relu(1/4)", "mse", "mse"),
    ("fcn", "relu", "weighted_mse(1, 1/2)", ("wmse", (1, "1/2"))),
    ("cnn1", "poly(1, 1, 0, 1/3)", "weighted_mse(3, 1/2)", ("wmse", (3, "1/2"))),
    ("cnn2", "leaky_relu(1/4)", "weighted_mse(1/3, 2)", ("wmse", ("1/3", 2))),
    ("fcn2", "linear", "weighted_mse(2, 1)", ("wmse", (2, 1))),
    ("fcn", "relu", "cross_entropy", "ce"),
    ("cnn1", "leaky_relu(1/4)", "cross_entropy", "ce"),
    ("cnn2", "poly(0, 1, 1/2)", "cross_entropy", "ce"),
    ("fcn2", "poly(1, 1, 0, 1/3)", "cross_entropy", "ce"),
    ("fcn", "leaky_relu(1/4)", "bce", "bce"),
    ("cnn1", "relu", "bce", "bce"),
    ("cnn2", "linear", "bce", "bce"),
    ("fcn2", "poly(1, 1, 0, 1/3)", "bce", "bce"),
]


@pytest.mark.parametrize("case", SYMPY_CASES, ids=["-".join(c[:3]) for c in SYMPY_CASES])
def test_against_sympy(case):
    """H_L, H_o, H_f equal sympy's symbolic Hessians of the explicitly written loss, exactly."""
    kind, act, loss_name, loss_spec = case
    arch = net(kind, act)
    params, X, rng = kink_free_point(arch, ACTS[act], 2, seed=len(act) + 7 * len(loss_name))
    Y = targets(loss_name, rng, 2, arch.output_dim)
    H = eh.hessian(arch, params=params, data=(X, Y), loss=loss_name)
    RL, Ro, Rf, _ = ref.hessians(arch, ACTS[act], loss_spec, params, X, Y, standins(parse_loss(loss_name), Y))
    assert_exact("H_L", H.H_L, RL)
    assert_exact("H_o", H.H_o, Ro)
    assert_exact("H_f", H.H_f, Rf)


def test_cross_entropy_class_indices_against_sympy():
    """Class-index targets are one-hot probability vectors."""
    arch = net("fcn", "relu")
    params, X, _ = kink_free_point(arch, ACTS["relu"], 2, seed=3)
    onehot = [[1, 0], [0, 1]]
    H = eh.hessian(arch, params=params, data=(X, [0, 1]), loss="cross_entropy")
    RL, Ro, _, _ = ref.hessians(arch, ACTS["relu"], "ce", params, X, onehot,
                                standins(parse_loss("cross_entropy"), onehot))
    assert_exact("H_L", H.H_L, RL)
    assert_exact("H_o", H.H_o, Ro)


def test_custom_loss_against_sympy():
    r"""Loss.custom with l = 1/4 sum (f_k - y_k)^4 + 1/2 f_0 f_1 (exact gradient and Hessian given)."""
    half = fmpq(1, 2)
    custom = Loss.custom(lambda f, y: [(f[0] - y[0]) ** 3 + half * f[1], (f[1] - y[1]) ** 3 + half * f[0]],
                         lambda f, y: [[3 * (f[0] - y[0]) ** 2, half], [half, 3 * (f[1] - y[1]) ** 2]],
                         name="quartic")
    explicit = ("custom", lambda f, y: ((f[0] - y[0]) ** 4 + (f[1] - y[1]) ** 4) / 4 + f[0] * f[1] / 2)
    arch = net("fcn", "leaky_relu(1/4)")
    params, X, rng = kink_free_point(arch, ACTS["leaky_relu(1/4)"], 2, seed=11)
    Y = targets("mse", rng, 2, 2)
    H = eh.hessian(arch, params=params, data=(X, Y), loss=custom)
    RL, Ro, Rf, _ = ref.hessians(arch, ACTS["leaky_relu(1/4)"], explicit, params, X, Y)
    assert_exact("H_L", H.H_L, RL)
    assert_exact("H_o", H.H_o, Ro)
    assert_exact("H_f", H.H_f, Rf)


def test_standins_are_rounded_true_values():
    """Softmax stand-ins are positive and sum to exactly 1; softmax and sigmoid stand-ins are within
    2**-b of the true values *relatively* (mpmath, 50 digits; tests/models/test_standins.py checks
    saturated logits and the complements)."""
    import mpmath
    mpmath.mp.dps = 50
    ce, bce = parse_loss("cross_entropy"), parse_loss("bce")
    tol = mpmath.mpf(2) ** -STANDIN_BITS
    for f in ([fmpq(3, 2), fmpq(-1), fmpq(7, 3)], [fmpq(40), fmpq(0), fmpq(-5, 8)]):
        y = [fmpq(0)] * 3
        p = ce.gradient(f, y)
        assert sum(p, fmpq(0)) == 1 and all(v > 0 for v in p)
        e = [mpmath.exp(mpmath.mpf(int(v.p)) / int(v.q)) for v in f]
        for pk, ek in zip(p, e):
            true = ek / sum(e)
            assert abs(mpmath.mpf(int(pk.p)) / int(pk.q) - true) <= tol * true
        s = bce.gradient(f, y)
        for sk, v in zip(s, f):
            true = 1 / (1 + mpmath.exp(-mpmath.mpf(int(v.p)) / int(v.q)))
            assert 0 < sk < 1 and abs(mpmath.mpf(int(sk.p)) / int(sk.q) - true) <= tol * true


# ----- torch.func.hessian in float64 at small-integer points --------------------------------------
def torch_reference(fn, theta, X, Y, weights):
    """H_L, H_o, H_f of 1/2 sum_i sum_k w_k (F_k(x_i) - y_ik)^2 by torch.func in float64."""
    torch = pytest.importorskip("torch")
    X, Y = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    w = torch.tensor(weights, dtype=torch.float64)

    def loss(th):
        return 0.5 * (w * (fn(th, X) - Y) ** 2).sum()
    H = torch.func.hessian(loss)(theta)
    J = torch.func.jacrev(lambda th: fn(th, X))(theta)  # (n, K, p)
    Ho = torch.einsum("nkp,k,nkq->pq", J, w, J)
    return H, Ho, H - Ho


def assert_exact_float(name, got, want):
    """Exact comparison of exacthess's rationals with torch's float64 values (converted exactly)."""
    want = want.detach().numpy()
    assert got.shape == want.shape
    bad = [(i, j) for i, j in np.ndindex(*want.shape) if got[i, j] != fmpq(*float(want[i, j]).as_integer_ratio())]
    assert not bad, f"{name}: {len(bad)} entries differ; first {bad[0]}: exacthess {got[bad[0]]}, torch {want[bad[0]]}"


def nonzero_integers(torch, shape, gen):
    """Nonzero integers in [-3, 3]: exact in float64, and zero pre-activations are rare."""
    v = torch.randint(1, 4, shape, generator=gen) * (2 * torch.randint(0, 2, shape, generator=gen) - 1)
    return v.double()


def integer_data(torch, seed, n, d, K):
    gen = torch.Generator().manual_seed(seed)
    return nonzero_integers(torch, (n, d), gen).numpy(), torch.randint(-2, 3, (n, K), generator=gen).double().numpy()


def sequential_cases(nn):
    return [
        ("fcn-relu-mse", lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 3), nn.ReLU(),
                                               nn.Linear(3, 2)), (3,), "mse", (1, 1)),
        ("cnn2d-leaky-wmse", lambda: nn.Sequential(nn.Conv2d(2, 2, 3, stride=2, padding=1), nn.LeakyReLU(0.25),
                                                   nn.Conv2d(2, 2, 2), nn.LeakyReLU(0.25), nn.Flatten(),
                                                   nn.Linear(8, 2)), (2, 5, 5), "weighted_mse(1/2, 2)", (0.5, 2)),
        ("cnn1d-relu-same-head", lambda: nn.Sequential(nn.Conv1d(1, 2, 3, padding="same"), nn.ReLU(),
                                                       nn.Conv1d(2, 2, 3, stride=2, padding=1), nn.ReLU(),
                                                       nn.Flatten(), nn.Linear(8, 3), nn.ReLU(), nn.Linear(3, 2)),
         (1, 7), "mse", (1, 1)),
    ]


@TORCH_FUNC_WARNING
@pytest.mark.parametrize("which", range(3), ids=["fcn-relu-mse", "cnn2d-leaky-wmse", "cnn1d-relu-same-head"])
def test_from_torch_against_torch_hessian(which):
    """nn.Sequential models with integer weights, read by from_torch; torch.func.hessian of the same
    module (functional_call, parameters in named_parameters order) gives the same matrices."""
    torch = pytest.importorskip("torch")
    name, build, shape, loss_name, weights = sequential_cases(torch.nn)[which]
    model = build().double()
    names = [k for k, _ in model.named_parameters()]
    for seed in range(20):  # the first point without a kink (exacthess refuses kinks)
        gen = torch.Generator().manual_seed(100 * which + seed)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(nonzero_integers(torch, p.shape, gen))
        arch, params = from_torch(model, shape)
        X, Y = integer_data(torch, seed, 3, arch.input_dim, arch.output_dim)
        try:
            H = eh.hessian(arch, params=params, data=(X, Y), loss=loss_name)
            HL = H.H_L
            break
        except NonDifferentiableError:
            continue
    else:  # pragma: no cover
        raise AssertionError("no kink-free point found")
    sizes = [p.numel() for p in model.parameters()]
    shapes = [p.shape for p in model.parameters()]

    def fn(th, Xt):
        parts = torch.split(th, sizes)
        state = {k: v.reshape(s) for k, v, s in zip(names, parts, shapes)}
        return torch.func.functional_call(model, state, (Xt.reshape((-1,) + shape),)).reshape(Xt.shape[0], -1)
    theta = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    TL, To, Tf = torch_reference(fn, theta, X, Y, weights)
    assert_exact_float("H_L", HL, TL)
    assert_exact_float("H_o", H.H_o, To)
    assert_exact_float("H_f", H.H_f, Tf)


def poly(z, coeffs):
    return sum(c * z ** k for k, c in enumerate(coeffs))


POLY_CASES = [
    ("fcn", lambda: eh.FCN(3, (3,), 2, bias=True, activation="poly(1/2, 1, 1/4)"), (0.5, 1, 0.25), "mse", (1, 1)),
    ("cnn1d", lambda: eh.CNN((6,), (2,), 3, 2, strides=2, paddings=1, bias=True, activation="poly(0, 1, 0, 1/4)"),
     (0, 1, 0, 0.25), "weighted_mse(2, 1/2)", (2, 0.5)),
    ("cnn2d", lambda: eh.CNN((3, 3), (2,), (2, 2), 1, paddings=1, bias=True, activation="poly(0, 1, 1/2)"),
     (0, 1, 0.5), "mse", (1,)),
]


@TORCH_FUNC_WARNING
@pytest.mark.parametrize("case", POLY_CASES, ids=[c[0] for c in POLY_CASES])
def test_polynomial_networks_against_torch_hessian(case):
    """Polynomial activations (with bias, stride, padding) against hand-written torch forwards."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    _, build, coeffs, loss_name, weights = case
    arch = build()
    shapes = arch.param_shapes()
    gen = torch.Generator().manual_seed(7)
    theta = torch.cat([torch.randint(-2, 3, s, generator=gen).double().reshape(-1) for s in shapes])
    sizes = [int(np.prod(s)) for s in shapes]
    X, Y = integer_data(torch, 3, 3, arch.input_dim, arch.output_dim)

    def fn(th, Xt):
        W1, b1, W2, b2 = (v.reshape(s) for v, s in zip(torch.split(th, sizes), shapes))
        if isinstance(arch, eh.FCN):
            return poly(Xt @ W1.T + b1, coeffs) @ W2.T + b2
        layer = arch.layers[0]
        if len(arch.input_shape) == 1:
            z = F.conv1d(Xt.reshape(-1, 1, arch.input_shape[0]), W1, b1, stride=layer.stride[1],
                         padding=layer.padding[1])
        else:
            z = F.conv2d(Xt.reshape(-1, 1, *arch.input_shape), W1, b1, stride=layer.stride, padding=layer.padding)
        return poly(z, coeffs).reshape(Xt.shape[0], -1) @ W2.reshape(W2.shape[0], -1).T + b2
    params = [v.reshape(s).numpy() for v, s in zip(torch.split(theta, sizes), shapes)]
    H = eh.hessian(arch, params=params, data=(X, Y), loss=loss_name)
    TL, To, Tf = torch_reference(fn, theta, X, Y, weights)
    assert_exact_float("H_L", H.H_L, TL)
    assert_exact_float("H_o", H.H_o, To)
    assert_exact_float("H_f", H.H_f, Tf)


# ----- kinks ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("act", ["relu", "leaky_relu(1/4)"])
def test_kink_names_sample_layer_unit(act):
    """A pre-activation exactly 0 that moves with the weights (1*2 + 2*(-1) at sample 1): layer 1, unit 0."""
    arch = eh.FCN(2, (3,), 1, activation=act)
    with pytest.raises(NonDifferentiableError) as info:
        eh.hessian(arch, params=[[[1, 2], [3, 4], [5, 6]], [[1, 1, 1]]], data=([[1, 1], [2, -1]], [[0], [0]]))
    err = info.value
    assert (err.sample, err.layer, err.unit) == (1, 1, 0)
    assert "sample 1, layer 1, unit 0" in str(err) and isinstance(err, ValueError)  # a value error (the policy)


def test_kink_in_a_cnn_names_the_channel_major_unit():
    """Unit = channel * positions + position: channel 1, position 1 of a 1-D map of length 3."""
    arch = eh.CNN((3,), (2,), 1, 1, activation="relu", bias=True)
    # channel 0: x + 0 = (1, 2, 3); channel 1: -x + 2 = (1, 0, -1): the zero is unit 1 * 3 + 1 = 4
    with pytest.raises(NonDifferentiableError) as info:
        eh.hessian(arch, params=[[[[1]], [[-1]]], [0, 2], [[[1, 1, 1], [1, 1, 1]]], [0]],
                   data=([[1, 2, 3]], [[0]]))
    assert (info.value.sample, info.value.layer, info.value.unit) == (0, 1, 4)
    x = [[1, -2, 3]]
    with pytest.raises(NonDifferentiableError, match="sample 0, layer 2, unit 0"):
        eh.hessian(eh.FCN(3, (1, 1), 1, activation="relu"), params=[[[1, 1, 1]], [[0]], [[1]]], data=(x, [[0]]))


@pytest.mark.parametrize("act, loss, words", [("relu", "mse", "piecewise"), ("linear", "cross_entropy", "stand-ins"),
                                              ("linear", "bce", "stand-ins")])
def test_symbolic_params_where_symbols_cannot_go(act, loss, words):
    """Signs of symbolic pre-activations, or softmax of symbols, are not defined: a clear error, not sympy's."""
    a, b, c, d, e, f, g, h = sympy.symbols("a:h")
    K = 2
    params = [sympy.Matrix([[a, b], [c, d]]), sympy.Matrix([[e, f], [g, h]])]
    with pytest.raises(eh.errors.InvalidValueError, match=words):
        eh.hessian(eh.FCN(2, (2,), K, activation=act), params=params, data=([[3, 1], [1, 1]], [[1, 0], [0, 1]]),
                   domain="SR", loss=loss)


def test_identically_zero_pre_activation_is_not_a_kink():
    """A zero sample without biases: z = W x = 0 for every W, the unit is constant, the Hessian exists and
    equals sympy's with that unit's derivatives zero (independent route: the same network without it)."""
    arch = eh.FCN(2, (3,), 1, activation="relu")
    params = [[[1, 2], [3, 4], [5, -6]], [[1, 1, 1]]]
    H = eh.hessian(arch, params=params, data=([[1, 1], [0, 0]], [[0], [0]]))
    H1 = eh.hessian(arch, params=params, data=([[1, 1]], [[0]]))  # the zero sample contributes nothing
    assert (H.H_L == H1.H_L).all() and (H.H_o == H1.H_o).all()


def test_polynomial_at_zero_is_smooth():
    """Polynomials have no kink: a zero pre-activation is fine (sympy agrees)."""
    arch = eh.FCN(2, (2,), 1, activation="poly(0, 1, 1/2)")
    params, X, Y = [[[1, 1], [1, -1]], [[1, 2]]], [[1, 1], [2, -1]], [[1], [0]]
    H = eh.hessian(arch, params=params, data=(X, Y))
    RL, _, _, _ = ref.hessians(arch, ("poly", (0, 1, "1/2")), "mse", params, X, Y)
    assert_exact("H_L", H.H_L, RL)


# ----- bad input ------------------------------------------------------------------------------------
def test_unknown_names_list_the_known_ones():
    with pytest.raises(InvalidOptionError, match=r"activation = 'tanh' is not known; expected one of linear, relu, "
                                                 r"leaky_relu\(a\), poly\(c0, c1, ...\)"):
        eh.FCN(2, (2,), 1, activation="tanh")
    with pytest.raises(InvalidOptionError, match=r"loss = 'hinge' is not known; expected one of mse, "
                                                 r"weighted_mse\(w1, ..., wK\), cross_entropy, cross_entropy\(T\), bce"):
        eh.hessian(eh.FCN(2, (), 1), loss="hinge")
    with pytest.raises(InvalidTypeError, match="activation = 3 has type int"):
        eh.FCN(2, (2,), 1, activation=3)
    with pytest.raises(InvalidTypeError, match="loss = 2.5 has type float"):
        eh.hessian(eh.FCN(2, (), 1), loss=2.5)
    with pytest.raises(InvalidTypeError, match="gradient = 3 is not callable"):
        Loss.custom(3, lambda f, y: [[1]])


@pytest.mark.parametrize("spec, words", [
    ("leaky_relu(nan)", "slope 'nan'"), ("leaky_relu(1/0)", "slope '1/0'"), ("leaky_relu(abc)", "slope 'abc'"),
    ("leaky_relu()", "slope ''"), ("poly(1, inf)", "coefficient 'inf'"), ("poly(1, x)", "coefficient 'x'")])
def test_slopes_and_coefficients_must_be_finite_rationals(spec, words):
    with pytest.raises(InvalidValueError, match="is not a finite rational") as info:
        eh.FCN(2, (2,), 1, activation=spec)
    assert words in str(info.value) and repr(spec) in str(info.value)


def test_targets_are_checked_per_sample():
    arch = eh.FCN(2, (), 2)
    X = [[1, 2], [3, 4]]
    cases = [("cross_entropy", [[1, 0], [fmpq(-1, 2), fmpq(3, 2)]], r"data Y\[1\] = \[-1/2, 3/2\] has the negative "
                                                                     r"entry -1/2"),
             ("cross_entropy", [[fmpq(1, 2), fmpq(1, 4)], [1, 0]], r"data Y\[0\] = \[1/2, 1/4\] sums to 3/4"),
             ("cross_entropy", [0, 2], r"data Y\[1\] = 2 is not a class index; expected an int in \[0, 2\)"),
             ("cross_entropy", [0, -1], r"data Y\[1\] = -1 is not a class index"),
             ("cross_entropy", [fmpq(1, 2), 0], r"data Y\[0\] = 1/2 is not a class index"),
             ("bce", [[0, 1], [fmpq(3, 2), 0]], r"data Y\[1\] = \[3/2, 0\] has the entry 3/2 > 1"),
             ("bce", [[0, -1], [1, 0]], r"data Y\[0\] = \[0, -1\] has the negative entry -1"),
             ("bce", [0, 1], r"data Y has shape \(2,\); expected \(n, 2\): bce reads one probability per output"),
             ("bce", [[0], [1]], r"shape \(2, 1\); expected \(n, 2\)")]
    for loss_name, Y, words in cases:
        with pytest.raises(InvalidDataError, match=words):
            eh.hessian(arch, data=(X, Y), loss=loss_name)


def test_bce_with_one_output_reads_a_flat_target_vector():
    """K = 1: targets (n,) or (n, 1) are the same probabilities (no class indices for bce)."""
    arch, X = eh.FCN(2, (2,), 1), [[1, 2], [3, 1], [2, 5]]
    flat = eh.hessian(arch, data=(X, [0, 1, 1]), loss="bce").H_L
    column = eh.hessian(arch, data=(X, [[0], [1], [1]]), loss="bce").H_L
    assert (flat == column).all()


def test_custom_loss_results_are_checked():
    """A custom loss that fails on exact input, or whose Hessian is not symmetric: one clear error naming it."""
    from exacthess.models.losses import Loss
    arch = eh.FCN(2, (2,), 2)
    floats = Loss.custom(lambda f, y: [0.5 * v for v in f], lambda f, y: [[1, 0], [0, 1]], name="half")
    with pytest.raises(eh.errors.InvalidValueError, match=r"gradient of loss 'half' at sample 0 raised TypeError.*fmpq\(1, 2\)"):
        eh.verify(arch, n_samples=3, loss=floats, float_check=False)
    upper = Loss.custom(lambda f, y: list(f), lambda f, y: [[1, 1], [0, 1]], name="upper")
    with pytest.raises(eh.errors.InvalidValueError, match="Hessian of loss 'upper' at sample 0 is not symmetric"):
        eh.verify(arch, n_samples=3, loss=upper, float_check=False)


def test_weighted_mse_weights():
    arch = eh.FCN(2, (), 2)
    words = r"loss = 'weighted_mse\(1, 2, 3\)' has 3 weights; expected 2, one per output of FCN\(.*'weighted_mse\(1, 1\)'"
    with pytest.raises(InvalidValueError, match=words):
        eh.hessian(arch, data=([[1, 2]], [[0, 0]]), loss="weighted_mse(1, 2, 3)")
    for call in (lambda: eh.hessian(arch, n_samples=2, loss="weighted_mse(1, 2, 3)").H_L,
                 lambda: eh.verify(arch, n_samples=2, loss="weighted_mse(1, 2, 3)", float_check=False)):
        with pytest.raises(InvalidValueError, match=words) as info:  # seeded data: refused up front too
            call()
        assert "fmpq" not in str(info.value) and "custom" not in str(info.value)  # no advice for custom losses
    with pytest.raises(InvalidValueError, match=r"weights\[1\] = 0 in loss = 'weighted_mse\(1, 0\)' is not positive"):
        eh.hessian(arch, loss="weighted_mse(1, 0)")
    with pytest.raises(InvalidValueError, match=r"weight 'nan' in loss = 'weighted_mse\(1, nan\)' is not a finite"):
        eh.hessian(arch, loss="weighted_mse(1, nan)")


def test_weighted_mse_is_exactly_rational_and_matches_sympy_symbolically():
    """Over the symbolic ring: weighted MSE of a linear FCN equals the explicit sympy Hessian."""
    arch = eh.FCN(1, (1,), 2)
    a, b, c = sympy.symbols("a b c")
    H = eh.hessian(arch, params=[[[a]], [[b], [c]]], data=([[2]], [[1, -1]]), domain="SR",
                   loss="weighted_mse(1/2, 3)")
    loss = sympy.Rational(1, 2) * (sympy.Rational(1, 2) * (2 * a * b - 1) ** 2 + 3 * (2 * a * c + 1) ** 2)
    want = sympy.hessian(loss, (a, b, c))
    got = H.to_sympy("H_L")
    assert sympy.simplify(got - want) == sympy.zeros(3, 3)


def test_cross_entropy_rows_say_what_is_exact():
    """rank H_o of softmax cross-entropy is rank (C J), exact at the true softmax point (the kernel of
    diag p - pp^T is span(1) for every p > 0); H_f and H_L are exact at the rational stand-ins."""
    r = eh.verify(eh.FCN(4, (3,), 3), n_samples=6, loss="cross_entropy", float_check=False)
    assert "C J" in r.rank_info["H_o"].how and "rank J <=" not in r.rank_info["H_o"].how
    rows = {row.quantity: row.how for row in r.rows}
    assert "exact at the true softmax" in rows["H_o"] and "stand-ins" in rows["H_f"]
