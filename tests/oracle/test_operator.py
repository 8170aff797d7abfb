"""``exacthess.curvature`` against torch in float64 at dyadic points (exact there): the Hessian by
``torch.func.hessian``, the GGN as ``sum_i J_i^T (d^2 l / d f^2) J_i`` from ``torch.func.jacrev`` and
``torch.func.hessian`` of the loss in output space; diagonals, traces and products from the same."""

from __future__ import annotations

import numpy as np
import pytest

import exacthess as eh

torch = pytest.importorskip("torch")


def _model():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Conv1d(1, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                            torch.nn.Linear(10, 4), torch.nn.LeakyReLU(0.25), torch.nn.Linear(4, 3)).double()
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randint(-8, 9, p.shape) / 16)
    return m.eval()


def _loss(name, out, Y):
    if name == "cross_entropy":
        return -(Y * torch.log_softmax(out, dim=-1)).sum()
    return 0.5 * ((out - Y) ** 2).sum()


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_hessian_and_ggn_equal_torch(loss):
    m = _model()
    X = torch.randint(-8, 9, (4, 1, 5)) / 8
    Y = torch.eye(3)[torch.tensor([0, 2, 1, 0])] if loss == "cross_entropy" else torch.randint(-8, 9, (4, 3)) / 8
    arch, params = eh.from_torch(m, (1, 5))
    C = eh.curvature(arch, params=params, data=(X.reshape(4, -1).double(), Y.double()), loss=loss)
    names = [k for k, _ in m.named_parameters()]
    shapes = [p.shape for p in m.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in m.parameters()])

    def unflat(theta):
        out, off = {}, 0
        for k, s in zip(names, shapes):
            out[k] = theta[off:off + s.numel()].reshape(s)
            off += s.numel()
        return out

    def f(theta):
        return torch.func.functional_call(m, unflat(theta), (X.double(),))
    H = torch.func.hessian(lambda t: _loss(loss, f(t), Y.double()))(flat).numpy()
    J = torch.func.jacrev(f)(flat).numpy()  # (n, K, p)
    G = sum(J[i].T @ torch.func.hessian(lambda o: _loss(loss, o, Y[i].double()))(f(flat)[i].detach()).numpy() @ J[i]
            for i in range(4))
    scale = max(1.0, np.abs(H).max())
    assert np.abs(C.to_numpy("hessian") - H).max() <= 1e-12 * scale
    assert np.abs(C.to_numpy("ggn") - G).max() <= 1e-12 * scale
    assert np.allclose(np.array(C.diagonal("ggn"), dtype=float), np.diag(G), atol=1e-12 * scale)
    assert abs(float(C.trace()) - np.trace(H)) <= 1e-10 * scale
    v = np.arange(C.n_params) % 5 - 2
    assert np.allclose(np.array(C.hvp(v), dtype=float), H @ v, atol=1e-10 * scale)
    assert [n for n, _ in C.names] == [f"{k.rsplit('.', 1)[0]}.{k.rsplit('.', 1)[1]}" for k in names]


def test_review_findings_on_the_curvature_object():
    from exacthess.core.errors import InvalidValueError
    C = eh.curvature(eh.FCN(3, (4,), 2, bias=True, activation="relu"), n_samples=4)
    with pytest.raises(InvalidValueError, match="k = 0"):
        C.eigenvalues(k=0)
    with pytest.raises(InvalidValueError, match="v has shape"):
        C.hvp(3.0)
    assert "exactly 0" in str(C.eigenvalues(k=1))
    assert str(eh.claims.kfac_relu(progress=False)).startswith("kfac.relu: refuted")


def test_search_reproduces_its_verdict_and_fixture_names_are_torch_s(tmp_path):
    import json

    import exacthess
    from exacthess.oracle.fixtures import write_fixtures
    res = eh.search("kfac.relu", max_examples=10)
    assert str(eval(res.counterexample.command, {"exacthess": exacthess}).verdict) == "refuted"
    write_fixtures(tmp_path, names=["cnn-mse"])
    meta = json.loads((tmp_path / "cnn-mse" / "meta.json").read_text())
    assert [k for k, _ in meta["parameters"]] == ["0.weight", "0.bias", "3.weight", "3.bias"]
    assert meta["kfac"]["expand"][0]["params"] == ["0.weight", "0.bias"]
