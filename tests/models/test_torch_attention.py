"""Attention read from torch (``eh.from_torch`` through torch.fx) against torch itself: the exact Hessian of
each supported spelling equals ``torch.func.hessian`` in float64 (linear attention at few-bit dyadic points
exactly, softmax within 1e-12 relatively), ``nn.MultiheadAttention``'s parameters are the graph's in
``named_parameters`` order, and every refusal names the module or fx node."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from flint import fmpq

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

import exacthess as eh  # noqa: E402
from exacthess.core.errors import UnsupportedModuleError  # noqa: E402
from exacthess.models.attention import transformer_block  # noqa: E402
from exacthess.models.torch_graph import graph_from_torch  # noqa: E402

T, D = 3, 4


# ----- hand-written attention: one module, the spelling chosen by name -----------------------------------------
class Hand(nn.Module):
    """q/k/v projections, scores, an optional causal mask, softmax (or none: linear attention), values, read-out."""

    def __init__(self, spelling="matmul", softmax=True, causal=False, d=D, t=T, bias=True):
        super().__init__()
        self.spelling, self.softmax, self.causal = spelling, softmax, causal
        self.q, self.k, self.v = (nn.Linear(d, d, bias=bias) for _ in range(3))
        self.out = nn.Linear(d, 2, bias=bias)
        self.register_buffer("mask", torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
                             if causal and spelling != "inline mask" else None)
        self.scale = 1 / math.sqrt(d)  # a float: read exactly as the float64 it is
        self.sm = nn.Softmax(dim=-1)

    def scores(self, q, k):
        s = self.spelling
        if s == "bmm":
            return torch.bmm(q, k.transpose(1, 2)) * self.scale
        if s == "mT":
            return torch.matmul(q, k.mT) / math.sqrt(q.shape[-1])
        if s == "permute":
            return self.scale * (q @ k.permute(0, 2, 1))
        if s == "sizes":
            return q.matmul(torch.transpose(k, -2, -1)) * q.size(-1) ** -0.5
        return q @ k.transpose(-2, -1) * self.scale

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        s = self.scores(q, k)
        if self.causal and self.softmax:
            if self.spelling == "inline mask":  # a mask built in forward from sizes: a constant
                n = x.size(1)
                s = s.masked_fill(torch.triu(torch.ones((n, n), dtype=torch.bool), diagonal=1), float("-inf"))
            else:
                s = s.masked_fill(self.mask.to(x.device), float("-inf"))
        elif self.causal:
            s = s.masked_fill(self.mask, 0.0)
        if self.softmax:
            a = {"F": lambda t: F.softmax(t, dim=-1), "method": lambda t: t.softmax(-1),
                 "module": self.sm}.get(self.spelling, lambda t: torch.softmax(t, dim=-1))(s)
        else:
            a = s
        return self.out(a @ v)


class TwoHeads(nn.Module):
    """Two heads as separate modules, joined by torch.cat(dim=-1), then an output projection."""

    def __init__(self, d=D):
        super().__init__()
        self.heads = nn.ModuleList(nn.ModuleDict({w: nn.Linear(d, 2) for w in "qkv"}) for _ in range(2))
        self.proj = nn.Linear(4, d)

    def forward(self, x):
        outs = []
        for h in self.heads:
            s = (h["q"](x) @ h["k"](x).mT) * 0.5
            outs.append(torch.softmax(s, dim=-1) @ h["v"](x))
        return x + self.proj(torch.cat(outs, dim=-1))


class Sdpa(nn.Module):
    def __init__(self, d=D, causal=True, mask=False):
        super().__init__()
        self.q, self.k, self.v, self.out = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, 1)
        self.causal = causal
        self.register_buffer("keep", torch.tril(torch.ones(T, T, dtype=torch.bool)) if mask else None)

    def forward(self, x):
        if self.keep is not None:
            o = F.scaled_dot_product_attention(self.q(x), self.k(x), self.v(x), attn_mask=self.keep)
        else:
            o = F.scaled_dot_product_attention(self.q(x), self.k(x), self.v(x), is_causal=self.causal)
        return self.out(o)


class Block(nn.Module):
    """A Transformer block: x + MHA(x), a feed-forward block with ReLU and a residual, a per-token read-out."""

    def __init__(self, d=8, heads=2, t=T, causal=False, need_weights=True, mask="bool", bias=True, width=6):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True, bias=bias)
        self.fc1, self.fc2, self.readout = nn.Linear(d, width), nn.Linear(width, d), nn.Linear(d, 2)
        self.need_weights, self.causal = need_weights, causal
        m = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if mask == "bool" else \
            nn.Transformer.generate_square_subsequent_mask(t)
        self.register_buffer("mask", m if causal else None)

    def forward(self, x):
        h = x + self.attn(x, x, x, attn_mask=self.mask, need_weights=self.need_weights, is_causal=self.causal)[0]
        h = h + self.fc2(torch.relu(self.fc1(h)))
        return self.readout(h)


# ----- helpers ---------------------------------------------------------------------------------------------
def dyadic(model, seed, bits=3):
    """Weights k / 2^bits with |k| <= 2^bits: few bits, so float64 products of a few of them are exact."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randint(-2 ** bits, 2 ** bits + 1, p.shape, generator=gen) / 2 ** bits)
    return model.eval()


