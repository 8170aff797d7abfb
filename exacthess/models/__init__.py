"""Models: layer geometry, architectures, activations, losses and PyTorch import.

What a network is, before any point or Hessian: :class:`FCN`, :class:`CNN` and
:class:`Architecture` (chains of :class:`ConvLayer`), activations and losses by name or object.
"""

from .activations import Activation, activation
from .architectures import CNN, FCN, Architecture, from_spec
from .geometry import ConvLayer
from .losses import Loss, loss
from .torch_import import from_torch, torch_architecture

__all__ = ["FCN", "CNN", "Architecture", "ConvLayer", "from_spec", "Activation", "activation", "Loss", "loss",
           "from_torch", "torch_architecture"]
