r"""A gallery of small but real PyTorch models: certified Hessian ranks beside torch's float ranks.

Each model is built in torch with torch's own initialisation (float32 weights at the scale users
have), read exactly by :func:`exacthess.from_torch`, and verified at seeded dyadic data (odd
multiples of 2^-8, exactly representable in float32) under the MSE loss (cross-entropy where
named). Beside the certified ranks of ``H_L``, ``H_o`` and ``H_f``, the rank a careful user would
compute: ``torch.func.hessian`` of the same loss over ``named_parameters()`` in float32 and in
float64, then ``torch.linalg.matrix_rank(H, hermitian=True)`` (its default tolerance). A float
rank that differs from the certified one is where floats go wrong.

Batch normalisation (eval mode) enters through a rational stand-in of ``1/sqrt(var + eps)``
within 2^-64 relatively: its ranks are exact at the stand-in.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["ZOO", "zoo_models", "run_zoo"]

#: name -> (description, input shape, loss)
ZOO = {
    "mlp-mixed": ("Linear-ReLU-Linear-LeakyReLU(0.25)-Linear (per-layer activations)", (5,), "mse"),
    "mlp-dropout-bn": ("Linear-BatchNorm1d-ReLU-Dropout-Linear in eval mode", (6,), "mse"),
    "linear-resnet": ("deep linear residual network x + W x, three identity skips", (4,), "mse"),
    "relu-resnet-proj": ("ReLU residual blocks, one with a projection skip", (4,), "mse"),
    "lenet": ("LeNet-style: Conv2d-ReLU-MaxPool2d-Conv2d-ReLU-AvgPool2d-Flatten-Linear", (1, 10, 10), "mse"),
    "lenet-ce": ("the LeNet-style CNN under cross-entropy", (1, 10, 10), "cross_entropy"),
    "resnet-bn": ("two ResNet basic blocks (Conv2d-BatchNorm2d-ReLU, identity skip), average pooling",
                  (2, 6, 6), "mse"),
    "tcn": ("temporal CNN: dilated Conv1d (dilation 2, 4) with ReLU, causal-size padding", (2, 16), "mse"),
    "conv1d-circular": ("Conv1d with circular padding, then a linear readout", (2, 8), "mse"),
    "conv3d": ("Conv3d-ReLU-MaxPool3d-Flatten-Linear", (1, 4, 4, 4), "mse"),
    "grouped-conv": ("grouped Conv2d (groups 2) and a 1x1 mixing convolution", (4, 5, 5), "mse"),
    "bottleneck-mlp": ("a wide-narrow-wide MLP with a LeakyReLU bottleneck", (8,), "mse"),
}


def zoo_models(torch) -> dict:
    """The models, freshly initialised by torch (``torch.manual_seed`` set by the caller)."""
    nn = torch.nn

    class Residual(nn.Module):
        def __init__(self, body, skip=None):
            super().__init__()
            self.body, self.skip = body, skip

        def forward(self, x):
            return self.body(x) + (x if self.skip is None else self.skip(x))

    class LinearResNet(nn.Module):
        def __init__(self, width=4, blocks=3):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(width, width, bias=False) for _ in range(blocks)])
            self.out = nn.Linear(width, 2, bias=False)

        def forward(self, x):
            for block in self.blocks:
                x = x + block(x)
            return self.out(x)

    class ReluResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(4, 5)
            self.block1 = nn.Sequential(nn.Linear(5, 5), nn.ReLU(), nn.Linear(5, 5))
            self.block2 = nn.Sequential(nn.Linear(5, 3), nn.ReLU(), nn.Linear(3, 3))
            self.proj = nn.Linear(5, 3, bias=False)
            self.out = nn.Linear(3, 2)

        def forward(self, x):
            h = torch.relu(self.inp(x))
            h = torch.relu(h + self.block1(h))
            h = torch.relu(self.block2(h) + self.proj(h))
            return self.out(h)

    class BasicBlock(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
            self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

        def forward(self, x):
            h = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(h)) + x)

    class ResNetBN(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.ReLU())
            self.layer1 = nn.Sequential(BasicBlock(3), BasicBlock(3))
            self.pool = nn.AvgPool2d(3)
            self.fc = nn.Linear(12, 2)

        def forward(self, x):
            return self.fc(torch.flatten(self.pool(self.layer1(self.stem(x))), 1))

    lenet = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3), nn.ReLU(),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 3))
    models = {
        "mlp-mixed": nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3), nn.LeakyReLU(0.25), nn.Linear(3, 2)),
        "mlp-dropout-bn": nn.Sequential(nn.Linear(6, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Dropout(0.5),
                                        nn.Linear(5, 2)),
        "linear-resnet": LinearResNet(),
        "relu-resnet-proj": ReluResNet(),
        "lenet": lenet,
        "lenet-ce": nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(3, 4, 3), nn.ReLU(),
                                  nn.AvgPool2d(2), nn.Flatten(), nn.Linear(4, 3)),
        "resnet-bn": ResNetBN(),
        "tcn": nn.Sequential(nn.Conv1d(2, 3, 3, dilation=2, padding=2), nn.ReLU(),
                             nn.Conv1d(3, 3, 3, dilation=4, padding=4), nn.ReLU(), nn.Flatten(), nn.Linear(48, 2)),
        "conv1d-circular": nn.Sequential(nn.Conv1d(2, 3, 3, padding=1, padding_mode="circular"), nn.ReLU(),
                                         nn.Flatten(), nn.Linear(24, 2)),
        "conv3d": nn.Sequential(nn.Conv3d(1, 2, 2), nn.ReLU(), nn.MaxPool3d(3), nn.Flatten(), nn.Linear(2, 2)),
        "grouped-conv": nn.Sequential(nn.Conv2d(4, 4, 3, groups=2), nn.ReLU(), nn.Conv2d(4, 2, 1), nn.Flatten(),
                                      nn.Linear(18, 2)),
        "bottleneck-mlp": nn.Sequential(nn.Linear(8, 6), nn.LeakyReLU(0.1), nn.Linear(6, 2), nn.LeakyReLU(0.1),
                                        nn.Linear(2, 6), nn.LeakyReLU(0.1), nn.Linear(6, 3)),
    }
    for m in models.values():
        m.eval()
        for mod in m.modules():  # running statistics as after training: not the trivial 0 / 1
            if isinstance(mod, nn.modules.batchnorm._BatchNorm):
                with torch.no_grad():
                    mod.running_mean.uniform_(-0.5, 0.5)
                    mod.running_var.uniform_(0.5, 2.0)
                    mod.weight.uniform_(0.5, 1.5)
                    mod.bias.uniform_(-0.1, 0.1)
    return models


def _torch_ranks(torch, model, X, Y, loss: str) -> dict:
    """``matrix_rank(hermitian=True)`` of torch's ``torch.func.hessian`` of the loss, in float32 and float64."""
    from ..oracle.torch_curvature import torch_curvature
    return {dt: int(torch.linalg.matrix_rank(torch_curvature(model, X, Y, loss=loss, dtype=dt), hermitian=True))
            for dt in ("float32", "float64")}