def torch_hessian(model, X, Y):
    """torch.func.hessian of 0.5 |model(X) - Y|^2 in float64, parameters in named_parameters order (SDPA's math
    kernel: the fused one has no forward-mode derivative)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    model = copy.deepcopy(model).double()
    params = {k: v.detach() for k, v in model.named_parameters()}
    n = X.shape[0]

    def f(p):
        out = torch.func.functional_call(model, p, (X,)).reshape(n, -1)
        return 0.5 * ((out - Y) ** 2).sum()
    with sdpa_kernel(SDPBackend.MATH):
        H = torch.func.hessian(f)(params)
    sizes = {k: v.numel() for k, v in params.items()}
    return np.block([[H[a][b].reshape(sizes[a], sizes[b]).numpy() for b in params] for a in params])


def compare(model, shape, seed=0, n=2, exact=False):
    """The exact H_L of the module read by from_torch against torch's; returns the graph and parameters."""
    graph, params = eh.from_torch(model, shape)
    flat = torch.cat([p.detach().flatten() for p in model.parameters()]).double().numpy()
    assert np.array_equal(np.concatenate([np.array(p, dtype=float).ravel() for p in params]), flat)
    for attempt in range(20):  # a ReLU input exactly at 0 is refused: redraw
        rng = np.random.default_rng([seed, attempt])
        X = rng.integers(-4, 5, size=(n,) + shape) / 4
        Y = rng.integers(-4, 5, size=(n, graph.output_dim)) / 4
        try:
            H = eh.hessian(graph, params=params, data=(X.reshape(n, -1), Y)).H_L
        except eh.errors.NonDifferentiableError:
            continue
        break
    else:
        pytest.fail("no point without kinks in 20 draws")
    want = torch_hessian(model, torch.tensor(X), torch.tensor(Y))
    got = np.array(H, dtype=float)
    assert got.shape == want.shape == (graph.n_params, graph.n_params)
    if exact:
        assert np.array_equal(got, want)
    else:
        assert np.abs(got - want).max() <= 1e-12 * max(1.0, np.abs(want).max())
    return graph, params


# ----- Hessians against torch ------------------------------------------------------------------------------
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("spelling", ["matmul", "bmm", "mT", "permute", "sizes"])
def test_linear_attention_equals_torch_exactly(spelling, causal):
    """No softmax: a polynomial of few-bit dyadic numbers, so torch's float64 Hessian is exact, and so must ours be
    (scale 1/2 = 1/sqrt(4) is exact as a float; masked_fill(mask, 0) is the graph's mask)."""
    graph, _ = compare(dyadic(Hand(spelling, softmax=False, causal=causal), seed=1), (T, D), exact=True)
    ops = [nd.op for nd in graph.nodes]
    assert ops.count("matmul") == 2 and "transpose" in ops and "softmax" not in ops
    assert ("mask" in ops) == causal
    scale = [nd for nd in graph.nodes if nd.op == "affine"][0].attrs["scale"]
    assert set(scale) == {fmpq(1, 2)}


