"""torch's own curvature of a module (the baseline of `exacthess compare`) against the exact Hessian."""

from __future__ import annotations

import numpy as np
import pytest

import exacthess as eh


def test_attention_models_per_token_outputs_and_sdpa():
    """Per-token outputs (n, T, d) are flattened before the loss; scaled_dot_product_attention, also inside
    nn.MultiheadAttention(need_weights=False), runs its math kernel (the fused ones have neither forward-mode AD
    nor a double backward); cross_entropy(T) has its torch form. Each against the exact Hessian."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F
    from exacthess.oracle.torch_curvature import torch_curvature

    class SDPA(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v = (torch.nn.Linear(4, 4) for _ in range(3))

        def forward(self, x):
            return F.scaled_dot_product_attention(self.q(x), self.k(x), self.v(x), is_causal=True)

    class MHA(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = torch.nn.MultiheadAttention(4, 1, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x, need_weights=False)[0]  # the fused SDPA kernel in torch
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.integers(-4, 5, (2, 3, 4)) / 4
    for model, loss, Y in ((SDPA().eval(), "mse", rng.integers(-4, 5, (2, 12)) / 4),
                           (MHA().eval(), "cross_entropy(3)", np.eye(4)[rng.integers(0, 4, (2, 3))].reshape(2, 12))):
        arch, params = eh.from_torch(model, (3, 4))
        exact = np.array(eh.hessian(arch, params=params, data=(X, Y), loss=loss).H_L, dtype=float)
        theirs = torch_curvature(model, X, Y, loss=loss).numpy()
        assert np.abs(theirs - exact).max() <= 1e-12 * np.abs(exact).max()
