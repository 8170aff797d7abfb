"""The error policy over every public entry point of ``exacthess``: a wrong *type* raises a
``TypeError`` subclass (:class:`~exacthess.core.errors.InvalidTypeError`), a wrong *value* a
``ValueError`` subclass, both under :class:`~exacthess.core.errors.ExactHessError`, with a message
naming the argument (and the value). Sizes that cannot fit are refused before any work with
:class:`~exacthess.core.errors.ProblemTooLargeError`, whose message carries the estimate.

Independent route: the expectations are written from the documented signatures (what a new
user would pass by mistake), not derived from the code; the Hypothesis part feeds junk of every
type to the main entry points and checks that nothing but ``ExactHessError`` escapes.
"""

import math

import numpy as np
import pytest
from fractions import Fraction
from hypothesis import given
from hypothesis import strategies as st

import exacthess as eh
from exacthess import claims
from exacthess.core.errors import (ExactHessError, InvalidArchitectureError, InvalidOptionError, InvalidTypeError,
                                   InvalidValueError, NonDifferentiableError, ParamsMismatchError, ProblemTooLargeError,
                                   UnknownStatementError)
from exacthess.core.validate import check_option

T, V = InvalidTypeError, InvalidValueError
A = eh.FCN(2, (2,), 2)
C = eh.CNN((4,), (1,), 2, 2)
K1 = np.ones((1, 1, 3))
LAYER = C.layers[0]
H = eh.hessian(A, n_samples=3)
X, Y = np.ones((3, 2)), np.ones((3, 2))


