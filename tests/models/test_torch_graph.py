"""from_torch through torch.fx: graphs of exact operations read from any traceable module.

Independent route: torch's own second derivatives (``torch.func.hessian`` of the float64 loss over
``dict(model.named_parameters())`` through ``functional_call``), flattened in ``named_parameters``
order, at few-bit dyadic weights and data (where float64 is exact on the linear parts); batch
normalisation's stand-in of ``1/sqrt(var + eps)`` (within 2^-64) and torch's float64 square root
agree to about 1e-16 relatively.
"""

import copy

import numpy as np
import pytest

import exacthess
import exacthess as eh
from exacthess.core.errors import InvalidTypeError, NonDifferentiableError, UnsupportedModuleError
from exacthess.models import from_torch, torch_architecture
from exacthess.models.graph import Graph
from exacthess.models.torch_graph import graph_from_torch

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


# ----- models -------------------------------------------------------------------------------------
def mixed_mlp():
    return nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3), nn.LeakyReLU(0.25), nn.Linear(3, 2))


class Residual(nn.Module):
    """``x + f(x)`` and a projection skip ``P x + g(x)``."""

    def __init__(self):
        super().__init__()
        self.f1, self.f2 = nn.Linear(4, 3), nn.Linear(3, 4)
        self.g = nn.Linear(4, 3, bias=False)
        self.proj = nn.Linear(4, 3)
        self.head = nn.Linear(3, 2)

    def forward(self, x):
        x = x + self.f2(torch.relu(self.f1(x)))
        y = self.proj(x) + F.leaky_relu(self.g(x), 0.5)
        return self.head(y)


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 2, 3)
        self.pool, self.avg = nn.MaxPool2d(2), nn.AvgPool2d(2, stride=1)
        self.fc = nn.Linear(2, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))       # (2, 4, 4)
        x = self.avg(F.relu(self.conv2(x)))         # (2, 1, 1)
        return self.fc(torch.flatten(x, 1))


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out, eps=2 ** -10)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, bias=False), nn.BatchNorm2d(2), nn.ReLU())
        self.layer1 = nn.Sequential(Block(2, 2, 1), Block(2, 2, 2))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        x = self.pool(self.layer1(self.stem(x)))
        return self.fc(x.view(x.size(0), -1))


def temporal():
    return nn.Sequential(nn.Conv1d(2, 3, 3, dilation=2, padding=2, padding_mode="circular"), nn.ReLU(),
                         nn.Conv1d(3, 2, 2, dilation=3), nn.LeakyReLU(0.125), nn.AvgPool1d(2), nn.Flatten(),
                         nn.Linear(4, 2))


def conv3d():
    return nn.Sequential(nn.Conv3d(1, 2, 2), nn.ReLU(), nn.MaxPool3d(2), nn.Flatten(), nn.Linear(2, 2))


def grouped():
    return nn.Sequential(nn.Conv2d(2, 4, 3, groups=2, padding="same"), nn.ReLU(),
                         nn.Conv2d(4, 4, 2, groups=4, bias=False), nn.Flatten(), nn.Linear(36, 2))


class Functional(nn.Module):
    """The functional spellings: F.max_pool1d, F.avg_pool1d with padding, x.relu(), F.dropout, x.reshape with
    x.shape[0], torch.flatten, torch.add."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3, padding="same")
        self.fc, self.skip = nn.Linear(6, 2), nn.Linear(8, 2)

    def forward(self, x):
        y = F.max_pool1d(self.conv(x).relu(), 2)            # (2, 4)
        y = F.avg_pool1d(y, kernel_size=2, padding=1)        # (2, 3)
        y = F.dropout(y, 0.3, training=self.training)
        return torch.add(self.fc(y.reshape(y.shape[0], -1)), self.skip(torch.flatten(x, 1)))


def dropout_eval():
    return nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.ReLU(), nn.Dropout1d(0.2), nn.Identity(),
                         nn.Linear(4, 2)).eval()


MODELS = [("mixed mlp", mixed_mlp, (5,)), ("residual", Residual, (4,)), ("lenet", LeNet, (1, 8, 8)),
          ("resnet", ResNet, (1, 4, 4)), ("temporal", temporal, (2, 8)), ("conv3d", conv3d, (1, 3, 3, 3)),
          ("grouped", grouped, (2, 4, 4)), ("dropout", dropout_eval, (3,)),
          ("functional", Functional, (1, 8))]


# ----- helpers ------------------------------------------------------------------------------------
def dyadic(model, seed):
    """Weights k/16 (|k| <= 8); batch-norm statistics: means k/16 and variances with var + eps = 4 (exact
    scale 1/2) or 3/2 + small (a 2^-64 stand-in)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-8, 9, p.shape, generator=gen) / 16)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randint(-8, 9, m.running_mean.shape, generator=gen) / 16)
                var = torch.full(m.running_var.shape, 4 - m.eps, dtype=torch.float64)
                var[::2] = 1.5
                m.running_var.copy_(var)
    return model.eval()


