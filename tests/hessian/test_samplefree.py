"""The sample-free route's blocks (``exacthess.hessian.samplefree``) against independent routes.

Blocks between fully-connected layers are formed from small Kronecker factors
(``(T_{>l}^T T_{>m}) (x) (T_{<l} Sigma~ T_{<m}^T)`` for ``H_o``, ``P[s, o'] M[s', o]`` for ``H_f``), and when
rows and columns are selected only those entries. Every block ``(l, m)`` of ``H_o``, ``H_f`` and ``H_L``,
whole and at drawn rows and columns (unsorted, repeated, empty), is compared exactly, entry by entry, with
the same entries of the whole Hessian from

* the per-sample route (:class:`~exacthess.hessian.persample.PerSample`: Jacobians and output gradients
  sample by sample; no data moments, no Kronecker factors), over Q and modulo a prime near ``2^31``, on
  drawn FCNs (with and without biases, 1 to 3 hidden layers, widths 1 included, fewer samples than
  inputs and more, zero inputs, zero samples, zero weights), CNNs (weight-shared layers, dense heads) and
  chains of convolutions with one output position (taps reading padding, taps wrapping onto one input);
* ``torch.func.hessian`` / ``jacrev`` in float64 at few-bit dyadic points (every float64 operation exact);
* sympy's Hessian of the loss written out with explicit loops (``tests/symbolic_reference.py``), on tiny FCNs;

and the selected entries with the slices of the whole blocks. A selection from a large FCN never forms a
whole block (``tracemalloc``).
"""

import tracemalloc
from fractions import Fraction
from unittest import mock

import numpy as np
import pytest
from flint import fmpq
from hypothesis import given, strategies as st

import exacthess as eh
from differential_strategies import cnns, inputs, parameters
from exacthess.core.domains import GF, QQ
from exacthess.hessian.chain import OperatorChain
from exacthess.hessian.persample import PerSample
from exacthess.hessian.problem import make_problem
from exacthess.hessian.samplefree import Moments, SampleFree
from exacthess.hessian.source import ProblemSource
from exacthess.models.geometry import ConvLayer
from symbolic_reference import symbolic_hessians

NAMES = ("H_o", "H_f", "H_L")
P = 2147483629  # the largest prime GF(p) takes: products of residues need all of int64
#: few-bit dyadic values, 0 included (exact in float64 through every product of the small nets below)
HALVES = tuple(Fraction(v, 2) for v in range(-4, 5))


@st.composite
def fcn_points(draw, max_input=5, max_width=4, max_output=3, max_samples=6, values=HALVES):
    """``(arch, params, X, Y)``: an FCN with 1 to 3 hidden layers of widths ``1..max_width``, with or without
    biases, values from ``values``; zero weights (a whole weight or bias array), input coordinates zero in
    every sample and zero samples on purpose, and any number of samples (fewer than the inputs or more)."""
    widths = draw(st.lists(st.integers(1, max_width), min_size=1, max_size=3))
    arch = eh.FCN(draw(st.integers(1, max_input)), widths, draw(st.integers(1, max_output)), bias=draw(st.booleans()))
    value = st.sampled_from(values)
    params = [np.array([draw(value) for _ in range(int(np.prod(s)))], dtype=object).reshape(s)
              for s in arch.param_shapes()]
    for k in draw(st.sets(st.integers(0, len(params) - 1), max_size=2)):
        params[k][...] = Fraction(0)
    n, d = draw(st.integers(1, max_samples)), arch.input_dim
    X = [[draw(value) for _ in range(d)] for _ in range(n)]
    for j in draw(st.sets(st.integers(0, d - 1), max_size=d)):
        for row in X:
            row[j] = Fraction(0)
    if draw(st.booleans()):
        X[draw(st.integers(0, n - 1))] = [Fraction(0)] * d
    Y = [[draw(value) for _ in range(arch.output_dim)] for _ in range(n)]
    return arch, params, X, Y


@st.composite
def cnn_points(draw):
    """A linear CNN (1-D or 2-D: weight-shared layers, then a dense head) at a drawn point (with zero
    weights, zero inputs, duplicate and zero samples: ``tests/differential_strategies.py``)."""
    arch = draw(cnns("linear", draw(st.sampled_from((1, 2)))))
    params = draw(parameters(arch, "dyadic"))
    X, _ = draw(inputs(arch.input_dim, "dyadic"))
    Y = [[draw(st.sampled_from(HALVES)) for _ in range(arch.output_dim)] for _ in X]
    return arch, params, X, Y