@pytest.mark.parametrize("spelling", ["matmul", "F", "method", "module", "inline mask", "bmm", "sizes"])
def test_softmax_attention_equals_torch(spelling):
    """The scale folds into the softmax, the -inf mask into causal=True; the Hessian within 1e-12 of torch's."""
    graph, _ = compare(dyadic(Hand(spelling, causal=True), seed=2), (T, D))
    [sm] = [nd for nd in graph.nodes if nd.op == "softmax"]
    assert sm.attrs["causal"] and sm.attrs["scale"] == fmpq(1, 2)
    assert "affine" not in [nd.op for nd in graph.nodes]


def test_float_scales_are_read_as_the_floats_they_are():
    """1/sqrt(3) is irrational: the graph's scale is the float64 1/math.sqrt(3), exactly."""
    graph, _ = compare(dyadic(Hand("matmul", d=3), seed=3), (T, 3))
    [sm] = [nd for nd in graph.nodes if nd.op == "softmax"]
    assert sm.attrs["scale"] == fmpq(*(1 / math.sqrt(3)).as_integer_ratio())


def test_two_heads_joined_by_cat_equal_torch():
    graph, _ = compare(dyadic(TwoHeads(), seed=4), (T, D))
    assert [nd.attrs["axis"] for nd in graph.nodes if nd.op == "concat"] == [1]


@pytest.mark.parametrize("mask", [False, True])
def test_scaled_dot_product_attention_equals_torch(mask):
    graph, _ = compare(dyadic(Sdpa(mask=mask), seed=5), (T, D))
    [sm] = [nd for nd in graph.nodes if nd.op == "softmax"]
    assert sm.attrs["causal"] and sm.attrs["scale"] == fmpq(1, 2)


@pytest.mark.parametrize("causal,mask", [(False, "bool"), (True, "bool"), (True, "float")])
def test_multihead_attention_block_equals_torch(causal, mask):
    """nn.MultiheadAttention(8, 2) (head width 4: the scale 1/2 is exact) in a Transformer block; the graph is
    transformer_block's attention with torch_order's parameters, and the same with need_weights=False."""
    model = dyadic(Block(causal=causal, mask=mask), seed=6)
    graph, params = compare(model, (T, 8))
    ref = transformer_block(8, T, heads=2, bias=True, causal=causal)
    assert graph.param_order[:14] == ref.param_order
    assert all(nd.attrs["standin_rel_error"] == 0 for nd in graph.nodes if nd.op == "softmax")
    quiet = copy.deepcopy(model)
    quiet.need_weights = False
    g2, p2 = eh.from_torch(quiet, (T, 8))
    assert g2 == graph and all((a == b).all() for a, b in zip(p2, params))


def test_multihead_attention_stand_in_scale_is_recorded():
    """Head width 3: 1/sqrt(3) is the 2^-64 stand-in, recorded on the softmax nodes and in verify's notes."""
    model = dyadic(Block(d=6, heads=2, bias=False, width=3), seed=7)
    graph, _ = compare(model, (T, 6))
    for nd in (nd for nd in graph.nodes if nd.op == "softmax"):
        assert nd.attrs["standin_rel_error"] == fmpq(1, 2 ** 64)
        assert abs(nd.attrs["scale"] ** 2 * 3 - 1) < fmpq(1, 2 ** 63)


# ----- refusals ---------------------------------------------------------------------------------------------
class Custom(nn.Module):
    """``forward`` given as a function of (self, x); projections q, k, v, w (to width 4) and, when asked, an MHA
    and a lower triangular boolean buffer ``tril``."""

    def __init__(self, fn, mha=None, tril=False):
        super().__init__()
        self.fn = fn
        self.q, self.k, self.v, self.w = (nn.Linear(D, D) for _ in range(4))
        self.register_buffer("tril", torch.tril(torch.ones(T, T, dtype=torch.bool)) if tril else None)
        if mha is not None:
            self.attn = mha

    def forward(self, x):
        return self.fn(self, x)


