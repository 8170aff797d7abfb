"""from_torch and the ``verify torch`` loading: structure, exact conversion, refusals, bad input.

Independent routes: torch's own float64 forward pass (outputs compared exactly at dyadic inputs
with small-integer weights, where float64 is exact) and the exact binary values of float32/float64
numbers (``float.as_integer_ratio`` in Python, checked against hand-written dyadic values).
"""

import argparse
import sys
from fractions import Fraction

import numpy as np
import pytest
from flint import fmpq

import exacthess
from exacthess.core.errors import (ExactHessError, InvalidDataError, InvalidTypeError, InvalidValueError,
                                   MissingDependencyError, NonDifferentiableError, UnsupportedModuleError)
from exacthess.models import from_torch
from exacthess.models.graph import Graph
from exacthess.models.torch_check import exact_forward

torch = pytest.importorskip("torch")
nn = torch.nn


def integer_weights(model, seed=0, low=-2, high=2):
    """Small-integer weights: float64 forward passes are then exact."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(low, high + 1, p.shape, generator=gen).to(p.dtype))
    return model


def torch_outputs(model, X, shape):
    with torch.no_grad():
        return model.double()(torch.tensor(np.asarray(X, dtype=float)).reshape((-1,) + shape)).reshape(len(X), -1)


# ----- structure ----------------------------------------------------------------------------------
def test_fcn_structure_and_parameter_order():
    """An MLP becomes an FCN; params are weight (row-major, as torch) then bias, layer by layer."""
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    arch, params = from_torch(model, (3,))
    assert arch == exacthess.FCN(3, (4,), 2, bias=True, activation="relu")
    assert [p.shape for p in params] == arch.param_shapes()
    ref = [t.detach().double().numpy() for t in (model[0].weight, model[0].bias, model[2].weight, model[2].bias)]
    for p, r in zip(params, ref):
        assert all(Fraction(int(v.p), int(v.q)) == Fraction(float(w)) for v, w in zip(p.flat, r.flat))


@pytest.mark.parametrize("dims", [1, 2])
def test_cnn_flatten_order_matches_torch(dims):
    """Conv layers, Flatten and a Linear head (two Linear layers): the exact forward equals torch's
    float64 forward exactly at integer weights and inputs, so torch's Flatten order is exacthess's
    channel-major vectorisation and the Linear weights are read as whole-map kernels."""
    conv = nn.Conv1d if dims == 1 else nn.Conv2d
    shape = (2, 7) if dims == 1 else (2, 5, 4)
    model = nn.Sequential(conv(2, 3, 3, stride=2, padding=1), nn.LeakyReLU(0.25), conv(3, 2, 2),
                          nn.LeakyReLU(0.25), nn.Flatten(), nn.Linear(2 * (3 if dims == 1 else 2 * 1), 4),
                          nn.LeakyReLU(0.25), nn.Linear(4, 3))
    integer_weights(model, seed=dims)
    arch, params = from_torch(model, shape)
    assert isinstance(arch, exacthess.CNN) and arch.activation.name == "leaky_relu(1/4)"
    assert arch.output_dim == 3 and len(arch.layers) == 4
    rng = np.random.default_rng(dims)
    X = rng.integers(-3, 4, size=(4, int(np.prod(shape))))
    ref = torch_outputs(model, X, shape)
    for x, r in zip(X, ref):
        z, _ = exact_forward(arch, params, x)
        assert [Fraction(int(v.p), int(v.q)) for v in z] == [Fraction(float(v)) for v in r]


def test_same_padding_valid_padding_and_final_conv():
    """padding='same' (odd kernel) and 'valid' map to symmetric paddings; a last convolution
    covering its whole unpadded input is the output layer (flattened or not)."""
    for tail in ([], [nn.Flatten()]):
        model = nn.Sequential(nn.Conv1d(1, 2, 3, padding="same"), nn.ReLU(), nn.Conv1d(2, 2, 3, padding="valid"),
                              nn.ReLU(), nn.Conv1d(2, 3, 4), *tail)
        arch, _ = from_torch(integer_weights(model), (1, 6))
        assert arch.paddings == (1, 0) and arch.kernel_sizes == (3, 3) and arch.output_dim == 3


def test_identity_dropout_eval_nested_and_linear_network():
    """Identity and eval-mode dropout are skipped, nested Sequentials read in order, and a
    network with no activation at all is the linear network."""
    model = nn.Sequential(nn.Flatten(), nn.Sequential(nn.Linear(6, 3), nn.Identity()), nn.Dropout(0.5),
                          nn.Linear(3, 2, bias=True)).eval()
    arch, params = from_torch(model, (2, 3))
    assert arch == exacthess.FCN(6, (3,), 2, bias=True)
    relu = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    assert from_torch(relu, (2,))[0].activation.name == "relu"


def test_float32_weights_and_leaky_slope_are_exact():
    """float32 0.1 is 13421773/134217728 exactly; LeakyReLU(0.01) stores the float64 0.01, whose
    exact value is 5764607523034235/2**59."""
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.LeakyReLU(0.01), nn.Linear(1, 1, bias=False))
    with torch.no_grad():
        model[0].weight.fill_(0.1)
        model[2].weight.fill_(-3.0)
    arch, params = from_torch(model, (1,))
    assert params[0][0, 0] == fmpq(13421773, 2 ** 27)
    assert arch.activation.slope == fmpq(5764607523034235, 2 ** 59)
    assert arch.activation.name == "leaky_relu(5764607523034235/576460752303423488)"
    assert from_torch(nn.Sequential(nn.Linear(1, 1), nn.LeakyReLU(0.0), nn.Linear(1, 1)), (1,))[0].activation.name \
        == "relu"


def test_round_trip_at_realistic_weights():
    """Default (Kaiming-uniform) float32 weights: the check passes within the float64 error bound."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2), nn.ReLU(),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    arch, params = from_torch(model, (1, 10, 10))
    assert arch.n_params == sum(p.numel() for p in model.parameters())