def _quiet(call):
    """``call()`` with its DeprecationWarning silenced (a deprecated keyword is checked like the new one)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return call()


def _linear(activation=None):
    """``nn.Sequential(nn.Linear(4, 3), [activation], nn.Linear(3, 2))`` (skips without PyTorch)."""
    torch = pytest.importorskip("torch")
    mods = [torch.nn.Linear(4, 3)] + ([getattr(torch.nn, activation)()] if activation else []) + [torch.nn.Linear(3, 2)]
    return torch.nn.Sequential(*mods)


def _torch_model(*sizes, device="cpu"):
    """``nn.Sequential`` of ``nn.Linear`` layers of these sizes with ReLUs between (skips without PyTorch)."""
    torch = pytest.importorskip("torch")
    with torch.device(device):
        mods = []
        for a, b in zip(sizes, sizes[1:]):
            mods += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        return torch.nn.Sequential(*mods[:-1])


# (id, call, expected class, words the message must contain)
CASES = [
    # ---- architectures --------------------------------------------------------------------
    ("FCN input_dim str", lambda: eh.FCN("3", (2,), 1), T, "input_dim = '3'"),
    ("FCN input_dim float", lambda: eh.FCN(3.0, (2,), 1), T, "input_dim = 3.0"),
    ("FCN input_dim 0", lambda: eh.FCN(0, (2,), 1), InvalidArchitectureError, "input_dim = 0"),
    ("FCN input_dim -5", lambda: eh.FCN(-5, (2,), 1), InvalidArchitectureError, "input_dim = -5"),
    ("FCN input_dim None", lambda: eh.FCN(None, (2,), 1), T, "input_dim = None"),
    ("FCN widths str", lambda: eh.FCN(3, "2,3", 1), T, "widths = '2,3'"),
    ("FCN widths dict", lambda: eh.FCN(3, {2: 3}, 1), T, "widths = {2: 3}"),
    ("FCN widths None", lambda: eh.FCN(3, None, 1), T, "widths = None"),
    ("FCN widths entry 0", lambda: eh.FCN(3, (2, 0), 1), InvalidArchitectureError, "widths[1] = 0"),
    ("FCN widths entry float", lambda: eh.FCN(3, (2, 1.5), 1), T, "widths[1] = 1.5"),
    ("FCN output_dim bool", lambda: eh.FCN(3, (2,), True), T, "output_dim = True"),
    ("FCN output_dim 0", lambda: eh.FCN(3, (2,), 0), InvalidArchitectureError, "output_dim = 0"),
    ("FCN bias str", lambda: eh.FCN(3, (2,), 1, bias="yes"), T, "bias = 'yes'"),
    ("FCN bias int", lambda: eh.FCN(3, (2,), 1, bias=1), T, "bias = 1"),
    ("FCN activation unknown", lambda: eh.FCN(3, (2,), 1, activation="tanh"), InvalidOptionError, "activation = 'tanh'"),
    ("FCN activation int", lambda: eh.FCN(3, (2,), 1, activation=3), T, "activation = 3"),
    ("FCN activation bad slope", lambda: eh.FCN(3, (2,), 1, activation="leaky_relu(x)"), V, "leaky_relu(x)"),
    ("CNN input_shape str", lambda: eh.CNN("8", (1,), 3, 2), T, "input_shape = '8'"),
    ("CNN input_shape 3-D", lambda: eh.CNN((4, 4, 4), (1,), 3, 2), InvalidArchitectureError, "input_shape"),
    ("CNN input_shape 0", lambda: eh.CNN((0,), (1,), 1, 2), InvalidArchitectureError, "input_shape[0] = 0"),
    ("CNN channels str", lambda: eh.CNN((8,), "12", 3, 2), T, "channels = '12'"),
    ("CNN channels empty", lambda: eh.CNN((8,), (), 3, 2), InvalidArchitectureError, "channels = ()"),
    ("CNN channels 0", lambda: eh.CNN((8,), (0,), 3, 2), InvalidArchitectureError, "channels[0] = 0"),
    ("CNN kernel str", lambda: eh.CNN((8,), (1,), "3", 2), T, "kernel_sizes = '3'"),
    ("CNN kernel 0", lambda: eh.CNN((8,), (1,), 0, 2), InvalidArchitectureError, "kernel_sizes = 0"),
    ("CNN kernel too large", lambda: eh.CNN((8,), (1,), 9, 2), InvalidArchitectureError, "kernel size 9"),
    ("CNN kernels per layer", lambda: eh.CNN((8,), (1, 1), [3, 3, 3], 2), InvalidArchitectureError,
     "kernel_sizes"),
    ("CNN 2-D kernel triple", lambda: eh.CNN((6, 6), (1,), [(3, 3, 3)], 2), InvalidArchitectureError,
     "kernel_sizes[0]"),
    ("CNN strides 0", lambda: eh.CNN((8,), (1,), 3, 2, strides=0), InvalidArchitectureError, "strides = 0"),
    ("CNN strides float", lambda: eh.CNN((8,), (1,), 3, 2, strides=1.5), T, "strides = 1.5"),
    ("CNN paddings -1", lambda: eh.CNN((8,), (1,), 3, 2, paddings=-1), InvalidArchitectureError, "paddings = -1"),
    ("CNN paddings str", lambda: eh.CNN((8,), (1,), 3, 2, paddings="same"), T, "paddings = 'same'"),
    ("CNN in_channels 0", lambda: eh.CNN((8,), (1,), 3, 2, in_channels=0), InvalidArchitectureError,
     "in_channels = 0"),
    ("CNN bias None", lambda: eh.CNN((8,), (1,), 3, 2, bias=None), T, "bias = None"),
    ("ConvLayer c_in str", lambda: eh.models.ConvLayer("1", 1, (3, 3), (2, 2)), T, "c_in = '1'"),
    ("ConvLayer padding_mode", lambda: eh.models.ConvLayer(1, 1, (3, 3), (2, 2), padding_mode="reflect"),
     InvalidOptionError, "padding_mode = 'reflect'"),
    ("from_spec str", lambda: eh.from_spec("fcn"), T, "spec = 'fcn'"),
    ("from_spec family", lambda: eh.from_spec({"family": "rnn"}), InvalidOptionError, "spec['family'] = 'rnn'"),
    ("from_spec family type", lambda: eh.from_spec({"family": 3}), T, "spec['family'] = 3"),
    ("from_spec unknown key", lambda: eh.from_spec({"family": "fcn", "input_dim": 2, "depth": 3}),
     InvalidArchitectureError, "'depth'"),
    ("from_spec missing key", lambda: eh.from_spec({"family": "cnn", "input_shape": [4]}), InvalidArchitectureError,
     "missing"),
    ("from_spec bad value", lambda: eh.from_spec({"family": "fcn", "input_dim": "2"}), T, "input_dim = '2'"),
    ("Architecture.from_spec list", lambda: eh.Architecture.from_spec([1]), T, "spec = [1]"),
    ("activation None", lambda: eh.models.activation(None), T, "activation = None"),
    ("activation poly empty", lambda: eh.models.activation("poly()"), V, "poly()"),
    ("loss unknown", lambda: eh.models.loss("hinge"), InvalidOptionError, "loss = 'hinge'"),
    ("loss list", lambda: eh.models.loss(["mse"]), T, "loss = ['mse']"),
    ("loss weights negative", lambda: eh.models.loss("weighted_mse(1, -1)"), V, "weights[1]"),
    ("loss weights junk", lambda: eh.models.loss("weighted_mse(1, a)"), V, "weighted_mse(1, a)"),
    ("Loss.custom gradient", lambda: eh.Loss.custom(3, lambda f, y: [[1]]), T, "gradient = 3"),
    ("Loss.custom hessian", lambda: eh.Loss.custom(lambda f, y: [0], "h"), T, "hessian = 'h'"),
    ("Loss.custom psd_factor", lambda: eh.Loss.custom(lambda f, y: [0], lambda f, y: [[1]], psd_factor=1), T,
     "psd_factor = 1"),
    ("Loss.custom name", lambda: eh.Loss.custom(lambda f, y: [0], lambda f, y: [[1]], name=3), T, "name = 3"),
    ("Loss.custom wrong gradient length",
     lambda: eh.hessian(A, n_samples=2, loss=eh.Loss.custom(lambda f, y: [0], lambda f, y: [[1, 0], [0, 1]])).H_L,
     V, "the gradient of loss 'custom' at sample 0 has shape (1,)"),
    ("Loss.custom gradient of strings",
     lambda: eh.hessian(A, n_samples=2, loss=eh.Loss.custom(lambda f, y: ["a", "b"],
                                                            lambda f, y: [[1, 0], [0, 1]])).H_L,
     T, "the gradient of loss 'custom' at sample 0[0] = 'a'"),
    ("Loss.custom ragged Hessian",
     lambda: eh.hessian(A, n_samples=2, loss=eh.Loss.custom(lambda f, y: [0, 0], lambda f, y: [[1, 0], [0]])).H_L,
     V, "the Hessian of loss 'custom' at sample 0"),
    # ---- exact numbers and domains ------------------------------------------------------
    ("to_rational str", lambda: eh.to_rational("1/2"), T, "value = '1/2'"),
    ("to_rational complex", lambda: eh.to_rational(1j, name="x"), T, "x = 1j"),
    ("to_rational None", lambda: eh.to_rational(None), T, "value = None"),
    ("to_rational list", lambda: eh.to_rational([1]), T, "value = [1]"),
    ("to_rational nan", lambda: eh.to_rational(float("nan")), V, "value = nan"),
    ("to_rational inf", lambda: eh.to_rational(np.float32("inf")), V, "value = inf"),
    ("rational_array str", lambda: eh.core.exact.rational_array("abc", "X", ndim=2), T, "X = 'abc'"),
    ("rational_array ragged", lambda: eh.core.exact.rational_array([[1, 2], [3]], "X"), V, "X is ragged"),
    ("rational_array complex", lambda: eh.core.exact.rational_array(np.ones((2, 2), complex), "X"), T, "X has complex dtype"),
    ("rational_array ndim", lambda: eh.core.exact.rational_array([1, 2], "X", ndim=2), V, "X has 1 dimension"),
    ("rational_array entry", lambda: eh.core.exact.rational_array([[1, None]], "X"), T, "X[0, 1] = None"),
    ("GF str", lambda: eh.GF("7"), T, "p = '7'"),
    ("GF float", lambda: eh.GF(7.0), T, "p = 7.0"),
    ("GF not prime", lambda: eh.GF(8), V, "p = 8"),
    ("GF 2", lambda: eh.GF(2), V, "p = 2"),
    # ---- Hessians ---------------------------------------------------------------------------
    ("hessian arch str", lambda: eh.hessian("FCN"), T, "arch = 'FCN'"),
    ("hessian arch dict", lambda: eh.hessian(A.to_spec()), T, "arch = {"),
    ("hessian domain GF(a)", lambda: eh.hessian(A, domain="GF(a)"), V, "domain = 'GF(a)'"),
    ("hessian domain GF(4)", lambda: eh.hessian(A, domain="GF(4)"), V, "domain = 'GF(4)'"),
    ("hessian domain RR", lambda: eh.hessian(A, domain="RR"), InvalidOptionError, "domain = 'RR'"),
    ("hessian domain float", lambda: eh.hessian(A, domain=1.5), T, "domain = 1.5"),
    ("hessian domain int not prime", lambda: eh.hessian(A, domain=9), V, "p = 9"),
    ("hessian seed -1", lambda: eh.hessian(A, seed=-1), V, "seed = -1"),
    ("hessian seed str", lambda: eh.hessian(A, seed="0"), T, "seed = '0'"),
    ("hessian seed float", lambda: eh.hessian(A, seed=1.0), T, "seed = 1.0"),
    ("hessian n_samples 0", lambda: eh.hessian(A, n_samples=0), V, "n_samples = 0"),
    ("hessian n_samples True", lambda: eh.hessian(A, n_samples=True), T, "n_samples = True"),
    ("hessian n_samples str", lambda: eh.hessian(A, n_samples="4"), T, "n_samples = '4'"),
    ("hessian point", lambda: eh.hessian(A, point="uniform"), InvalidOptionError, "point = 'uniform'"),
    ("hessian point type", lambda: eh.hessian(A, point=1), T, "point = 1"),
    ("hessian loss", lambda: eh.hessian(A, loss="l1"), InvalidOptionError, "loss = 'l1'"),
    ("hessian cross_entropy K=1", lambda: eh.hessian(eh.FCN(2, (2,), 1), loss="cross_entropy"), V,
     "output_dim >= 2"),
    ("hessian data str", lambda: eh.hessian(A, data="X"), T, "data = 'X'"),
    ("hessian data triple", lambda: eh.hessian(A, data=(X, Y, Y)), V, "data = "),
    ("hessian data ragged", lambda: eh.hessian(A, data=([[1, 2], [3]], [[1, 2], [3, 4]])), V, "data X is ragged"),
    ("hessian data complex", lambda: eh.hessian(A, data=(X + 1j, Y)), T, "data X has complex dtype"),
    ("hessian data nan", lambda: eh.hessian(A, data=(np.array([[np.nan, 1.0]]), [[1, 2]])), V, "data X[0, 0] = nan"),
    ("hessian data inf Y", lambda: eh.hessian(A, data=(X, np.full((3, 2), np.inf))), V, "data Y[0, 0] = inf"),
    ("hessian data shape", lambda: eh.hessian(A, data=(np.ones((3, 3)), Y)), V, "data X has shape (3, 3)"),
    ("hessian data rows", lambda: eh.hessian(A, data=(X, np.ones((2, 2)))), V, "data Y has shape"),
    ("hessian data empty", lambda: eh.hessian(A, data=(np.ones((0, 2)), np.ones((0, 2)))), V, "data X has 0 rows"),
    ("hessian data strings", lambda: eh.hessian(A, data=([["a", "b"]], [[1, 2]])), T, "data X[0, 0] = 'a'"),
    ("hessian n_samples vs data", lambda: eh.hessian(A, data=(X, Y), n_samples=5), V, "n_samples = 5"),
    ("hessian params str", lambda: eh.hessian(A, params="abc"), T, "params = 'abc'"),
    ("hessian params length", lambda: eh.hessian(A, params=[np.ones((2, 2))]), ParamsMismatchError,
     "params has 1 arrays"),
    ("hessian params shape", lambda: eh.hessian(A, params=[np.ones((2, 3)), np.ones((2, 2))]), ParamsMismatchError,
     "params[0] has shape (2, 3)"),
    ("hessian params flat length", lambda: eh.hessian(A, params=np.ones(5)), ParamsMismatchError,
     "params has 5 entries"),
    ("hessian params nan", lambda: eh.hessian(A, params=[np.full((2, 2), np.nan), np.ones((2, 2))]), V,
     "params[0][0, 0] = nan"),
    ("hessian params None entry", lambda: eh.hessian(A, params=[None, np.ones((2, 2))]), T, "params[0] = None"),
    ("hessian symbolic params outside SR",
     lambda: eh.hessian(A, params=[[[__import__("sympy").Symbol("a"), 1], [2, 3]], np.eye(2)], domain="GF(7)"), T,
     "params[0][0, 0] = a is symbolic (a sympy Symbol); expected exact numbers"),
    ("verify symbolic params", lambda: eh.verify(A, params=[[[__import__("sympy").Symbol("a"), 1], [2, 3]], np.eye(2)]),
     T, "symbolic parameters need domain='SR'"),
    ("hessian field deprecated bad", lambda: _quiet(lambda: eh.hessian(A, field="GF(x)")), V, "domain = 'GF(x)'"),
    ("block name", lambda: H.block("H_x", 1, 1), InvalidOptionError, "name = 'H_x'"),
    ("block name type", lambda: H.block(1, 1, 1), T, "name = 1"),
    ("block l 0", lambda: H.block("H_f", 0, 1), V, "l = 0"),
    ("block m 5", lambda: H.block("H_f", 1, 5), V, "m = 5"),
    ("block l str", lambda: H.block("H_f", "1", 1), T, "l = '1'"),
    ("block l float", lambda: H.block("H_f", 1.0, 1), T, "l = 1.0"),
    ("block_column 9", lambda: H.block_column("H_f", 9), V, "l = 9"),
    ("block_column -1", lambda: H.block_column("H_o", -1), V, "l = -1"),
    ("block_column name", lambda: H.block_column("H", 1), InvalidOptionError, "name = 'H'"),
    ("to_sympy name", lambda: H.to_sympy("X"), InvalidOptionError, "name = 'X'"),
    ("to_sympy over GF", lambda: eh.hessian(A, domain="GF(7)").to_sympy(), InvalidOptionError, "GF(7)"),
    # ---- ranks ------------------------------------------------------------------------------
    ("rank str", lambda: eh.rank("abc"), T, "matrix = 'abc'"),
    ("rank None", lambda: eh.rank(None), T, "matrix = None"),
    ("rank 1-D", lambda: eh.rank([1, 2, 3]), V, "matrix has shape (3,)"),
    ("rank ragged", lambda: eh.rank([[1, 2], [3]]), V, "ragged"),
    ("rank nan", lambda: eh.rank(np.array([[1.0, np.nan]])), V, "nan"),
    ("rank symbol", lambda: eh.rank(__import__("sympy").Matrix([[__import__("sympy").Symbol("x")]])), V,
     "not a rational number"),
    ("rank entry str", lambda: eh.rank([[1, "2"]]), T, "'2'"),
    ("rank certify", lambda: eh.rank(np.eye(2), certify="maybe"), InvalidOptionError, "certify = 'maybe'"),
    ("rank certify type", lambda: eh.rank(np.eye(2), certify=True), T, "certify = True"),
    ("rank n_primes 0", lambda: eh.rank(np.eye(2), n_primes=0), V, "n_primes = 0"),
    ("rank n_primes float", lambda: eh.rank(np.eye(2), n_primes=2.0), T, "n_primes = 2.0"),
    ("rank budget -1", lambda: eh.rank(np.eye(2), budget_seconds=-1), V, "budget_seconds = -1"),
    ("rank budget nan", lambda: eh.rank(np.eye(2), budget_seconds=math.nan), V, "budget_seconds = nan"),
    ("rank budget str", lambda: eh.rank(np.eye(2), budget_seconds="60"), T, "budget_seconds = '60'"),
    ("rank seed -1", lambda: eh.rank(np.eye(2), seed=-1), V, "seed = -1"),
    ("rank upper_bound str", lambda: eh.rank(np.eye(2), upper_bound="2"), T, "upper_bound = '2'"),
    ("rank upper_bound negative", lambda: eh.rank(np.eye(2), upper_bound=(-1, "why")), V, "upper_bound[0] = -1"),
    # ---- verify -----------------------------------------------------------------------------
    ("verify arch str", lambda: eh.verify("FCN(2, (2,), 2)"), T, "arch = 'FCN(2, (2,), 2)'"),
    ("verify arch None", lambda: eh.verify(None), T, "arch = None"),
    ("verify certify maybe", lambda: eh.verify(A, certify="maybe"), InvalidOptionError, "certify = 'maybe'"),
    ("verify certify bool", lambda: eh.verify(A, certify=False), T, "certify = False"),
    ("verify budget -1", lambda: eh.verify(A, budget_seconds=-1), V, "budget_seconds = -1"),
    ("verify budget nan", lambda: eh.verify(A, budget_seconds=float("nan")), V, "budget_seconds = nan"),
    ("verify budget str", lambda: eh.verify(A, budget_seconds="1"), T, "budget_seconds = '1'"),
    ("verify seed -1", lambda: eh.verify(A, seed=-1), V, "seed = -1"),
    ("verify seed None", lambda: eh.verify(A, seed=None), T, "seed = None"),
    ("verify n_samples True", lambda: eh.verify(A, n_samples=True), T, "n_samples = True"),
    ("verify n_samples -3", lambda: eh.verify(A, n_samples=-3), V, "n_samples = -3"),
    ("verify float_check str", lambda: eh.verify(A, float_check="no"), InvalidOptionError, "float_check = 'no'"),
    ("verify float_check int", lambda: eh.verify(A, float_check=1), T, "float_check = 1"),
    ("verify perfect_fit int", lambda: eh.verify(A, perfect_fit=1), T, "perfect_fit = 1"),
    ("verify progress yes", lambda: eh.verify(A, progress="yes"), V, "progress = 'yes'"),
    ("verify progress int", lambda: eh.verify(A, progress=1), T, "progress = 1"),
    ("verify statements str", lambda: eh.verify(A, statements="singh2021.H_o"), T, "statements = 'singh2021.H_o'"),
    ("verify statements unknown", lambda: eh.verify(A, statements=["nope"]), UnknownStatementError, "'nope'"),
    ("verify statements int", lambda: eh.verify(A, statements=[3]), T, "statement id 3"),
    ("verify statements family", lambda: eh.verify(A, statements=["singh2023.thm1"]), InvalidOptionError,
     "singh2023.thm1"),
    ("verify point", lambda: eh.verify(A, point="zeros"), InvalidOptionError, "point = 'zeros'"),
    ("verify loss", lambda: eh.verify(A, loss=None), T, "loss = None"),
    ("verify data ragged", lambda: eh.verify(A, data=([[1, 2], [3]], [[1, 2], [3, 4]])), V, "ragged"),
    ("verify data complex", lambda: eh.verify(A, data=(X.astype(complex), Y)), T, "complex"),
    ("verify data nan", lambda: eh.verify(A, data=(np.array([[np.nan, 1.0]]), [[1, 2]])), V, "nan"),
    ("verify params length", lambda: eh.verify(A, params=[np.ones((2, 2))]), ParamsMismatchError, "params has 1"),
    ("verify params flat", lambda: eh.verify(A, params=np.ones(3)), ParamsMismatchError, "params has 3 entries"),
    ("verify params dict", lambda: eh.verify(A, params={"W1": 1}), T, "params = {"),
    ("verify cross_entropy K=1", lambda: eh.verify(eh.FCN(2, (), 1), loss="cross_entropy"), V, "output_dim >= 2"),
    ("verify class targets", lambda: eh.verify(A, data=(X, [[5], [0], [1]]), loss="cross_entropy"), V,
     "data Y[0]"),
    ("verify probabilities", lambda: eh.verify(A, data=(X, [[2, -1]] * 3), loss="bce"), V, "data Y[0]"),
    # ---- spectra and operators (more in test_spectral_errors.py) ----------------------------
    ("conv_operator kernel str", lambda: eh.spectral.conv_operator("k", 4), T, "kernel = 'k'"),
    ("conv_operator kernel 2-D", lambda: eh.spectral.conv_operator(np.ones((2, 2)), 4), V, "kernel has 2 dimension"),
    ("conv_operator input 0", lambda: eh.spectral.conv_operator(K1, 0), V, "input_shape"),
    ("conv_operator stride 0", lambda: eh.spectral.conv_operator(K1, 4, stride=0), V, "stride"),
    ("conv_operator stride not dividing", lambda: eh.spectral.conv_operator(K1, 5, stride=2), V, "stride"),
    ("conv_operator padding str", lambda: eh.spectral.conv_operator(K1, 4, padding="same"), V, "padding = 'same'"),
    ("conv_operator domain", lambda: eh.spectral.conv_operator(K1, 4, domain="RR"), InvalidOptionError, "domain = 'RR'"),
    ("conv_operator bias shape", lambda: eh.spectral.conv_operator(K1, 4, bias=[1, 2]), V, "bias has shape"),
    ("conv_operator nan", lambda: eh.spectral.conv_operator(np.full((1, 1, 2), np.nan), 4), V, "nan"),
    ("conv_operator huge", lambda: eh.spectral.conv_operator(np.ones((64, 64, 3, 3)), (512, 512)), ProblemTooLargeError,
     "needs about"),
    ("conv_matrix arch", lambda: eh.spectral.conv_matrix("net", 1, [1]), T, "arch = 'net'"),
    ("conv_matrix l", lambda: eh.spectral.conv_matrix(C, 5, [1, 2]), V, "l = 5"),
    ("conv_matrix l str", lambda: eh.spectral.conv_matrix(C, "1", [1, 2]), T, "l = '1'"),
    ("conv_matrix weight size", lambda: eh.spectral.conv_matrix(C, 1, [1, 2, 3]), V, "weight has 3 entries"),
    ("conv_matrix weight str", lambda: eh.spectral.conv_matrix(C, 1, "ab"), T, "weight"),
    ("conv_matrix domain", lambda: eh.spectral.conv_matrix(C, 1, [1, 2], domain="GF(1)"), V, "domain = 'GF(1)'"),
    ("toeplitz_operator layer", lambda: eh.spectral.toeplitz_operator("x", np.zeros((1, 2))), T, "layer = 'x'"),
    ("toeplitz_operator weights", lambda: eh.spectral.toeplitz_operator(LAYER, np.zeros((2, 2))), V, "weights has shape"),
    ("parameter_map x", lambda: eh.spectral.parameter_map("x"), T, "layer = 'x'"),
    ("parameter_map arch", lambda: eh.spectral.parameter_map(C), T, "layer = CNN("),
    ("parameter_map_matrix None", lambda: eh.spectral.parameter_map_matrix(None), T, "layer = None"),
    ("kernel_from_tensorflow str", lambda: eh.spectral.kernel_from_tensorflow("k"), T, "kernel = 'k'"),
    ("kernel_from_tensorflow 2-D", lambda: eh.spectral.kernel_from_tensorflow(np.ones((2, 2))), V, "kernel"),
    ("conv_singular_values certified yes", lambda: eh.spectral.conv_singular_values(K1, 4, certified="yes"), T,
     "certified = 'yes'"),
    ("conv_singular_values stride", lambda: eh.spectral.conv_singular_values(K1, 4, stride=3), V, "stride"),
    ("check_conv_sv_theorem method", lambda: eh.spectral.check_conv_sv_theorem(K1, 4, method="fast"), InvalidOptionError,
     "method = 'fast'"),
    ("check_conv_sv_theorem progress", lambda: eh.spectral.check_conv_sv_theorem(K1, 4, progress="yes"), T,
     "progress = 'yes'"),
    ("check_conv_sv_theorem padding", lambda: eh.spectral.check_conv_sv_theorem(K1, 4, padding=-1), V, "padding"),
    ("clip bound -1", lambda: eh.spectral.clip_operator_norm(K1, 4, bound=-1), V, "bound = -1"),
    ("clip bound nan", lambda: eh.spectral.clip_operator_norm(K1, 4, bound=math.nan), V, "bound = nan"),
    ("clip iterations 0", lambda: eh.spectral.clip_operator_norm(K1, 4, 1.0, iterations=0), V, "iterations = 0"),
    ("clip tol -1", lambda: eh.spectral.clip_operator_norm(K1, 4, 1.0, tol=-1), V, "tol = -1"),
    ("clip method", lambda: eh.spectral.clip_operator_norm(K1, 4, 1.0, method="best"), InvalidOptionError, "method = 'best'"),
    # ---- PyTorch import ---------------------------------------------------------------------
    ("from_torch module str", lambda: eh.from_torch("model.pt", (3,)), T, "module = 'model.pt'"),
    ("from_torch input_shape str", lambda: eh.from_torch(_linear(), "4"), T, "input_shape = '4'"),
    ("from_torch input_shape 0", lambda: eh.from_torch(_linear(), (0,)), V, "input_shape[0] = 0"),
    ("from_torch input_shape mismatch", lambda: eh.from_torch(_linear(), (5,)), V, "in_features"),
    ("from_torch check str", lambda: eh.from_torch(_linear(), (4,), check="yes"), T, "check = 'yes'"),
    ("from_torch unsupported", lambda: eh.from_torch(_linear("Tanh"), (4,)), V, "Tanh"),
    ("from_torch meta device", lambda: eh.from_torch(_torch_model(4, 3, 2, device="meta"), (4,)), V,
     "module [0].weight is on torch's 'meta' device"),
    ("from_torch huge", lambda: eh.from_torch(_torch_model(784, 3000, 2200, 10, device="meta"), (784,)),
     ProblemTooLargeError, "8,979,210 parameters"),
    # ---- statements and search --------------------------------------------------------------
    ("get_statement unknown", lambda: eh.statements.get_statement("singh2021.H"), UnknownStatementError, "'singh2021.H'"),
    ("get_statement int", lambda: eh.statements.get_statement(3), T, "statement id 3"),
    ("search list", lambda: eh.search(["singh2021.H_o"]), T, "statement id ['singh2021.H_o']"),
    ("search unknown", lambda: eh.search("nope"), UnknownStatementError, "'nope'"),
    ("search max_examples 0", lambda: eh.search("singh2021.H_o", max_examples=0), V, "max_examples = 0"),
    ("search max_examples str", lambda: eh.search("singh2021.H_o", max_examples="5"), T, "max_examples = '5'"),
    ("search seed -1", lambda: eh.search("singh2021.H_o", seed=-1), V, "seed = -1"),
    ("search progress", lambda: eh.search("singh2021.H_o", progress="bar"), V, "progress = 'bar'"),
    ("search database", lambda: eh.search("singh2021.H_o", database=3), T, "database = 3"),
    # ---- sweeps -----------------------------------------------------------------------------
    ("sweep spec int", lambda: eh.sweep(3), T, "spec = 3"),
    ("sweep missing file", lambda: eh.sweep("/nonexistent/grid.toml"), V, "/nonexistent/grid.toml"),
    ("sweep family", lambda: eh.sweep({"family": "rnn"}), InvalidOptionError, "family"),
    ("sweep unknown key", lambda: eh.sweep({"family": "fcn", "input_dim": 2, "output_dim": 1, "depth": 2}), V,
     "depth"),
    ("sweep budget -1", lambda: eh.sweep({"family": "fcn", "input_dim": 2, "output_dim": 1}, budget_seconds=-1), V,
     "budget_seconds = -1"),
    ("sweep workers 0", lambda: eh.sweep({"family": "fcn", "input_dim": 2, "output_dim": 1}, workers=0), V,
     "workers = 0"),
    ("sweep executor", lambda: eh.sweep({"family": "fcn", "input_dim": 2, "output_dim": 1}, executor="pool"), T,
     "executor = 'pool'"),
    ("sweep progress", lambda: eh.sweep({"family": "fcn", "input_dim": 2, "output_dim": 1}, progress=3), T,
     "progress = 3"),
    # ---- claims and the Gauss-Newton split --------------------------------------------------
    ("gauss_newton_gap arch", lambda: eh.gauss_newton_gap("x"), T, "arch = 'x'"),
    ("gauss_newton_gap seed", lambda: eh.gauss_newton_gap(A, seed=-2), V, "seed = -2"),
    ("gauss_newton_gap certify", lambda: eh.gauss_newton_gap(A, certify="yes"), InvalidOptionError,
     "certify = 'yes'"),
    ("gauss_newton_gap ranks", lambda: eh.gauss_newton_gap(A, ranks="no"), T, "ranks = 'no'"),
    ("gauss_newton_gap scale 0", lambda: eh.gauss_newton_gap(A, scale=0), V, "scale = 0"),
    ("gauss_newton_gap scale str", lambda: eh.gauss_newton_gap(A, scale="1/2"), T, "scale = '1/2'"),
    ("gauss_newton_gap params+scale", lambda: eh.gauss_newton_gap(A, params=[1], scale=Fraction(1, 2)),
     ParamsMismatchError, "params has 1 arrays"),
    ("gauss_newton_gap progress", lambda: eh.gauss_newton_gap(A, progress=[]), T, "progress = []"),
    ("curvature_scaling arch", lambda: eh.curvature_scaling(None), T, "arch = None"),
    ("curvature_scaling scales str", lambda: eh.curvature_scaling(A, scales="1/2"), T, "scales = '1/2'"),
    ("curvature_scaling scales one", lambda: eh.curvature_scaling(A, scales=[1]), V, "scales = ['1']"),
    ("curvature_scaling scales negative", lambda: eh.curvature_scaling(A, scales=[1, -1]), V, "scales"),
    ("curvature_scaling scale entry", lambda: eh.curvature_scaling(A, scales=[1, None]), T, "scales[1] = None"),
    ("claims.claim unknown", lambda: claims.claim("perfect_fit.l1"), UnknownStatementError, "'perfect_fit.l1'"),
    ("claims.claim type", lambda: claims.claim(3), T, "claim_id = 3"),
    ("claims.claim option", lambda: claims.claim("perfect_fit.mse", samples=3), T, "'samples'"),
    ("claims.discussion ids str", lambda: claims.discussion("perfect_fit.mse"), T, "ids = 'perfect_fit.mse'"),
    ("claims.discussion ids wrong document", lambda: claims.discussion(["approx_chain_rule.relu.within_layer"]),
     UnknownStatementError, "approx_chain_rule.relu.within_layer"),
    ("claims.approx_chain_rule ids entry", lambda: claims.approx_chain_rule([1]), T, "ids[0] = 1"),
    ("claims.approx_chain_rule progress", lambda: claims.approx_chain_rule(progress="x"), V, "progress = 'x'"),
    ("claims.perfect_fit_mse archs arch", lambda: claims.perfect_fit_mse(A), T, "archs = FCN("),
    ("claims.perfect_fit_mse archs entry", lambda: claims.perfect_fit_mse([A, "x"]), T, "archs[1] = 'x'"),
    ("claims.perfect_fit_mse archs empty", lambda: claims.perfect_fit_mse([]), V, "archs = []"),
    ("claims.perfect_fit_mse n_samples", lambda: claims.perfect_fit_mse([A], n_samples=0), V, "n_samples = 0"),
    ("claims.perfect_fit_bce seed", lambda: claims.perfect_fit_bce([A], seed="1"), T, "seed = '1'"),
    ("claims.perfect_fit_case arch", lambda: claims.perfect_fit_case("x"), T, "arch = 'x'"),
    ("claims.perfect_fit_case target", lambda: claims.perfect_fit_case(A, target="J"), InvalidOptionError,
     "target = 'J'"),
    ("claims.perfect_fit_cross_entropy_logits K=1",
     lambda: claims.perfect_fit_cross_entropy_logits([eh.FCN(2, (2,), 1)]), V, "output_dim >= 2"),
    ("claims.minimum_case CNN", lambda: claims.minimum_case(C), InvalidArchitectureError, "not a deep linear FCN"),
    ("claims.minimum_case arch", lambda: claims.minimum_case(3), T, "arch = 3"),
    ("claims.least_squares_minimum d=1", lambda: claims.least_squares_minimum(eh.FCN(1, (1,), 1)),
     InvalidArchitectureError, "input_dim = 1"),
    ("claims.minimum_with_nonzero_gradient archs", lambda: claims.minimum_with_nonzero_gradient(archs=3), T,
     "archs = 3"),
    ("claims.relu_activation_part archs", lambda: claims.relu_activation_part([None]), T, "archs[0] = None"),
    ("claims.relu_within_layer n_samples", lambda: claims.relu_within_layer(n_samples=1.5), T, "n_samples = 1.5"),
    ("claims.relu_whole_hessian seed", lambda: claims.relu_whole_hessian(seed=-1), V, "seed = -1"),
    ("claims.near_linear_activation_part out", lambda: claims.near_linear_activation_part(out=3), T, "out = 3"),
    ("claims.near_linear_whole_hessian progress", lambda: claims.near_linear_whole_hessian(progress=0), T,
     "progress = 0"),
    # ---- sizes refused up front -------------------------------------------------------------
    ("verify FCN(3000, (3000,), 3000)", lambda: eh.verify(eh.FCN(3000, (3000,), 3000)), ProblemTooLargeError,
     "18,000,000 parameters"),
    ("verify FCN(1e5, (1e5,), 10)", lambda: eh.verify(eh.FCN(10**5, (10**5,), 10)), ProblemTooLargeError,
     "needs about"),
    ("verify huge n_samples", lambda: eh.verify(A, n_samples=10**9), ProblemTooLargeError, "n = 1000000000 samples"),
    ("verify huge CNN", lambda: eh.verify(eh.CNN((512, 512), (64, 64), 3, 10, in_channels=3)), ProblemTooLargeError,
     "parameters"),
    ("hessian huge", lambda: eh.hessian(eh.FCN(10**5, (10**5,), 10)), ProblemTooLargeError, "needs about"),
    ("hessian H_L too large", lambda: eh.hessian(eh.FCN(100, (200,), 100), n_samples=1).H_L, ProblemTooLargeError,
     "40000 x 40000"),
    ("rank huge", lambda: eh.rank(np.broadcast_to(np.int8(1), (200_000, 200_000))), ProblemTooLargeError,
     "200000 x 200000"),
    ("gauss_newton_gap huge", lambda: eh.gauss_newton_gap(eh.FCN(100, (100,), 100)), ProblemTooLargeError,
     "20,000 parameters"),
    ("claims huge", lambda: claims.perfect_fit_mse([eh.FCN(200, (100,), 100)]), ProblemTooLargeError, "parameters"),
]


@pytest.mark.parametrize("call, error, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_the_policy_error(call, error, words):
    """Wrong types are TypeErrors, wrong values ValueErrors, all ExactHessErrors; the message names the
    argument and the value (``words``)."""
    with pytest.raises(ExactHessError) as info:
        call()
    exc = info.value
    assert isinstance(exc, error), f"{type(exc).__name__}: {exc}"
    if issubclass(error, TypeError):
        assert isinstance(exc, TypeError) and not isinstance(exc, ValueError)
    else:
        assert isinstance(exc, ValueError) and not isinstance(exc, TypeError)
    assert words in str(exc), str(exc)
    assert "\n" not in str(exc)


def test_enough_bad_inputs_are_covered():
    """The table covers every public function and class of the package (the issue counted 216)."""
    covered = {c[0].split()[0] for c in CASES}
    for name in ("FCN", "CNN", "ConvLayer", "from_spec", "activation", "loss", "Loss.custom", "to_rational",
                 "rational_array", "GF", "hessian", "block", "block_column", "to_sympy", "rank", "verify",
                 "conv_operator", "conv_matrix", "toeplitz_operator", "parameter_map", "parameter_map_matrix",
                 "kernel_from_tensorflow", "conv_singular_values", "check_conv_sv_theorem", "clip",
                 "from_torch", "get_statement", "search", "sweep", "gauss_newton_gap", "curvature_scaling"):
        assert name in covered, name
    assert sum(c[0].startswith("claims.") for c in CASES) >= 20
    assert len(CASES) >= 216


def test_size_refusals_state_the_estimate_and_what_dominates():
    """A refused problem says how much memory it would need, the limit, what dominates and how to change it."""
    with pytest.raises(ProblemTooLargeError) as info:
        eh.verify(eh.FCN(3000, (3000,), 3000))
    text = str(info.value)
    for words in ("needs about", "PiB", "expected at most ", "mostly", "EXACTHESS_MEMORY_LIMIT_GB"):
        assert words in text, text


def test_the_largest_benchmarks_are_not_refused():
    """The benchmark networks (7,648 and 7,760 parameters) and the notebook fit the default budget."""
    from exacthess.hessian.cost import require_fits, verify_cost
    for arch, n in ((eh.FCN(64, (64, 48), 10), 128), (eh.CNN((32,), (16, 16, 16), 5, 10, paddings=2), 64),
                    (eh.FCN(25, (5, 10), 10), 50), (eh.FCN(100, (100,), 10), 200)):
        assert require_fits(verify_cost(arch, n)).peak < 4 * 2**30


def test_memory_limit_is_read_from_the_environment(monkeypatch):
    """EXACTHESS_MEMORY_LIMIT_GB lowers (or raises) the budget; a malformed value keeps the default."""
    monkeypatch.setenv("EXACTHESS_MEMORY_LIMIT_GB", "0.001")
    with pytest.raises(ProblemTooLargeError, match="expected at most 1.0 MiB"):
        eh.verify(eh.FCN(25, (5, 10), 10), n_samples=50)
    monkeypatch.setenv("EXACTHESS_MEMORY_LIMIT_GB", "junk")
    assert eh.verify(eh.FCN(2, (1,), 1), n_samples=2, float_check=False).ok


def test_option_errors_list_the_allowed_values():
    with pytest.raises(InvalidOptionError, match="expected one of 'auto', 'always', 'never'"):
        check_option("maybe", "certify", ("auto", "always", "never"))
    with pytest.raises(InvalidOptionError) as info:
        eh.verify(A, point="zeros")
    assert "'gaussian', 'integers'" in str(info.value)


# ---- Hypothesis: junk of every type into the main entry points --------------------------------

junk = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 6), st.integers(10**12, 10**13), st.text(max_size=4),
    st.floats(allow_nan=True, allow_infinity=True), st.complex_numbers(max_magnitude=3),
    st.lists(st.integers(-2, 4), max_size=3), st.lists(st.lists(st.floats(-2, 2), max_size=3), max_size=3),
    st.just(np.array([[np.nan, 1.0]])), st.just(np.ones((3, 2))), st.just((np.ones((3, 2)), np.ones((3, 2)))),
    st.just(A), st.just(C), st.just({"family": "fcn"}), st.just(object()), st.just("GF(7)"), st.just("relu"),
    st.just("cross_entropy"), st.just(lambda *a: None), st.just(Fraction(1, 3)), st.just(b"x"),
)

# entry point, valid keyword arguments: each argument in turn is replaced by junk (``search`` runs Hypothesis
# itself, which cannot nest in a @given test: its arguments are in the table above)
ONE_BAD = {
    "FCN": (eh.FCN, dict(input_dim=2, widths=(2,), output_dim=2, bias=False, activation="linear")),
    "CNN": (eh.CNN, dict(input_shape=(5,), channels=(1,), kernel_sizes=2, output_dim=2, in_channels=1, strides=1,
                         paddings=0, bias=False, activation="relu")),
    "from_spec": (lambda **kw: eh.from_spec(dict(kw)), dict(family="fcn", input_dim=2, widths=[1], output_dim=1)),
    "activation": (eh.models.activation, dict(spec="relu")),
    "loss": (eh.models.loss, dict(spec="mse")),
    "Loss.custom": (lambda **kw: eh.hessian(A, n_samples=2, loss=eh.Loss.custom(**kw)).H_L,
                    dict(gradient=lambda f, y: [f[0] - y[0], f[1] - y[1]], hessian=lambda f, y: [[1, 0], [0, 1]])),
    "to_rational": (eh.to_rational, dict(value=1, name="x")),
    "rank": (eh.rank, dict(M=np.eye(2), certify="auto", seed=0, budget_seconds=1.0, n_primes=1, upper_bound=None)),
    "hessian": (lambda **kw: eh.hessian(**kw).H_L,
                dict(arch=A, params=None, data=None, n_samples=3, seed=0, domain="QQ", loss="mse", point="gaussian")),
    "block": (H.block, dict(name="H_f", l=1, m=2)),
    "block_column": (H.block_column, dict(name="H_o", l=2)),
    "verify": (eh.verify, dict(arch=A, n_samples=3, seed=0, data=None, params=None, loss="mse", certify="auto",
                               budget_seconds=5.0, float_check=False, statements=None, progress=None,
                               point="gaussian", perfect_fit=False)),
    "gauss_newton_gap": (eh.gauss_newton_gap, dict(arch=A, params=None, data=None, loss="mse", n_samples=3, seed=0,
                                                   scale=None, ranks=True, block_ranks=False, certify="auto",
                                                   perfect_fit=False, progress=None)),
    "claims": (claims.perfect_fit_mse, dict(archs=[A], n_samples=3, seed=0, progress=None)),
    "conv_matrix": (eh.spectral.conv_matrix, dict(arch=C, l=1, weight=[1, 2], bias=None, domain="QQ")),
    "conv_operator": (eh.spectral.conv_operator, dict(kernel=K1, input_shape=4, stride=1, padding="circular", bias=None,
                                             domain="float64")),
    "get_statement": (eh.statements.get_statement, dict(statement_id="singh2021.H_o")),
}
ONE_BAD_CASES = [(f, a) for f, (_, kw) in ONE_BAD.items() for a in kw]


@pytest.mark.parametrize("entry, arg", ONE_BAD_CASES, ids=[f"{f}-{a}" for f, a in ONE_BAD_CASES])
@given(value=junk)
def test_fuzz_one_argument_only_exacthess_errors_escape(entry, arg, value):
    """Every argument of every main entry point, in turn replaced by junk of any type while the others
    are valid: the call returns, or raises an ExactHessError that is a TypeError or a ValueError with a
    one-line message (a ReLU kink at the given point is a NonDifferentiableError, a ValueError too)."""
    fn, kwargs = ONE_BAD[entry]
    try:
        fn(**{**kwargs, arg: value})
    except ExactHessError as exc:
        assert isinstance(exc, (TypeError, ValueError)), type(exc)
        assert str(exc) and "\n" not in str(exc)


MAIN = {
    "FCN": lambda a, b, c, d: eh.FCN(a, b, c, bias=d),
    "CNN": lambda a, b, c, d: eh.CNN(a, b, c, 2, strides=d),
    "from_spec": lambda a, b, c, d: eh.from_spec({"family": "fcn", "input_dim": a, "widths": b, "output_dim": c}),
    "activation": lambda a, b, c, d: eh.models.activation(a),
    "loss": lambda a, b, c, d: eh.models.loss(a),
    "rank": lambda a, b, c, d: eh.rank(a, certify=b, n_primes=c, budget_seconds=d),
    "rank_matrix": lambda a, b, c, d: eh.rank([[a, b], [c, d]]),
    "to_rational": lambda a, b, c, d: eh.to_rational(a),
    "hessian": lambda a, b, c, d: eh.hessian(A, params=a, data=b, n_samples=c, domain=d).H_L,
    "hessian_options": lambda a, b, c, d: eh.hessian(A, seed=a, loss=b, point=c, domain=d),
    "block": lambda a, b, c, d: H.block(a, b, c),
    "verify": lambda a, b, c, d: eh.verify(a, n_samples=b, seed=c, certify=d, float_check=False),
    "verify_options": lambda a, b, c, d: eh.verify(A, budget_seconds=a, progress=b, statements=c, perfect_fit=d,
                                                   float_check=False),
    "verify_point": lambda a, b, c, d: eh.verify(A, data=a, params=b, loss=c, point=d, float_check=False),
    "gauss_newton_gap": lambda a, b, c, d: eh.gauss_newton_gap(A, n_samples=a, scale=b, seed=c, certify=d),
    "claims": lambda a, b, c, d: claims.perfect_fit_mse(a, n_samples=b, seed=c, progress=d),
    "get_statement": lambda a, b, c, d: eh.statements.get_statement(a),
    "conv_matrix": lambda a, b, c, d: eh.spectral.conv_matrix(a, b, c, domain=d),
}


@pytest.mark.parametrize("name", sorted(MAIN))
@given(a=junk, b=junk, c=junk, d=junk)
def test_fuzz_only_exacthess_errors_escape(name, a, b, c, d):
    """Whatever the arguments, the call returns or raises an ExactHessError that is a TypeError or a
    ValueError (a ReLU kink at the given point: NonDifferentiableError, a ValueError too)."""
    try:
        MAIN[name](a, b, c, d)
    except ExactHessError as exc:
        assert isinstance(exc, (TypeError, ValueError)), type(exc)
        assert str(exc) and "\n" not in str(exc)


def test_every_error_class_is_exported():
    """Every exception class defined in the package is defined in one module and public in
    ``exacthess.errors``, and is an ExactHessError."""
    import ast
    from pathlib import Path
    root = Path(eh.__file__).parent
    defined, where = set(), set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                defined.add(node.name)
                where.add(path.relative_to(root).as_posix())
    assert where == {"core/errors.py"}, where
    missing = sorted(n for n in defined if n not in eh.errors.__all__)
    assert not missing, missing
    # InternalError is a bug report, not the user's to fix: deliberately not an ExactHessError (exit 70)
    assert all(issubclass(getattr(eh.errors, n), ExactHessError) for n in defined - {"InternalError"})
    assert not issubclass(eh.errors.InternalError, ExactHessError)
    # the policy: every error the user can provoke is a TypeError or a ValueError (a missing optional
    # dependency is an ImportError, as Python's own)
    for n in sorted(defined - {"InternalError", "ExactHessError", "SweepIncompleteError"}):
        cls = getattr(eh.errors, n)
        assert issubclass(cls, (TypeError, ValueError, ImportError)), n
        assert not (issubclass(cls, TypeError) and issubclass(cls, ValueError)), n


def test_non_differentiable_error_is_a_value_error_with_its_attributes():
    """A ReLU kink at the given point: a ValueError (the values of params and data), naming the sample,
    the layer and the unit in its attributes and its one-line message."""
    net = eh.FCN(2, (3,), 1, activation="relu")
    with pytest.raises(ValueError) as info:  # 1*2 + 2*(-1) = 0 at sample 1
        eh.verify(net, params=[[[1, 2], [3, 4], [5, 6]], [[1, 1, 1]]], data=([[1, 1], [2, -1]], [[0], [0]]),
                  float_check=False)
    exc = info.value
    assert isinstance(exc, NonDifferentiableError) and isinstance(exc, eh.errors.InvalidDataError)
    assert not isinstance(exc, TypeError)
    assert (exc.sample, exc.layer, exc.unit) == (1, 1, 0)
    assert "\n" not in str(exc) and "sample 1, layer 1, unit 0" in str(exc)


def test_default_memory_budget_follows_the_machine(monkeypatch):
    """Without EXACTHESS_MEMORY_LIMIT_GB the budget is 12 GiB, or three quarters of the machine's
    memory when that is smaller."""
    from exacthess.core import resources
    monkeypatch.delenv("EXACTHESS_MEMORY_LIMIT_GB", raising=False)
    monkeypatch.setattr(resources, "_physical", lambda: 64 * 2**30)
    assert resources.memory_limit() == 12 * 2**30
    monkeypatch.setattr(resources, "_physical", lambda: 8 * 2**30)
    assert resources.memory_limit() == 6 * 2**30
    monkeypatch.setattr(resources, "_physical", lambda: 0)
    assert resources.memory_limit() == 12 * 2**30
