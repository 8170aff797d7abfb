"""``exacthess reproduce transformer-hessian``: the block norms against an independent torch Hessian, the
structural zeros the paper derives, certified ranks against FLINT, and the command's files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from flint import fmpq_mat

import exacthess as eh
from exacthess.cli.main import main
from exacthess.experiments.transformer_hessian import transformer_hessian
from exacthess.hessian.graph_forward import make_graph_problem
from exacthess.models.attention import transformer_block


def test_blocks_and_ranks():
    """Functional blocks that vanish exactly: (V, V) always (F is linear in W_V), and (Q, Q), (K, K) for linear
    attention (F is linear in each of W_Q, W_K); none other at a generic point. Ranks certified and equal to
    FLINT's rank of the exact matrix."""
    res = transformer_hessian(d=2, T=3, n_samples=2, seed=1, growth=False)
    zeros = {(r["attention"], r["block"]) for r in res.blocks if r["matrix"] == "H_f" and r["zero"]}
    assert zeros == {("softmax", "VV"), ("linear", "VV"), ("linear", "QQ"), ("linear", "KK")}
    for row in res.ranks:
        g = transformer_block(2, 3, attention=row["attention"], out_proj=False)
        prob = make_graph_problem(g, n_samples=2, seed=1)
        M = getattr(eh.hessian(g, params=prob.params, data=(prob.X, prob.Y)), row["matrix"])
        assert row["certified"] and row["exact"] == fmpq_mat(*M.shape, list(M.ravel())).rank()
    assert json.loads(json.dumps(res.to_dict()))["setting"]["d"] == 2


def test_block_norms_equal_torch():
    """The Frobenius norms of the blocks of H_L against torch.func.hessian of an explicit torch layer."""
    torch = pytest.importorskip("torch")
    res = transformer_hessian(d=2, T=3, n_samples=2, seed=2, growth=False)
    for kind in ("softmax", "linear"):
        g = transformer_block(2, 3, attention=kind, out_proj=False)
        prob = make_graph_problem(g, n_samples=2, seed=2)
        flat = torch.tensor([float(v) for p in prob.params for v in p.ravel()], dtype=torch.float64)
        X = torch.tensor(np.array(prob.X, dtype=float)).reshape(2, 3, 2)
        Y = torch.tensor(np.array(prob.Y, dtype=float))
        c = float(g.by_name["attn.weights0"].attrs["scale"] if kind == "softmax"
                  else g.by_name["attn.weights0"].attrs["scale"][0])

        def loss(th):
            wq, wk, wv = (t.reshape(2, 2) for t in th.split(4))
            s = c * (X @ wq.T) @ (X @ wk.T).transpose(1, 2)
            A = torch.softmax(s, -1) if kind == "softmax" else s
            return 0.5 * ((A @ (X @ wv.T)).reshape(2, -1) - Y).pow(2).sum()
        H = torch.func.hessian(loss)(flat).numpy()
        sl = {"Q": slice(0, 4), "K": slice(4, 8), "V": slice(8, 12)}
        for r in res.blocks:
            if r["attention"] == kind and r["matrix"] == "H_L":
                want = np.linalg.norm(H[sl[r["block"][0]], sl[r["block"][1]]])
                assert abs(r["frobenius"] - want) <= 1e-12 * max(1.0, want)


def test_the_command_writes_json_and_a_figure(tmp_path, capsys):
    assert main(["reproduce", "transformer-hessian", "--width", "2", "--tokens", "2", "--no-growth", "--out",
                 str(tmp_path)]) == 0
    data = json.loads((tmp_path / "transformer_hessian.json").read_text())
    assert {r["attention"] for r in data["ranks"]} == {"softmax", "linear"}
    assert (tmp_path / "transformer_hessian.png").stat().st_size > 0
    assert main(["reproduce", "transformer-hessian", "--width", "0"]) == 2
    assert "--width" in capsys.readouterr().err