def _mha(**kw):
    return nn.MultiheadAttention(D, 2, **{"batch_first": True, **kw})


def _scores(m, x):
    return m.q(x) @ m.k(x).mT


#: (id, module, index, module type, words)
REFUSED = [
    ("softmax dim 1", lambda: Custom(lambda m, x: torch.softmax(_scores(m, x), dim=1) @ m.v(x)), "softmax",
     "torch.softmax", "along dim 1"),
    ("final softmax", lambda: nn.Sequential(nn.Flatten(), nn.Linear(T * D, 3), nn.Softmax(dim=-1)), "2", "Softmax",
     "loss='cross_entropy'"),
    ("dropout train", lambda: Custom(lambda m, x: F.dropout(torch.softmax(_scores(m, x), -1), 0.1) @ m.v(x)),
     "dropout", "torch.nn.functional.dropout", "training mode"),
    ("input-dependent mask", lambda: Custom(lambda m, x: (lambda s: torch.softmax(s.masked_fill(
        s > 0, float("-inf")), -1))(_scores(m, x)) @ m.v(x)), "gt", "operator.gt", "constants"),
    ("non-causal mask", lambda: Custom(lambda m, x: torch.softmax(_scores(m, x).masked_fill(
        m.tril, float("-inf")), -1) @ m.v(x), tril=True), "masked_fill", "Tensor.masked_fill", "expected the causal mask"),
    ("-inf not into softmax", lambda: Custom(lambda m, x: _scores(m, x).masked_fill(~m.tril, float("-inf")) @ m.v(x),
                                             tril=True),
     "masked_fill", "Tensor.masked_fill", "feed softmax"),
    ("other fill value", lambda: Custom(lambda m, x: torch.softmax(_scores(m, x).masked_fill(~m.tril, -1e9), -1)
                                        @ m.v(x), tril=True), "masked_fill", "Tensor.masked_fill", "-1000000000.0"),
    ("entrywise product", lambda: Custom(lambda m, x: m.q(x) * m.k(x)), "mul", "operator.mul", "matrix products"),
    ("sdpa dropout", lambda: Custom(lambda m, x: F.scaled_dot_product_attention(m.q(x), m.k(x), m.v(x),
                                                                                dropout_p=0.1)),
     "scaled_dot_product_attention", "torch.nn.functional.scaled_dot_product_attention", "dropout_p"),
    ("batch transpose", lambda: Custom(lambda m, x: m.q(x).transpose(0, 1)), "transpose", "Tensor.transpose",
     "batch axis"),
    ("mha batch_first", lambda: Custom(lambda m, x: m.attn(x, x, x)[0], _mha(batch_first=False)), "attn",
     "MultiheadAttention", "batch_first"),
    ("mha kdim", lambda: Custom(lambda m, x: m.attn(x, x, x)[0], _mha(kdim=2, vdim=2)), "attn",
     "MultiheadAttention", "kdim = 2"),
    ("mha bias_kv", lambda: Custom(lambda m, x: m.attn(x, x, x)[0], _mha(add_bias_kv=True)), "attn",
     "MultiheadAttention", "add_bias_kv"),
    ("mha zero_attn", lambda: Custom(lambda m, x: m.attn(x, x, x)[0], _mha(add_zero_attn=True)), "attn",
     "MultiheadAttention", "add_zero_attn"),
    ("mha dropout", lambda: Custom(lambda m, x: m.attn(x, x, x)[0], _mha(dropout=0.1).train()), "attn",
     "MultiheadAttention", "training mode"),
    ("mha padding", lambda: Custom(lambda m, x: m.attn(x, x, x, key_padding_mask=m.tril[:1].expand(2, T))[0],
                                   _mha(), tril=True), "attn", "MultiheadAttention", "key_padding_mask"),
    ("mha cross", lambda: Custom(lambda m, x: (lambda y: m.attn(x, y, y)[0])(m.w(x)), _mha()), "attn", "MultiheadAttention",
     "cross-attention"),
    ("mha is_causal alone", lambda: Custom(lambda m, x: m.attn(x, x, x, is_causal=True)[0], _mha()), "attn",
     "MultiheadAttention", "is_causal"),
    ("mha non-causal mask", lambda: Custom(lambda m, x: m.attn(x, x, x, attn_mask=m.tril)[0], _mha(), tril=True), "attn",
     "MultiheadAttention", "expected the causal mask"),
    ("mha weights used", lambda: Custom(lambda m, x: m.attn(x, x, x)[1] @ x, _mha()), "matmul", "operator.matmul",
     "second output of nn.MultiheadAttention [attn]"),
]


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_refusals_name_the_module(case):
    _, build, index, typename, words = case
    model = build()
    if not any(isinstance(m, nn.MultiheadAttention) and m.training for m in model.modules()):
        model.eval()
    with pytest.raises(UnsupportedModuleError) as info:
        graph_from_torch(model, (T, D))
    err, text = info.value, str(info.value)
    assert isinstance(err, eh.errors.InvalidArchitectureError)
    assert (err.index, err.module) == (index, typename), text
    assert f"[{index}]" in text and words in text and "supported:" in text, text