def test_round_trip_detects_what_layers_do_not_describe():
    """A forward hook changes torch's output: the round-trip check refuses the model."""
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    model[2].register_forward_hook(lambda mod, inp, out: out + 1)
    with pytest.raises(UnsupportedModuleError, match="round-trip check failed"):
        from_torch(model, (2,))
    assert from_torch(model, (2,), check=False)[0].n_params == 9


def test_round_trip_detects_a_wrong_flatten_order():
    """Reading the Linear weight in (H, W, C) order instead of torch's (C, H, W) fails the check."""
    from exacthess.models.torch_check import round_trip_check
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 3 * 3, 2))
    arch, params = from_torch(model, (1, 3, 3))
    round_trip_check(model, arch, params, (1, 3, 3))
    wrong = list(params)
    wrong[2] = params[2].reshape(2, 3, 3, 2).transpose(0, 3, 1, 2).copy()  # (m, H, W, C) -> (m, C, H, W)
    with pytest.raises(UnsupportedModuleError, match="round-trip check failed"):
        round_trip_check(model, arch, wrong, (1, 3, 3))


def test_kink_through_from_torch():
    """A torch model whose hidden unit 1 of layer 2 is exactly 0 on sample 2: NonDifferentiableError."""
    model = nn.Sequential(nn.Linear(1, 1, bias=False), nn.ReLU(), nn.Linear(1, 2, bias=False), nn.ReLU(),
                          nn.Linear(2, 1, bias=False))
    with torch.no_grad():
        model[0].weight.fill_(1.0)
        model[2].weight.copy_(torch.tensor([[1.0], [0.0]]))
        model[4].weight.fill_(1.0)
    arch, params = from_torch(model, (1,))
    with pytest.raises(NonDifferentiableError) as info:
        exacthess.hessian(arch, params=params, data=([[2], [3], [1]], [[0], [0], [0]])).H_L
    assert (info.value.sample, info.value.layer, info.value.unit) == (0, 2, 1)
    assert "sample 0, layer 2, unit 1" in str(info.value)


# ----- refusals -----------------------------------------------------------------------------------
REFUSED = [
    ("same even", lambda: nn.Sequential(nn.Conv1d(1, 1, 2, padding="same"), nn.Flatten(), nn.Linear(8, 1)),
     (1, 8), "0", "even kernel size 2"),
    ("batchnorm", lambda: nn.Sequential(nn.Conv1d(1, 2, 3), nn.BatchNorm1d(2), nn.ReLU(), nn.Flatten(),
                                        nn.Linear(12, 1)), (1, 8), "1", "normalisation"),
    ("dropout train", lambda: nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.ReLU(), nn.Linear(2, 1)),
     (2,), "1", "training mode"),
    ("tanh", lambda: nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)), (2,), "1", "activation"),
    ("softmax", lambda: nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.Softmax(dim=1)),
     (2,), "3", "loss='cross_entropy'"),
    ("flatten batch", lambda: nn.Sequential(nn.Flatten(0), nn.Linear(2, 1)), (2,), "0", "batch"),
    ("conv shape", lambda: nn.Sequential(nn.Conv2d(1, 1, 3), nn.Flatten(), nn.Linear(4, 1)), (8, 8), "0",
     "(C, H, W)"),
    ("nested", lambda: nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Sigmoid()), nn.Linear(2, 1)),
     (2,), "1.1", "activation"),
]

