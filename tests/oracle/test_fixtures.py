"""The fixture set: written by exacthess, loaded without it (numpy only), and curvlinops' Hessian and GGN
operators against it (when curvlinops is installed: the test extra)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from exacthess.oracle.fixtures import write_fixtures
    out = tmp_path_factory.mktemp("fixtures")
    write_fixtures(out)
    return out


def test_loads_without_exacthess(folder):
    code = f"""
import sys
sys.modules["exacthess"] = None  # any import of exacthess fails: the loader needs numpy only
sys.path.insert(0, {str(folder)!r})
import numpy as np
import exacthess_fixtures as fx
for name in fx.names({str(folder)!r}):
    f = fx.load({str(folder)!r}, name)
    p = f["meta"]["n_params"]
    assert f["hessian"].shape == f["ggn"].shape == (p, p)
    assert all(float(a) == b for a, b in zip(f["hessian"].flat, f["hessian.f64"].flat))
    assert len(f["eig_hessian.mid"]) == p - f["meta"]["eigenvalues"]["hessian"]["zeros"]
print("ok")
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr


def test_fixture_files_are_complete(folder):
    from exacthess.oracle.fixtures import FIXTURES
    index = json.loads((folder / "index.json").read_text())["fixtures"]
    assert set(index) == set(FIXTURES) and (folder / "README.md").exists()
    sys.path.insert(0, str(folder))
    try:
        import exacthess_fixtures as fx
        for name in index:
            f = fx.load(folder, name)
            for of in ("hessian", "ggn"):  # the enclosures hold numpy's eigenvalues of the exact matrix
                comps = f["meta"]["eigenvalues"][of]["components"]
                vals = np.linalg.eigvalsh(f[f"{of}.f64"])
                assert all(int(np.sum((vals >= lo) & (vals <= hi))) == c for lo, hi, c in comps), (name, of)
    finally:
        sys.path.remove(str(folder))


@pytest.mark.parametrize("of", ["hessian", "ggn"])
def test_curvlinops_operators_equal_the_fixtures(folder, of):
    curvlinops = pytest.importorskip("curvlinops")
    sys.path.insert(0, str(folder))
    try:
        import exacthess_fixtures as fx
        for name in fx.names(folder):
            f = fx.load(folder, name)
            meta = f["meta"]
            model = fx.build_model(folder, name).double()
            X = torch.from_numpy(f["X"]).double()
            Y = torch.from_numpy(f["torch_Y"])
            Y = Y if meta["loss"] == "cross_entropy" else Y.double()
            loss = eval(meta["torch_loss"], {"torch": torch})
            params = [p for p in model.parameters()]
            op = (curvlinops.HessianLinearOperator if of == "hessian" else curvlinops.GGNLinearOperator)(
                model, loss, params, [(X, Y)])
            theirs = (op @ torch.eye(meta["n_params"], dtype=torch.float64)).numpy()
            exact = meta["torch_scale"] * f[f"{of}.f64"]
            scale = max(1.0, float(np.abs(exact).max()))
            assert np.abs(theirs - exact).max() <= 1e-12 * scale, (name, of, np.abs(theirs - exact).max())
    finally:
        sys.path.remove(str(folder))


@pytest.mark.parametrize("kind", ["expand", "reduce"])
def test_curvlinops_kfac_equals_the_fixtures(folder, kind):
    """curvlinops' KFAC with ``fisher_type="type-2"`` and ``separate_weight_and_bias=False`` is exacthess's
    ``kron(B, A)`` per layer (the output-side factor first in torch's row-major weight layout, the bias a
    last input column), times the loss scale: equal to float64 rounding on every fixture."""
    curvlinops = pytest.importorskip("curvlinops")
    sys.path.insert(0, str(folder))
    compared = []
    try:
        import exacthess_fixtures as fx
        for name in fx.names(folder):
            f = fx.load(folder, name)
            meta = f["meta"]
            if f"kfac_{kind}.f64" not in f:
                continue
            model = fx.build_model(folder, name).double()
            X = torch.from_numpy(f["X"]).double()
            Y = torch.from_numpy(f["torch_Y"])
            Y = Y if meta["loss"] == "cross_entropy" else Y.double()
            try:
                op = curvlinops.KFACLinearOperator(model, eval(meta["torch_loss"], {"torch": torch}),
                                                   list(model.parameters()), [(X, Y)], fisher_type="type-2",
                                                   kfac_approx=kind, separate_weight_and_bias=False)
            except NotImplementedError:  # curvlinops' KFAC covers nn.Linear and nn.Conv2d (not nn.Conv1d)
                continue
            compared.append(name)
            theirs = (op @ torch.eye(meta["n_params"], dtype=torch.float64)).numpy()
            exact = meta["torch_scale"] * f[f"kfac_{kind}.f64"]
            scale = max(1.0, float(np.abs(exact).max()))
            assert np.abs(theirs - exact).max() <= 1e-12 * scale, (name, kind, np.abs(theirs - exact).max())
        assert {"mlp-mse", "deep-linear-mse", "mixed-ce", "cnn-mse"} <= set(compared), compared
    finally:
        sys.path.remove(str(folder))
