"""Tracing a module with torch.fx (:mod:`exacthess.models.torch_trace`): the nanoGPT idiom of a causal buffer
sliced by a traced size, read against torch's own Hessian (``torch.func.hessian`` in float64); sizes that torch
needs as Python ints, refused with a hint exactly where a traced size is the cause; a bare
``nn.MultiheadAttention`` traced as self-attention."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import exacthess as eh  # noqa: E402
from exacthess.core.errors import UnsupportedModuleError  # noqa: E402
from exacthess.models.torch_graph import graph_from_torch  # noqa: E402
from exacthess.models.torch_trace import SIZE_HINT, traced  # noqa: E402

D, BLOCK = 4, 5  # model width; the causal buffer is built for BLOCK tokens, inputs have fewer


class Nano(nn.Module):
    """nanoGPT's causal self-attention, one head: ``T = x.size(1)``, the buffer ``tril`` sliced to ``(T, T)``."""

    def __init__(self, how="slice"):
        super().__init__()
        self.how = how
        self.q, self.k, self.v, self.out = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, 2)
        self.register_buffer("tril", torch.tril(torch.ones(BLOCK, BLOCK)))
        self.plain = torch.tril(torch.ones(BLOCK, BLOCK))  # not a buffer: a plain tensor attribute

    def helper(self, s):
        return s

    def forward(self, x):
        B, T, C = x.size()
        s = (self.q(x) @ self.k(x).transpose(-2, -1)) * (1.0 / 2.0)
        if self.how == "slice":
            s = s.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        elif self.how == "plain":
            s = s.masked_fill(self.plain[:T, :T] == 0, float("-inf"))
        elif self.how == "ones":
            s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        elif self.how == "shape ones":
            s = s.masked_fill(torch.triu(torch.ones(x.shape[1], x.shape[1]), 1) > 0, float("-inf"))
        elif self.how == "unrelated":
            s = self.helper(s, s)  # a TypeError of the user's own making, no size involved
        return self.out(torch.softmax(s, dim=-1) @ self.v(x))


def dyadic(model, seed):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-8, 9, p.shape, generator=gen) / 8)
    return model.eval()


def torch_hessian(model, X, Y):
    """torch.func.hessian of 0.5 |model(X) - Y|^2 in float64, parameters in named_parameters order."""
    params = {k: v.detach().double() for k, v in model.named_parameters()}
    model = model.double()

    def f(p):
        return 0.5 * ((torch.func.functional_call(model, p, (X,)).reshape(X.shape[0], -1) - Y) ** 2).sum()
    H = torch.func.hessian(f)(params)
    sizes = {k: v.numel() for k, v in params.items()}
    return np.block([[H[a][b].reshape(sizes[a], sizes[b]).numpy() for b in params] for a in params])


@pytest.mark.parametrize("T", [2, 3])
def test_a_buffer_sliced_by_a_traced_size_is_the_causal_mask(T):
    """nanoGPT's tril[:T, :T] == 0 (the buffer built for 5 tokens): causal softmax, H_L as torch's within 1e-12."""
    model = dyadic(Nano(), seed=T)
    graph, params = eh.from_torch(model, (T, D))
    [sm] = [nd for nd in graph.nodes if nd.op == "softmax"]
    assert sm.attrs["causal"]
    rng = np.random.default_rng(T)
    X, Y = rng.integers(-4, 5, size=(2, T, D)) / 4, rng.integers(-4, 5, size=(2, T * 2)) / 4
    H = np.array(eh.hessian(graph, params=params, data=(X.reshape(2, -1), Y)).H_L, dtype=float)
    want = torch_hessian(model, torch.tensor(X), torch.tensor(Y))
    assert np.abs(H - want).max() <= 1e-12 * max(1.0, np.abs(want).max())


@pytest.mark.parametrize("how", ["ones", "shape ones", "plain"])
def test_sizes_needed_as_ints_are_refused_with_the_hint(how):
    """torch.ones(T, T) of a traced T, or a plain tensor sliced by it, cannot be traced: the message says how."""
    with pytest.raises(UnsupportedModuleError) as info:
        graph_from_torch(Nano(how).eval(), (3, D))
    text = str(info.value)
    assert "cannot be traced by torch.fx (TypeError" in text and SIZE_HINT in text, text


def test_the_hint_is_absent_where_no_size_is_involved():
    with pytest.raises(UnsupportedModuleError) as info:
        graph_from_torch(Nano("unrelated").eval(), (3, D))
    text = str(info.value)
    assert "cannot be traced by torch.fx (TypeError" in text and "register_buffer" not in text, text


def test_control_flow_on_values_gets_no_size_hint():
    class Branch(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(D, 1)

        def forward(self, x):
            return self.fc(x) if x.sum() > 0 else -self.fc(x)
    with pytest.raises(UnsupportedModuleError) as info:
        graph_from_torch(Branch().eval(), (D,))
    assert "cannot be traced" in str(info.value) and "register_buffer" not in str(info.value)


def test_a_bare_multihead_attention_is_traced_as_self_attention():
    mha = nn.MultiheadAttention(D, 2, batch_first=True)
    gm, root, strip = traced(torch, mha)
    assert strip == "0" and root.get_submodule("0") is mha
    x = torch.randn(2, 3, D)
    assert torch.equal(gm(x), mha(x, x, x)[0])
    calls = [n for n in gm.graph.nodes if n.op == "call_module"]
    assert [n.target for n in calls] == ["0"] and len(set(calls[0].args)) == 1