#: chains the chain reader refuses and the graph reader (torch.fx) accepts
AS_GRAPHS = [
    ("dilation", lambda: nn.Sequential(nn.Conv1d(1, 1, 3, dilation=2), nn.ReLU(), nn.Flatten(), nn.Linear(4, 1)),
     (1, 8)),
    ("groups", lambda: nn.Sequential(nn.Conv1d(2, 2, 3, groups=2), nn.ReLU(), nn.Flatten(), nn.Linear(12, 1)),
     (2, 8)),
    ("circular", lambda: nn.Sequential(nn.Conv1d(1, 1, 3, padding=1, padding_mode="circular"), nn.Flatten(),
                                       nn.Linear(8, 1)), (1, 8)),
    ("maxpool", lambda: nn.Sequential(nn.Conv1d(1, 1, 3), nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(),
                                      nn.Linear(3, 1)), (1, 8)),
    ("final activation", lambda: nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1), nn.ReLU()), (2,)),
    ("first activation", lambda: nn.Sequential(nn.ReLU(), nn.Linear(2, 1)), (2,)),
    ("two activations", lambda: nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.LeakyReLU(0.5),
                                              nn.Linear(2, 1)), (2,)),
    ("two in a row", lambda: nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.ReLU(), nn.Linear(2, 1)), (2,)),
    ("missing activation", lambda: nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.Linear(2, 1)),
     (2,)),
    ("mixed bias", lambda: nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1, bias=False)), (2,)),
    ("no flatten", lambda: nn.Sequential(nn.Conv1d(1, 1, 3), nn.ReLU(), nn.Linear(6, 1)), (1, 8)),
    ("map output", lambda: nn.Sequential(nn.Conv1d(1, 1, 3), nn.ReLU(), nn.Conv1d(1, 2, 3)), (1, 8)),
    ("partial final conv", lambda: nn.Sequential(nn.Conv1d(1, 1, 3), nn.ReLU(), nn.Conv1d(1, 2, 4, stride=4),
                                                 nn.Flatten()), (1, 8)),
]


@pytest.mark.parametrize("case", AS_GRAPHS, ids=[c[0] for c in AS_GRAPHS])
def test_chains_outside_the_chain_family_are_graphs(case):
    """What the chain reader refuses is read as a Graph (the round-trip check passes; every parameter is read)."""
    _, build, shape = case
    model = build()
    arch, params = from_torch(model, shape)
    assert isinstance(arch, Graph) and arch.n_params == sum(p.numel() for p in model.parameters())
    assert [p.shape for p in params] == [tuple(p.shape) for p in model.parameters()]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_refusals_name_the_module_and_its_index(case):
    """Every unsupported construction is refused with the module's index and what is supported."""
    _, build, shape, index, words = case
    with pytest.raises(UnsupportedModuleError) as info:
        from_torch(build(), shape)
    err = info.value
    assert isinstance(err, ValueError) and isinstance(err, ExactHessError)
    assert err.index == index and f"[{index}]" in str(err)
    assert words in str(err) and "supported:" in str(err)


def test_a_module_used_twice():
    """named_children() lists a repeated module once: a shared activation is still read twice, and a
    shared layer with weights (tied weights) is refused instead of silently dropped."""
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(3, 4), relu, nn.Linear(4, 4), relu, nn.Linear(4, 2)).double()
    arch, _ = from_torch(model, (3,))
    assert arch == exacthess.FCN(3, (4, 4), 2, bias=True, activation="relu")
    lin = nn.Linear(4, 4)
    with pytest.raises(UnsupportedModuleError, match=r"\[2\].*same module as \[1\].*shared") as info:
        from_torch(nn.Sequential(nn.Linear(3, 4), lin, lin, nn.Linear(4, 2)), (3,), check=False)
    assert info.value.index == "2"


