"""``exacthess compare`` on a small saved model, and torch's own curvature (oracle/torch_curvature)
against the exact one for every loss and matrix."""

import json

import numpy as np
import pytest

import exacthess as eh
from exacthess.cli.main import main

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("compare")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    torch.save(model, d / "m.pt")
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    np.savez(d / "data.npz", X=X, Y=Y)
    arch, params = eh.from_torch(model.eval(), (4,))
    C = eh.curvature(arch, params=params, data=(X, Y))
    np.save(d / "exact64.npy", C.to_numpy())
    np.save(d / "ggn32.npy", C.to_numpy("ggn").astype(np.float32))
    bad = C.to_numpy()
    bad[0, 1] += 1e-3
    np.save(d / "perturbed.npy", bad)
    np.save(d / "small.npy", np.eye(3))
    nan = C.to_numpy()
    nan[2, 2] = np.nan
    np.save(d / "nan.npy", nan)
    np.save(d / "ints.npy", np.eye(23, dtype=int))
    return d


def _run(argv, files, capsys):
    code = main([a.format(d=files) for a in argv])
    return code, capsys.readouterr()


BASE = ["compare", "{d}/m.pt", "--input-shape", "4", "--data", "{d}/data.npz"]


def test_torch_own_hessians_in_float32_and_float64(files, capsys):
    code, out = _run(BASE, files, capsys)
    assert code == 0, out.out
    assert "torch float32" in out.out and "torch float64" in out.out and out.out.count("max |error|") == 2
    assert "all agree" in out.out
    assert max(len(line) for line in out.out.splitlines()) <= 80


def test_json_output(files, capsys):
    code, out = _run(BASE + ["--of", "ggn", "--json"], files, capsys)
    d = json.loads(out.out)
    assert code == d["exit_code"] == 0 and d["of"] == "ggn" and d["n_params"] == 23 and d["loss"] == "mse"
    assert [c["theirs"] for c in d["comparisons"]] == ["torch float32", "torch float64"]
    assert [c["dtype"] for c in d["comparisons"]] == ["float32", "float64"]
    assert all(c["ok"] and c["rank_agrees"] and c["exact_rank"] == c["their_rank"] for c in d["comparisons"])


@pytest.mark.parametrize("extra, code", [
    (["--theirs", "{d}/exact64.npy"], 0),
    (["--theirs", "{d}/ggn32.npy", "--of", "ggn"], 0),
    (["--theirs", "{d}/perturbed.npy"], 1),
])
def test_their_matrix(files, capsys, extra, code):
    got, out = _run(BASE + extra + ["--json"], files, capsys)
    d = json.loads(out.out)
    assert got == code == d["exit_code"] and len(d["comparisons"]) == 1
    assert d["comparisons"][0]["ok"] is (code == 0)


@pytest.mark.parametrize("extra, words", [
    (["--theirs", "{d}/small.npy"], "has shape (3, 3); the model has 23 parameters: expected (23, 23)"),
    (["--theirs", "{d}/nan.npy"], "has 1 non-finite entries (NaN or inf) of 529"),
    (["--theirs", "{d}/ints.npy"], "holds int64 values; expected floats"),
    (["--theirs", "{d}/none.npy"], "is not a file"),
    (["--theirs", "{d}/data.npz"], "is an .npz archive"),
    (["--of", "fisher"], "invalid choice: 'fisher'"),
    (["--loss", "hinge"], "loss"),
])
def test_bad_input_exits_2_with_one_line(files, capsys, extra, words):
    code, out = _run(BASE + extra, files, capsys)
    assert code == 2 and out.err.count("\n") == 1 and out.err.startswith("error:") and words in out.err, out.err


@pytest.mark.parametrize("loss", ["mse", "weighted_mse(1, 1/2)", "cross_entropy", "bce"])
@pytest.mark.parametrize("of", ["hessian", "ggn", "functional"])
def test_torch_curvature_is_the_exact_one_in_float64(loss, of):
    """torch's float64 matrices of the same summed loss agree with the exact ones within the bound."""
    from exacthess.oracle.torch_curvature import torch_curvature
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LeakyReLU(0.25), torch.nn.Linear(3, 2)).eval()
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 3))
    Y = np.eye(2)[[0, 1, 1, 0, 1]] if loss in ("cross_entropy", "bce") else rng.standard_normal((5, 2))
    arch, params = eh.from_torch(model, (3,))
    C = eh.curvature(arch, params=params, data=(X, Y), loss=loss)
    for dtype in ("float64", "float32"):
        c = eh.compare(C, torch_curvature(model, X, Y, loss=loss, dtype=dtype, of=of), of=of)
        assert c.ok and c.eps_units < 8, (dtype, c)


def test_review_findings_theirs_needs_data_and_a_stated_precision(tmp_path, capsys):
    import numpy as np
    scipy_linalg = pytest.importorskip("scipy.sparse.linalg")
    import exacthess as eh
    from exacthess.cli.main import main
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1))
    torch.save(model, tmp_path / "m.pt")
    np.save(tmp_path / "t.npy", np.zeros((11, 11)))
    assert main(["compare", str(tmp_path / "m.pt"), "--input-shape", "3", "--theirs", str(tmp_path / "t.npy")]) == 2
    assert "--theirs needs --data" in capsys.readouterr().err
    arch, params = eh.from_torch(model.eval(), (3,))
    C = eh.curvature(arch, params=params, n_samples=4)
    H = C.to_numpy().astype(np.float32).astype(np.float64)  # float32 values behind a float64 wrapper
    op = scipy_linalg.aslinearoperator(H)
    assert eh.compare(C, op, dtype=np.float32).dtype == "float32"
