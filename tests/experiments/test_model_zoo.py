"""The model zoo: certified ranks equal FLINT's exact rank of the same Hessian; the command writes JSON and a figure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from flint import fmpq_mat

import exacthess as eh
from exacthess.cli.main import main
from exacthess.core.errors import InvalidOptionError
from exacthess.experiments.model_zoo import ZOO, run_zoo, zoo_models

torch = pytest.importorskip("torch")


def test_every_model_is_read_exactly():
    torch.manual_seed(0)
    models = zoo_models(torch)
    assert set(models) == set(ZOO)
    for name, model in models.items():
        arch, params = eh.from_torch(model, ZOO[name][1])
        assert arch.n_params == sum(p.numel() for p in model.parameters()), name


def test_ranks_equal_an_independent_exact_route():
    rows = run_zoo(names=["mlp-mixed", "conv3d"], n_samples=4)
    for row in rows:
        assert row["certified"]
        torch.manual_seed(0)
        arch, params = eh.from_torch(zoo_models(torch)[row["model"]], ZOO[row["model"]][1])
        assert row["n_params"] == arch.n_params
    # the same point again, the dense exact rank of H_L by FLINT's elimination
    torch.manual_seed(0)
    arch, params = eh.from_torch(zoo_models(torch)["mlp-mixed"], (5,))
    from exacthess.hessian.problem import rand_gaussian
    rng = np.random.default_rng([0, 3])
    X = np.array(rand_gaussian(rng, (4, 5), 1.0), dtype=float)
    Y = np.array(rand_gaussian(rng, (4, 2), 1.0), dtype=float)
    H = eh.hessian(arch, params=params, data=(X, Y)).H_L
    assert fmpq_mat(H.shape[0], H.shape[1], list(H.ravel())).rank() == rows[0]["H_L"]


def test_the_command_writes_json_and_a_figure(tmp_path, capsys):
    assert main(["reproduce", "model-zoo", "--models", "conv3d,mlp-mixed", "--samples", "3", "--out",
                 str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "model_zoo.json").read_text())
    assert [r["model"] for r in rows] == ["conv3d", "mlp-mixed"]
    assert (tmp_path / "model_zoo.png").stat().st_size > 0
    assert main(["reproduce", "model-zoo", "--models", "vgg"]) == 2
    assert "--models = 'vgg'" in capsys.readouterr().err
    with pytest.raises(InvalidOptionError):
        run_zoo(names=["vgg"])
