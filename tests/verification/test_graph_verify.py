"""verify() of graph networks: certified ranks, the residual statement, the plain network at V = I + W."""

from __future__ import annotations

import json

import numpy as np
from flint import fmpq

import exacthess as eh
from exacthess.hessian.problem import seeded_data, seeded_params
from exacthess.models.graph import GraphBuilder


def _linear_resnet(M=3, blocks=2, d=3, K=2):
    b = GraphBuilder((d,))
    h = b.linear(b.input, M, name="inp")
    for i in range(blocks):
        h = b.add(h, b.linear(h, M, name=f"block{i}"))
    return b.build(b.linear(h, K, name="out"))


def test_linear_residual_network_is_the_plain_network_at_identity_plus_w():
    g = _linear_resnet()
    plain = eh.FCN(3, (3, 3, 3), 2)
    P = seeded_params(plain, 2)
    X, Y = seeded_data(plain, 4, 2)
    eye = np.array([[fmpq(int(i == j)) for j in range(3)] for i in range(3)], dtype=object)
    W = [P[0], P[1] - eye, P[2] - eye, P[3]]  # V = I + W for the two residual blocks
    res = eh.hessian(g, params=W, data=(X, Y))
    ref = eh.hessian(plain, params=P, data=(X, Y))
    for name in ("H_o", "H_f", "H_L"):
        assert (getattr(res, name) == getattr(ref, name)).all(), name
    report = eh.verify(g, params=W, data=(X, Y), progress=False)
    assert report.certified
    row = next(r for r in report.rows if r.statement == "resnet.linear.H_o")
    assert str(row.verdict) == "holds" and row.predicted == 2 * (3 + 2 - 2) == report.ranks["H_o"]  # q = min(r, K) = 2


def test_the_linear_bound_is_not_applied_to_nonlinear_or_biased_graphs():
    b = GraphBuilder((3,))
    g = b.build(b.linear(b.act(b.linear(b.input, 4, bias=True), "relu"), 2))
    report = eh.verify(g, n_samples=4, progress=False)
    row = next(r for r in report.rows if r.statement == "resnet.linear.H_o")
    assert str(row.verdict) == "n/a"
    assert report.certified and report.float_ranks["H_o"]["float64"] == report.ranks["H_o"]


def test_search_hunts_over_residual_architectures(tmp_path):
    for sid in ("resnet.linear.H_o", "residual.H_L"):
        result = eh.search(sid, max_examples=10, database=tmp_path / "db", progress=False)
        assert result.counterexample is None and result.n_applicable > 0, sid


def test_verify_torch_takes_a_module_that_reads_as_a_graph(tmp_path, capsys):
    import pytest
    torch = pytest.importorskip("torch")
    from exacthess.cli.main import main
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3),
                                torch.nn.LeakyReLU(0.25), torch.nn.Linear(3, 2))
    torch.save(model, tmp_path / "mixed.pt")
    code = main(["verify", "torch", str(tmp_path / "mixed.pt"), "--input-shape", "5", "--samples", "4", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["certified"] and out["n_params"] == 47
    arch, params = eh.from_torch(model, (5,))
    assert out["architecture"] == repr(arch)


def test_a_saved_graph_report_is_checked_again(tmp_path):
    b = GraphBuilder((2, 4))
    h = b.act(b.conv(b.input, 2, 2, bias=True), "relu")
    g = b.build(b.linear(b.flatten(b.maxpool(b.add(h, b.conv(h, 2, 1)), 3, stride=1)), 2))
    report = eh.verify(g, n_samples=3, seed=4, progress=False)
    path = tmp_path / "r.json"
    path.write_text(report.to_json())
    result = eh.check(path)
    assert result.ok and len(result.checks) == 3
    data = json.loads(path.read_text())
    data["ranks"]["H_o"] += 1  # a report claiming another rank than it proves fails the check
    data["rank_info"]["H_o"]["value"] += 1
    assert not eh.check(data).ok


def _resnet(M=3, L=2, d=3, K=2, bias=False, proj=True):
    b = GraphBuilder((d,))
    h = b.linear(b.input, M, bias=bias, name="inp") if proj else b.input
    for i in range(L):
        h = b.add(h, b.linear(h, M, bias=bias, name=f"w{i}"))
    return b.build(b.linear(h, K, bias=bias, name="out") if proj else h)


def test_residual_statements_hold_generically_and_at_the_identity_initialisation():
    from exacthess.statements.residual import residual_structure
    assert residual_structure(_resnet()) == {"M": 3, "L": 2, "proj": True, "bias": False, "blocks": ["w0", "w1"],
                                             "inp": "inp", "out": "out"}
    b = GraphBuilder((3,))
    assert residual_structure(b.build(b.linear(b.act(b.linear(b.input, 3), "relu"), 2))) is None
    for kw in (dict(), dict(M=2, K=3), dict(proj=False, d=3, K=3, M=3), dict(bias=True)):
        g = _resnet(**kw)
        H = eh.hessian(g, n_samples=5, seed=1)
        P = [p.copy() for p in H.engine.problem.params]
        for i, (name, kind) in enumerate(g.param_order):
            if name.startswith("w") and kind == "weight":
                P[i][:] = fmpq(0)
        for params in (None, P):
            data = None if params is None else (H.engine.problem.X, H.engine.problem.Y)
            report = eh.verify(g, n_samples=None if params else 5, seed=1, params=params, data=data,
                               float_check=False, progress=False)
            rows = {r.statement: str(r.verdict) for r in report.rows if str(r.verdict) != "n/a"}
            assert set(rows.values()) <= {"holds"} and (rows or kw.get("bias")), (kw, rows)
            assert ("residual.identity.H_o" in rows) == (params is not None), (kw, rows)
            assert ("residual.H_o" in rows) == (not kw.get("bias")), (kw, rows)


def test_review_findings_on_graph_reports(capsys):
    from exacthess.cli.main import main
    from exacthess.models.graph import Graph
    b = GraphBuilder((1, 4, 4))
    h = b.batchnorm(b.conv(b.input, 2, 3), [0, 0], [fmpq(1, 2), 2])  # given rationals: no stand-in
    g = b.build(b.linear(b.flatten(b.maxpool(h, 2)), 1))
    report = eh.verify(g, n_samples=3, progress=False, float_check=False)
    assert not any("stand-in" in n for n in report.notes)
    row = next(r for r in report.rows if r.statement == "resnet.linear.H_o")
    assert "max pooling" in row.note
    assert Graph.from_spec(json.loads(json.dumps(g.to_spec()))) == g
    assert main(["verify", "graph", "--spec", "[1, 2]"]) == 2
    assert "is not a JSON object" in capsys.readouterr().err
    never = eh.verify(g, n_samples=3, progress=False, float_check=False, certify="never")
    assert all(info.lower <= report.ranks[k] for k, info in never.rank_info.items())