def test_wrong_types_and_shapes():
    assert isinstance(from_torch(nn.Linear(2, 1), (2,))[0], Graph)  # a bare layer: a one-node graph
    with pytest.raises(InvalidTypeError, match="expected a torch.nn.Module"):
        from_torch("model.pt", (2,))
    with pytest.raises(InvalidTypeError, match="input_shape"):
        from_torch(nn.Sequential(nn.Linear(2, 1)), "2")
    with pytest.raises(InvalidValueError, match=r"input_shape\[0\] = 0"):
        from_torch(nn.Sequential(nn.Linear(2, 1)), (0,))
    with pytest.raises(UnsupportedModuleError, match=r"expected \(3,\)"):
        from_torch(nn.Sequential(nn.Linear(3, 1)), (2,))
    with pytest.raises(UnsupportedModuleError, match="no nn.Linear"):
        from_torch(nn.Sequential(nn.ReLU()), (2,))
    with pytest.raises(UnsupportedModuleError, match="lazy"):
        from_torch(nn.Sequential(nn.LazyLinear(2)), (2,))
    model = nn.Sequential(nn.Linear(2, 1))
    with torch.no_grad():
        model[0].weight[0, 1] = float("nan")
    with pytest.raises(exacthess.errors.NonFiniteError, match=r"module \[0\]\.weight\[0, 1\] = nan"):
        from_torch(model, (2,))


def test_missing_torch_is_an_import_error(monkeypatch):
    """Without torch: an ExactHessError that is an ImportError and names the extra."""
    model = nn.Sequential(nn.Linear(2, 1))
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"exacthess\[torch\]") as info:
        from_torch(model, (2,))
    assert isinstance(info.value, ImportError)


# ----- command line loading -----------------------------------------------------------------------
def parse(argv):
    from exacthess.cli.torch_model import configure
    return configure(argparse.ArgumentParser()).parse_args(argv)


def test_cli_load_model_and_data(tmp_path):
    """torch.save(model) + an .npz: (arch, params, data) with X flattened channel-major."""
    from exacthess.cli.torch_model import load
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 16, 3))
    torch.save(model, tmp_path / "m.pt")
    X = np.arange(2 * 16, dtype=np.float32).reshape(2, 1, 4, 4)
    np.savez(tmp_path / "d.npz", X=X, Y=np.array([0, 2]))
    arch, params, (Xf, Y) = load(parse([str(tmp_path / "m.pt"), "--input-shape", "1,4,4",
                                         "--data", str(tmp_path / "d.npz")]))
    assert arch.input_dim == 16 and Xf.shape == (2, 16) and (Xf[1] == X[1].reshape(-1)).all()
    H = exacthess.hessian(arch, params=params, data=(Xf, Y), loss="cross_entropy")
    assert H.H_o.shape == (arch.n_params, arch.n_params)
    assert load(parse([str(tmp_path / "m.pt"), "--input-shape", "1x4x4"]))[2] is None


def test_cli_help_states_the_security_caveat():
    from exacthess.cli.torch_model import configure
    text = " ".join(configure(argparse.ArgumentParser()).format_help().split())  # folded to the help width
    assert "weights_only=False" in text and "arbitrary code" in text and "trust" in text


def test_cli_without_torch(monkeypatch, tmp_path):
    from exacthess.cli.torch_model import load
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'exacthess\[torch\]'"):
        load(parse([str(tmp_path / "m.pt"), "--input-shape", "4"]))