def torch_hessian(model, X, Y, loss):
    model = copy.deepcopy(model).double()
    params = {k: v.detach() for k, v in model.named_parameters()}
    n = X.shape[0]

    def f(p):
        out = torch.func.functional_call(model, p, (X,)).reshape(n, -1)
        if loss == "mse":
            return 0.5 * ((out - Y) ** 2).sum()
        return -(Y * torch.log_softmax(out, dim=1)).sum()
    H = torch.func.hessian(f)(params)
    sizes = {k: v.numel() for k, v in params.items()}
    return np.block([[H[a][b].reshape(sizes[a], sizes[b]).numpy() for b in params] for a in params])


def compare(model, shape, seed=0, loss="mse", n=2):
    """The exact H_L of the converted graph against torch's, redrawing data at a kink or a pooling tie."""
    graph, params = graph_from_torch(model, shape)
    for attempt in range(20):
        rng = np.random.default_rng([seed, attempt])
        X = rng.integers(-16, 17, size=(n,) + shape) / 8
        K = graph.output_dim
        Y = np.eye(K)[rng.integers(0, K, n)] if loss == "cross_entropy" else rng.integers(-4, 5, (n, K)) / 4
        try:
            H = exacthess.hessian(graph, params=params, data=(X.reshape(n, -1), Y), loss=loss).H_L
        except NonDifferentiableError:
            continue
        break
    else:
        pytest.fail("no point without kinks or ties in 20 draws")
    ref = torch_hessian(model, torch.tensor(X), torch.tensor(Y), loss)
    got = np.array(H, dtype=float)
    assert got.shape == ref.shape == (graph.n_params, graph.n_params)
    scale = max(1.0, float(np.abs(ref).max()))
    assert np.abs(got - ref).max() <= 1e-12 * scale
    return graph, params, (X.reshape(n, -1), Y)


# ----- Hessians against torch ---------------------------------------------------------------------
@pytest.mark.parametrize("case", MODELS, ids=[c[0] for c in MODELS])
def test_hessian_equals_torch(case):
    _, build, shape = case
    model = dyadic(build(), seed=len(shape))
    graph, params, _ = compare(model, shape)
    flat = torch.cat([p.detach().flatten() for p in model.parameters()]).double().numpy()
    assert np.array_equal(np.concatenate([np.array(p, dtype=float).ravel() for p in params]), flat)
    assert graph.n_params == flat.size


def test_cross_entropy_equals_torch():
    compare(dyadic(Residual(), seed=3), (4,), seed=1, loss="cross_entropy", n=3)


def test_chain_and_graph_readers_agree_exactly():
    """A chain (eval-mode dropout skipped) is still an FCN through from_torch; read as a graph, its exact
    Hessian is the same matrix of rationals."""
    model = dyadic(dropout_eval(), seed=5)
    fcn, fcn_params = from_torch(model, (3,))
    assert isinstance(fcn, exacthess.FCN)
    graph, params, data = compare(model, (3,), seed=2)
    H1 = exacthess.hessian(fcn, params=fcn_params, data=data).H_L
    H2 = exacthess.hessian(graph, params=params, data=data).H_L
    assert (H1 == H2).all()


def test_pinned_mixed_activation_sequential():
    """The issue's example: a Sequential with ReLU then LeakyReLU is read (as a Graph), in named_parameters order."""
    torch.manual_seed(0)
    model = mixed_mlp()
    graph, params = from_torch(model, (5,))
    assert isinstance(graph, Graph) and graph.n_params == 47
    assert [str(a) for a in graph.activations] == ["relu", "leaky_relu(1/4)"]
    assert [f"{n}.{k}" for n, k in graph.param_order] == [k for k, _ in model.named_parameters()]


