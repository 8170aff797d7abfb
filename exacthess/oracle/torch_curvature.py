r"""torch's own curvature of a model, in one float type: what a user computes with ``torch.func``.

:func:`torch_curvature` differentiates the same summed loss as :func:`exacthess.curvature`
(:math:`\ell = \sum_i l(F(x_i), y_i)`: ``mse`` is :math:`\tfrac12 \|f - y\|^2`, ``cross_entropy``
:math:`-\sum_k y_k \log \mathrm{softmax}(f)_k`, ``bce`` :math:`\sum_k \mathrm{softplus}(f_k) -
y_k f_k`, ``weighted_mse(w)`` :math:`\tfrac12 \sum_k w_k (f_k - y_k)^2`) over the flat parameter
vector ``torch.cat([p.flatten() for p in model.parameters()])`` in ``dtype``:

* ``"hessian"`` -- ``torch.func.hessian`` of the loss;
* ``"ggn"`` -- :math:`\sum_i J_i^\top \nabla^2 l_i J_i` from ``torch.func.jacrev`` of the outputs
  and ``torch.func.hessian`` of the loss in the outputs;
* ``"functional"`` -- their difference.

``exacthess compare`` without ``--theirs`` compares these, in float32 and float64, with the exact
matrices: where torch's own Hessian stands.
"""

from __future__ import annotations

import copy

import numpy as np

from ..core.errors import InvalidValueError
from ..core.validate import check_option
from ..models.losses import loss as parse_loss
from ..models.torch_check import require_torch

__all__ = ["torch_curvature", "torch_loss"]


def _math_attention(torch):
    """A context in which ``scaled_dot_product_attention`` (also inside ``nn.MultiheadAttention``) runs its
    plain math kernel, which torch can differentiate twice; a no-op where torch has no such switch."""
    import contextlib
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except ImportError:  # pragma: no cover - older torch
        return contextlib.nullcontext()
    return sdpa_kernel(SDPBackend.MATH)


def torch_loss(the_loss):
    """The summed loss ``(outputs (n, K), targets (n, K)) -> scalar`` in torch, for an exacthess
    loss name or :class:`~exacthess.models.losses.Loss` (a custom loss has no torch form)."""
    torch = require_torch()
    L = parse_loss(the_loss)
    if L.name == "mse":
        return lambda f, y: 0.5 * ((f - y) ** 2).sum()
    if L.name.startswith("weighted_mse"):
        w = [float(v) for v in L.weights]
        return lambda f, y: 0.5 * (torch.tensor(w, dtype=f.dtype) * (f - y) ** 2).sum()
    if L.name == "cross_entropy":
        return lambda f, y: -(y * torch.log_softmax(f, dim=1)).sum()
    if L.groups > 1:  # cross_entropy(T): a softmax per token over its K / T logits
        T = L.groups
        return lambda f, y: -(y.reshape(f.shape[0], T, -1) * torch.log_softmax(f.reshape(f.shape[0], T, -1),
                                                                                 dim=2)).sum()
    if L.name == "bce":
        return lambda f, y: (torch.nn.functional.softplus(f) - y * f).sum()
    raise InvalidValueError(f"loss = {L.name!r} has no torch form here; expected mse, weighted_mse(...), "
                            "cross_entropy, cross_entropy(T) or bce")


def torch_curvature(model, X, Y, *, loss="mse", dtype: str = "float64", of: str = "hessian", params=None):
    """torch's ``p x p`` curvature ``of`` of the summed loss, computed in ``dtype`` (see the module doc).

    Args:
        model: a ``torch.nn.Module`` (evaluated as it is: call ``.eval()`` first for batch norm
            and dropout in eval mode).
        X: the samples, ``(n, *input_shape)``; Y: the targets ``(n, K)`` (probabilities for
            cross-entropy and BCE).
        loss: an exacthess loss name (or :class:`~exacthess.models.losses.Loss`).
        dtype: ``"float32"`` or ``"float64"`` (``"float16"``, ``"bfloat16"`` where torch supports them).
        of: ``"hessian"``, ``"ggn"`` or ``"functional"``.
        params: optional per-tensor parameter values (``named_parameters()`` order, e.g. those of
            :func:`exacthess.from_torch`) rounded to ``dtype``; default the model's own.

    Returns:
        a ``p x p`` torch tensor of ``dtype``.
    """
    torch = require_torch()
    of = check_option(of, "of", ("hessian", "ggn", "functional"))
    tdtype = getattr(torch, check_option(dtype, "dtype", ("float16", "bfloat16", "float32", "float64")))
    m = copy.deepcopy(model).to(tdtype)
    names = [n for n, _ in m.named_parameters()]
    shapes = [p.shape for p in m.parameters()]
    if params is None:
        theta = torch.cat([p.detach().reshape(-1) for p in m.parameters()])
    else:
        flat = np.concatenate([np.array([float(v) for v in np.asarray(t, dtype=object).flat]) for t in params])
        theta = torch.tensor(flat, dtype=tdtype)
    if theta.numel() != sum(s.numel() for s in shapes):
        raise InvalidValueError(f"params has {theta.numel()} values; the model has "
                                f"{sum(s.numel() for s in shapes)} parameters")
    Xt = torch.as_tensor(np.asarray(X, dtype=np.float64)).to(tdtype)
    Yt = torch.as_tensor(np.asarray(Y, dtype=np.float64)).to(tdtype)
    lossf = torch_loss(loss)

    def outputs(t):
        parts, off = {}, 0
        for n, s in zip(names, shapes):
            parts[n] = t[off:off + s.numel()].reshape(s)
            off += s.numel()
        return torch.func.functional_call(m, parts, (Xt,)).reshape(Xt.shape[0], -1)  # (n, K): per-token maps flat

    def hessian(fn, at):
        with _math_attention(torch):  # SDPA's fused kernels have no forward-mode AD nor double backward
            try:
                return torch.func.hessian(fn)(at)
            except NotImplementedError:  # another op without forward-mode AD: reverse twice
                return torch.func.jacrev(torch.func.jacrev(fn))(at)

    if of == "hessian":
        return hessian(lambda t: lossf(outputs(t), Yt), theta).detach()
    with _math_attention(torch):
        J = torch.func.jacrev(outputs)(theta)  # (n, K, p)
    out = outputs(theta).detach()
    H_out = torch.func.hessian(lambda f: lossf(f, Yt))(out)  # (n, K, n, K): block diagonal
    G = torch.einsum("akp,akbl,blq->pq", J, H_out, J).detach()
    if of == "ggn":
        return G
    return hessian(lambda t: lossf(outputs(t), Yt), theta).detach() - G