@st.composite
def unshared_chain_points(draw):
    """A chain of convolutions with one output position each (so no weight sharing): kernels covering the
    zero-padded input (taps reading padding) or circular with the stride the input width (taps wrapping onto
    one input coordinate), at a drawn point as :func:`cnn_points`."""
    bias, c, shape, layers = draw(st.booleans()), draw(st.integers(1, 2)), (1, draw(st.integers(1, 3))), []
    for _ in range(draw(st.integers(1, 3))):
        c_out = draw(st.integers(1, 3))
        if draw(st.booleans()):
            pad = draw(st.integers(0, 1))
            layer = ConvLayer(c, c_out, shape, (1, shape[1] + 2 * pad), padding=(0, pad), bias=bias)
        else:
            layer = ConvLayer(c, c_out, shape, (1, draw(st.integers(1, shape[1] + 2))), stride=(1, shape[1]),
                              bias=bias, padding_mode="circular")
        layers.append(layer)
        c, shape = c_out, layer.out_shape
    arch = eh.Architecture(layers=tuple(layers), activation=eh.models.activation("linear"))
    params = draw(parameters(arch, "dyadic"))
    X, _ = draw(inputs(arch.input_dim, "dyadic"))
    Y = [[draw(st.sampled_from(HALVES)) for _ in range(arch.output_dim)] for _ in X]
    return arch, params, X, Y


def sample_free(arch, params, X, Y, ring=QQ):
    problem = make_problem(arch, params=params, data=(X, Y))
    assert problem.sample_free
    chain = OperatorChain(arch, problem.weights, ring)
    return problem, chain, SampleFree(chain, Moments(problem, chain))


def assert_blocks(route, reference: dict, draw) -> None:
    """Every block of the route, whole and at drawn rows and columns, equals the reference's entries; the
    selected entries equal the slices of the whole block; the assembled matrices equal the reference."""
    arch = route.chain.arch
    offsets, counts = arch.layer_offsets, arch.layer_param_counts
    L1 = len(counts)
    for name in NAMES:
        ref = reference[name]
        assert ref.shape == (arch.n_params,) * 2
        for l in range(1, L1 + 1):
            for m in range(1, L1 + 1):
                ol, om = offsets[l - 1], offsets[m - 1]
                whole = route.block(name, l, m)
                assert whole.shape == (counts[l - 1], counts[m - 1])
                assert (whole == ref[ol:ol + counts[l - 1], om:om + counts[m - 1]]).all(), (name, l, m)
                rows = np.array(draw(st.lists(st.integers(0, counts[l - 1] - 1), max_size=counts[l - 1] + 2)),
                                dtype=np.int64)
                cols = np.array(draw(st.lists(st.integers(0, counts[m - 1] - 1), max_size=counts[m - 1] + 2)),
                                dtype=np.int64)
                part = route.block(name, l, m, rows, cols)
                assert part.shape == (len(rows), len(cols)), (name, l, m)
                assert (part == whole[np.ix_(rows, cols)]).all(), (name, l, m, rows, cols)
                assert (part == ref[np.ix_(ol + rows, om + cols)]).all(), (name, l, m, rows, cols)
        assert (route.full(name) == ref).all(), name


@given(point=st.one_of(fcn_points(), cnn_points(), unshared_chain_points()), modular=st.booleans(), data=st.data())
def test_blocks_equal_the_per_sample_route(point, modular, data):
    """Over Q and modulo a prime near 2^31, every block and selection equals the per-sample route's Hessian."""
    problem, chain, route = sample_free(*point, ring=GF(P) if modular else QQ)
    each = PerSample(problem, chain)
    assert_blocks(route, {name: each.full(name) for name in NAMES}, data.draw)


@given(bias=st.booleans(), modular=st.booleans(), data=st.data())
def test_taps_reading_padding_or_wrapping_equal_the_per_sample_route(bias, modular, data):
    """One-position layers after the first: a kernel covering the zero-padded input (taps 0 and 2 read padding)
    and a circular kernel wider than its input (its three taps read the same coordinate)."""
    arch = eh.Architecture(layers=(ConvLayer(1, 2, (1, 2), (1, 2), bias=bias),
                                   ConvLayer(2, 2, (1, 1), (1, 3), padding=(0, 1), bias=bias),
                                   ConvLayer(2, 2, (1, 1), (1, 3), padding_mode="circular", bias=bias)),
                           activation=eh.models.activation("linear"))
    problem = make_problem(arch, n_samples=data.draw(st.integers(1, 4)), seed=data.draw(st.integers(0, 99)))
    chain = OperatorChain(arch, problem.weights, GF(P) if modular else QQ)
    route, each = SampleFree(chain, Moments(problem, chain)), PerSample(problem, chain)
    assert_blocks(route, {name: each.full(name) for name in NAMES}, data.draw)


