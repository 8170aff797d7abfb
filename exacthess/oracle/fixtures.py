r"""Fixtures for curvature libraries: small PyTorch models with their exact curvature, as plain files.

``exacthess fixtures --out DIR`` (:func:`write_fixtures`) writes, for each model of :data:`FIXTURES`
(MLPs, CNNs, mixed activations, a deep linear network and a linear CNN, MSE / cross-entropy / BCE,
with and without biases), its constructor, parameters, data and its exact Hessian, GGN, diagonals,
eigenvalue enclosures and (when available) KFAC factors -- as exact rationals and their float64
roundings -- with a README and the loader ``exacthess_fixtures.py`` that needs only numpy
(:mod:`exacthess.oracle.fixture_loader`, the layout is in its docstring).

**Loss scaling.** exacthess's losses are summed over the samples: MSE is
:math:`\tfrac12 \sum_i \|f_i - y_i\|^2`, so torch's ``MSELoss(reduction="sum")`` has **twice** the
Hessian (``meta["torch_scale"] = 2``); cross-entropy is ``CrossEntropyLoss(reduction="sum")`` on
class indices and BCE is ``BCEWithLogitsLoss(reduction="sum")`` (scale 1). A library's ``mean``
reduction divides by ``n`` (MSE: by ``n K``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from flint import fmpq

from ..core.errors import InvalidOptionError
from ..models.torch_check import require_torch

__all__ = ["FIXTURES", "write_fixtures"]

#: name -> (one-line constructor, input shape, exacthess loss, torch loss, torch scale, samples)
FIXTURES = {
    "mlp-mse": ("nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))", (3,), "mse",
                "nn.MSELoss(reduction='sum')", 2, 5),
    "deep-linear-mse": ("nn.Sequential(nn.Linear(3, 3, bias=False), nn.Linear(3, 3, bias=False), "
                        "nn.Linear(3, 2, bias=False))", (3,), "mse", "nn.MSELoss(reduction='sum')", 2, 4),
    "mixed-ce": ("nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3), nn.LeakyReLU(0.25), nn.Linear(3, 3))",
                 (4,), "cross_entropy", "nn.CrossEntropyLoss(reduction='sum')", 1, 5),
    "cnn-mse": ("nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.Flatten(), nn.Linear(18, 2))", (1, 4, 4), "mse",
                "nn.MSELoss(reduction='sum')", 2, 3),
    "cnn1d-bce": ("nn.Sequential(nn.Conv1d(2, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(10, 1))", (2, 5),
                  "bce", "nn.BCEWithLogitsLoss(reduction='sum')", 1, 4),
    "linear-cnn-mse": ("nn.Sequential(nn.Conv1d(1, 2, 2, bias=False), nn.Flatten(), nn.Linear(6, 2, bias=False))",
                       (1, 4), "mse", "nn.MSELoss(reduction='sum')", 2, 4),
}


def _exact(store: dict, key: str, arr) -> None:
    """``arr`` (exact rationals) as ``key.num`` / ``key.den`` int64, or ``key.str`` text, and ``key.f64``."""
    arr = np.asarray(arr, dtype=object)
    nums = [int(fmpq(v).p) for v in arr.flat]
    dens = [int(fmpq(v).q) for v in arr.flat]
    if all(-2**63 < v < 2**63 for v in nums + dens):
        store[f"{key}.num"] = np.array(nums, dtype=np.int64).reshape(arr.shape)
        store[f"{key}.den"] = np.array(dens, dtype=np.int64).reshape(arr.shape)
    else:
        store[f"{key}.str"] = np.array([str(fmpq(v)) for v in arr.flat], dtype=str).reshape(arr.shape)
    store[f"{key}.f64"] = np.array([float(fmpq(v)) for v in arr.flat], dtype=np.float64).reshape(arr.shape)


def _data(torch, shape, loss: str, K: int, n: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(-8, 9, (n,) + tuple(shape), generator=g).double() / 8
    if loss == "cross_entropy":
        idx = torch.randint(0, K, (n,), generator=g)
        return X, torch.eye(K, dtype=torch.float64)[idx], idx
    if loss == "bce":
        Y = torch.randint(0, 5, (n, K), generator=g).double() / 4
        return X, Y, Y
    Y = torch.randint(-8, 9, (n, K), generator=g).double() / 8
    return X, Y, Y


def write_fixtures(out, *, names=None, seed: int = 0, progress=None) -> list:
    """Write the fixtures (see the module doc) to the folder ``out``; returns the names written."""
    import exacthess as eh
    torch = require_torch()
    say = progress or (lambda msg: None)
    chosen = list(FIXTURES) if names is None else list(names)
    for n in chosen:
        if n not in FIXTURES:
            raise InvalidOptionError(f"names = {n!r} is not a fixture; expected some of {', '.join(FIXTURES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).with_name("fixture_loader.py"), out / "exacthess_fixtures.py")
    index = {}
    for name in chosen:
        ctor, shape, loss, tloss, scale, n = FIXTURES[name]
        say(f"{name}: the model and its exact curvature")
        torch.manual_seed(seed)
        model = eval(ctor, {"nn": torch.nn}).eval()
        arch, params = eh.from_torch(model, shape)
        X, Y, tY = _data(torch, shape, loss, arch.output_dim, n, seed)
        C = eh.curvature(arch, params=params, data=(X.reshape(n, -1).numpy(), Y.numpy()), loss=loss)
        folder = out / name
        folder.mkdir(exist_ok=True)
        np.savez(folder / "state.npz", **{k: v.detach().numpy() for k, v in model.state_dict().items()})
        np.savez(folder / "data.npz", X=X.numpy(), Y=Y.numpy(), torch_Y=tY.numpy())
        store, meta_eigs, ranks = {}, {}, {}
        for of in ("hessian", "ggn"):
            _exact(store, of, C.matrix(of))
            _exact(store, f"diag_{of}", C.diagonal(of))
            E = C.eigenvalues(of)
            store[f"eig_{of}.mid"] = np.array([float(b.mid()) for b in E.balls])
            store[f"eig_{of}.rad"] = np.array([float(b.rad()) for b in E.balls])
            meta_eigs[of] = {"zeros": E.zeros, "radius": E.radius,
                             "components": [[lo, hi, c] for lo, hi, c in E.components]}
            ranks[of] = C.rank(of).value
        kfac = _kfac(C, store, dict(zip((k for k, _ in C.names), (k for k, _ in model.named_parameters()))))
        np.savez(folder / "exact.npz", **store)
        meta = {"name": name, "constructor": ctor.replace("nn.", "torch.nn."), "input_shape": list(shape),
                "loss": loss, "torch_loss": "torch." + tloss, "torch_scale": scale, "n_samples": n,
                "parameters": [[k, list(v.shape)] for k, v in model.named_parameters()], "n_params": C.n_params,
                "ranks": ranks, "trace": {of: str(C.trace(of)) for of in ("hessian", "ggn")},
                "eigenvalues": meta_eigs, "kfac": kfac, "exacthess": eh.__version__ if hasattr(eh, "__version__")
                else "unknown"}
        (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        index[name] = {"loss": loss, "n_params": C.n_params, "input_shape": list(shape)}
    (out / "index.json").write_text(json.dumps({"fixtures": index}, indent=2) + "\n")
    (out / "README.md").write_text(_README)
    return chosen


def _kfac(C, store: dict, torch_names: dict) -> dict:
    """The exact KFAC factors (both kinds) when exacthess provides them; the layout in ``meta["kfac"]``."""
    try:
        from . import kfac as kfac_module  # noqa: F401
    except ImportError:  # pragma: no cover - KFAC factors not available in this version
        return {}
    layout = {}
    for kind in ("expand", "reduce"):
        try:
            blocks = C.kfac(kind)
        except Exception as exc:  # noqa: BLE001 - a model KFAC does not cover: say so in the metadata
            layout[kind] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        layout[kind] = []
        from .kfac import kfac_matrix
        _exact(store, f"kfac_{kind}", kfac_matrix(blocks))  # the block-diagonal approximation, parameter order
        for b in blocks:
            key = f"kfac_{kind}_{b.name}"
            _exact(store, f"{key}_A", b.A)
            _exact(store, f"{key}_B", b.B)
            layout[kind].append({"layer": b.name, "A": f"{key}_A", "B": f"{key}_B",
                                 "params": [torch_names.get(n, n) for n in getattr(b, "params", ())]})
    return layout


_README = """# exacthess fixtures

Small PyTorch models with their **exact** curvature, for testing curvature libraries
(Hessian, generalised Gauss-Newton, diagonals, eigenvalues, KFAC factors). Written by
`exacthess fixtures --out DIR`. Load them with numpy only:

```python
import exacthess_fixtures as fx          # the file next to this README
for name in fx.names("."):
    f = fx.load(".", name)               # exact values as fractions.Fraction, and float64 roundings
    H = f["hessian.f64"]                 # p x p, parameters in named_parameters() order, row-major
    model = fx.build_model(".", name)    # needs torch
```

Conventions: the loss is summed over the samples; exacthess's MSE is 1/2 sum ||f - y||^2, so
`torch.nn.MSELoss(reduction='sum')` has twice this Hessian (`meta["torch_scale"]`). Cross-entropy
takes `torch_Y` (class indices), BCE-with-logits probabilities. See `exacthess_fixtures.py` for the
file layout. `build_model` evaluates the constructor stored in `meta.json`: use fixtures you trust.
"""