# ----- the command line -------------------------------------------------------------------------------------
def test_cli_verifies_a_saved_attention_module(tmp_path, capsys):
    """``exacthess verify torch`` reads a saved Transformer block (nn.MultiheadAttention, two heads of width 2,
    causal) and certifies its ranks; the report says they are exact at the stand-ins."""
    from exacthess.cli.main import main
    torch.manual_seed(0)
    model = Block(d=4, heads=2, t=2, causal=True, width=2)
    torch.save(model, tmp_path / "block.pt")
    assert main(["verify", "torch", str(tmp_path / "block.pt"), "--input-shape", "2,4", "--samples", "2",
                 "--no-float"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "attention weights are rational stand-ins" in out
    assert "score scale 1/sqrt(d_k) is a rational stand-in" in out  # head width 2


# ----- a mask built for another number of tokens ---------------------------------------------------------------
class BufferMask(nn.Module):
    """Attention masked by a causal buffer built for ``t`` tokens: nn.MultiheadAttention's attn_mask, masked_fill
    (boolean), an additive float mask, or SDPA's attn_mask (True = kept)."""

    def __init__(self, how, t=T, d=D):
        super().__init__()
        self.how = how
        self.attn = nn.MultiheadAttention(d, 1, batch_first=True)
        self.q, self.k = nn.Linear(d, d), nn.Linear(d, d)
        upper = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
        self.register_buffer("mask", {"sdpa": ~upper, "additive": torch.zeros(t, t).masked_fill(upper, float("-inf"))}
                             .get(how, upper))

    def forward(self, x):
        if self.how == "mha":
            return self.attn(x, x, x, attn_mask=self.mask)[0]
        q, k = self.q(x), self.k(x)
        if self.how == "sdpa":
            return F.scaled_dot_product_attention(q, k, x, attn_mask=self.mask)
        s = q @ k.mT
        s = s + self.mask if self.how == "additive" else s.masked_fill(self.mask, float("-inf"))
        return torch.softmax(s, dim=-1) @ x


@pytest.mark.parametrize("how, index", [("mha", "attn"), ("masked_fill", "masked_fill"), ("additive", "add"),
                                        ("sdpa", "scaled_dot_product_attention")])
def test_a_mask_for_another_number_of_tokens_is_refused(how, index):
    """A (3, 3) mask on 2 tokens was torch's raw RuntimeError (an internal error on the command line); it is a
    refusal naming the module or node, the mask's shape, the input's T and the mask expected."""
    with pytest.raises(UnsupportedModuleError) as info:
        graph_from_torch(BufferMask(how, t=3).eval(), (2, D))
    text = str(info.value)
    assert info.value.index == index, text
    assert "mask of shape (3, 3)" in text and "T = 2 tokens" in text and "expected a (2, 2) mask" in text, text


def test_cli_refuses_a_mask_for_another_number_of_tokens_with_exit_2(tmp_path, capsys):
    from exacthess.cli.main import main
    torch.save(BufferMask("mha", t=3).eval(), tmp_path / "attn.pt")
    assert main(["verify", "torch", str(tmp_path / "attn.pt"), "--input-shape", "2,4"]) == 2
    err = capsys.readouterr().err
    assert "internal error" not in err and "(3, 3)" in err and "T = 2 tokens" in err, err


# ----- a final softmax belongs to the loss ------------------------------------------------------------------
class FinalSoftmax(nn.Module):
    """A per-token read-out to V = 5 logits, softmax-ed per token (torch.softmax or nn.Softmax), maybe flattened."""

    def __init__(self, how):
        super().__init__()
        self.how, self.out, self.sm = how, nn.Linear(D, 5), nn.Softmax(dim=-1)

    def forward(self, x):
        h = self.sm(self.out(x)) if self.how == "module" else torch.softmax(self.out(x), dim=-1)
        return h.flatten(1) if self.how == "flatten" else h


@pytest.mark.parametrize("how, index", [("function", "softmax"), ("module", "sm"), ("flatten", "softmax")])
def test_a_final_per_token_softmax_is_refused(how, index):
    """torch.softmax as forward's last operation on (batch, T, V) was read as an attention softmax (the model then
    output probabilities); it is refused as the (batch, K) case is, with the loss to use instead."""
    with pytest.raises(UnsupportedModuleError) as info:
        graph_from_torch(FinalSoftmax(how).eval(), (T, D))
    err, text = info.value, str(info.value)
    assert err.index == index, text
    assert "drop it" in text and "loss='cross_entropy(T)'" in text and "loss='cross_entropy'" in text, text
    assert "--loss 'cross_entropy(T)'" in err.cli and "--loss cross_entropy" in err.cli, err.cli


def test_a_final_softmax_over_classes_gives_the_same_advice():
    model = nn.Sequential(nn.Flatten(), nn.Linear(T * D, 3), nn.Softmax(dim=-1)).eval()
    with pytest.raises(UnsupportedModuleError, match=r"drop it and use loss='cross_entropy\(T\)'"):
        graph_from_torch(model, (T, D))


# ----- an additive causal mask ----------------------------------------------------------------------------
class Additive(nn.Module):
    """Scores plus a constant float mask buffer (-inf strictly above the diagonal), scaled before or after."""

    def __init__(self, order, pattern="causal"):
        super().__init__()
        self.order = order
        self.q, self.k, self.v = (nn.Linear(D, D) for _ in range(3))
        self.out = nn.Linear(D, 2)
        ones = torch.ones(T, T, dtype=torch.bool)
        where = {"causal": torch.triu(ones, 1), "lower": torch.tril(ones, -1), "zeros": ~ones}.get(pattern)
        m = torch.ones(T, T) if pattern == "ones" else torch.zeros(T, T).masked_fill(where, float("-inf"))
        self.register_buffer("mask", m)

    def forward(self, x):
        s = self.q(x) @ self.k(x).mT
        s = {"before": lambda: (s + self.mask) * 0.5, "after": lambda: s * 0.5 + self.mask,
             "first": lambda: self.mask + s / 2, "no softmax": lambda: s + self.mask}[self.order]()
        a = s if self.order == "no softmax" else torch.softmax(s, dim=-1)
        return self.out(a @ self.v(x))


@pytest.mark.parametrize("order", ["before", "after", "first"])
def test_an_additive_causal_mask_equals_torch(order):
    """scores + mask (mask: -inf at j > i, 0 elsewhere) is the causal softmax, as masked_fill; Hessian as torch's."""
    graph, _ = compare(dyadic(Additive(order), seed=11), (T, D))
    [sm] = [nd for nd in graph.nodes if nd.op == "softmax"]
    assert sm.attrs["causal"] and sm.attrs["scale"] == fmpq(1, 2)
    assert not {"affine", "add"} & {nd.op for nd in graph.nodes}


def test_an_additive_zero_mask_adds_nothing():
    graph, _ = compare(dyadic(Additive("after", pattern="zeros"), seed=12), (T, D))
    assert not [nd for nd in graph.nodes if nd.op == "softmax"][0].attrs["causal"]


@pytest.mark.parametrize("pattern, order, words", [
    ("ones", "after", "adds a constant tensor of shape (3, 3) to 1/2 times the tensor of node 'matmul'"),
    ("lower", "after", "expected the causal mask"),
    ("causal", "no softmax", "feed softmax")])
def test_other_constant_additions_are_refused_without_internal_reprs(pattern, order, words):
    with pytest.raises(UnsupportedModuleError) as info:
        graph_from_torch(Additive(order, pattern).eval(), (T, D))
    text = str(info.value)
    assert words in text and "Traced(" not in text and "tensor([" not in text, text


# ----- a bare nn.MultiheadAttention ---------------------------------------------------------------------------
class Wrapped(nn.Module):
    """The hand-wrapped spelling, attn(x, x, x)[0]: torch's reference for a bare nn.MultiheadAttention."""

    def __init__(self, attn):
        super().__init__()
        self.attn = attn

    def forward(self, x):
        return self.attn(x, x, x)[0]


@pytest.mark.parametrize("heads", [1, 2])
def test_a_bare_multihead_attention_is_self_attention(heads):
    """nn.MultiheadAttention saved alone reads as attn(x, x, x)[0]: H_L equals torch's of the wrapped module."""
    mha = dyadic(nn.MultiheadAttention(D, heads, batch_first=True), seed=13)
    graph, params = eh.from_torch(mha, (T, D))
    n, rng = 2, np.random.default_rng(5)
    X, Y = rng.integers(-4, 5, size=(n, T, D)) / 4, rng.integers(-4, 5, size=(n, T * D)) / 4
    H = np.array(eh.hessian(graph, params=params, data=(X.reshape(n, -1), Y)).H_L, dtype=float)
    want = torch_hessian(Wrapped(mha), torch.tensor(X), torch.tensor(Y))
    assert np.abs(H - want).max() <= 1e-12 * max(1.0, np.abs(want).max())


def test_a_bare_multihead_attention_is_refused_as_the_top_level_module(tmp_path, capsys):
    from exacthess.cli.main import main
    with pytest.raises(UnsupportedModuleError) as info:
        graph_from_torch(nn.MultiheadAttention(D, 1, batch_first=False).eval(), (T, D))
    text = str(info.value)
    assert text.startswith("the top-level module MultiheadAttention(") and "batch_first" in text and "[]" not in text
    torch.save(nn.MultiheadAttention(D, 1, batch_first=True), tmp_path / "mha.pt")
    assert main(["verify", "torch", str(tmp_path / "mha.pt"), "--input-shape", f"{T},{D}", "--samples", "2",
                 "--no-float"]) == 0
    assert "certified" in capsys.readouterr().out.lower()


def test_saturated_scores_are_read_quickly_and_refused_up_front():
    """Query weights times 2^14: reading the module (its round-trip check takes the softmax in float64) is quick,
    and verify refuses the exact stand-ins up front, naming the node, instead of computing for minutes."""
    torch = pytest.importorskip("torch")
    import time

    import torch.nn.functional as F

    class SDPA(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v = (torch.nn.Linear(4, 4) for _ in range(3))

        def forward(self, x):
            return F.scaled_dot_product_attention(self.q(x), self.k(x), self.v(x))
    torch.manual_seed(0)
    model = SDPA().eval()
    with torch.no_grad():
        model.q.weight.mul_(2.0 ** 14)
        model.k.weight.mul_(2.0 ** 14)
    t0 = time.perf_counter()
    arch, params = eh.from_torch(model, (3, 4))
    with pytest.raises(eh.errors.ProblemTooLargeError, match="softmax"):
        eh.verify(arch, params=params, n_samples=2, progress=False)
    assert time.perf_counter() - t0 < 20
