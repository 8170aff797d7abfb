"""The exact point of a problem as plain data: what a saved report needs to recompute its matrices.

A report written by ``exacthess verify ... --json`` carries ``point``: the architecture (its
spec), the parameters in documented order, the data ``X`` and the targets ``Y`` actually used
(after class indices became one-hot rows, or a perfect fit replaced them) and the loss, every
number an exact rational written as ``"p/q"``. :func:`problem_from_data` rebuilds the same
:class:`~exacthess.hessian.problem.Problem`.

>>> from exacthess import FCN
>>> from exacthess.hessian.problem import make_problem
>>> prob = make_problem(FCN(2, (2,), 1), n_samples=3, seed=1)
>>> again = problem_from_data(problem_to_data(prob))
>>> bool((again.sigma == prob.sigma).all()) and again.loss.name == prob.loss.name
True
"""

from __future__ import annotations

import numpy as np
from flint import fmpq

from ..core.errors import InvalidDataError, describe
from ..models.architectures import from_spec
from .problem import make_problem

__all__ = ["problem_to_data", "problem_from_data", "documented_params", "POINT_FORMAT"]

#: the ``format`` tag of the saved point
POINT_FORMAT = "exacthess-point/1"


def documented_params(problem) -> list:
    """The parameters in documented order (``arch.param_shapes()``), from the tap-order weights."""
    out = []
    shapes = iter(problem.arch.param_shapes())
    for layer, w in zip(problem.arch.layers, problem.weights):
        k = layer.n_taps - int(layer.bias)
        out.append(np.ascontiguousarray(w[:, :k]).reshape(next(shapes)))
        if layer.bias:
            out.append(np.ascontiguousarray(w[:, k]).reshape(next(shapes)))
    return out


def _text(arr) -> list:
    return np.vectorize(str, otypes=[object])(np.asarray(arr, dtype=object)).tolist()


def _rationals(values, what: str) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        try:
            num, _, den = str(v).partition("/")
            out[idx] = fmpq(int(num), int(den or 1))
        except (ValueError, ZeroDivisionError):
            raise InvalidDataError(f"point {what}{list(idx)} = {describe(v)} is not an exact rational; expected a "
                                   "string 'p/q' as exacthess writes it") from None
    return out


def problem_to_data(problem) -> dict | None:
    """The exact point as JSON data, or None when it cannot be rebuilt (a custom loss: its functions
    are code, not data; an architecture assembled from layers without a spec)."""
    from ..models.losses import loss as parse_loss
    try:
        parse_loss(problem.loss.name)
        spec = problem.arch.to_spec()
    except Exception:  # a custom loss, or an architecture without a plain-data spec
        return None
    params = problem.params if spec.get("family") == "graph" else documented_params(problem)
    return {"format": POINT_FORMAT, "architecture": spec, "loss": problem.loss.name,
            "params": [_text(p) for p in params], "X": _text(problem.X), "Y": _text(problem.Y)}


def problem_from_data(data: dict):
    """Rebuild the :class:`~exacthess.hessian.problem.Problem` (a graph's
    :class:`~exacthess.hessian.graph_forward.GraphProblem`) of :func:`problem_to_data`.

    Raises:
        InvalidDataError: the data is not a saved point (the message names what is missing).
    """
    if not isinstance(data, dict) or data.get("format") != POINT_FORMAT:
        raise InvalidDataError(f"point = {describe(data)} is not a saved exact point; expected a dict with "
                               f"format {POINT_FORMAT!r} (written by exacthess verify --json)")
    missing = [k for k in ("architecture", "loss", "params", "X", "Y") if k not in data]
    if missing:
        raise InvalidDataError(f"the saved point has no {', '.join(missing)}; expected the fields exacthess writes")
    arch = from_spec(data["architecture"])
    params = [_rationals(p, f"params[{i}]") for i, p in enumerate(data["params"])]
    X, Y = _rationals(data["X"], "X"), _rationals(data["Y"], "Y")
    if getattr(arch, "family", None) == "graph":
        from .graph_forward import make_graph_problem
        return make_graph_problem(arch, params=params, data=(X, Y), loss=data["loss"])
    return make_problem(arch, params=params, data=(X, Y), loss=data["loss"])
