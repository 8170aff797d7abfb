"""Load an exacthess fixture set: needs numpy only (and torch to rebuild a model).

This file is copied into every fixture folder written by ``exacthess fixtures --out DIR`` as
``DIR/exacthess_fixtures.py``; it imports nothing from exacthess. Layout of ``DIR``::

    DIR/index.json                  the fixtures' names and what each holds
    DIR/<name>/meta.json            constructor, input shape, loss and its torch spelling, parameter
                                    names and shapes, certified ranks, exact traces (as "p/q")
    DIR/<name>/state.npz            the parameters as torch stores them (named_parameters() order)
    DIR/<name>/data.npz             X (n x input shape), Y (targets as exacthess reads them),
                                    torch_Y (targets as the torch loss takes them)
    DIR/<name>/exact.npz            every exact matrix / vector M as M.num and M.den (int64), or as
                                    M.str ("p/q" text) where an entry overflows int64, plus M.f64
                                    (each entry the float64 nearest the exact value)

Matrices: ``hessian``, ``ggn`` (p x p, the parameters flattened in named_parameters() order, each
tensor row-major), ``diag_hessian``, ``diag_ggn``, the eigenvalue enclosures ``eig_<of>.mid`` /
``eig_<of>.rad`` (float64; every eigenvalue lies in the union of the intervals, see meta.json for the
exact number of zero eigenvalues) and, when present, the KFAC factors ``kfac_<kind>_<layer>_A`` and
``..._B`` (the approximation of a layer's block is ``kron(B, A)`` in torch's row-major weight layout,
the bias joined as a last input column of ones) and the whole block-diagonal approximation
``kfac_<kind>`` (p x p, parameter order), for ``kind`` ``expand`` and ``reduce``.

>>> import exacthess_fixtures as fx                  # doctest: +SKIP
>>> f = fx.load("DIR", "mlp-mse")                    # doctest: +SKIP
>>> f["hessian"][0, 0], f["hessian.f64"][0, 0]       # doctest: +SKIP
(Fraction(...), ...)
>>> model = fx.build_model("DIR", "mlp-mse")         # doctest: +SKIP
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np

__all__ = ["names", "load", "build_model", "exact_array"]


def names(folder) -> list:
    """The fixtures in ``folder`` (from ``index.json``)."""
    return list(json.loads((Path(folder) / "index.json").read_text())["fixtures"])


def exact_array(store, key: str) -> np.ndarray:
    """The exact array ``key`` of an ``exact.npz`` as an object array of ``fractions.Fraction``."""
    if f"{key}.num" in store:
        num, den = store[f"{key}.num"], store[f"{key}.den"]
        out = np.empty(num.shape, dtype=object)
        for idx in np.ndindex(num.shape):
            out[idx] = Fraction(int(num[idx]), int(den[idx]))
        return out
    text = store[f"{key}.str"]
    out = np.empty(text.shape, dtype=object)
    for idx in np.ndindex(text.shape):
        out[idx] = Fraction(str(text[idx]))
    return out


def load(folder, name: str) -> dict:
    """One fixture: ``meta`` (dict), ``X``, ``Y``, ``torch_Y``, the parameters (``state``: name -> array)
    and every exact array (``Fraction`` objects) with its float64 rounding under ``"<key>.f64"``."""
    root = Path(folder) / name
    meta = json.loads((root / "meta.json").read_text())
    out = {"meta": meta}
    with np.load(root / "data.npz") as d:
        out.update({k: d[k] for k in d.files})
    with np.load(root / "state.npz") as s:
        out["state"] = {k: s[k] for k in s.files}
    with np.load(root / "exact.npz") as e:
        keys = sorted({k.rsplit(".", 1)[0] for k in e.files})
        for k in keys:
            out[k] = exact_array(e, k) if (f"{k}.num" in e.files or f"{k}.str" in e.files) else None
            if f"{k}.f64" in e.files:
                out[f"{k}.f64"] = e[f"{k}.f64"]
            for extra in ("mid", "rad"):
                if f"{k}.{extra}" in e.files:
                    out[f"{k}.{extra}"] = e[f"{k}.{extra}"]
    return out


def build_model(folder, name: str):
    """The torch module of a fixture, in eval mode, with its stored parameters (needs torch)."""
    import torch
    meta = json.loads((Path(folder) / name / "meta.json").read_text())
    model = eval(meta["constructor"], {"torch": torch, "nn": torch.nn})  # the fixture's one-line constructor
    with np.load(Path(folder) / name / "state.npz") as s:
        state = {k: torch.from_numpy(s[k]) for k in s.files}
    model.load_state_dict(state)
    return model.eval()
