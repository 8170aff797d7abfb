"""Hypothesis strategies for the differential test of certified ranks (``tests/test_differential.py``).

:func:`cases` draws one tiny problem from everything ``eh.verify`` accepts:

* networks: ``eh.FCN`` (0 to 3 hidden layers), ``eh.CNN`` 1-D and 2-D (kernel sizes, strides, zero
  padding, input channels, several layers), and ``eh.Architecture`` chains of ``eh.models.ConvLayer`` with
  circular padding (kernels wider than the map wrap around), mixed with zero-padded layers; biases or not;
* activations: ``linear``, ``relu``, ``leaky_relu(a)`` (negative and large slopes too) and ``poly(c0, ...)``
  with ``c0 = 0`` and ``c0 != 0``, degree 0 to 3 (so with and without curvature, ``sigma'(0) = 0`` included);
* losses: ``mse``, ``weighted_mse(w1, ..., wK)``, ``cross_entropy`` (``K >= 2``), ``bce``;
* points: small integers and dyadic fractions, and degenerate ones on purpose: zero weights (a whole layer,
  one channel), an input entry zero in every sample, duplicate samples, zero samples, constant units (zero
  padding around the map), perfect fits (``perfect_fit=True``);
* the pipeline's own options: the seed of its primes and ``certify`` (``auto``, ``never``, ``always``).

Networks stay tiny (at most :data:`MAX_PARAMS` parameters, at most 4 samples) so each example takes well
under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from hypothesis import assume, strategies as st

import exacthess as eh

#: the largest network drawn (parameters)
MAX_PARAMS = 60
#: the most samples drawn
MAX_SAMPLES = 6

_SLOPES = ("1/4", "1/2", "-1/2", "2", "0", "-1", "3/2")
_WEIGHTS = (Fraction(1), Fraction(2), Fraction(1, 2), Fraction(1, 3), Fraction(3))


@dataclass(frozen=True)
class Case:
    """One drawn problem: what ``eh.verify`` is called with.

    Attributes:
        arch: the network.
        params: one object array of exact rationals per entry of ``arch.param_shapes()``.
        X, Y: the data, lists of rows of exact rationals.
        loss: the loss name.
        perfect_fit: verify at the perfect fit (targets replaced by the network's own predictions).
        seed: the seed of the pipeline's primes.
        certify: the ``certify`` option.
        family: which part of the space the network comes from (``fcn``, ``cnn1``, ``cnn2``, ``circular``).
    """

    arch: eh.Architecture
    params: tuple
    X: tuple
    Y: tuple
    loss: str
    perfect_fit: bool
    seed: int
    certify: str
    family: str

    def verify_kwargs(self) -> dict:
        """The keyword arguments of ``eh.verify`` (besides the architecture)."""
        return dict(params=list(self.params), data=(list(self.X), list(self.Y)), loss=self.loss,
                    perfect_fit=self.perfect_fit, seed=self.seed, certify=self.certify, float_check=False)

    def reproducer(self) -> str:
        """Python source that rebuilds this case and calls ``eh.verify`` on it."""
        params = "[" + ", ".join(f"np.array({_py(p.tolist())}, dtype=object)" for p in self.params) + "]"
        return (f"arch = {architecture_source(self.arch)}\n"
                f"params = {params}\n"
                f"data = ({_py(list(self.X))}, {_py(list(self.Y))})\n"
                f"eh.verify(arch, params=params, data=data, loss={self.loss!r}, perfect_fit={self.perfect_fit}, "
                f"seed={self.seed}, certify={self.certify!r}, float_check=False)")


def _py(value) -> str:
    """Python source of nested lists of ints and Fractions (``F(1, 2)`` for ``Fraction(1, 2)``)."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    v = Fraction(value)
    return str(v.numerator) if v.denominator == 1 else f"F({v.numerator}, {v.denominator})"


def architecture_source(arch) -> str:
    """Python source that rebuilds ``arch`` (``eh.FCN``, ``eh.CNN`` or an ``eh.Architecture`` of layers)."""
    if isinstance(arch, (eh.FCN, eh.CNN)):
        return "eh." + repr(arch)
    layers = ", ".join("eh.models." + repr(layer) for layer in arch.layers)
    return f"eh.Architecture(layers=({layers},), activation=eh.models.activation({arch.activation.name!r}))"


# ----- numbers ---------------------------------------------------------------------------------------
#: kinds of numbers of one point: small integers and dyadic fractions, small integers, -1, 0, 1 (many ties),
#: or odd multiples of 1/16 (exact cancellations, hence ReLU kinks, are rare)
NUMBERS = ("dyadic", "integers", "signs", "odd")


def rationals(nonzero: bool = False, numbers: str = "dyadic"):
    """Exact numbers of the kind ``numbers`` (:data:`NUMBERS`; dyadic: ``m / 2, m / 4, m / 8`` or integers)."""
    if numbers == "odd":
        return st.builds(Fraction, st.sampled_from(range(-47, 48, 2)), st.just(16))
    top = 1 if numbers == "signs" else 3
    ints = st.sampled_from([v for v in range(-top, top + 1) if v or not nonzero])  # no filter: no rejections
    dyadic = st.builds(Fraction, st.sampled_from([v for v in range(-8, 9) if v or not nonzero]),
                       st.sampled_from((2, 4, 8)))
    return (st.one_of(ints, dyadic) if numbers == "dyadic" else ints).map(Fraction)


# ----- activations and losses ------------------------------------------------------------------------
@st.composite
def activations(draw) -> str:
    """An activation name from every family; polynomials with ``c0 = 0`` and ``c0 != 0``."""
    kind = draw(st.sampled_from(("linear", "linear", "relu", "leaky", "poly0", "poly_c0")))
    if kind in ("linear", "relu"):
        return kind
    if kind == "leaky":
        return f"leaky_relu({draw(st.sampled_from(_SLOPES))})"
    degree = draw(st.sampled_from((1, 1, 2, 2, 3, 0)))  # 0: a constant activation
    c0 = Fraction(0) if kind == "poly0" else draw(rationals(nonzero=True))
    coeffs = [c0] + [draw(rationals()) for _ in range(degree)]
    if degree:
        coeffs[-1] = coeffs[-1] or Fraction(1)  # the drawn degree
    return "poly(" + ", ".join(str(c) for c in coeffs) + ")"


@st.composite
def losses(draw, K: int) -> str:
    names = ("mse", "weighted_mse", "bce") + (("cross_entropy",) if K >= 2 else ())
    name = draw(st.sampled_from(names))
    if name == "weighted_mse":
        return "weighted_mse(" + ", ".join(str(draw(st.sampled_from(_WEIGHTS))) for _ in range(K)) + ")"
    return name


@st.composite
def targets(draw, loss: str, n: int, K: int, numbers: str) -> list:
    """Targets the loss accepts: values, probability vectors (cross-entropy) or probabilities (BCE)."""
    if loss == "cross_entropy":
        rows = []
        for _ in range(n):
            mass = [draw(st.integers(0, 3)) for _ in range(K)]
            if not any(mass):
                mass[draw(st.integers(0, K - 1))] = 1
            rows.append([Fraction(m, sum(mass)) for m in mass])
        return rows
    if loss == "bce":
        return [[draw(st.sampled_from((Fraction(0), Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(1))))
                 for _ in range(K)] for _ in range(n)]
    return [[draw(rationals(numbers=numbers)) for _ in range(K)] for _ in range(n)]


# ----- architectures ---------------------------------------------------------------------------------
@st.composite
def fcns(draw, activation: str):
    d = draw(st.integers(1, 5))
    widths = draw(st.lists(st.integers(1, 4), max_size=3))
    return eh.FCN(d, widths, draw(st.integers(1, 3)), bias=draw(st.booleans()), activation=activation)


@st.composite
def cnns(draw, activation: str, dims: int):
    """Valid CNNs by construction: each kernel fits its padded input."""
    shape = (draw(st.sampled_from(range(1, 7))),) if dims == 1 else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    depth = draw(st.sampled_from((1, 1, 2, 2, 3)))
    size = list(shape)
    kernels, strides, paddings, chans = [], [], [], []
    for _ in range(depth):
        k, s, p = [], [], []
        for a in range(dims):
            pad = draw(st.integers(0, 2 if dims == 1 else 1))
            ker = draw(st.integers(1, min(3 if dims == 1 else 2, size[a] + 2 * pad)))
            step = draw(st.integers(1, 2))
            size[a] = (size[a] + 2 * pad - ker) // step + 1
            k.append(ker)
            s.append(step)
            p.append(pad)
        kernels.append(k[0] if dims == 1 else tuple(k))
        strides.append(s[0] if dims == 1 else tuple(s))
        paddings.append(p[0] if dims == 1 else tuple(p))
        chans.append(draw(st.integers(1, 3)))
    return eh.CNN(shape, tuple(chans), list(kernels), draw(st.integers(1, 2)),
                  in_channels=draw(st.integers(1, 2)), strides=list(strides), paddings=list(paddings),
                  bias=draw(st.booleans()), activation=activation)


@st.composite
def circular_chains(draw, activation: str):
    """``eh.Architecture`` chains of ``eh.models.ConvLayer`` with circular padding (the stride divides the map;
    a kernel wider than the map wraps and its taps add), some layers zero-padded, then a dense output layer."""
    dims = draw(st.sampled_from((1, 2)))
    shape = [1, draw(st.integers(1, 5))] if dims == 1 else [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    bias = draw(st.booleans())
    c = draw(st.integers(1, 2))
    layers = []
    for _ in range(draw(st.integers(1, 2))):
        circular = draw(st.sampled_from((True, True, False)))
        ker, step, pad = [1, 1], [1, 1], [0, 0]
        for a in range(2 - dims, 2):
            if circular:
                ker[a] = draw(st.integers(1, shape[a] + 1))
                step[a] = draw(st.sampled_from([s for s in (1, 2) if shape[a] % s == 0]))
            else:
                pad[a] = draw(st.integers(0, 1))
                ker[a] = draw(st.integers(1, min(3, shape[a] + 2 * pad[a])))
        c_out = draw(st.integers(1, 2))
        layer = eh.models.ConvLayer(c_in=c, c_out=c_out, in_shape=tuple(shape), kernel=tuple(ker), stride=tuple(step),
                             padding=tuple(pad), bias=bias, padding_mode="circular" if circular else "zeros")
        layers.append(layer)
        shape, c = list(layer.out_shape), c_out
    K = draw(st.integers(1, 2))
    layers.append(eh.models.ConvLayer(c_in=c, c_out=K, in_shape=tuple(shape), kernel=tuple(shape), bias=bias))
    return eh.Architecture(layers=tuple(layers), activation=eh.models.activation(activation))


# ----- points ----------------------------------------------------------------------------------------
def _channel_rows(arch, l: int, o: int) -> tuple:
    """Indices into params of layer ``l`` (0-based): (weight array index, bias array index or None)."""
    idx = 0
    for m, layer in enumerate(arch.layers):
        w, b = idx, (idx + 1 if layer.bias else None)
        if m == l:
            return w, b
        idx += 2 if layer.bias else 1
    raise IndexError(l)


@st.composite
def parameters(draw, arch, numbers: str) -> list:
    """Parameters, with zero layers, zero channels and copied channels (equal in-weights) on purpose.

    A zero hidden channel under a ReLU-type activation puts its pre-activations at the kink (0 that moves with
    the weights), which exacthess refuses; there it keeps a nonzero bias, or is moved to the output layer."""
    piecewise = arch.activation.piecewise
    out = []
    for s in arch.param_shapes():
        vals = [draw(rationals(numbers=numbers)) for _ in range(int(np.prod(s)))]
        out.append(np.array(vals, dtype=object).reshape(s))
    L1 = len(arch.layers)
    hidden = list(range(L1 - 1))
    for _ in range(draw(st.integers(0, 2))):
        what = draw(st.sampled_from(("layer", "channel", "channel", "copy")))
        l = draw(st.integers(0, L1 - 1))
        w, b = _channel_rows(arch, l, 0)
        layer = arch.layers[l]
        if what == "copy":
            src, dst = draw(st.integers(0, layer.c_out - 1)), draw(st.integers(0, layer.c_out - 1))
            out[w][dst] = out[w][src]
            if b is not None:
                out[b][dst] = out[b][src]
            continue
        if piecewise and l in hidden and not layer.bias:
            l = L1 - 1
            w, b = _channel_rows(arch, l, 0)
            layer = arch.layers[l]
        chans = range(layer.c_out) if what == "layer" else [draw(st.integers(0, layer.c_out - 1))]
        for o in chans:
            out[w][o] = Fraction(0)
            if b is not None and piecewise and l in hidden:
                out[b][o] = draw(rationals(nonzero=True, numbers=numbers))
    if piecewise:  # a zero bias of a hidden unit reading only zeros is a kink, not a constant unit
        for l in hidden:
            w, b = _channel_rows(arch, l, 0)
            if b is not None:
                for o in range(arch.layers[l].c_out):
                    if out[b][o] == 0:
                        out[b][o] = draw(rationals(nonzero=True, numbers=numbers))
    return out


@st.composite
def inputs(draw, d: int, numbers: str) -> tuple:
    """``(X, duplicate)``: samples, with entries zero in every sample, duplicate samples (``duplicate = (i, j)``:
    sample ``j`` is a copy of sample ``i``) and zero samples on purpose."""
    n = draw(st.sampled_from(range(1, MAX_SAMPLES + 1)))  # uniform: integers() favours 1
    X = [[draw(rationals(numbers=numbers)) for _ in range(d)] for _ in range(n)]
    if draw(st.booleans()):  # input entries zero in every sample (one, several, or all of them)
        for j in draw(st.sets(st.integers(0, d - 1), min_size=1)):
            for row in X:
                row[j] = Fraction(0)
    if draw(st.integers(0, 4)) == 0:
        X[draw(st.integers(0, n - 1))] = [Fraction(0)] * d
    duplicate = None
    if n >= 2 and draw(st.booleans()):
        duplicate = draw(st.integers(0, n - 2)), n - 1
        X[-1] = list(X[duplicate[0]])
    return X, duplicate


@st.composite
def cases(draw) -> Case:
    """One problem from everything ``eh.verify`` accepts (see the module docstring)."""
    activation = draw(activations())
    family = draw(st.sampled_from(("fcn", "cnn1", "cnn1", "cnn2", "circular")))
    if family == "fcn":
        arch = draw(fcns(activation))
    elif family == "circular":
        arch = draw(circular_chains(activation))
    else:
        arch = draw(cnns(activation, 1 if family == "cnn1" else 2))
    assume(arch.n_params <= MAX_PARAMS)
    # small numbers make ReLU kinks (exact cancellations) common: mostly odd sixteenths under ReLU-type activations
    kinds = ("odd", "odd", "dyadic", "integers") if arch.activation.piecewise else NUMBERS
    numbers = draw(st.sampled_from(kinds))
    params = draw(parameters(arch, numbers))
    X, duplicate = draw(inputs(arch.input_dim, draw(st.sampled_from(kinds))))
    K = arch.output_dim
    loss = draw(losses(K))
    Y = draw(targets(loss, len(X), K, numbers))
    if duplicate is not None and draw(st.booleans()):
        Y[duplicate[1]] = list(Y[duplicate[0]])  # the duplicate sample with the same target
    return Case(arch=arch, params=tuple(params), X=tuple(X), Y=tuple(Y), loss=loss,
                perfect_fit=draw(st.integers(0, 2)) == 0, seed=draw(st.integers(0, 2**16)),
                certify=draw(st.sampled_from(("auto", "auto", "auto", "never", "always"))), family=family)