def run_zoo(*, seed: int = 0, n_samples: int = 6, names=None, progress=None) -> list:
    """Verify every model of :data:`ZOO` (or ``names``); one row (a dict) per model."""
    from ..core.validate import check_option
    from ..models.torch_check import require_torch
    from ..hessian.problem import rand_gaussian
    from ..models import from_torch
    from ..verification.pipeline import verify
    torch = require_torch()
    say = progress or (lambda msg: None)
    names = list(ZOO) if names is None else [check_option(v, "names", tuple(ZOO)) for v in names]
    rows = []
    for name in names:
        desc, shape, loss = ZOO[name]
        torch.manual_seed(seed)
        model = zoo_models(torch)[name]
        say(f"{name}: reading the model exactly")
        arch, params = from_torch(model, shape)
        rng = np.random.default_rng([seed, 3])
        X = np.array(rand_gaussian(rng, (n_samples, int(np.prod(shape))), 1.0), dtype=float)
        K = arch.output_dim
        Y = (np.eye(K)[rng.integers(0, K, n_samples)] if loss == "cross_entropy"
             else np.array(rand_gaussian(rng, (n_samples, K), 1.0), dtype=float))
        t0 = time.perf_counter()
        say(f"{name}: certified ranks of {arch.n_params} x {arch.n_params} Hessians")
        report = verify(arch, params=params, data=(X, Y), loss=loss, float_check=False, progress=False)
        seconds = time.perf_counter() - t0
        say(f"{name}: torch float32 / float64 Hessians")
        floats = _torch_ranks(torch, model, X.reshape((n_samples,) + tuple(shape)), Y, loss)
        rows.append({"model": name, "description": desc, "loss": loss, "input_shape": list(shape),
                     "n_params": arch.n_params, "n_samples": n_samples, "architecture": repr(arch),
                     "H_L": report.ranks["H_L"], "H_o": report.ranks["H_o"], "H_f": report.ranks["H_f"],
                     "certified": report.certified, "torch_float32": floats["float32"],
                     "torch_float64": floats["float64"], "seconds": round(seconds, 3)})
    return rows
