"""Models: layer geometry, architectures, activations, losses and PyTorch import."""

from .torch_import import from_torch, torch_architecture

__all__ = ["from_torch", "torch_architecture"]