def test_batchnorm_stand_in_is_recorded():
    """var + eps = 4 gives the exact scale 1/2; var = 3/2 gives a stand-in within 2^-64, recorded in attrs."""
    graph, _ = from_torch(dyadic(ResNet(), 0), (1, 4, 4))
    bn1 = graph.by_name["layer1.0.bn1"]
    assert bn1.where == "layer1.0.bn1 BatchNorm2d" and bn1.attrs["scale"][1] == exacthess.to_rational(0.5)
    assert bn1.attrs["standin_rel_error"] == exacthess.to_rational(2.0 ** -64)
    r = bn1.attrs["scale"][0]
    assert abs(r * r * (exacthess.to_rational(1.5) + exacthess.to_rational(2.0 ** -10)) - 1) < exacthess.to_rational(
        2.0 ** -62)


def test_torch_architecture_reads_graphs_and_meta_models():
    model = dyadic(ResNet(), 0)
    graph, _ = from_torch(model, (1, 4, 4))
    assert torch_architecture(model, (1, 4, 4)) == graph
    with torch.device("meta"):
        meta = ResNet().eval()
    assert torch_architecture(meta, (1, 4, 4)).n_params == graph.n_params
    with pytest.raises(UnsupportedModuleError, match="'meta' device"):
        from_torch(meta, (1, 4, 4))


def test_a_large_graph_is_refused_from_its_shapes():
    """Mixed activations make the issue's 9-million-parameter MLP a graph; it is refused with the estimate before
    any weight is converted (on the meta device it has no weights at all)."""
    from exacthess.core.errors import ProblemTooLargeError
    with torch.device("meta"):
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 3000), nn.ReLU(), nn.Linear(3000, 2200),
                              nn.LeakyReLU(0.5), nn.Linear(2200, 10))
    assert isinstance(torch_architecture(model, (1, 28, 28)), Graph)
    with pytest.raises(ProblemTooLargeError, match="8,979,210 parameters.*before converting any weight"):
        from_torch(model, (1, 28, 28))


def test_round_trip_detects_a_hook():
    model = Residual()
    model.head.register_forward_hook(lambda mod, inp, out: out * 2)
    with pytest.raises(UnsupportedModuleError, match="does not reproduce the module"):
        graph_from_torch(model, (4,))
    assert graph_from_torch(model, (4,), check=False)[0].n_params == 66


# ----- refusals -----------------------------------------------------------------------------------
class Wrap(nn.Module):
    """``head(body(x))`` with ``body`` any module; optional ``extra`` module not called."""

    def __init__(self, body, extra=None, width=3):
        super().__init__()
        self.body = body
        self.head = nn.Linear(width, 2)
        if extra is not None:
            self.extra = extra

    def forward(self, x):
        return self.head(self.body(x))


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)

    def forward(self, x):
        return self.a(torch.relu(self.a(x)))


class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return out


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.scale = nn.Parameter(torch.ones(2))

    def forward(self, x):
        return self.fc(x) * self.scale


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(x) if x.sum() > 0 else -self.fc(x)


class MergesBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 2)

    def forward(self, x):
        return self.fc(x.view(-1))