def test_cli_load_errors(tmp_path):
    """Missing and unreadable files, a state_dict, wrong shapes: one-line exacthess errors."""
    from exacthess.cli.torch_model import load
    model = nn.Sequential(nn.Linear(4, 2))
    torch.save(model, tmp_path / "m.pt")
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a pickle")
    np.savez(tmp_path / "bad.npz", X=np.zeros((3, 5)), Y=np.zeros((3, 2)))
    np.savez(tmp_path / "noy.npz", X=np.zeros((3, 4)))
    np.savez(tmp_path / "rows.npz", X=np.zeros((3, 4)), Y=np.zeros((2, 2)))
    cases = [([str(tmp_path / "none.pt"), "--input-shape", "4"], InvalidDataError, "does not exist"),
             ([str(tmp_path), "--input-shape", "4"], InvalidDataError, "is not a file"),
             ([str(tmp_path / "junk.pt"), "--input-shape", "4"], InvalidDataError, "could not be read by torch.load"),
             ([str(tmp_path / "sd.pt"), "--input-shape", "4"], InvalidDataError, "state_dict"),
             ([str(tmp_path / "m.pt"), "--input-shape", "4,a"], InvalidValueError, "--input-shape = '4,a'"),
             ([str(tmp_path / "m.pt"), "--input-shape", "4", "--data", str(tmp_path / "junk.pt")], InvalidDataError,
              "could not be read by numpy.load"),
             ([str(tmp_path / "m.pt"), "--input-shape", "4", "--data", str(tmp_path / "bad.npz")], InvalidDataError,
              r"data X .* has shape \(3, 5\); expected \(n, 4\)"),
             ([str(tmp_path / "m.pt"), "--input-shape", "4", "--data", str(tmp_path / "noy.npz")], InvalidDataError,
              "has no array Y"),
             ([str(tmp_path / "m.pt"), "--input-shape", "4", "--data", str(tmp_path / "rows.npz")], InvalidDataError,
              "expected 3 rows")]
    for argv, err, words in cases:
        with pytest.raises(err, match=words) as info:
            load(parse(argv))
        assert "\n" not in str(info.value)


# ----- sizes, before any conversion ---------------------------------------------------------------
def _no_conversion(monkeypatch):
    """Make converting any weight fail the test: a refusal must come before it."""
    import exacthess.models.torch_import as ti

    def converted(*args, **kwargs):
        raise AssertionError("a weight was converted before the size check")
    monkeypatch.setattr(ti, "_tensor", converted)


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_model_too_large_is_refused_from_its_shapes(monkeypatch, device):
    """A 9-million-parameter MLP (the issue's): refused at once, with the estimate, before any weight is
    read (on the meta device it has no weights at all); its architecture is read from the shapes."""
    import time

    from exacthess.core.errors import ProblemTooLargeError
    from exacthess.models import torch_architecture
    with torch.device(device):
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 3000), nn.ReLU(), nn.Linear(3000, 2200), nn.ReLU(),
                              nn.Linear(2200, 10))
    _no_conversion(monkeypatch)
    assert torch_architecture(model, (1, 28, 28)).n_params == 8_979_210
    t0 = time.perf_counter()
    with pytest.raises(ProblemTooLargeError) as info:
        from_torch(model, (1, 28, 28))
    assert time.perf_counter() - t0 < 1.0
    text = str(info.value)
    assert "8,979,210 parameters" in text and "TiB" in text and "expected at most" in text
    assert "before converting any weight" in text and "\n" not in text


def test_meta_weights_are_refused_with_advice():
    """A model on torch's meta device has shapes but no values: an UnsupportedModuleError (a ValueError)
    naming the weight and how to give it values, not torch's NotImplementedError."""
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(UnsupportedModuleError) as info:
        from_torch(model, (4,))
    assert isinstance(info.value, ValueError) and info.value.index == "0"
    assert "module [0].weight is on torch's 'meta' device" in str(info.value) and "to_empty" in str(info.value)


def test_cli_sizes_the_verification_before_converting(monkeypatch, tmp_path, capsys):
    """``exacthess verify torch``: the whole verification (samples, loss) is sized from the shapes; a
    24,000-parameter model (its Hessian fits, verify does not, within 4 GiB) is refused with the estimate, exit 2,
    before any weight is converted; a meta-device model exits 2 too."""
    from exacthess.cli.main import main
    torch.save(nn.Sequential(nn.Flatten(), nn.Linear(784, 30), nn.ReLU(), nn.Linear(30, 10)), tmp_path / "m.pt")
    with torch.device("meta"):
        torch.save(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), tmp_path / "meta.pt")
    _no_conversion(monkeypatch)
    monkeypatch.setenv("EXACTHESS_MEMORY_LIMIT_GB", "4")  # below this verification's estimate
    assert main(["verify", "torch", str(tmp_path / "m.pt"), "--input-shape", "1,28,28"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: verify of FCN(input_dim=784") and "23,860 parameters" in err
    assert "needs about" in err and err.count("\n") == 1
    monkeypatch.undo()
    assert main(["verify", "torch", str(tmp_path / "meta.pt"), "--input-shape", "4"]) == 2
    err = capsys.readouterr().err
    assert "'meta' device" in err and err.count("\n") == 1