def torch_hessians(arch, params, X, Y) -> dict:
    """``H_L``, ``H_o``, ``H_f`` of ``1/2 sum_i |F(x_i) - y_i|^2`` by ``torch.func`` in float64, as exact
    rationals (float64 values are dyadic rationals; at these points every operation is exact)."""
    torch = pytest.importorskip("torch")
    shapes = arch.param_shapes()
    theta = torch.tensor([float(v) for p in params for v in np.asarray(p).ravel()], dtype=torch.float64)
    Xt = torch.tensor([[float(v) for v in row] for row in X], dtype=torch.float64)
    Yt = torch.tensor([[float(v) for v in row] for row in Y], dtype=torch.float64)

    def forward(th):
        h, k = Xt, 0
        for layer in arch.layers:
            size = layer.c_out * layer.c_in
            h = h @ th[k:k + size].reshape(layer.c_out, layer.c_in).T
            k += size
            if layer.bias:
                h = h + th[k:k + layer.c_out]
                k += layer.c_out
        assert k == sum(int(np.prod(s)) for s in shapes)
        return h

    def loss(th):
        return 0.5 * ((forward(th) - Yt) ** 2).sum()
    H_L = torch.func.hessian(loss)(theta)
    J = torch.func.jacrev(forward)(theta)  # (n, K, p)
    H_o = torch.einsum("nkp,nkq->pq", J, J)

    def exact(M):
        return np.array([fmpq(*float(v).as_integer_ratio()) for v in M.detach().numpy().ravel()],
                        dtype=object).reshape(M.shape)
    return {"H_L": exact(H_L), "H_o": exact(H_o), "H_f": exact(H_L - H_o)}


# torch.func itself calls the deprecated torch.jit.script (torch 2.13)
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
@given(point=fcn_points(max_input=4, max_width=3, max_output=2, max_samples=4), data=st.data())
def test_blocks_equal_torch_hessian_at_dyadic_points(point, data):
    """Values ``k / 2``, ``|k| <= 4``, widths <= 3: every numerator stays below 2^40, so float64 is exact."""
    _, _, route = sample_free(*point)
    assert_blocks(route, torch_hessians(*point), data.draw)


@given(point=fcn_points(max_input=2, max_width=2, max_output=2, max_samples=3), data=st.data())
def test_blocks_equal_sympy_on_tiny_networks(point, data):
    """sympy differentiates the loss written out with explicit loops (no engine code)."""
    arch, params, X, Y = point
    if arch.n_params > 16:  # sympy's Hessian grows fast; keep the draw tiny
        arch = eh.FCN(arch.input_dim, arch.widths[:1], arch.output_dim, bias=arch.bias)
        params = [np.full(s, Fraction(1, 2), dtype=object) for s in arch.param_shapes()]
    _, _, route = sample_free(arch, params, X, Y)
    exact = [np.vectorize(lambda v: fmpq(v.numerator, v.denominator), otypes=[object])(p) for p in params]
    reference = {name: np.array([[fmpq(int(v.p), int(v.q)) for v in row] for row in M.tolist()], dtype=object)
                 for name, M in zip(("H_L", "H_o", "H_f"), symbolic_hessians(arch, exact, X, Y))}
    assert_blocks(route, reference, data.draw)


def test_selections_accept_masks_and_slices():
    """Rows and columns as index lists, boolean masks or slices select the same entries."""
    arch = eh.FCN(3, (2,), 2, bias=True)
    params = [np.full(s, Fraction(1, 2), dtype=object) for s in arch.param_shapes()]
    params[0][0, 1] = Fraction(-3, 4)
    _, _, route = sample_free(arch, params, [[1, 0, 2], [Fraction(1, 2), -1, 1]], [[1, 2], [0, -1]])
    whole = route.block("H_L", 1, 2)
    mask = np.arange(whole.shape[0]) % 3 == 1
    assert (route.block("H_L", 1, 2, mask, slice(None, None, -1)) == whole[mask][:, ::-1]).all()
    assert (route.block("H_o", 2, 2, [2, 0], (1,)) == route.block("H_o", 2, 2)[np.ix_([2, 0], [1])]).all()


def test_a_selection_from_a_large_network_forms_no_whole_block():
    """1,000 of the 24,200 parameters of an FCN: the whole blocks (12,100 x 12,100, 1.1 GB each modulo p)
    and the stacked Jacobian are never formed; the peak memory is a few times the 8 MB result."""
    arch = eh.FCN(100, (120,), 100)
    problem = make_problem(arch, n_samples=5, seed=1)
    rows = np.sort(np.random.default_rng(0).choice(arch.n_params, 1000, replace=False))
    source = ProblemSource(problem)

    def refuse(*args):
        raise AssertionError("a whole block or the stacked Jacobian was formed")
    with mock.patch.object(SampleFree, "_whole_f", refuse), mock.patch.object(Moments, "jacobian", refuse):
        tracemalloc.start()
        try:
            H = source.mod("H_L", 1048573, rows, rows)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert H.shape == (1000, 1000)
    assert (H == H.T).all()  # rows = cols: the selection of a symmetric matrix
    assert peak < 10 * H.nbytes, f"peak {peak / 2**20:.0f} MB for an {H.nbytes / 2**20:.0f} MB result"
