r"""The round-trip check of :func:`~exacthess.from_torch`: exact forward pass against torch's float64 one.

The exact forward pass of ``(arch, params)`` at a test input of dyadic numbers ``k/64`` is
compared with torch's float64 forward of a copy of the module. Each
float64 layer output differs from the exact one by at most the classical bound
:math:`|\hat z - z| \le |T|\,|\hat h - h| + \gamma_n(|T|\,|h| + |b|)`,
:math:`\gamma_n = n u / (1 - n u)`, :math:`u = 2^{-53}`, with ``n`` the terms of one dot product
(any summation order, FMA included); the check requires agreement within twice that bound,
propagated through the layers. The tolerance only decides whether the conversion describes the
module (wrong layouts or paddings give differences of the order of the outputs); no rank or
verdict depends on it.
"""

from __future__ import annotations

import math

import numpy as np
from flint import fmpq

from ..core.errors import MissingDependencyError, UnsupportedModuleError
from ..core.exact import rational_array, to_rational
from .architectures import Architecture

__all__ = ["exact_forward", "round_trip_check", "require_torch"]

_U = 2.0 ** -53


def require_torch():
    """The ``torch`` module, or :class:`~exacthess.core.errors.MissingDependencyError` (an
    ``ImportError``) naming the extra to install."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("reading PyTorch models needs PyTorch, which is not installed; "
                                     "install it with: pip install 'exacthess[torch]'") from None
    return torch


def exact_forward(arch: Architecture, params: list, x) -> tuple[list, np.ndarray]:
    r"""The exact outputs :math:`F(x)` of one sample, and a float64 forward error bound per output.

    Computed from the layers' tap tables (no dense operator): ``z[o, pos] = sum_tau w[o, tau]
    h~[S[tau, pos]]``. The bound is :math:`e_{l} = |T_l|\,\epsilon_{l-1} + \gamma_n (|T_l||h_{l-1}| + |b_l|)`
    with :math:`\epsilon_l = \max(1, |a|)\, e_l + u |h_l|` through a ReLU-type activation
    (infinite after a polynomial activation, for which no bound is given).

    Args:
        arch: the network.
        params: exact parameters in the documented order (``arch.param_shapes()``).
        x: one sample, flattened channel-major.

    >>> from exacthess import FCN
    >>> z, bound = exact_forward(FCN(2, (2,), 1, activation="relu"), [[[1, -1], [1, 1]], [[2, 3]]], [3, 1])
    >>> [str(v) for v in z]
    ['16']
    """
    act = arch.activation
    h = rational_array(np.asarray(x).reshape(-1), "x")
    habs, err = np.abs(h.astype(float)), np.zeros(h.shape[0])
    lip = float(max(abs(act.slope), 1)) if act.piecewise else 1.0
    it = iter(params)
    for li, layer in enumerate(arch.layers):
        w = np.asarray(next(it), dtype=object).reshape(layer.c_out, -1)
        if layer.bias:
            w = np.concatenate([w, np.asarray(next(it), dtype=object).reshape(layer.c_out, 1)], axis=1)
        src = layer.sources
        ext = np.concatenate([h, np.array([fmpq(1), fmpq(0)], dtype=object)])
        z = np.dot(w, ext[src]).reshape(-1)
        wabs = np.abs(w.astype(float))
        n = src.shape[0]
        gamma = n * _U / (1 - n * _U)
        mag = wabs @ np.concatenate([habs, [1.0, 0.0]])[src]
        ez = (wabs @ np.concatenate([err, [0.0, 0.0]])[src] + gamma * mag).reshape(-1)
        if li == len(arch.layers) - 1:
            return list(z), ez
        h = np.array([act.value(v) for v in z], dtype=object)
        habs = np.abs(h.astype(float))
        if act.kind == "poly":
            err = np.full(h.shape[0], np.inf)  # no bound through a polynomial
        elif act.piecewise and act.slope != 0:
            err = lip * ez + _U * habs  # the product a z is rounded once
        else:
            err = ez  # linear, or ReLU: exact and 1-Lipschitz
    raise AssertionError("unreachable")  # pragma: no cover


def round_trip_check(module, arch: Architecture, params: list, shape: tuple) -> None:
    """Compare the exact forward pass with torch's float64 forward of a copy of ``module`` at a
    test input of dyadic numbers ``k/64`` (one sample of ``shape``).

    Raises:
        UnsupportedModuleError: the outputs differ by more than twice the float64 error bound.
    """
    import copy
    torch = require_torch()
    rng = np.random.default_rng(20240613)
    x = rng.integers(-64, 65, size=math.prod(shape)) / 64.0  # dyadic: exact in float64
    exact, bound = exact_forward(arch, params, x)
    with torch.no_grad():
        ref = copy.deepcopy(module).to(dtype=torch.float64)(torch.tensor(x).reshape((1,) + shape))
    got = ref.detach().reshape(-1).numpy()
    if got.shape[0] != len(exact):
        raise UnsupportedModuleError(f"module returns {got.shape[0]} outputs for one sample; the network read from "
                                     f"it has {len(exact)} (does a forward hook or a subclass change it?)")
    for k, (z, t, b) in enumerate(zip(exact, got, bound)):
        diff = abs(z - to_rational(float(t), name=f"torch output {k}"))
        if diff > to_rational(2 * b):
            raise UnsupportedModuleError(
                f"round-trip check failed: output {k} of the exact network is {float(z)!r} while torch's float64 "
                f"forward gives {float(t)!r} (difference {float(diff):.3g}, float64 error bound {2 * b:.3g}); the "
                "module computes something its layers do not describe (forward hooks, a subclass, a modified "
                "forward?)")