class GeluF(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(F.gelu(x))


class WithBuffer(nn.Module):
    """A buffer is a constant of the trace: read only as a causal mask or a scalar factor."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.register_buffer("mask", torch.ones(3))

    def forward(self, x):
        return self.fc(x * self.mask)


#: (id, model, input shape, index, module type, words of the message)
REFUSED = [
    ("bn train", lambda: Wrap(nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))), (3,), "body.1", "BatchNorm1d",
     "model.eval()"),
    ("dropout train", lambda: Wrap(nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))), (3,), "body.1", "Dropout",
     "model.eval()"),
    ("tanh", lambda: Wrap(nn.Tanh()), (3,), "body", "Tanh", "activation"),
    ("gelu", lambda: Wrap(nn.GELU()), (3,), "body", "GELU", "activation"),
    ("sigmoid", lambda: Wrap(nn.Sequential(nn.Linear(3, 3), nn.Sigmoid())), (3,), "body.1", "Sigmoid",
     "loss='cross_entropy' or 'bce'"),
    ("tied", Tied, (3,), "b", "Linear", "tied"),
    ("called twice", Twice, (3,), "a", "Linear", "called twice"),
    ("reflect", lambda: Wrap(nn.Sequential(nn.Conv1d(1, 1, 3, padding=1, padding_mode="reflect"), nn.Flatten())),
     (1, 3), "body.0", "Conv1d", "padding_mode = 'reflect'"),
    ("lstm", Lstm, (4, 3), "rnn", "LSTM", "recurrent"),
    ("unused", lambda: Wrap(nn.ReLU(), extra=nn.Linear(3, 3)), (3,), "extra", "Linear", "does not call"),
    ("buffer", WithBuffer, (3,), "mul", "operator.mul", "a tensor times a constant number"),
    ("direct parameter", Scaled, (3,), "scale", "get_attr", "read directly"),
    ("merges batch", MergesBatch, (2, 3), "view", "Tensor.view", "batch"),
    ("gelu function", GeluF, (3,), "gelu", "torch.nn.functional.gelu", "is not supported"),
    ("ceil mode", lambda: Wrap(nn.Sequential(nn.MaxPool1d(2, ceil_mode=True), nn.Flatten()), width=2), (1, 5),
     "body.0", "MaxPool1d", "ceil_mode"),
    ("uneven adaptive", lambda: Wrap(nn.Sequential(nn.AdaptiveAvgPool1d(2), nn.Flatten()), width=2), (1, 5),
     "body.0", "AdaptiveAvgPool1d", "dividing"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_refusals_name_the_module_path_and_type(case):
    _, build, shape, index, typename, words = case
    with pytest.raises(UnsupportedModuleError) as info:
        from_torch(build(), shape)
    err, text = info.value, str(info.value)
    assert err.index == index and err.module == typename
    assert f"[{index}]" in text and words in text and "supported:" in text


def test_refusals_of_the_whole_module():
    with pytest.raises(UnsupportedModuleError, match="cannot be traced by torch.fx"):
        from_torch(Branchy(), (3,))
    with pytest.raises(UnsupportedModuleError, match="no parameters"):
        from_torch(nn.Sequential(nn.ReLU(), nn.Flatten()), (3,))
    with pytest.raises(InvalidTypeError, match="expected a torch.nn.Module"):
        graph_from_torch(object(), (3,))


def test_cli_reads_a_graph_module(tmp_path):
    """``exacthess verify torch`` takes a module that reads as a graph: sized from its shapes, then read exactly."""
    import argparse

    from exacthess.cli.torch_model import configure, load
    from exacthess.models.graph import Graph
    torch.save(mixed_mlp().eval(), tmp_path / "m.pt")
    args = configure(argparse.ArgumentParser()).parse_args([str(tmp_path / "m.pt"), "--input-shape", "5"])
    arch, params, data = load(args)
    assert isinstance(arch, Graph) and len(params) == 6 and data is None


def test_in_place_operations_read_again_are_refused():
    """Pinned (review): an in-place ReLU whose input is read later gave a wrong Hessian, certified."""
    import torch.nn as nn

    class Aliased(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.fc3 = nn.Linear(2, 2), nn.Linear(2, 1), nn.Linear(2, 1)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            h = self.fc1(x)
            return self.fc2(self.relu(h)) + self.fc3(h)  # fc3 reads relu(h): h was overwritten

    class Idiom(nn.Module):  # torchvision's: out = relu(fc(x)); out += x; out = relu(out)
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2, self.relu = nn.Linear(2, 2), nn.Linear(2, 2), nn.ReLU(inplace=True)

        def forward(self, x):
            out = self.relu(self.fc1(x))
            out += x
            return self.fc2(self.relu(out))
    with pytest.raises(UnsupportedModuleError, match=r"\[relu\].*overwrites its input 'fc1' in place.*'fc3'"):
        eh.from_torch(Aliased(), (2,))
    arch, _ = eh.from_torch(Idiom(), (2,))
    assert arch.n_params == 12


def test_conv3d_on_the_command_line_and_samples_as_maps(tmp_path, capsys):
    from exacthess.cli.main import main
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv3d(1, 2, 2), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(16, 1))
    torch.save(model, tmp_path / "c3.pt")
    assert main(["verify", "torch", str(tmp_path / "c3.pt"), "--input-shape", "1,3,3,3", "--samples", "3",
                 "--no-float"]) == 0
    capsys.readouterr()
    arch, params = eh.from_torch(model.eval(), (1, 3, 3, 3))
    X, Y = torch.randn(3, 1, 3, 3, 3), torch.randn(3, 1)
    assert (eh.hessian(arch, params=params, data=(X, Y)).H_L ==
            eh.hessian(arch, params=params, data=(X.reshape(3, -1), Y)).H_L).all()
