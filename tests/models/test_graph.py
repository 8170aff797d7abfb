"""Architectures as graphs: construction, shapes as torch computes them, errors naming the node, specs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from exacthess.cli.main import main
from exacthess.core.errors import InvalidArchitectureError
from exacthess.models.architectures import from_spec
from exacthess.models.graph import Graph, GraphBuilder, Node
from exacthess.models.graph_ops import conv_taps, pool_windows


def _net():
    b = GraphBuilder((2, 7, 6))
    c = b.act(b.conv(b.input, 4, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2, bias=True), "relu")
    s = b.add(c, b.conv(c, 4, 1))
    p = b.maxpool(b.batchnorm(s, [0] * 4, [1, 2, 3, 4]), 2, stride=1)
    return b.build(b.linear(b.flatten(b.avgpool(p, 2, padding=1)), 3, bias=True))


def test_shapes_follow_torch():
    torch = pytest.importorskip("torch")
    g = _net()
    x = torch.zeros((1,) + g.input_shape)
    conv = torch.nn.Conv2d(2, 4, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    h = conv(x)
    assert g.shapes["conv1"] == tuple(h.shape[1:])
    h = torch.nn.functional.max_pool2d(h, 2, stride=1)
    assert g.shapes["maxpool1"] == tuple(h.shape[1:])
    h = torch.nn.functional.avg_pool2d(h, 2, padding=1)
    assert g.shapes["avgpool1"] == tuple(h.shape[1:])
    assert [tuple(s) for s in g.param_shapes()] == [(4, 1, 3, 2), (4,), (4, 4, 1, 1), (4,), (4,), (3, h.numel()), (3,)]


def test_tap_tables_equal_torch_convolution():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for shape, kw in [((2, 5), dict(kernel=(3,), stride=(2,), padding=(1,), dilation=(1,), groups=2, mode="zeros")),
                      ((1, 4, 5), dict(kernel=(2, 3), stride=(1, 2), padding=(1, 1), dilation=(2, 1), groups=1,
                                       mode="circular")),
                      ((2, 3, 3, 3), dict(kernel=(2, 2, 2), stride=(1, 1, 1), padding=(0, 1, 0), dilation=(1, 1, 1),
                                          groups=1, mode="zeros"))]:
        dims = len(shape) - 1
        conv = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)[dims - 1](
            shape[0], 2, kw["kernel"], stride=kw["stride"], padding=kw["padding"], dilation=kw["dilation"],
            groups=kw["groups"], padding_mode=kw["mode"], bias=False).double()
        x = torch.tensor(rng.integers(-3, 4, (1,) + shape), dtype=torch.float64)
        want = conv(x)[0].detach().numpy().ravel()
        out, inp, w = conv_taps(shape, 2, kw["kernel"], kw["stride"], kw["padding"], kw["dilation"], kw["groups"],
                                kw["mode"])
        got = np.zeros(want.size)
        np.add.at(got, out, conv.weight.detach().numpy().ravel()[w] * x.numpy().ravel()[inp])
        assert np.allclose(got, want, atol=1e-12)
    assert pool_windows((1, 3), (2,), (2,), (1,)).tolist() == [[-1, 0], [1, 2]]


@pytest.mark.parametrize("nodes, words", [
    ([Node("a", "gelu", ("input",))], "op 'gelu' is unknown"),
    ([Node("r", "reshape", ("input",), {"shape": (6,)}), Node("a", "softmax", ("r",))],
     r"softmax of shape \(6,\); expected a 2-D map"),
    ([Node("a", "concat", ("input", "input"), {"axis": 2})], r"axis = 2; expected an int in \[-2, 2\)"),
    ([Node("a", "concat", ())], "0 inputs; expected at least 1"),
    ([Node("a", "linear", ("nowhere",), {"out_features": 2})], "input 'nowhere' is not an earlier node"),
    ([Node("a", "linear", ("input",), {"out_features": 2}), Node("b", "add", ("input", "a"))], "adds shapes"),
    ([Node("c", "conv", ("input",), {"out_channels": 3, "kernel": 1, "groups": 2})], "groups = 2 does not divide"),
    ([Node("c", "conv", ("input",), {"out_channels": 2, "kernel": 9})], "smaller than the kernel"),
    ([Node("r", "reshape", ("input",), {"shape": (5,)})], "expected 6 entries"),
])
def test_bad_graphs_name_the_node(nodes, words):
    with pytest.raises(InvalidArchitectureError, match=words):
        Graph((2, 3), nodes)


def test_spec_round_trip_and_the_command_line(tmp_path, capsys):
    g = _net()
    spec = json.loads(json.dumps(g.to_spec()))
    assert Graph.from_spec(spec) == g == from_spec(spec)
    b = GraphBuilder((3,))
    small = b.build(b.linear(b.act(b.linear(b.input, 3), "poly(0, 1, 1/2)"), 2))
    path = tmp_path / "g.json"
    path.write_text(json.dumps(small.to_spec()))
    assert main(["verify", "graph", "--spec", str(path), "--samples", "4", "--no-float"]) == 0
    assert "certified" in capsys.readouterr().out
    assert main(["verify", "graph", "--spec", "{\"nodes\": 3}", "--samples", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a graph spec" in err
